"""Dynamic time warping: the public, validating layer over the numba kernels.

Distances are tslearn's (``tslearn.metrics.dtw`` / ``cdist_dtw``): the square root of
the minimal sum of squared frame differences along a warping path, *not* its square
(aeon and sktime return the square).  Series may have different lengths and several
dimensions (dependent, multi-feature DTW).

Band (Sakoe-Chiba): ``band=None`` is unconstrained; an ``int`` ``r >= 0`` is a radius in
time steps (tslearn's ``sakoe_chiba_radius=r``, dtaidistance's ``window=r+1``); a
``float`` in ``[0, 1]`` is a fraction of the length: radius ``ceil(band * L)`` with ``L``
the longest series among the inputs (aeon/sktime's ``window=band``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import _dtw_kernels as K
from .errors import DataValidationError, Problem

__all__ = ["dtw_distance", "dtw_pairwise", "SeriesSet", "as_series_set", "band_radius"]


class SeriesSet:
    """Variable-length (multivariate) series as one flat array plus offsets.

    Attributes
    ----------
    data : ndarray (total_length, n_dims), float64, C-contiguous
    offsets : ndarray (n_series + 1,), int64
    """

    __slots__ = ("data", "offsets")

    def __init__(self, data: np.ndarray, offsets: np.ndarray):
        self.data = np.ascontiguousarray(data, dtype=np.float64)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def n_dims(self) -> int:
        return self.data.shape[1]

    def __getitem__(self, i: int) -> np.ndarray:
        return self.data[self.offsets[i]:self.offsets[i + 1]]

    def take(self, index) -> "SeriesSet":
        index = np.asarray(index, dtype=np.int64)
        parts = [self[i] for i in index]
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        off = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        data = np.concatenate(parts) if parts else np.zeros((0, self.n_dims))
        return SeriesSet(data, off)

    def to_list(self) -> list[np.ndarray]:
        return [self[i] for i in range(len(self))]

    @classmethod
    def from_list(cls, series: Sequence[np.ndarray]) -> "SeriesSet":
        return as_series_set(list(series))


def _trim_padding(x: np.ndarray) -> np.ndarray:
    """Drop trailing all-NaN frames (tslearn's padding of variable-length datasets)."""
    nan_rows = np.isnan(x).all(axis=1)
    if nan_rows.any():
        keep = len(x) - np.argmax(~nan_rows[::-1]) if (~nan_rows).any() else 0
        x = x[:keep]
    return x


def as_series_set(X, name: str = "X") -> SeriesSet:
    """Validate and convert series to a :class:`SeriesSet`.

    Accepts a list of 1-D ``(length,)`` or 2-D ``(length, n_dims)`` arrays, a 2-D array
    ``(n_series, length)``, a 3-D array ``(n_series, length, n_dims)`` or a SeriesSet.
    Trailing NaN frames are padding and are removed; any other NaN or an infinite value
    is an error naming the series.
    """
    if isinstance(X, SeriesSet):
        return X
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            seqs = [X[i][:, None] for i in range(X.shape[0])]
        elif X.ndim == 3:
            seqs = [X[i] for i in range(X.shape[0])]
        else:
            raise DataValidationError([Problem(
                "bad_shape", name, f"expected a 2-D (n_series, length) or 3-D (n_series, "
                f"length, n_dims) array, got shape {X.shape}")])
    else:
        seqs = []
        for s in X:
            a = np.asarray(s, dtype=np.float64)
            if a.ndim == 1:
                a = a[:, None]
            elif a.ndim != 2:
                raise DataValidationError([Problem(
                    "bad_shape", name, f"each series must be 1-D or 2-D, got shape {a.shape}")])
            seqs.append(a)
    if not seqs:
        raise DataValidationError([Problem("empty", name, "no series given")])
    seqs = [_trim_padding(np.asarray(s, dtype=np.float64)) for s in seqs]
    dims = {s.shape[1] for s in seqs}
    problems = []
    if len(dims) > 1:
        problems.append(Problem("mixed_dims", name, f"series have different numbers of "
                                f"dimensions {sorted(dims)}; give all the same n_dims"))
    empty = [i for i, s in enumerate(seqs) if len(s) == 0]
    if empty:
        problems.append(Problem("empty_series", name, "series have no values; remove them",
                                ids=empty))
    bad = [i for i, s in enumerate(seqs) if len(s) and not np.isfinite(s).all()]
    if bad:
        problems.append(Problem("non_finite", name, "series hold NaN (other than trailing "
                                "padding) or infinite values; interpolate or remove them",
                                ids=bad))
    if problems:
        raise DataValidationError(problems)
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    off = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    return SeriesSet(np.concatenate(seqs, axis=0), off)


def equal_length_array(X, who: str = "this clusterer") -> np.ndarray:
    """Series of one common length as an ``(n_series, length, n_dims)`` array (for
    k-Shape and soft-DTW k-means); a typed error naming the lengths otherwise."""
    xs = as_series_set(X)
    lengths = set(xs.lengths.tolist())
    if len(lengths) > 1:
        raise DataValidationError([Problem(
            "unequal_lengths", "X", f"{who} needs series of one length, got lengths "
            f"{sorted(lengths)[:5]}...; resample with shape_series(length='median')")])
    length = lengths.pop() if lengths else 0
    return np.ascontiguousarray(xs.data.reshape(len(xs), length, xs.n_dims))


def band_radius(band, max_length: int) -> int:
    """Turn a ``band`` argument into a radius in steps (-1 means no band).

    >>> band_radius(None, 200), band_radius(0.1, 200), band_radius(5, 200)
    (-1, 20, 5)
    """
    if band is None:
        return -1
    if isinstance(band, (bool, np.bool_)):
        raise DataValidationError([Problem("bad_band", "band", "band must be None, an int "
                                           "radius or a float fraction, not a bool")])
    if isinstance(band, (int, np.integer)):
        if band < 0:
            raise DataValidationError([Problem("bad_band", "band", f"band={band}: a radius "
                                               "must be >= 0")])
        return int(band)
    if isinstance(band, (float, np.floating)):
        if not (0.0 <= band <= 1.0) or math.isnan(band):
            raise DataValidationError([Problem("bad_band", "band", f"band={band}: a fraction "
                                               "must lie in [0, 1]; use an int for a radius")])
        return int(math.ceil(band * max_length))
    raise DataValidationError([Problem("bad_band", "band", f"band={band!r} is not None, an "
                                       "int or a float")])


def dtw_distance(a, b, band=None) -> float:
    """DTW distance between two series (tslearn's non-squared convention).

    Parameters
    ----------
    a, b : array-like, shape (length,) or (length, n_dims)
        Lengths may differ; dimensions must match.
    band : None, int or float
        No band, a Sakoe-Chiba radius in steps, or a fraction of the longer length.

    Examples
    --------
    >>> dtw_distance([0.0, 1.0, 2.0], [0.0, 0.0, 1.0, 2.0])
    0.0
    >>> round(dtw_distance([0.0, 1.0], [1.0, 2.0]), 6)
    1.414214
    """
    s = as_series_set([a, b], "a, b")
    r = band_radius(band, int(s.lengths.max()))
    buf = np.empty(2 * (int(s.lengths[1]) + 1))
    return float(np.sqrt(K.dtw_sq(s[0], s[1], r, buf)))


def dtw_pairwise(X, Y=None, band=None, squared: bool = False) -> np.ndarray:
    """DTW distance matrix within ``X`` or between ``X`` and ``Y`` (parallel over pairs).

    Parameters
    ----------
    X, Y : list of arrays, 2-D or 3-D array, or SeriesSet
        Series of any lengths (see :func:`as_series_set`).
    band : None, int or float
        As in :func:`dtw_distance`; a fraction is taken of the longest series of X and Y.
    squared : bool, default False
        Return squared costs (aeon/sktime's convention) instead of distances.

    Returns
    -------
    ndarray, shape (len(X), len(Y) or len(X))

    Examples
    --------
    >>> dtw_pairwise([[0.0, 1.0], [0.0, 0.0, 1.0], [5.0, 5.0]]).round(3)
    array([[0.   , 0.   , 6.403],
           [0.   , 0.   , 8.124],
           [6.403, 8.124, 0.   ]])
    """
    xs = as_series_set(X, "X")
    if Y is None:
        r = band_radius(band, int(xs.lengths.max()))
        out = K.pairwise_sq(xs.data, xs.offsets, r)
    else:
        ys = as_series_set(Y, "Y")
        if ys.n_dims != xs.n_dims:
            raise DataValidationError([Problem("mixed_dims", "Y", f"X has {xs.n_dims} "
                                               f"dimensions, Y has {ys.n_dims}")])
        r = band_radius(band, int(max(xs.lengths.max(), ys.lengths.max())))
        out = K.cross_sq(xs.data, xs.offsets, ys.data, ys.offsets, r)
    return out if squared else np.sqrt(out)
