"""Statistics featurizers: one row of numbers per series.

* :func:`velocity_features` -- DataRobot's "Velocity" statistics over the
  whole history or a recent window (``window``, the feature derivation window):
  ``mean``, ``std``, ``zero_share``, ``median``, ``cv``.  Computed on the observed
  (non-missing) values only, so irregular or gappy series are fine.
* :func:`summary_features` -- richer descriptors for feature-based clustering (see
  :data:`SUMMARY_FEATURES` for names and definitions).

NaN policy.  A statistic that is undefined for a series (too short, constant, all
missing) is NaN, never an exception; the feature-based clusterers impute NaN with the
column median of the fitted series.  Constant series get ``std = 0``, ``cv = 0`` (or
NaN when the mean is 0), autocorrelations 0 and strengths 0.  A mean below a millionth
of the series' standard deviation (:data:`MEAN_RESOLUTION`, e.g. of a z-normalised
series) is exactly 0, so ``cv`` and ``cv2`` are NaN there rather than a quotient of
rounding errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.calendar import season_length_for
from ..data.series import interpolate_gaps
from ..errors import DataValidationError, Problem

__all__ = [
    "velocity_features",
    "summary_features",
    "VELOCITY_STATS",
    "SUMMARY_FEATURES",
    "MEAN_RESOLUTION",
]

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


def _window_slices(panel, window):
    lengths = panel.lengths
    starts = panel.offsets[:-1].copy()
    if window is not None:
        if not isinstance(window, (int, np.integer)) or window < 1:
            raise DataValidationError(
                [
                    Problem(
                        "bad_window",
                        "window",
                        f"window={window!r} must be a positive int "
                        "number of steps, or None for all history",
                    )
                ]
            )
        starts = starts + np.maximum(lengths - window, 0)
    return starts, panel.offsets[1:]


def velocity_features(
    panel, window: int | None = None, column: int = 0
) -> pd.DataFrame:
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
        x = v[starts[i] : ends[i]]
        x = x[~np.isnan(x)]
        if len(x) == 0:
            continue
        std = x.std()
        mean = _mean(x, std)
        out[i] = (
            mean,
            std,
            np.mean(x == 0),
            np.median(x),
            (std / abs(mean)) if mean != 0 else (0.0 if std == 0 else np.nan),
        )
    return pd.DataFrame(out, columns=list(VELOCITY_STATS))


def _acf(x: np.ndarray, lag: int) -> float:
    if lag < 1 or len(x) <= lag + 1:
        return np.nan
    xc = x - x.mean()
    den = np.dot(xc, xc)
    if den == 0:
        return 0.0
    return float(np.dot(xc[:-lag], xc[lag:]) / den)


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
    ft = (
        max(0.0, 1.0 - vr / np.var(trend + resid)) if np.var(trend + resid) > 0 else 0.0
    )
    fs = (
        max(0.0, 1.0 - vr / np.var(seas + resid))
        if (m and np.var(seas + resid) > 0 and np.any(seas != 0))
        else 0.0
    )
    return float(ft), float(fs)


#: Series per chunk of :func:`summary_features`; chunks run as joblib processes.
FEATURE_CHUNK = 10000


def summary_features(
    panel, season_length: int | None = None, column: int = 0, n_jobs: int | None = None
) -> pd.DataFrame:
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
    bounds = [
        (lo, min(lo + FEATURE_CHUNK, panel.n_series))
        for lo in range(0, panel.n_series, FEATURE_CHUNK)
    ]
    tasks = [(v[off[lo] : off[hi]], off[lo : hi + 1] - off[lo], m) for lo, hi in bounds]
    if len(tasks) <= 1 or n_jobs == 1:
        parts = [_summary_rows(*t) for t in tasks]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs or -1)(
            delayed(_summary_chunk)(*t) for t in tasks
        )
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
        full = v[offsets[i] : offsets[i + 1]].astype(np.float64)
        obs = full[~np.isnan(full)]
        length = len(full)
        missing_share = 1.0 - len(obs) / length if length else 1.0
        if len(obs) == 0:
            rows[i, -2:] = (missing_share, length)
            continue
        # trim leading/trailing NaN, interpolate interior gaps for time-order features
        nz = np.flatnonzero(~np.isnan(full))
        x = interpolate_gaps(full[nz[0] : nz[-1] + 1])
        nonzero = obs[obs != 0]
        adi = len(obs) / len(nonzero) if len(nonzero) else np.nan
        nz_sd = nonzero.std() if len(nonzero) else 0.0
        nz_mean = _mean(nonzero, nz_sd) if len(nonzero) else 0.0
        cv2 = (nz_sd / nz_mean) ** 2 if nz_mean != 0 else np.nan
        ft, fs = _strengths(x, m)
        sd = obs.std()
        rows[i] = (
            _mean(obs, sd),
            sd,
            ft,
            fs,
            _acf(x, 1),
            _acf(x, m) if m and m > 1 else np.nan,
            adi,
            cv2,
            np.mean(obs == 0),
            missing_share,
            length,
        )
    return rows
