"""The catalogue of forecasting candidates, built from short specs (``"ets(damped=False)"``).

==================  ===================================================================
``seasonal_naive``  last season repeated (last value without a season): the baseline
                    that always runs
``naive``           last value repeated
``ets``             statsforecast AutoETS: error, trend, damping and season by AICc
``theta``           statsforecast AutoTheta (standard, optimised, dynamic Theta)
``arima``           statsforecast AutoARIMA (stepwise); future covariates as regressors
``croston``         Croston (SBA) for intermittent demand
``tsb``             Teunter-Syntetos-Babai for intermittent demand
``adida``           ADIDA (temporal aggregation) for intermittent demand
``imapa``           IMAPA (several aggregation levels) for intermittent demand
``mstl``            MSTL: several seasons (daily, hourly data), AutoETS on the rest
``lgbm``            LightGBM through mlforecast, one global model per segment (pooled):
                    lags, rolling and expanding statistics, calendar, covariates;
                    recursive (default) or direct
``combo``           the mean (or median) of the segment's ``k`` best candidates, chosen
                    on the backtests: ``combo(k=3, how="median")``
==================  ===================================================================

``pooled_gbm`` (0.2's scikit-learn gradient boosting) now is ``lgbm`` under its old
name; a warning says so.  Modes: ``"default"`` (:data:`DEFAULT_FORECASTERS`) and ``"quick"``
(:data:`QUICK_FORECASTERS`, without AutoARIMA, which costs about 0.5 s per series
here).  The intermittent methods join automatically when some series are mostly
zeros, MSTL when the data have several seasons (``SegmentedForecaster(intermittent=,
season_length=[...])``).  Any sktime forecaster joins through
:class:`segmenter.adapters.sktime_bridge.SktimeForecaster`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._spec import parse_spec
from ..errors import DataValidationError, Problem
from .base import Forecast, ForecastBlueprint, Naive, SeasonalNaive

__all__ = [
    "FORECASTERS",
    "DEFAULT_FORECASTERS",
    "QUICK_FORECASTERS",
    "INTERMITTENT",
    "MODES",
    "make_forecaster",
    "Combination",
]


class Combination(ForecastBlueprint):
    """The mean (or median) forecast of a segment's ``k`` best candidates.

    The runner ranks a segment's single candidates on the windows that choose its
    champion and averages the forecasts of the ``k`` best of them, window by window; the
    combination then competes with them.  It fits nothing itself.

    Parameters
    ----------
    k : int, default 3
    how : {"mean", "median"}, default "mean"
    """

    name = "combo"
    steps = "the {how} of the segment's {k} best candidates (chosen on the backtests)"
    _tags = {"kind": "combination", "intervals": "conformal"}
    _parameter_constraints = {
        "k": [Interval(Integral, 2, None, closed="left")],
        "how": [StrOptions({"mean", "median"})],
    }

    def __init__(self, k: int = 3, how: str = "mean"):
        self.k = k
        self.how = how

    def combine(self, forecasts: list[np.ndarray]) -> np.ndarray:
        """The combination of equally shaped forecasts."""
        stack = np.stack(forecasts)
        with warnings.catch_warnings():  # all members NaN (a series not scored): NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return (
                np.nanmedian(stack, axis=0)
                if self.how == "median"
                else np.nanmean(stack, axis=0)
            )

    def predict(self, state, group, horizon, levels=None) -> Forecast:
        raise TypeError(
            "a combination forecasts from its members' forecasts; the runner "
            "builds it (combine)"
        )


def _bridge(module: str, cls_name: str, **params):
    import importlib

    return getattr(importlib.import_module(f"segmenter.adapters.{module}"), cls_name)(
        **params
    )


def _pooled_gbm(**params):
    warnings.warn(
        "'pooled_gbm' (scikit-learn gradient boosting, segmenter 0.2) is now "
        "LightGBM through mlforecast, 'lgbm'; the old name keeps working as that "
        "model and will go in 0.4",
        FutureWarning,
        stacklevel=3,
    )
    bp = _bridge("mlforecast_bridge", "LightGBMCandidate", **params)
    bp.name = "pooled_gbm"  # the leaderboard shows the spec the user gave
    return bp


FORECASTERS: dict[str, Callable[..., ForecastBlueprint]] = {
    "seasonal_naive": SeasonalNaive,
    "naive": Naive,
    "ets": partial(_bridge, "statsforecast_bridge", "ETSCandidate"),
    "theta": partial(_bridge, "statsforecast_bridge", "ThetaCandidate"),
    "arima": partial(_bridge, "statsforecast_bridge", "ARIMACandidate"),
    "croston": partial(_bridge, "statsforecast_bridge", "CrostonCandidate"),
    "tsb": partial(_bridge, "statsforecast_bridge", "TSBCandidate"),
    "adida": partial(_bridge, "statsforecast_bridge", "ADIDACandidate"),
    "imapa": partial(_bridge, "statsforecast_bridge", "IMAPACandidate"),
    "mstl": partial(_bridge, "statsforecast_bridge", "MSTLCandidate"),
    "lgbm": partial(_bridge, "mlforecast_bridge", "LightGBMCandidate"),
    "pooled_gbm": _pooled_gbm,
    "combo": Combination,
}

#: The candidates a SegmentedForecaster runs by default.
DEFAULT_FORECASTERS = ["seasonal_naive", "ets", "theta", "arima", "lgbm", "combo"]
#: A cheaper set (no AutoARIMA).
QUICK_FORECASTERS = ["seasonal_naive", "ets", "theta", "lgbm", "combo"]
#: Added when some series are mostly zeros.
INTERMITTENT = ["croston", "tsb", "adida", "imapa"]
MODES = {"default": DEFAULT_FORECASTERS, "quick": QUICK_FORECASTERS}


def make_forecaster(spec) -> ForecastBlueprint:
    """A forecasting blueprint from a spec (``"ets(damped=False)"``) or an instance.

    >>> make_forecaster("theta").spec, make_forecaster("ets(damped=False)").spec
    ('theta', 'ets(damped=False)')
    >>> make_forecaster("combo(k=2, how='median')").spec
    "combo(how='median', k=2)"
    """
    if isinstance(spec, ForecastBlueprint):
        bp = spec
    else:
        name, kw = parse_spec(
            spec, FORECASTERS, "forecaster", "candidates", "ets(damped=False)"
        )
        try:
            bp = FORECASTERS[name](**kw)
        except TypeError as exc:
            raise DataValidationError(
                [Problem("bad_forecaster_spec", "candidates", f"{spec!r}: {exc}")]
            ) from None
    try:
        bp._check_params()
    except DataValidationError as exc:
        raise DataValidationError(
            [
                Problem("bad_forecaster_spec", "candidates", f"{spec!r}: {p.message}")
                for p in exc.problems
            ]
        ) from None
    return bp
