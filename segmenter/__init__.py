"""segmenter: group many related time series into segments for segmented forecasting.

"Segmentation" here means grouping *many* series (by shape under dynamic time warping
and by summary statistics).  It does not mean cutting one series at change points, as
the word does in sktime and aeon.

The layers, one sub-package each: :mod:`segmenter.data` (panels, chunks, arrays of
series), :mod:`segmenter.distances` (DTW), :mod:`segmenter.features`,
:mod:`segmenter.clustering` (clusterers, blueprints, constraints, the mapping, the
Segmenter), :mod:`segmenter.selection` (the leaderboard, folds, metrics),
:mod:`segmenter.forecasting` (candidates, backtests, the SegmentedForecaster),
:mod:`segmenter.engine` (local and Dask execution), :mod:`segmenter.reporting`
(insights, plots, the HTML report), :mod:`segmenter.serving` (the HTTP service, batch
scoring, monitoring; the MLflow flavor is :mod:`segmenter.mlflow`); bridges to other libraries in
:mod:`segmenter.adapters`.

>>> import segmenter as sg
>>> sorted(n for n in ("Panel", "read_panel", "ClusteringConstraints") if hasattr(sg, n))
['ClusteringConstraints', 'Panel', 'read_panel']
"""

from . import _moved
from ._version import __version__
from .clustering.constraints import ClusteringConstraints, ConstraintReport
from .clustering.mapping import SegmentMapping, read_mapping
from .data.panel import Panel
from .data.reading import read_panel
from .distances.dtw import dtw_distance, dtw_pairwise
from .errors import (
    ConstraintViolationError,
    CorruptModelError,
    DataValidationError,
    IncompatibleVersionError,
    InputTypeError,
    MissingDependencyError,
    NotFittedError,
    ResourceLimitError,
    SegmenterError,
    UntrustedModelError,
)
from .forecasting.forecaster import SegmentedForecaster
from .persistence import load
from .segmenter import Segmenter

_moved.install()


def monitor(model, new_data, thresholds=None, trusted=None, **columns):
    """Membership and accuracy drift of a saved or fitted model on new data, and a
    recommendation: keep, refit the champions, or segment again
    (:func:`segmenter.serving.monitoring.monitor`)."""
    from .serving.monitoring import monitor as _monitor

    return _monitor(model, new_data, thresholds, trusted, **columns)


__all__ = [
    "__version__",
    "Panel",
    "Segmenter",
    "SegmentedForecaster",
    "SegmentMapping",
    "read_mapping",
    "load",
    "monitor",
    "read_panel",
    "ClusteringConstraints",
    "dtw_distance",
    "dtw_pairwise",
    "ConstraintReport",
    "SegmenterError",
    "DataValidationError",
    "ConstraintViolationError",
    "NotFittedError",
    "InputTypeError",
    "MissingDependencyError",
    "IncompatibleVersionError",
    "CorruptModelError",
    "UntrustedModelError",
    "ResourceLimitError",
]
