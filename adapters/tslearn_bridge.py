"""tslearn's soft-DTW k-means behind segmenter's shape-clusterer interface.

tslearn is a core dependency, but its numba code compiles in every new process (6-8 s),
so it is imported only inside ``fit``, never at import time of segmenter or its
command line.  (k-Shape used to come from here too; it is now
:class:`segmenter.clustering.clusterers.KShapeClusterer`, the same algorithm vectorised.)

The estimator needs series of one common length: the blueprint resamples with
:func:`segmenter.features.shape_series` (``length="median"``) before calling it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from segmenter._moved import renamed_attribute
from segmenter.base import check_fitted
from segmenter.data.series import SeriesSet, as_series_set, equal_length_array

__all__ = ["SoftDTWKMeans"]


class _TslearnClusterer(BaseEstimator):
    centers_ = renamed_attribute("centers_", "cluster_centers_")

    _tags = {
        "input": "series",
        "capability:unequal_length": False,
        "capability:multivariate": True,
        "requires:distance_matrix": False,
    }

    def _make(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None):
        arr = equal_length_array(X)
        self.model_ = self._make().fit(arr)
        self.labels_ = np.asarray(self.model_.labels_, dtype=np.int64)
        centers = np.asarray(self.model_.cluster_centers_, dtype=np.float64)
        self.cluster_centers_ = SeriesSet(
            centers.reshape(-1, centers.shape[2]),
            np.arange(len(centers) + 1) * centers.shape[1],
        )
        self.n_clusters_ = len(centers)
        self.distances_ = self._own_distance(arr, self.labels_)
        self.inertia_ = float(getattr(self.model_, "inertia_", np.nan))
        return self

    def _own_distance(self, arr, labels):
        if not hasattr(self.model_, "transform"):
            return np.full(len(arr), np.nan)
        return np.asarray(self.model_.transform(arr))[np.arange(len(arr)), labels]

    def predict(self, X):
        check_fitted(self, "model_")
        return np.asarray(self.model_.predict(equal_length_array(X)), dtype=np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def center_distances(self, X, labels) -> np.ndarray:
        """DTW distance (no band) of each series to its cluster's barycenter."""
        from segmenter.distances import _dtw_kernels as K

        xs = as_series_set(X)
        c = self.cluster_centers_
        sq = K.cross_sq(xs.data, xs.offsets, c.data, c.offsets, -1)
        return np.sqrt(sq[np.arange(len(xs)), np.asarray(labels, dtype=np.int64)])


class SoftDTWKMeans(_TslearnClusterer):
    """Soft-DTW k-means: tslearn ``TimeSeriesKMeans(metric="softdtw")``.

    Parameters
    ----------
    n_clusters : int, default 4
    gamma : float, default 1.0
        Soft-min smoothing.
    max_iter : int, default 20
    random_state : int or None
    """

    def __init__(self, n_clusters=4, gamma=1.0, max_iter=20, random_state=None):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.max_iter = max_iter
        self.random_state = random_state

    def _make(self):
        from tslearn.clustering import TimeSeriesKMeans

        return TimeSeriesKMeans(
            n_clusters=self.n_clusters,
            metric="softdtw",
            metric_params={"gamma": self.gamma},
            max_iter=self.max_iter,
            max_iter_barycenter=10,
            random_state=self.random_state,
        )
