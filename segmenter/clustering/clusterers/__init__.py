"""Clusterers: every one fits on a set of series and assigns new ones with ``predict``.

Two families, both following scikit-learn's estimator contract (``__init__`` stores
parameters, ``fit`` returns ``self`` and sets ``labels_``, randomness only through
``random_state``):

* **Matrix clusterers** take one row per series (summary or velocity features) and pass
  scikit-learn's ``check_estimator``: :class:`FeatureClusterer` (scaled features into
  KMeans, GaussianMixture, Ward agglomerative, HDBSCAN or any sklearn clusterer) and
  :class:`VelocityClusterer` (quantile bins of one statistic).
* **Shape clusterers** take series of any length (a list of arrays or a
  :class:`~segmenter.data.series.SeriesSet`) and compare them under DTW with our numba engine:
  :class:`DTWKMeans` (DBA barycenters), :class:`DTWKMedoids`,
  :class:`DTWAgglomerative`, :class:`DTWHDBSCAN`; and :class:`KShapeClusterer`
  (tslearn's k-Shape algorithm, vectorised; shape-based distance).  Soft-DTW k-means
  comes from tslearn through :mod:`segmenter.adapters.tslearn_bridge`.

Assigning new series (``predict``): k-means variants use the nearest barycenter or
centroid; k-medoids, agglomerative and HDBSCAN use the nearest *medoid* of each fitted
cluster (the member with the smallest summed distance to the other members).
HDBSCAN's noise points are assigned to the nearest medoid as well and listed in
``noise_``, so every series gets a segment.

Modules: :mod:`.feature` (matrix clusterers), :mod:`.dtw` (DTW clusterers and the
pruned nearest-center search), :mod:`.kshape`.
"""

from .dtw import (
    DTWHDBSCAN,
    DTWAgglomerative,
    DTWKMeans,
    DTWKMedoids,
    medoids_from_distances,
    pruning_counts,
)
from .feature import CONSTANT_SPREAD, FeatureClusterer, VelocityClusterer
from .kshape import KShapeClusterer

__all__ = [
    "FeatureClusterer",
    "VelocityClusterer",
    "DTWKMeans",
    "DTWKMedoids",
    "DTWAgglomerative",
    "DTWHDBSCAN",
    "KShapeClusterer",
    "medoids_from_distances",
    "pruning_counts",
    "CONSTANT_SPREAD",
]
