"""Arrays of series: the plain containers the numerical kernels and models work on.

* :class:`SeriesSet` -- variable-length (multivariate) series as one flat array plus
  offsets (statsforecast's boundary: long format outside, contiguous arrays and offsets
  inside).  What the DTW kernels, the shape clusterers and the featurizers exchange.
* :func:`interpolate_gaps`, :func:`clean_history` -- the two gap policies applied to a
  series' values before a model sees them (linear inside; at the ends nearest value,
  or leading steps dropped and the last value carried forward).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataValidationError, InputTypeError, Problem

__all__ = [
    "SeriesSet",
    "as_series_set",
    "equal_length_array",
    "interpolate_gaps",
    "clean_history",
    "array_width",
]


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
        return self.data[self.offsets[i] : self.offsets[i + 1]]

    def take(self, index) -> SeriesSet:
        index = np.asarray(index, dtype=np.int64)
        parts = [self[i] for i in index]
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        off = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        data = np.concatenate(parts) if parts else np.zeros((0, self.n_dims))
        return SeriesSet(data, off)

    @classmethod
    def from_list(cls, series: Sequence[np.ndarray]) -> SeriesSet:
        return as_series_set(list(series))


def _trim_padding(x: np.ndarray) -> np.ndarray:
    """Drop trailing all-NaN frames (tslearn's padding of variable-length datasets)."""
    nan_rows = np.isnan(x).all(axis=1)
    if nan_rows.any():
        keep = len(x) - np.argmax(~nan_rows[::-1]) if (~nan_rows).any() else 0
        x = x[:keep]
    return x


def _checked_array(X, name: str) -> np.ndarray:
    """An array of series through scikit-learn's ``check_array`` (so sparse, complex,
    1-D and empty inputs get its standard messages), as a typed error naming ``name``."""
    from sklearn.utils.validation import check_array

    try:
        return check_array(
            X,
            ensure_all_finite=False,
            allow_nd=True,
            dtype=np.float64,
            ensure_min_samples=1,
            ensure_min_features=1,
        )
    except TypeError as exc:
        raise InputTypeError(f"{name}: {exc}") from None
    except ValueError as exc:
        raise DataValidationError(
            [Problem("bad_series_array", name, str(exc))]
        ) from None


def series_centers(estimator) -> SeriesSet | None:
    """A clusterer's ``cluster_centers_`` as series: a :class:`SeriesSet` (DTW
    barycenters, medoids), or a 3-D array of centroids (k-Shape) converted; ``None``
    when its centers are not series (feature clusterers, or not fitted)."""
    centers = getattr(estimator, "cluster_centers_", None)
    if isinstance(centers, SeriesSet):
        return centers
    if isinstance(centers, np.ndarray) and centers.ndim == 3:
        return as_series_set(centers)
    return None


def as_series_set(X, name: str = "X") -> SeriesSet:
    """Validate and convert series to a :class:`SeriesSet`.

    Accepts a list of 1-D ``(length,)`` or 2-D ``(length, n_dims)`` arrays, a 2-D array
    ``(n_series, length)``, a 3-D array ``(n_series, length, n_dims)`` or a SeriesSet.
    Trailing NaN frames are padding and are removed; any other NaN or an infinite value
    is an error naming the series.
    """
    if isinstance(X, SeriesSet):
        return X
    if not isinstance(X, (list, tuple)) and (
        hasattr(X, "__array__") or hasattr(X, "tocsr")
    ):
        X = _checked_array(X, name)
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            seqs = [X[i][:, None] for i in range(X.shape[0])]
        elif X.ndim == 3:
            seqs = [X[i] for i in range(X.shape[0])]
        else:
            raise DataValidationError(
                [
                    Problem(
                        "bad_shape",
                        name,
                        f"expected a 2-D (n_series, length) or 3-D (n_series, "
                        f"length, n_dims) array, got shape {X.shape}",
                    )
                ]
            )
    else:
        seqs = []
        for s in X:
            a = np.asarray(s, dtype=np.float64)
            if a.ndim == 1:
                a = a[:, None]
            elif a.ndim != 2:
                raise DataValidationError(
                    [
                        Problem(
                            "bad_shape",
                            name,
                            f"each series must be 1-D or 2-D, got shape {a.shape}",
                        )
                    ]
                )
            seqs.append(a)
    if not seqs:
        raise DataValidationError([Problem("empty", name, "no series given")])
    seqs = [_trim_padding(np.asarray(s, dtype=np.float64)) for s in seqs]
    dims = {s.shape[1] for s in seqs}
    problems = []
    if len(dims) > 1:
        problems.append(
            Problem(
                "mixed_dims",
                name,
                f"series have different numbers of "
                f"dimensions {sorted(dims)}; give all the same n_dims",
            )
        )
    empty = [i for i, s in enumerate(seqs) if len(s) == 0]
    if empty:
        problems.append(
            Problem(
                "empty_series", name, "series have no values; remove them", ids=empty
            )
        )
    bad = [i for i, s in enumerate(seqs) if len(s) and not np.isfinite(s).all()]
    if bad:
        problems.append(
            Problem(
                "non_finite",
                name,
                "series hold NaN (other than trailing "
                "padding) or infinite values; interpolate or remove them",
                ids=bad,
            )
        )
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
        raise DataValidationError(
            [
                Problem(
                    "unequal_lengths",
                    "X",
                    f"{who} needs series of one length, got lengths "
                    f"{sorted(lengths)[:5]}...; resample with shape_series(length='median')",
                )
            ]
        )
    length = lengths.pop() if lengths else 0
    return np.ascontiguousarray(xs.data.reshape(len(xs), length, xs.n_dims))


def interpolate_gaps(x: np.ndarray) -> np.ndarray:
    """``x`` with its NaN filled linearly between observed values (nearest value at the
    ends); ``x`` itself when it has none."""
    nan = np.isnan(x)
    if not nan.any():
        return x
    idx = np.arange(len(x))
    y = x.copy()
    y[nan] = np.interp(idx[nan], idx[~nan], x[~nan])
    return y


def clean_history(y: np.ndarray) -> tuple[np.ndarray, int]:
    """Values for a forecasting model: leading missing steps dropped, interior and
    trailing gaps filled (linear inside, last value at the end).  Returns (values,
    steps dropped).

    >>> clean_history(np.array([np.nan, 1.0, np.nan, 3.0, np.nan]))
    (array([1., 2., 3., 3.]), 1)
    """
    ok = ~np.isnan(y)
    if not ok.any():
        return np.zeros(0), len(y)
    first = int(np.argmax(ok))
    x = y[first:].astype(np.float64)
    nan = np.isnan(x)
    if nan.any():
        idx = np.arange(len(x))
        x[nan] = np.interp(idx[nan], idx[~nan], x[~nan])
    return x, first


def array_width(X) -> int | None:
    """The number of columns (time steps) of series given as a 2-D array, else None:
    what a clusterer records as scikit-learn's ``n_features_in_``."""
    shape = getattr(X, "shape", None)
    return int(shape[1]) if shape is not None and len(shape) == 2 else None
