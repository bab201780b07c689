"""Featurizers: turn a :class:`~segmenter.Panel` into what clusterers consume.

Three representations, one row (or one array) per series, in panel order:

* :func:`velocity_features` -- the reference product's "Velocity" statistics over the
  whole history or a recent window (``window``, the feature derivation window):
  ``mean``, ``std``, ``zero_share``, ``median``, ``cv``.  Computed on the observed
  (non-missing) values only, so irregular or gappy series are fine.
* :func:`summary_features` -- richer descriptors for feature-based clustering (see
  :data:`SUMMARY_FEATURES` for names and definitions).
* :func:`shape_series` -- per-series z-normalised arrays for DTW / k-Shape clustering.
* :func:`catch22_features` -- the catch22 shape descriptors (Lubba et al. 2019) of the
  z-normalised series, sktime's numba kernels run in batch
  (:mod:`segmenter._catch22_kernels`): feature-based clustering that still sees the
  shape.

NaN policy.  A statistic that is undefined for a series (too short, constant, all
missing) is NaN in the featurizer output, never an exception; the feature-based
clusterers impute NaN with the column median of the fitted series (documented in
:mod:`segmenter.clusterers`).  Constant series get ``std = 0``, ``cv = 0`` (or NaN when
the mean is 0), autocorrelations 0 and strengths 0.  A mean below a millionth of the
series' standard deviation (:data:`MEAN_RESOLUTION`, e.g. of a z-normalised series) is
exactly 0, so ``cv`` and ``cv2`` are NaN there rather than a quotient of rounding errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dtw import SeriesSet
from .errors import DataValidationError, Problem

__all__ = ["velocity_features", "summary_features", "shape_series", "catch22_features",
           "season_length_for",
           "VELOCITY_STATS", "SUMMARY_FEATURES"]

VELOCITY_STATS = ("mean", "std", "zero_share", "median", "cv")

#: Summary feature names (stable) and what each measures.
SUMMARY_FEATURES = {
    "level": "mean of the observed values (0 when below 1e-6 of their std, "
             "see MEAN_RESOLUTION)",
    "scale": "standard deviation of the observed values (ddof=0)",
    "trend_strength": "STL trend strength max(0, 1 - var(R)/var(T+R)) (Wang, Smith & Hyndman 2006)",
    "seasonal_strength": "STL seasonal strength max(0, 1 - var(R)/var(S+R)); 0 without a season",
    "acf1": "lag-1 autocorrelation",
    "seasonal_acf": "autocorrelation at the season length (NaN without a season)",
    "adi": "average inter-demand interval: steps per non-zero value (intermittency)",
    "cv2": "squared coefficient of variation of the non-zero values (intermittency); "
           "NaN when their mean is 0 (see MEAN_RESOLUTION)",
    "zero_share": "share of observed values equal to zero",
    "missing_share": "share of grid steps with a missing value",
    "length": "number of grid steps (gaps included)",
}

#: A mean whose size is at most this share of the values' standard deviation is
#: reported as exactly 0.  Such a mean is far below its own standard error
#: (std / sqrt(n)) for any series shorter than 10**12 steps, so nothing resolvable is
#: lost; it is what centring leaves behind (the mean of a z-normalised series is 1e-17
#: when normalised here, about 1e-9 when normalised upstream and written with a few
#: decimals).  Otherwise ``level`` would carry that noise and ``cv`` / ``cv2`` would
#: divide by it (values of 1e17 to 1e34).
MEAN_RESOLUTION = 1e-6


def _mean(x: np.ndarray, sd: float) -> float:
    """Mean of ``x`` (standard deviation ``sd``), 0.0 when it is within
    :data:`MEAN_RESOLUTION` of zero."""
    m = float(x.mean())
    return 0.0 if abs(m) <= MEAN_RESOLUTION * sd else m


_SEASON = {"YS": 1, "YE": 1, "Y": 1, "A": 1, "AS": 1, "BYS": 1, "BYE": 1, "BA": 1,
           "QS": 4, "QE": 4, "Q": 4, "BQS": 4, "BQE": 4, "BQ": 4,
           "MS": 12, "ME": 12, "M": 12, "BMS": 12, "BME": 12, "BM": 12, "CBMS": 12,
           "SMS": 24, "SME": 24, "SM": 24, "W": 52, "D": 7, "B": 5, "C": 5,
           "h": 24, "H": 24, "min": 60, "T": 60, "s": 60, "S": 60}


def season_length_for(freq) -> int | None:
    """Default season length for a frequency alias (None when unknown, e.g. int steps).

    Yearly 1, quarterly 4, monthly 12, semi-monthly 24, weekly 52, daily 7 (a week),
    business-daily 5, hourly 24, minutely and secondly 60; multiples such as ``"7D"``
    (weekly, 52) or ``"2h"`` have none unless listed.

    >>> season_length_for("MS"), season_length_for("QS-OCT"), season_length_for(1)
    (12, 4, None)
    >>> season_length_for("7D"), season_length_for("W-MON"), season_length_for("24h")
    (52, 52, 7)
    """
    if not isinstance(freq, str):
        freq = getattr(freq, "freqstr", None)
        if freq is None:
            return None
    try:
        off = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    code = off.rule_code.split("-")[0]
    n = off.n
    try:                                   # fixed steps: express them in days when whole
        nanos = pd.Timedelta(off).value
    except (ValueError, TypeError):
        nanos = None
    if nanos:
        day = 86400 * 10**9
        if nanos == day:
            return 7
        if nanos == 7 * day:
            return 52
        if nanos == 3600 * 10**9:
            return 24
    if code == "D" and n == 7:
        return 52
    return _SEASON.get(code) if n == 1 else None


def _window_slices(panel, window):
    lengths = panel.lengths
    starts = panel.offsets[:-1].copy()
    if window is not None:
        if not isinstance(window, (int, np.integer)) or window < 1:
            raise DataValidationError([Problem("bad_window", "window",
                                               f"window={window!r} must be a positive int "
                                               "number of steps, or None for all history")])
        starts = starts + np.maximum(lengths - window, 0)
    return starts, panel.offsets[1:]


def velocity_features(panel, window: int | None = None, column: int = 0) -> pd.DataFrame:
    """The velocity statistics of every series (rows in panel order).

    Parameters
    ----------
    panel : Panel
    window : int, optional
        Feature derivation window: use only the last ``window`` steps of each series.
    column : int, default 0
        Which value column (0 is the target).
    """
    starts, ends = _window_slices(panel, window)
    v = panel.values[:, column].astype(np.float64)
    out = np.full((panel.n_series, len(VELOCITY_STATS)), np.nan)
    for i in range(panel.n_series):
        x = v[starts[i]:ends[i]]
        x = x[~np.isnan(x)]
        if len(x) == 0:
            continue
        std = x.std()
        mean = _mean(x, std)
        out[i] = (mean, std, np.mean(x == 0), np.median(x),
                  (std / abs(mean)) if mean != 0 else (0.0 if std == 0 else np.nan))
    return pd.DataFrame(out, columns=list(VELOCITY_STATS))


def _acf(x: np.ndarray, lag: int) -> float:
    if lag < 1 or len(x) <= lag + 1:
        return np.nan
    xc = x - x.mean()
    den = np.dot(xc, xc)
    if den == 0:
        return 0.0
    return float(np.dot(xc[:-lag], xc[lag:]) / den)


def _interp_nan(x: np.ndarray) -> np.ndarray:
    nan = np.isnan(x)
    if not nan.any():
        return x
    idx = np.arange(len(x))
    y = x.copy()
    y[nan] = np.interp(idx[nan], idx[~nan], x[~nan])
    return y


def _centered_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Centred moving mean over an odd window ``w``, shrinking at the ends (pandas'
    ``rolling(w, center=True, min_periods=1).mean()`` without a per-series Series)."""
    h = w // 2
    c = np.concatenate(([0.0], np.cumsum(x)))
    i = np.arange(len(x))
    lo = np.maximum(i - h, 0)
    hi = np.minimum(i + h + 1, len(x))
    return (c[hi] - c[lo]) / (hi - lo)


def _strengths(x: np.ndarray, m: int | None) -> tuple[float, float]:
    """Trend and seasonal strength from STL (statsmodels), or a moving-average trend."""
    n = len(x)
    if n < 4 or np.ptp(x) == 0:
        return 0.0, 0.0
    if m is not None and m >= 2 and n >= 2 * m + 1:
        from statsmodels.tsa.seasonal import STL
        res = STL(x, period=m, robust=False).fit()
        trend, seas, resid = res.trend, res.seasonal, res.resid
    else:
        w = max(3, min(n // 3 * 2 + 1, 13) | 1)
        trend = _centered_mean(x, w)
        seas = np.zeros(n)
        resid = x - trend
    vr = np.var(resid)
    ft = max(0.0, 1.0 - vr / np.var(trend + resid)) if np.var(trend + resid) > 0 else 0.0
    fs = max(0.0, 1.0 - vr / np.var(seas + resid)) if (m and np.var(seas + resid) > 0 and
                                                        np.any(seas != 0)) else 0.0
    return float(ft), float(fs)


#: Series per chunk of :func:`summary_features`; chunks run as joblib processes.
FEATURE_CHUNK = 10000


def summary_features(panel, season_length: int | None = None, column: int = 0,
                     n_jobs: int | None = None) -> pd.DataFrame:
    """Summary features of every series (columns :data:`SUMMARY_FEATURES`, panel order).

    Parameters
    ----------
    panel : Panel
    season_length : int, optional
        Defaults to :func:`season_length_for` of the panel frequency (None for integer
        steps: then seasonal features are 0 / NaN).
    column : int, default 0
    n_jobs : int, optional
        The series are featurized in chunks of :data:`FEATURE_CHUNK`; with more than
        one chunk they run as that many joblib processes (None: all cores), each with
        one BLAS thread (threadpoolctl), since the per-series work is Python-level.
    """
    m = season_length if season_length is not None else season_length_for(panel.freq)
    v = panel.values[:, column]
    off = panel.offsets
    bounds = [(lo, min(lo + FEATURE_CHUNK, panel.n_series))
              for lo in range(0, panel.n_series, FEATURE_CHUNK)]
    tasks = [(v[off[lo]:off[hi]], off[lo:hi + 1] - off[lo], m) for lo, hi in bounds]
    if len(tasks) <= 1 or n_jobs == 1:
        parts = [_summary_rows(*t) for t in tasks]
    else:
        from joblib import Parallel, delayed
        parts = Parallel(n_jobs=n_jobs or -1)(delayed(_summary_chunk)(*t) for t in tasks)
    rows = np.concatenate(parts) if parts else np.zeros((0, len(SUMMARY_FEATURES)))
    return pd.DataFrame(rows, columns=list(SUMMARY_FEATURES))


def _summary_chunk(v: np.ndarray, offsets: np.ndarray, m: int | None) -> np.ndarray:
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        return _summary_rows(v, offsets, m)


def _summary_rows(v: np.ndarray, offsets: np.ndarray, m: int | None) -> np.ndarray:
    """Summary features of the series ``v[offsets[i]:offsets[i+1]]``."""
    n = len(offsets) - 1
    rows = np.full((n, len(SUMMARY_FEATURES)), np.nan)
    for i in range(n):
        full = v[offsets[i]:offsets[i + 1]].astype(np.float64)
        obs = full[~np.isnan(full)]
        length = len(full)
        missing_share = 1.0 - len(obs) / length if length else 1.0
        if len(obs) == 0:
            rows[i, -2:] = (missing_share, length)
            continue
        # trim leading/trailing NaN, interpolate interior gaps for time-order features
        nz = np.flatnonzero(~np.isnan(full))
        x = _interp_nan(full[nz[0]:nz[-1] + 1])
        nonzero = obs[obs != 0]
        adi = len(obs) / len(nonzero) if len(nonzero) else np.nan
        nz_sd = nonzero.std() if len(nonzero) else 0.0
        nz_mean = _mean(nonzero, nz_sd) if len(nonzero) else 0.0
        cv2 = (nz_sd / nz_mean) ** 2 if nz_mean != 0 else np.nan
        ft, fs = _strengths(x, m)
        sd = obs.std()
        rows[i] = (_mean(obs, sd), sd, ft, fs, _acf(x, 1),
                   _acf(x, m) if m and m > 1 else np.nan, adi, cv2, np.mean(obs == 0),
                   missing_share, length)
    return rows


def shape_series(panel, normalize: str | None = "z", length: int | str | None = None,
                 columns=None) -> SeriesSet:
    """Per-series arrays for shape clustering.

    Each series: leading/trailing missing steps dropped, interior gaps interpolated
    linearly, each value column z-normalised (a constant column becomes zeros),
    optionally resampled to a common length.

    Parameters
    ----------
    panel : Panel
    normalize : {"z", None}, default "z"
    length : None, int or "median"
        None keeps each series' length (DTW handles unequal lengths); an int or
        ``"median"`` resamples every series linearly to that many steps (needed by
        k-Shape and soft-DTW k-means).
    columns : list of int, optional
        Value columns to use (default: all, i.e. target plus extra value columns).

    Series with no value at all become a single zero frame (they are flagged by the
    panel and the constraint report).
    """
    cols = list(range(panel.values.shape[1])) if columns is None else list(columns)
    target_len = None
    if length == "median":
        target_len = int(np.median(panel.n_observed[panel.n_observed > 0])) if \
            (panel.n_observed > 0).any() else 1
        target_len = max(target_len, 2)
    elif length is not None:
        target_len = int(length)
    parts = []
    for i in range(panel.n_series):
        block = panel.values[panel.offsets[i]:panel.offsets[i + 1]][:, cols].astype(np.float64)
        ok = ~np.isnan(block).all(axis=1)
        if not ok.any():
            parts.append(np.zeros((target_len or 1, len(cols))))
            continue
        nz = np.flatnonzero(ok)
        block = block[nz[0]:nz[-1] + 1]
        for j in range(block.shape[1]):
            col = block[:, j]
            if np.isnan(col).all():
                block[:, j] = 0.0
            else:
                block[:, j] = _interp_nan(col)
        if normalize == "z":
            mu = block.mean(axis=0)
            sd = block.std(axis=0)
            block = (block - mu) / np.where(sd > 0, sd, 1.0)
            block[:, sd == 0] = 0.0
        if target_len is not None and len(block) != target_len:
            src = np.linspace(0.0, 1.0, len(block)) if len(block) > 1 else np.zeros(1)
            dst = np.linspace(0.0, 1.0, target_len)
            block = np.column_stack([np.interp(dst, src, block[:, j]) if len(block) > 1 else
                                     np.full(target_len, block[0, j])
                                     for j in range(block.shape[1])])
        parts.append(block)
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    off = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    return SeriesSet(np.concatenate(parts, axis=0), off)


#: Shortest series catch22 is computed for (sktime's kernels divide by zero on 2 steps
#: and are meaningless on a handful); shorter series get NaN features.
CATCH22_MIN_LENGTH = 10

#: Values (series x steps) per call of the batched catch22 kernel.
CATCH22_BLOCK_VALUES = 2_000_000


def catch22_features(panel) -> pd.DataFrame:
    """The 22 catch22 features of each series' target, z-normalised (gaps interpolated,
    as :func:`shape_series`), one row per series.

    The values are those of sktime's numba catch22 kernels, run in one parallel numba
    loop per group of series of equal length (:mod:`segmenter._catch22_kernels`; about
    25x faster than sktime's ``Catch22`` transformer, which pays pandas overhead per
    series).  Column names are sktime's short names (``mode_5``, ``acf_timescale``,
    ``periodicity``...).  sktime's port is not the authors' reference: pycatch22 (the C
    code, catch22 v0.4) and aeon compute most features differently in detail, and aeon's
    maintainers list fixes sktime lacks (long-stretch counting, outlier timing; aeon PR
    #3618).  Good for clustering by shape; compare values only with sktime's.  A feature that is exactly zero stays zero (sktime's
    transformer reports it as NaN).  Constant series, series with no observed value and
    series of fewer than :data:`CATCH22_MIN_LENGTH` steps get NaN in every column; the
    feature clusterers impute NaN with the fitted series' median.
    """
    from sktime.transformations.catch22 import CATCH22_SHORT_FEATURE_NAMES
    from segmenter._catch22_kernels import N_FEATURES, catch22_matrix
    X = shape_series(panel, normalize="z", columns=[0])
    lengths = X.lengths
    out = np.full((len(lengths), N_FEATURES), np.nan)
    for L in np.unique(lengths):
        if L < CATCH22_MIN_LENGTH:
            continue
        idx = np.flatnonzero(lengths == L)
        arr = np.stack([X[i][:, 0] for i in idx])
        usable = np.flatnonzero(np.isfinite(arr).all(axis=1) & (arr.std(axis=1) > 0))
        # blocks of rows bound the FFT work arrays (about 15x the block's values)
        step = max(1, CATCH22_BLOCK_VALUES // int(L))
        for lo in range(0, len(usable), step):
            rows = usable[lo:lo + step]
            out[idx[rows]] = catch22_matrix(arr[rows])
    out[~np.isfinite(out)] = np.nan
    return pd.DataFrame(out, columns=list(CATCH22_SHORT_FEATURE_NAMES))
