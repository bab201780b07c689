"""Featurizers: turn a :class:`~segmenter.Panel` into what clusterers consume.

Four representations, one row (or one array) per series, in panel order:

* :func:`velocity_features` and :func:`summary_features` (:mod:`.statistics`): numbers
  per series (DataRobot's "Velocity" statistics; level, scale, STL
  strengths, autocorrelations, intermittency);
* :func:`shape_series` (:mod:`.shape`): per-series z-normalised arrays for DTW and
  k-Shape;
* :func:`catch22_features` (:mod:`.catch22`): the catch22 shape descriptors of the
  z-normalised series, sktime's numba kernels run in batch (``_catch22_kernels``).
"""

from ..data.calendar import season_length_for
from .catch22 import CATCH22_MIN_LENGTH, catch22_features
from .shape import shape_series
from .statistics import (
    MEAN_RESOLUTION,
    SUMMARY_FEATURES,
    VELOCITY_STATS,
    summary_features,
    velocity_features,
)

__all__ = [
    "velocity_features",
    "summary_features",
    "shape_series",
    "catch22_features",
    "season_length_for",
    "VELOCITY_STATS",
    "SUMMARY_FEATURES",
    "MEAN_RESOLUTION",
    "CATCH22_MIN_LENGTH",
]
