"""k-Shape (Paparrizos & Gravano 2015): tslearn's algorithm, vectorised with batched FFTs."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state

from ...base import check_fitted
from ...data.series import SeriesSet, array_width, equal_length_array
from ...errors import DataValidationError, Problem

__all__ = ["KShapeClusterer", "KSHAPE_BLOCK_BYTES"]

#: Bytes one block of k-Shape cross-correlations may take (the (block, k, fft length,
#: dims) spectra products and correlations); blocks of series are sized to fit.
KSHAPE_BLOCK_BYTES = 64 * 2**20


class KShapeClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-Shape (Paparrizos & Gravano 2015), vectorised with numpy FFTs.

    The algorithm and its random initialisation are tslearn's ``KShape`` (same
    ``check_random_state`` draws, empty-cluster retries, stopping rule), so a fit with
    the same ``random_state`` gives the same clusters up to rounding.  It is faster
    because the series' Fourier transforms are computed once per fit instead of once
    per pair and iteration, all series are correlated with all centroids in one batched
    inverse FFT, and the centroid (the top eigenvector of tslearn's ``Q S Q``) comes
    from the smaller of the ``m x m`` and ``length x length`` Gram matrices.

    Series must share one length (the blueprint resamples with
    :func:`segmenter.features.shape_series`, ``length="median"``) and be z-normalised,
    for ``fit`` and ``predict`` alike (the blueprint does both; this class, like
    tslearn's, does not normalise: the cross-correlation ignores scale but not offset).  The distance is the shape-based distance
    ``SBD = 1 - max normalised cross-correlation`` over all shifts, summed over
    dimensions as in tslearn.

    Parameters
    ----------
    n_clusters : int, default 4
    max_iter : int, default 100
    n_init : int, default 1
    tol : float, default 1e-6
        Stop when the inertia (mean squared SBD) improves by less.
    random_state : int or None

    Attributes
    ----------
    labels_, cluster_centers_ (n_clusters, length, n_dims),
    distances_ (SBD of each series to its centroid), inertia_, n_iter_

    Examples
    --------
    >>> t = np.linspace(0, 6, 60)
    >>> X = [np.sin(t + s) for s in (0, .1, .2)] + [np.sign(np.sin(t + s)) for s in (0, .1, .2)]
    >>> KShapeClusterer(2, random_state=0).fit(X).labels_.tolist()
    [1, 1, 1, 0, 0, 0]
    """

    _tags = {
        "input": "series",
        "capability:unequal_length": False,
        "capability:multivariate": True,
        "requires:distance_matrix": False,
    }

    def __init__(
        self, n_clusters=4, max_iter=100, n_init=1, tol=1e-6, random_state=None
    ):
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.n_init = n_init
        self.tol = tol
        self.random_state = random_state

    # ------------------------------------------------------------------ arrays
    def _spectra(self, A):
        """(rfft along time, norms) of series ``A`` (n, length, d)."""
        return (
            np.fft.rfft(A, n=self.fft_len_, axis=1),
            np.linalg.norm(A.reshape(len(A), -1), axis=1),
        )

    def _ncc(self, FA, na, FB, nb, lo=0, hi=None):
        """Normalised cross-correlation of each series ``FA[i]`` with each ``FB[j]``
        over the valid shifts ``-(length-1) .. length-1``: (n, k, 2 length - 1)."""
        L = self.length_
        cc = np.fft.irfft(FA[lo:hi, None] * np.conj(FB[None]), n=self.fft_len_, axis=2)
        cc = cc.sum(axis=3)
        cc = np.concatenate([cc[:, :, self.fft_len_ - (L - 1) :], cc[:, :, :L]], axis=2)
        denom = na[lo:hi, None] * nb[None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return cc / np.where(denom < 1e-9, np.inf, denom)[:, :, None]

    def _block(self, k: int) -> int:
        """Series per block so that correlating a block with ``k`` references stays
        within :data:`KSHAPE_BLOCK_BYTES` (complex products + real correlations)."""
        per_series = k * self.fft_len_ * self.n_dims_ * 40
        return max(1, KSHAPE_BLOCK_BYTES // per_series)

    def _sbd(self, FA, na):
        """SBD of each series to each centroid, (n, k), in blocks of series."""
        FC, nc = self.center_spectra_
        out = np.empty((len(FA), len(nc)))
        step = self._block(len(nc))
        for lo in range(0, len(FA), step):
            out[lo : lo + step] = 1.0 - self._ncc(FA, na, FC, nc, lo, lo + step).max(
                axis=2
            )
        return out

    def _set_centers(self, C):
        self.cluster_centers_ = C
        self.center_spectra_ = self._spectra(C)

    # ------------------------------------------------------------------ fit
    def _assign(self, FX, nx):
        d = self._sbd(FX, nx)
        labels = d.argmin(axis=1)
        if np.bincount(labels, minlength=self.n_clusters).min() == 0:
            raise _EmptyCluster
        return labels, float(np.sum(d[np.arange(len(d)), labels] ** 2) / len(d)), d

    def _extract(self, X, FX, nx, labels):
        """New centroids: members aligned to their centroid by the best shift, then the
        top eigenvector of the centred Gram matrix, sign closest to the members,
        z-normalised (tslearn's shape extraction)."""
        L, d = self.length_, X.shape[2]
        FC, nc = self.center_spectra_
        C = np.empty_like(self.cluster_centers_)
        for k in range(self.n_clusters):
            idx = np.flatnonzero(labels == k)
            # best shift of each member against the centroid, in blocks of members
            FM, nm, step = FX[idx], nx[idx], self._block(1)
            shift = (
                np.concatenate(
                    [
                        self._ncc(
                            FC[k : k + 1],
                            nc[k : k + 1],
                            FM[lo : lo + step],
                            nm[lo : lo + step],
                        )[0].argmax(axis=1)
                        for lo in range(0, len(idx), step)
                    ]
                )
                + 1
                - L
            )
            pos = np.arange(L)[None, :] - shift[:, None]  # source index per step
            ok = (pos >= 0) & (pos < L)
            Xp = np.where(ok[:, :, None], X[idx[:, None], np.clip(pos, 0, L - 1)], 0.0)
            for j in range(d):
                Y = Xp[:, :, j] - Xp[:, :, j].mean(axis=1, keepdims=True)  # Xp Q
                if len(Y) < L:
                    w, u = np.linalg.eigh(Y @ Y.T)
                    mu = Y.T @ u[:, -1]
                    norm = np.linalg.norm(mu)
                    # all members flat: the Gram matrix is 0 and eigh (as tslearn
                    # calls it on the L x L matrix) returns the last unit vector
                    mu = mu / norm if norm > 0 else np.eye(L)[:, -1]
                else:
                    w, v = np.linalg.eigh(Y.T @ Y)
                    mu = v[:, -1]
                plus = np.linalg.norm(Xp - mu[None, :, None], axis=(1, 2)).sum()
                minus = np.linalg.norm(Xp + mu[None, :, None], axis=(1, 2)).sum()
                C[k, :, j] = -mu if minus < plus else mu
        sd = C.std(axis=1, keepdims=True)
        return (C - C.mean(axis=1, keepdims=True)) / np.where(sd == 0, 1.0, sd)

    def _fit_one(self, X, FX, nx, rs):
        """One run from a random start: (centers, labels, inertia, SBD matrix, iterations).
        When an iteration does not improve, the previous centers and their assignment
        are kept (tslearn reassigns them; the result is the same)."""
        self._set_centers(X[rs.choice(len(X), self.n_clusters, replace=False)].copy())
        labels, inertia, d = self._assign(FX, nx)
        old_inertia = np.inf
        it = 0
        for it in range(self.max_iter):
            old = (self.cluster_centers_, self.center_spectra_, labels, inertia, d)
            self._set_centers(self._extract(X, FX, nx, labels))
            labels, inertia, d = self._assign(FX, nx)
            if abs(old_inertia - inertia) < self.tol or old_inertia - inertia < 0:
                self.cluster_centers_, self.center_spectra_, labels, inertia, d = old
                break
            old_inertia = inertia
        return self.cluster_centers_, labels, inertia, d, it + 1

    def fit(self, X, y=None):
        """Cluster series ``X`` (a list of equal-length arrays, a SeriesSet or an
        (n, length[, d]) array)."""
        A = equal_length_array(X, "k-Shape")
        width = array_width(X)
        if width is not None:
            self.n_features_in_ = width
        if len(A) < self.n_clusters:
            raise ValueError(
                f"k-Shape needs at least n_clusters={self.n_clusters} series, "
                f"got {len(A)}"
            )
        self.length_, self.n_dims_ = A.shape[1], A.shape[2]
        self.fft_len_ = 2 ** (1 + int(np.log2(2 * self.length_ - 1)))
        FX, nx = self._spectra(A)
        rs = check_random_state(self.random_state)
        best, best_inertia, n_ok, attempts = None, np.inf, 0, 0
        while n_ok < self.n_init and attempts < max(self.n_init, 10):
            attempts += 1
            try:
                run = self._fit_one(A, FX, nx, rs)
            except _EmptyCluster:
                continue
            n_ok += 1
            if run[2] < best_inertia:
                best, best_inertia = run, run[2]
        if best is None:
            raise ValueError(
                f"k-Shape left a cluster empty in all {attempts} attempts: "
                f"ask for fewer than {self.n_clusters} segments"
            )
        centers, labels, self.inertia_, d, self.n_iter_ = best
        self._set_centers(centers)
        self.labels_ = labels.astype(np.int64)
        self.distances_ = d[np.arange(len(d)), self.labels_]
        self.n_clusters_ = self.n_clusters
        return self

    @property
    def centers_(self) -> SeriesSet:
        """Deprecated: the centroids as a SeriesSet; use ``cluster_centers_`` (an array
        ``(n_clusters, length, n_dims)``, as tslearn's and scikit-learn's)."""
        warnings.warn(
            "KShapeClusterer.centers_ is deprecated; use cluster_centers_ (or "
            "segmenter.data.series.series_centers); centers_ goes in segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        C = self.cluster_centers_
        return SeriesSet(C.reshape(-1, C.shape[2]), np.arange(len(C) + 1) * C.shape[1])

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    # ------------------------------------------------------------------ assign
    def transform(self, X):
        """SBD of each series to each centroid, (n_series, n_clusters)."""
        check_fitted(self, "cluster_centers_")
        A = equal_length_array(X, "k-Shape")
        if A.shape[1:] != (self.length_, self.n_dims_):
            raise DataValidationError(
                [
                    Problem(
                        "length_mismatch",
                        "X",
                        f"X has {A.shape[1]} features, but KShapeClusterer is "
                        f"expecting {self.length_} features as input: k-Shape was fitted on series of "
                        f"length {self.length_} with {self.n_dims_} value column(s), got "
                        f"{A.shape[1]} x {A.shape[2]}; prepare them the same way",
                    )
                ]
            )
        return self._sbd(*self._spectra(A))

    def predict(self, X):
        """Nearest centroid by SBD (each series with its own norm)."""
        return self.transform(X).argmin(axis=1).astype(np.int64)

    def center_distances(self, X, labels) -> np.ndarray:
        """SBD of each series to the centroid of its label."""
        d = self.transform(X)
        return d[np.arange(len(d)), np.asarray(labels, dtype=np.int64)]


class _EmptyCluster(Exception):
    """A k-Shape attempt left a cluster without members (retried, as in tslearn)."""
