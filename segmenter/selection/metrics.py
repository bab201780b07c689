"""The metrics registry: every metric a leaderboard ranks by, declared once.

:data:`METRICS` maps a name to a :class:`Metric`: whether greater is better, which
half of the library uses it (``"clustering"`` or ``"forecast"``) and, for forecast
metrics, the function of one series' actuals and forecasts.

Forecast metrics (per series, averaged over series by the callers):

* ``mase`` -- mean absolute scaled error: the forecast's mean absolute error divided
  by the in-sample mean absolute error of the seasonal naive forecast on the training
  values (:func:`mase_scale`: the naive forecast when the history is not longer than a
  season, or when the seasonal scale is 0; NaN when both are undefined or 0).
* ``smape`` -- symmetric MAPE in percent (0..200), as in the M3 competition.
* ``rmse`` -- root mean squared error (in the series' units).

Interval scores: :func:`msis` (the M4 competition's mean scaled interval score) and
:func:`coverage`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataValidationError, Problem

__all__ = [
    "Metric",
    "METRICS",
    "metric_names",
    "get_metric",
    "mase",
    "mase_scale",
    "smape",
    "rmse",
    "msis",
    "coverage",
]


def mase_scale(train, m: int) -> tuple[float, int]:
    """(scale, lag) of the MASE: the in-sample mean absolute error of the seasonal naive
    forecast (lag ``m``) on ``train``; of the naive forecast (lag 1) when the history is
    not longer than a season or the seasonal scale is 0; NaN (lag 0) when neither exists.

    >>> mase_scale([1.0, 2.0, 4.0], 1)
    (1.5, 1)
    >>> mase_scale([5.0, 5.0, 5.0], 1)
    (nan, 0)
    """
    y = np.asarray(train, dtype=float)
    for lag in (m, 1) if m > 1 else (1,):
        if len(y) > lag:
            s = float(np.mean(np.abs(y[lag:] - y[:-lag])))
            if s > 0:
                return s, lag
    return math.nan, 0


def _observed(actual, forecast):
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    ok = ~np.isnan(a)
    return a[ok], f[ok]


def mase(actual, forecast, train, m: int) -> float:
    """Mean absolute scaled error; NaN when the training scale is 0 or undefined.

    >>> round(mase([3.0, 4.0], [2.0, 4.0], [1.0, 2.0, 3.0], 1), 3)
    0.5
    """
    a, f = _observed(actual, forecast)
    if not len(a):
        return math.nan
    return float(np.mean(np.abs(a - f)) / mase_scale(train, m)[0])


def smape(actual, forecast, train=None, m: int = 1) -> float:
    """Symmetric MAPE in percent (0..200), as in the M3 competition; 0/0 counts as 0.

    >>> smape([100.0], [110.0])
    9.523809523809524
    """
    a, f = _observed(actual, forecast)
    if not len(a):
        return math.nan
    num = np.abs(a - f)
    den = np.abs(a) + np.abs(f)
    return float(
        np.mean(np.where(den > 0, 200.0 * num / np.where(den > 0, den, 1), 0.0))
    )


def rmse(actual, forecast, train=None, m: int = 1) -> float:
    """Root mean squared error over the observed actuals.

    >>> rmse([1.0, 3.0], [3.0, 5.0])
    2.0
    """
    a, f = _observed(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2))) if len(a) else math.nan


def msis(actual, lo, hi, train, m: int, level: float) -> float:
    """Mean scaled interval score of the ``level``% interval [lo, hi] (M4's MSIS): the
    width plus ``2 / alpha`` times each miss, over the MASE scale.

    >>> round(msis([1.0, 5.0], [0.0, 0.0], [2.0, 2.0], [0.0, 1.0, 2.0], 1, 80), 3)
    17.0
    """
    a = np.asarray(actual, float)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    ok = ~np.isnan(a)
    if not ok.any():
        return math.nan
    a, lo, hi = a[ok], lo[ok], hi[ok]
    alpha = 1.0 - level / 100.0
    score = (hi - lo) + 2.0 / alpha * ((lo - a) * (a < lo) + (a - hi) * (a > hi))
    return float(np.mean(score) / mase_scale(train, m)[0])


def coverage(actual, lo, hi) -> float:
    """Share of the observed actuals inside [lo, hi].

    >>> coverage([1.0, 5.0, float("nan")], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0])
    0.5
    """
    a = np.asarray(actual, float)
    ok = ~np.isnan(a)
    if not ok.any():
        return math.nan
    a = a[ok]
    return float(
        np.mean((a >= np.asarray(lo, float)[ok]) & (a <= np.asarray(hi, float)[ok]))
    )


@dataclass(frozen=True)
class Metric:
    """A metric a leaderboard ranks by."""

    name: str
    greater_is_better: bool
    kind: str  # "clustering" | "forecast"
    label: str
    function: Callable | None = None  # forecast metrics: (actual, forecast, train, m)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("silhouette", True, "clustering", "validation silhouette"),
        Metric("silhouette_train", True, "clustering", "training silhouette"),
        Metric("calinski_harabasz", True, "clustering", "Calinski-Harabasz index"),
        Metric("davies_bouldin", False, "clustering", "Davies-Bouldin index"),
        Metric(
            "forecast_error",
            False,
            "segmentation",
            "backtest error of the forecasts the segmentation leads to",
        ),
        Metric("mase", False, "forecast", "MASE", mase),
        Metric("smape", False, "forecast", "sMAPE", smape),
        Metric("rmse", False, "forecast", "RMSE", rmse),
    ]
}


def metric_names(kind: str) -> list[str]:
    """Names of the metrics of one half (``"clustering"`` or ``"forecast"``).

    >>> metric_names("forecast")
    ['mase', 'smape', 'rmse']
    """
    return [n for n, m in METRICS.items() if m.kind == kind]


def get_metric(name: str, kind: str, param: str = "metric") -> Metric:
    """The metric ``name`` of half ``kind``; a typed error listing the choices otherwise."""
    m = METRICS.get(name)
    if m is None or m.kind != kind:
        raise DataValidationError(
            [
                Problem(
                    f"bad_{param}",
                    param,
                    f"{param}={name!r}; use one of {metric_names(kind)}",
                )
            ]
        )
    return m
