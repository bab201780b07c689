"""tslearn clusterers behind segmenter's shape-clusterer interface.

tslearn is a core dependency, but its numba code compiles in every new process (6-8 s,
about 19 s more for KShape), so it is imported only inside ``fit``, never at import time
of segmenter or its command line.

Both estimators need series of one common length: the blueprints resample with
:func:`segmenter.features.shape_series` (``length="median"``) before calling them.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from segmenter.dtw import SeriesSet, as_series_set
from segmenter.errors import DataValidationError, NotFittedError, Problem

__all__ = ["SoftDTWKMeans", "KShapeClusterer"]


def _equal_length_array(X) -> np.ndarray:
    xs = as_series_set(X)
    lengths = set(xs.lengths.tolist())
    if len(lengths) != 1:
        raise DataValidationError([Problem(
            "unequal_lengths", "X", f"this clusterer needs series of one length, got "
            f"lengths {sorted(lengths)[:5]}...; resample with shape_series(length='median')")])
    return xs.data.reshape(len(xs), lengths.pop(), xs.n_dims)


class _TslearnClusterer(BaseEstimator):
    def _make(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None):
        arr = _equal_length_array(X)
        self.model_ = self._make().fit(arr)
        self.labels_ = np.asarray(self.model_.labels_, dtype=np.int64)
        centers = np.asarray(self.model_.cluster_centers_, dtype=np.float64)
        self.centers_ = SeriesSet(centers.reshape(-1, centers.shape[2]),
                                  np.arange(len(centers) + 1) * centers.shape[1])
        self.n_clusters_ = len(centers)
        self.distances_ = self._own_distance(arr, self.labels_)
        self.inertia_ = float(getattr(self.model_, "inertia_", np.nan))
        return self

    def _own_distance(self, arr, labels):
        if hasattr(self.model_, "transform"):
            d = self.model_.transform(arr)
        elif hasattr(self.model_, "_cross_dists"):      # KShape: 1 - max normalised CC
            d = self.model_._cross_dists(arr)
        else:
            d = None
        if d is None:
            return np.full(len(arr), np.nan)
        return np.asarray(d)[np.arange(len(arr)), labels]

    def predict(self, X):
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return np.asarray(self.model_.predict(_equal_length_array(X)), dtype=np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def center_distances(self, X, labels) -> np.ndarray:
        """DTW distance (no band) of each series to its cluster's barycenter."""
        from segmenter import _dtw_kernels as K
        xs = as_series_set(X)
        c = self.centers_
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
        return TimeSeriesKMeans(n_clusters=self.n_clusters, metric="softdtw",
                                metric_params={"gamma": self.gamma}, max_iter=self.max_iter,
                                max_iter_barycenter=10, random_state=self.random_state)


class KShapeClusterer(_TslearnClusterer):
    """k-Shape (Paparrizos & Gravano 2015): tslearn ``KShape`` on z-normalised series.

    Parameters
    ----------
    n_clusters : int, default 4
    max_iter : int, default 100
    n_init : int, default 1
    random_state : int or None
    """

    def __init__(self, n_clusters=4, max_iter=100, n_init=1, random_state=None):
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def _make(self):
        from tslearn.clustering import KShape
        return KShape(n_clusters=self.n_clusters, max_iter=self.max_iter, n_init=self.n_init,
                      random_state=self.random_state)

    def _sbd(self, arr):
        """Shape-based distance 1 - max NCC to each center, norms of *these* series.

        tslearn's ``KShape.predict`` reuses the training set's norms by position (wrong
        for new series), so assignment is computed here.
        """
        from tslearn.metrics.cycc import cdist_normalized_cc
        from tslearn.preprocessing import TimeSeriesScalerMeanVariance
        arr = TimeSeriesScalerMeanVariance().fit_transform(arr)
        arr = np.nan_to_num(arr)
        centers = np.asarray(self.model_.cluster_centers_)
        n1 = np.linalg.norm(arr, axis=(1, 2))
        n2 = np.linalg.norm(centers, axis=(1, 2))
        n1 = np.where(n1 > 0, n1, 1.0)
        n2 = np.where(n2 > 0, n2, 1.0)
        return 1.0 - cdist_normalized_cc(arr, centers, norms1=n1, norms2=n2,
                                         self_similarity=False)

    def _own_distance(self, arr, labels):
        return self._sbd(arr)[np.arange(len(arr)), labels]

    def center_distances(self, X, labels) -> np.ndarray:
        """Shape-based distance (1 - max normalised cross-correlation) to the centroid."""
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        arr = _equal_length_array(X)
        return self._own_distance(arr, np.asarray(labels, dtype=np.int64))

    def predict(self, X):
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return self._sbd(_equal_length_array(X)).argmin(axis=1).astype(np.int64)
