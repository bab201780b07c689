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

import numpy as np

from ..data.series import as_series_set
from ..errors import DataValidationError, Problem
from . import _dtw_kernels as K

__all__ = ["dtw_distance", "dtw_pairwise", "band_radius"]


def band_radius(band, max_length: int) -> int:
    """Turn a ``band`` argument into a radius in steps (-1 means no band).

    >>> band_radius(None, 200), band_radius(0.1, 200), band_radius(5, 200)
    (-1, 20, 5)
    """
    if band is None:
        return -1
    if isinstance(band, (bool, np.bool_)):
        raise DataValidationError(
            [
                Problem(
                    "bad_band",
                    "band",
                    "band must be None, an int radius or a float fraction, not a bool",
                )
            ]
        )
    if isinstance(band, (int, np.integer)):
        if band < 0:
            raise DataValidationError(
                [Problem("bad_band", "band", f"band={band}: a radius must be >= 0")]
            )
        return int(band)
    if isinstance(band, (float, np.floating)):
        if not (0.0 <= band <= 1.0) or math.isnan(band):
            raise DataValidationError(
                [
                    Problem(
                        "bad_band",
                        "band",
                        f"band={band}: a fraction "
                        "must lie in [0, 1]; use an int for a radius",
                    )
                ]
            )
        return int(math.ceil(band * max_length))
    raise DataValidationError(
        [Problem("bad_band", "band", f"band={band!r} is not None, an int or a float")]
    )


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
            raise DataValidationError(
                [
                    Problem(
                        "mixed_dims",
                        "Y",
                        f"X has {xs.n_dims} dimensions, Y has {ys.n_dims}",
                    )
                ]
            )
        r = band_radius(band, int(max(xs.lengths.max(), ys.lengths.max())))
        out = K.cross_sq(xs.data, xs.offsets, ys.data, ys.offsets, r)
    return out if squared else np.sqrt(out)
