"""Clustering: clusterers (:mod:`.clusterers`), blueprints (:mod:`.blueprints`), the
constraints C1-C8 (:mod:`.constraints`), the segment mapping (:mod:`.mapping`) and the
leaderboard search (:mod:`.search`).  The :class:`~segmenter.Segmenter`, which puts
them together with forecasting and reporting, sits above them in
:mod:`segmenter.segmenter`."""

from .._moved import relocated
from .blueprints import (
    CATALOGUE,
    DEFAULT,
    QUICK,
    Blueprint,
    FittedBlueprint,
    make_blueprint,
    register,
)
from .constraints import ClusteringConstraints, ConstraintReport
from .mapping import SegmentMapping, read_mapping

__all__ = [
    "SegmentMapping",
    "read_mapping",
    "ClusteringConstraints",
    "ConstraintReport",
    "Blueprint",
    "FittedBlueprint",
    "make_blueprint",
    "register",
    "CATALOGUE",
    "DEFAULT",
    "QUICK",
]

# 0.3 exported the Segmenter here; it is in segmenter.segmenter now (above clustering)
__getattr__ = relocated(__name__, {"Segmenter": "segmenter.segmenter"})
