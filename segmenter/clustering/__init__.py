"""Clustering: clusterers (:mod:`.clusterers`), blueprints (:mod:`.blueprints`), the
constraints C1-C8 (:mod:`.constraints`), the segment mapping (:mod:`.mapping`) and the
:class:`Segmenter` (:mod:`.segmenter`)."""

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
from .segmenter import Segmenter

__all__ = [
    "Segmenter",
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
