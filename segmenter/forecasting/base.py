"""Forecasting blueprints, error metrics and rolling-origin backtest windows.

A forecasting blueprint forecasts a *group* of series (one segment, or all series for
the global model) ``horizon`` steps past the end of each:

``fit(group) -> state`` then ``predict(state, group, horizon) -> ndarray (n, horizon)``

where ``group`` is a :class:`SeriesGroup` (clean training arrays plus the position of
each step in the season).  *Local* blueprints (seasonal naive, statsmodels ETS / ARIMA /
Theta, any sktime forecaster) fit one model per series inside ``predict``; *pooled*
blueprints (a scikit-learn regressor on lag, rolling and calendar features) fit one
model on all series of the group in ``fit`` and can then forecast series they never
saw.  A local model that raises on one series falls back to the seasonal naive forecast
for that series (counted in ``fallbacks``); when more than half of a group's series fail
the blueprint raises and the leaderboard records the failure.

Catalogue (:data:`FORECASTERS`, specs like ``"ets(damped=False)"``):

==================  ===================================================================
``seasonal_naive``  last season repeated (last value when there is no season); the
                    baseline that always runs
``ets``             statsmodels ``ETSModel``: additive errors, additive (damped) trend,
                    additive seasonality when the series covers two seasons
``theta``           statsmodels ``ThetaModel`` (deseasonalised when it can)
``arima``           statsmodels ``ARIMA(1,1,1)`` with a seasonal ``(0,1,1)`` part when
                    the series covers three seasons
``pooled_gbm``      scikit-learn ``HistGradientBoostingRegressor`` pooled over the group
                    (see :mod:`segmenter.adapters.pooled`)
==================  ===================================================================

Any sktime forecaster joins with :class:`segmenter.adapters.sktime_bridge.SktimeForecaster`.

Backtests (:func:`backtest_cutoffs`): window ``w`` (0 = the most recent) ends each
series ``w * step`` steps before its last step and holds out the ``horizon`` steps
after its cutoff; the model sees only the values before the cutoff (the arrays are
cut, so future values cannot leak).  Windows are relative to each series' own end, so
series that end at different times are all backtested.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from .._spec import format_spec, parse_spec
from ..errors import DataValidationError, Problem

__all__ = ["SeriesGroup", "ForecastBlueprint", "LocalForecaster", "SeasonalNaive",
           "FORECASTERS", "DEFAULT_FORECASTERS", "make_forecaster", "mase", "smape", "rmse",
           "backtest_cutoffs", "clean_history"]


# ============================================================================ data
def clean_history(y: np.ndarray) -> tuple[np.ndarray, int]:
    """Values for a model: leading missing steps dropped, interior and trailing gaps
    filled (linear inside, last value at the end).  Returns (values, steps dropped)."""
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


@dataclass
class SeriesGroup:
    """The training histories of a group of series.

    Attributes
    ----------
    values : list of ndarray
        Clean histories (see :func:`clean_history`), possibly empty.
    end_phase : ndarray of int
        Season position (0..m-1) of the step right after each history; with the
        grid's absolute positions this is the calendar (e.g. month of year).
    season_length : int
        m (1 when there is no season).
    """

    values: list
    end_phase: np.ndarray
    season_length: int

    def __len__(self) -> int:
        return len(self.values)

    def take(self, idx) -> "SeriesGroup":
        idx = list(idx)
        return SeriesGroup([self.values[i] for i in idx], self.end_phase[idx],
                           self.season_length)


# ============================================================================ metrics
def _scale(train: np.ndarray, m: int) -> float:
    """MASE scale: in-sample MAE of the seasonal naive (naive when too short)."""
    lag = m if m > 1 and len(train) > m else 1
    if len(train) <= lag:
        return math.nan
    s = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    return s if s > 0 else math.nan


def mase(actual, forecast, train, m: int) -> float:
    """Mean absolute scaled error; NaN when the training scale is 0 or undefined.

    >>> round(mase([3.0, 4.0], [2.0, 4.0], [1.0, 2.0, 3.0], 1), 3)
    0.5
    """
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    ok = ~np.isnan(a)
    if not ok.any():
        return math.nan
    return float(np.mean(np.abs(a[ok] - f[ok])) / _scale(np.asarray(train, float), m))


def smape(actual, forecast) -> float:
    """Symmetric MAPE in percent (0..200), as in the M3 competition; 0/0 counts as 0.

    >>> smape([100.0], [110.0])
    9.523809523809524
    """
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    ok = ~np.isnan(a)
    if not ok.any():
        return math.nan
    num = np.abs(a[ok] - f[ok])
    den = np.abs(a[ok]) + np.abs(f[ok])
    return float(np.mean(np.where(den > 0, 200.0 * num / np.where(den > 0, den, 1), 0.0)))


def rmse(actual, forecast) -> float:
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    ok = ~np.isnan(a)
    return float(np.sqrt(np.mean((a[ok] - f[ok]) ** 2))) if ok.any() else math.nan


METRICS = ("mase", "smape", "rmse")


def backtest_cutoffs(lengths: np.ndarray, horizon: int, n_windows: int, step: int,
                     min_train: int) -> np.ndarray:
    """Cutoff of every series in every window, shape (n_windows, n_series).

    Window w holds out steps ``cutoff .. cutoff + horizon - 1`` with
    ``cutoff = length - horizon - w * step``; -1 marks a series too short for the window
    (fewer than ``min_train`` steps before the cutoff).

    >>> backtest_cutoffs(np.array([20, 9]), horizon=4, n_windows=2, step=4, min_train=4).tolist()
    [[16, 5], [12, -1]]
    """
    w = np.arange(n_windows)[:, None]
    cut = lengths[None, :] - horizon - w * step
    return np.where(cut >= min_train, cut, -1)


# ============================================================================ blueprints
class ForecastBlueprint:
    """Base of forecasting blueprints; see the module docstring for the protocol."""

    name = "forecaster"
    kind = "local"
    steps = ""

    def __init__(self, **params):
        self.params = params

    @property
    def spec(self) -> str:
        return format_spec(self.name, self.params)

    def describe(self) -> str:
        return self.steps.format(**{**getattr(self, "defaults", {}), **self.params})

    def fit(self, group: SeriesGroup):
        return None

    def predict(self, state, group: SeriesGroup, horizon: int) -> tuple[np.ndarray, list]:
        """Forecasts (n, horizon) and the fallbacks [(series position, reason)]."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"


def seasonal_naive(y: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """Repeat the last season (the last value when the history is shorter than m)."""
    if len(y) == 0:
        return np.full(horizon, np.nan)
    if m > 1 and len(y) >= m:
        return np.resize(y[-m:], horizon) if horizon else np.zeros(0)
    return np.full(horizon, y[-1])


class LocalForecaster(ForecastBlueprint):
    """One model per series; subclasses write ``_forecast(y, horizon, m)``."""

    kind = "local"
    min_length = 3

    def _forecast(self, y: np.ndarray, horizon: int, m: int) -> np.ndarray:
        raise NotImplementedError

    def predict(self, state, group: SeriesGroup, horizon: int):
        out = np.empty((len(group), horizon))
        fallbacks = []
        m = group.season_length
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, y in enumerate(group.values):
                if len(y) < self.min_length:
                    out[i] = seasonal_naive(y, horizon, m)
                    if len(y):
                        fallbacks.append((i, f"{len(y)} values, fewer than {self.min_length}"))
                    continue
                try:
                    f = np.asarray(self._forecast(y, horizon, m), dtype=float)
                    if f.shape != (horizon,) or not np.isfinite(f).all():
                        raise ValueError("non-finite forecast")
                    out[i] = f
                except Exception as exc:   # noqa: BLE001 - any model failure falls back
                    out[i] = seasonal_naive(y, horizon, m)
                    fallbacks.append((i, f"{type(exc).__name__}: {exc}"))
        n_usable = sum(len(y) >= self.min_length for y in group.values)
        failed = [r for i, r in fallbacks if len(group.values[i]) >= self.min_length]
        if n_usable and len(failed) > n_usable / 2:
            raise RuntimeError(f"{self.spec} failed on {len(failed)} of {n_usable} series "
                               f"(first: {failed[0]})")
        return out, fallbacks


class SeasonalNaive(LocalForecaster):
    """The last season repeated; the baseline that always runs."""

    name = "seasonal_naive"
    steps = "repeat the last season (last value without a season)"
    min_length = 1

    def _forecast(self, y, horizon, m):
        return seasonal_naive(y, horizon, m)


# ---------------------------------------------------------------------------- catalogue
def _statsmodels(cls_name, **params):
    from ..adapters import statsmodels_forecasters
    return getattr(statsmodels_forecasters, cls_name)(**params)


def _pooled(**params):
    from ..adapters.pooled import PooledRegressor
    return PooledRegressor(**params)


FORECASTERS: dict[str, Callable[..., ForecastBlueprint]] = {
    "seasonal_naive": SeasonalNaive,
    "ets": partial(_statsmodels, "ETS"),
    "theta": partial(_statsmodels, "Theta"),
    "arima": partial(_statsmodels, "Arima"),
    "pooled_gbm": _pooled,
}

#: The candidates a SegmentedForecaster runs by default.
DEFAULT_FORECASTERS = ["seasonal_naive", "ets", "theta", "arima", "pooled_gbm"]
#: A cheaper set (no ARIMA).
QUICK_FORECASTERS = ["seasonal_naive", "ets", "theta", "pooled_gbm"]


def make_forecaster(spec) -> ForecastBlueprint:
    """A forecasting blueprint from a spec (``"ets(damped=False)"``) or an instance.

    >>> make_forecaster("theta").spec, make_forecaster("ets(damped=False)").spec
    ('theta', 'ets(damped=False)')
    """
    if isinstance(spec, ForecastBlueprint):
        return spec
    name, kw = parse_spec(spec, FORECASTERS, "forecaster", "candidates", "ets(damped=False)")
    try:
        return FORECASTERS[name](**kw)
    except TypeError as exc:
        raise DataValidationError([Problem("bad_forecaster_spec", "candidates",
                                           f"{spec!r}: {exc}")]) from None
