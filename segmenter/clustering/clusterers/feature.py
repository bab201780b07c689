"""Matrix clusterers: one row of features per series (summary, catch22 or velocity).

Both pass scikit-learn's ``check_estimator``: :class:`FeatureClusterer` (median
imputation and scaling, then any scikit-learn clusterer) and :class:`VelocityClusterer`
(DataRobot's quantile bins of one statistic).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.utils.validation import validate_data

from ..._moved import renamed_attribute
from ...base import check_fitted

__all__ = ["FeatureClusterer", "VelocityClusterer", "CONSTANT_SPREAD"]

#: A feature column whose standard deviation is at most this share of its largest
#: magnitude (64 float64 rounding steps) is constant up to rounding;
#: :class:`FeatureClusterer` does not scale it up, :class:`VelocityClusterer` uses one bin.
CONSTANT_SPREAD = 64 * float(np.finfo(np.float64).eps)


class FeatureClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """Median-impute, standardise, then cluster feature rows with a scikit-learn clusterer.

    Parameters
    ----------
    estimator : sklearn clusterer, default KMeans(n_clusters=8, n_init=10)
        Cloned at fit.  Estimators without ``predict`` (Ward agglomerative, HDBSCAN)
        assign new rows to the nearest fitted centroid in the scaled space.
    n_clusters : int or None
        If given, set on the estimator (``n_clusters`` or ``n_components``).
    scale : bool, default True
        Standardise each column; a column constant up to rounding
        (:data:`CONSTANT_SPREAD`) is only centred, not blown up to unit variance.
    random_state : int or None
        Passed to the estimator when it takes one.

    Attributes
    ----------
    labels_ : ndarray (n_samples,)
    cluster_centers_ : ndarray (n_clusters, n_features), in the scaled space
    noise_ : ndarray of bool, rows an estimator called noise (label -1), reassigned

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10]
    >>> FeatureClusterer(n_clusters=2, random_state=0).fit(X).labels_.tolist()
    [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    """

    _tags = {
        "input": "matrix",
        "capability:unequal_length": True,
        "capability:multivariate": True,
        "requires:distance_matrix": False,
    }

    def __init__(self, estimator=None, n_clusters=None, scale=True, random_state=None):
        self.estimator = estimator
        self.n_clusters = n_clusters
        self.scale = scale
        self.random_state = random_state

    def _prep(self, X):
        X = np.where(np.isnan(X), self.fill_, X)
        return (X - self.mean_) / self.scale_

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        allnan = np.isnan(X).all(axis=0)
        fill = np.zeros(X.shape[1])
        if X.shape[0] and (~allnan).any():
            fill[~allnan] = np.nanmedian(X[:, ~allnan], axis=0)
        self.fill_ = fill
        Xf = np.where(np.isnan(X), self.fill_, X)
        self.mean_ = Xf.mean(axis=0) if self.scale else np.zeros(X.shape[1])
        sd = Xf.std(axis=0) if self.scale else np.ones(X.shape[1])
        # a spread at rounding level (e.g. the std of z-normalised series, 1 +- 1e-16)
        # is a constant column: scaling it up would turn rounding noise into a feature
        flat = sd <= CONSTANT_SPREAD * np.abs(Xf).max(axis=0, initial=0.0)
        self.scale_ = np.where(flat, 1.0, sd)
        Xs = self._prep(X)
        est = (
            clone(self.estimator)
            if self.estimator is not None
            else KMeans(n_clusters=8, n_init=10)
        )
        params = est.get_params()
        if self.n_clusters is not None:
            for name in ("n_clusters", "n_components"):
                if name in params:
                    est.set_params(**{name: self.n_clusters})
        if "random_state" in params and self.random_state is not None:
            est.set_params(random_state=self.random_state)
        if hasattr(est, "fit_predict"):
            labels = np.asarray(est.fit_predict(Xs))
        else:
            labels = np.asarray(est.fit(Xs).predict(Xs))
        self.estimator_ = est
        noise = labels < 0
        kept = np.unique(labels[~noise])
        if len(kept) == 0:  # all noise: one cluster
            labels = np.zeros(len(labels), dtype=np.int64)
            kept = np.array([0])
            noise = np.zeros(len(labels), dtype=bool)
        remap = {old: new for new, old in enumerate(kept)}
        labels = np.array([remap.get(v, -1) for v in labels], dtype=np.int64)
        self.cluster_centers_ = np.vstack(
            [Xs[labels == c].mean(axis=0) for c in range(len(kept))]
        )
        if noise.any():
            labels[noise] = self._nearest(Xs[noise])
        self.noise_ = noise
        self.labels_ = labels
        self.n_clusters_ = len(kept)
        self._remap = remap
        return self

    def _sq_distances(self, Xs):
        """Squared Euclidean distance of scaled rows to each centroid."""
        return ((Xs[:, None, :] - self.cluster_centers_[None, :, :]) ** 2).sum(axis=2)

    def _nearest(self, Xs):
        return self._sq_distances(Xs).argmin(axis=1)

    def predict(self, X):
        Xs = self.embed(X)
        if hasattr(self.estimator_, "predict") and not np.any(self.noise_):
            raw = np.asarray(self.estimator_.predict(Xs))
            out = np.array([self._remap.get(v, -1) for v in raw], dtype=np.int64)
            miss = out < 0
            if miss.any():
                out[miss] = self._nearest(Xs[miss])
            return out
        return self._nearest(Xs)

    def center_distances(self, X, labels) -> np.ndarray:
        """Euclidean distance (standardised space) of each row to its cluster's centroid."""
        d = self.transform(X)
        return np.sqrt(d[np.arange(len(d)), np.asarray(labels, dtype=np.int64)])

    def embed(self, X) -> np.ndarray:
        """Rows in the clustering geometry: imputed and standardised as at fit."""
        check_fitted(self, "cluster_centers_")
        X = validate_data(
            self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False
        )
        return self._prep(X)

    def transform(self, X):
        """Squared Euclidean distance of each row to each centroid (scaled space)."""
        return self._sq_distances(self.embed(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class VelocityClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """The reference "Velocity" clustering: equal-frequency quantile bins of one statistic.

    The across-series distribution of column ``column`` is cut at its ``k+1`` quantiles
    (``numpy.quantile``, linear interpolation); series are labelled by bin,
    ``0..k-1`` from low to high.

    ``cluster_centers_`` holds each bin's median statistic over the fitted series (the midpoint
    of the edges for an empty bin); the distance of a series to its segment is its
    absolute difference from that median.

    Tie policy: a value equal to an inner edge goes to the *upper* bin
    (``searchsorted(..., side="right")``).  When edges coincide (many equal values, e.g.
    lots of zeros) some bins are empty: labels keep their bin numbers (so a label always
    means the same quantile range), and the empty bins are listed in
    ``empty_clusters_`` with ``n_nonempty_`` recording how many bins are used.  A
    statistic whose spread is at rounding level (:data:`CONSTANT_SPREAD`) counts as
    constant: all its values are the median, one bin is used.  A NaN
    statistic (a series with no observed value in the window) is assigned the bin of
    the median and counted in ``n_missing_``.  New series are assigned with the stored
    edges.

    Examples
    --------
    >>> import numpy as np
    >>> v = VelocityClusterer(n_clusters=2).fit(np.array([[1.], [2.], [3.], [4.]]))
    >>> v.labels_.tolist(), v.edges_.tolist()
    ([0, 0, 1, 1], [1.0, 2.5, 4.0])
    >>> VelocityClusterer(n_clusters=3).fit(np.array([[0.], [0.], [0.], [5.]])).empty_clusters_
    [0, 1]
    """

    centers_ = renamed_attribute("centers_", "cluster_centers_")

    _tags = {
        "input": "matrix",
        "capability:unequal_length": True,
        "capability:multivariate": True,
        "requires:distance_matrix": False,
    }

    def __init__(self, n_clusters=4, column=0):
        self.n_clusters = n_clusters
        self.column = column

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        k = int(self.n_clusters)
        if k < 1:
            raise ValueError(f"n_clusters={self.n_clusters} must be >= 1")
        x = X[:, self.column]
        ok = ~np.isnan(x)
        vals = x[ok] if ok.any() else np.zeros(1)
        self.median_ = float(np.median(vals))
        # a statistic constant up to rounding (the std of z-normalised series) is one
        # value: one non-empty bin, not k bins of rounding noise
        tol = CONSTANT_SPREAD * float(np.abs(vals).max())
        self.tol_ = tol if float(vals.max() - vals.min()) <= tol else 0.0
        vals = np.where(np.abs(vals - self.median_) <= self.tol_, self.median_, vals)
        self.edges_ = np.quantile(vals, np.linspace(0.0, 1.0, k + 1))
        self.labels_ = self._bin(x)
        self.n_clusters_ = k
        filled = np.where(ok, x, self.median_)
        self.cluster_centers_ = np.array(
            [
                np.median(filled[self.labels_ == c])
                if np.any(self.labels_ == c)
                else 0.5 * (self.edges_[c] + self.edges_[c + 1])
                for c in range(k)
            ]
        )
        self.n_missing_ = int((~ok).sum())
        used = set(np.unique(self.labels_).tolist())
        self.empty_clusters_ = [c for c in range(k) if c not in used]
        self.n_nonempty_ = len(used)
        return self

    def _bin(self, x):
        tol = getattr(self, "tol_", 0.0)
        x = np.where(np.isnan(x) | (np.abs(x - self.median_) <= tol), self.median_, x)
        return np.searchsorted(self.edges_[1:-1], x, side="right").astype(np.int64)

    def predict(self, X):
        check_fitted(self, "edges_")
        X = validate_data(
            self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False
        )
        return self._bin(X[:, self.column])

    def embed(self, X) -> np.ndarray:
        """The statistic as a one-column matrix (missing values at the fitted median)."""
        check_fitted(self, "edges_")
        X = validate_data(
            self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False
        )
        x = X[:, self.column]
        return np.where(np.isnan(x), self.median_, x)[:, None]

    def transform(self, X) -> np.ndarray:
        """Absolute difference between each series' statistic and every bin's median,
        (n_series, n_clusters): the distances to the segment centers."""
        return np.abs(self.embed(X) - self.cluster_centers_[None, :])

    def center_distances(self, X, labels) -> np.ndarray:
        """Absolute difference between each series' statistic and its bin's median."""
        return np.abs(
            self.embed(X)[:, 0]
            - self.cluster_centers_[np.asarray(labels, dtype=np.int64)]
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
