"""segmenter: group many related time series into segments for segmented forecasting.

"Segmentation" here means grouping *many* series (by shape under dynamic time warping
and by summary statistics).  It does not mean cutting one series at change points, as
the word does in sktime and aeon.

>>> import segmenter as sg
>>> sorted(n for n in ("Panel", "read_panel", "ClusteringConstraints") if hasattr(sg, n))
['ClusteringConstraints', 'Panel', 'read_panel']
"""

from ._version import __version__
from .constraints import ClusteringConstraints, ConstraintReport
from .errors import (
    ConstraintViolationError,
    DataValidationError,
    IncompatibleVersionError,
    MissingDependencyError,
    NotFittedError,
    SegmenterError,
)
from .dtw import dtw_distance, dtw_pairwise
from .mapping import SegmentMapping, read_mapping
from .panel import Panel, read_panel
from .persistence import load
from .runner import SegmentedForecaster
from .segmentation import Segmenter

__all__ = [
    "__version__",
    "Panel",
    "Segmenter",
    "SegmentedForecaster",
    "SegmentMapping",
    "read_mapping",
    "load",
    "read_panel",
    "ClusteringConstraints",
    "dtw_distance",
    "dtw_pairwise",
    "ConstraintReport",
    "SegmenterError",
    "DataValidationError",
    "ConstraintViolationError",
    "NotFittedError",
    "MissingDependencyError",
    "IncompatibleVersionError",
]
