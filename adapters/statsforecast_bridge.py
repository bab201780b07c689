"""Nixtla's statsforecast models as local forecasting blueprints (one model per series).

statsforecast is numba-compiled and built to match R's forecast package; its models'
``forecast(y, h, X, X_future, level)`` fits and forecasts one series without pandas,
which is the fast path the runner's per-series backtests need (about 40 ms per
quarterly or monthly series for AutoETS here, against about 300 ms for a single
statsmodels ETS).  Its intervals are the models' own (``intervals`` tag ``"native"``),
except for the intermittent-demand methods, which have none (the runner makes
conformal ones).

Seasons: a single-season model uses the main season when the history covers two of
them, else none; MSTL uses every season that fits twice.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from segmenter._moved import renamed
from segmenter.base import Check, get_tag
from segmenter.errors import Problem
from segmenter.forecasting.base import LocalForecaster

__all__ = [
    "StatsForecastModel",
    "ETSCandidate",
    "ARIMACandidate",
    "ThetaCandidate",
    "CrostonCandidate",
    "TSBCandidate",
    "ADIDACandidate",
    "IMAPACandidate",
    "MSTLCandidate",
]


def _fit_predict(model, y, horizon: int, levels, **kw):
    """``model.forecast`` on one series: (mean, {level: (lo, hi)} or None)."""
    lv = [int(v) for v in levels] if levels else None
    res = model.forecast(
        np.ascontiguousarray(y, dtype=np.float64), horizon, level=lv, **kw
    )
    ivals = None
    if lv and f"lo-{lv[0]}" in res:
        ivals = {
            v: (np.asarray(res[f"lo-{v}"]), np.asarray(res[f"hi-{v}"])) for v in lv
        }
    return np.asarray(res["mean"]), ivals


class StatsForecastModel(LocalForecaster):
    """A statsforecast model per series; subclasses set ``name``, ``steps``,
    ``min_length`` and ``_model(season_length)``."""

    _tags = {"intervals": "native"}
    seasonal = True

    def _season(self, y, m: int) -> int:
        return m if self.seasonal and m > 1 and len(y) >= 2 * m else 1

    def _model(self, season_length: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _forecast(self, y, horizon, m):
        return self._forecast_full(y, horizon, m, None)[0]

    def _forecast_full(self, y, horizon, m, levels, x=None, x_future=None, seasons=()):
        kw = {"X": x, "X_future": x_future} if x is not None else {}
        native = get_tag(self, "intervals") == "native"
        try:
            return _fit_predict(
                self._model(self._season(y, m)),
                y,
                horizon,
                levels if native else None,
                **kw,
            )
        except Exception:
            searched = getattr(self, "searched", None)  # a reused form (with_form)
            if searched is None:
                raise
            return searched._forecast_full(y, horizon, m, levels, x, x_future, seasons)


def _ets_model_problems(name: str, value) -> list[Problem]:
    ok = (
        isinstance(value, str)
        and len(value) == 3
        and value[0] in "AMZ"
        and value[1] in "NAMZ"
        and value[2] in "NAMZ"
    )
    if ok:
        return []
    return [
        Problem(
            f"bad_{name}",
            None,
            f"{name}={value!r} must be three letters: error (A, M or Z), trend and "
            "season (N, A, M or Z; Z lets AICc choose), e.g. 'ZZZ' or 'AAN'",
        )
    ]


class ETSCandidate(StatsForecastModel):
    """statsforecast ``AutoETS``: exponential smoothing with error, trend (damped or
    not) and season chosen by AICc, as R's ``ets``.

    Parameters
    ----------
    model : str, default "ZZZ"
        Error, trend, season letters (``Z`` = chosen; ``"ZZN"``: no season).
    damped : bool or None, default None
        None lets the criterion choose.
    """

    name = "ets"
    steps = "statsforecast AutoETS per series (model {model}, damped {damped}; AICc)"
    min_length = 10  # statsforecast refuses "tiny datasets"
    _parameter_constraints = {
        "model": [Check(_ets_model_problems)],
        "damped": ["boolean", None],
    }

    def __init__(self, model: str = "ZZZ", damped: bool | None = None):
        self.model = model
        self.damped = damped

    def _model(self, season_length):
        from statsforecast.models import AutoETS as _AutoETS

        model = self.model
        if season_length == 1 and model[2] not in "NZ":
            model = model[:2] + "N"  # a fixed seasonal form on a series too short
        return _AutoETS(season_length=season_length, model=model, damped=self.damped)

    def fitted_form(self, y, m):
        if "Z" not in self.model and self.damped is not None:
            return None
        fit = self._model(self._season(y, m)).fit(y)
        # "ETS(M,Ad,A)": error, trend (d: damped), season
        error, trend, season = fit.model_["method"][4:-1].split(",")
        return {
            "model": error + trend[0] + season,
            "damped": trend.endswith("d"),
        }


class ARIMACandidate(StatsForecastModel):
    """statsforecast ``AutoARIMA`` (R's ``auto.arima`` stepwise search); numeric
    future-known covariates enter as regressors.

    Parameters
    ----------
    d, D : int or None, default None
        Orders of (seasonal) differencing; None lets the unit-root tests choose.
    max_p, max_q : int, default 5
    max_P, max_Q : int, default 2
        Largest (seasonal) AR and MA orders searched.
    max_order : int, default 5
        Largest p + q + P + Q searched.
    max_d, max_D : int, default 2 and 1
        Largest (seasonal) differencing the tests may choose.
    seasonal : bool, default True
        False searches non-seasonal models only.
    stepwise : bool, default True
        False searches every model in the bounds (much slower).
    approximation : bool, default False
        Approximate the likelihood during the search (faster on long series).
    allowdrift, allowmean : bool, default True
        Whether a drift (with differencing) or a mean (without) may be fitted.
    ic : {"aicc", "aic", "bic"}, default "aicc"
        The criterion the search minimises.

    Every default is statsforecast's own.
    """

    name = "arima"
    steps = "statsforecast AutoARIMA per series (stepwise, AICc; future covariates as regressors)"
    min_length = 6
    _tags = {"uses:future": True}
    #: Longest season fitted with a seasonal part: the search's cost grows with the
    #: season (weekly series of 156 steps: 11 s each with season 52, 0.4 s without),
    #: so a longer one is fitted without it and the plan says so.
    max_season = 24

    _parameter_constraints = {
        "d": [Interval(Integral, 0, None, closed="left"), None],
        "D": [Interval(Integral, 0, None, closed="left"), None],
        "max_p": [Interval(Integral, 0, None, closed="left")],
        "max_q": [Interval(Integral, 0, None, closed="left")],
        "max_P": [Interval(Integral, 0, None, closed="left")],
        "max_Q": [Interval(Integral, 0, None, closed="left")],
        "max_order": [Interval(Integral, 0, None, closed="left")],
        "max_d": [Interval(Integral, 0, None, closed="left")],
        "max_D": [Interval(Integral, 0, None, closed="left")],
        "seasonal": ["boolean"],
        "stepwise": ["boolean"],
        "approximation": ["boolean"],
        "allowdrift": ["boolean"],
        "allowmean": ["boolean"],
        "ic": [StrOptions({"aicc", "aic", "bic"})],
    }

    def __init__(
        self,
        d: int | None = None,
        D: int | None = None,
        max_p: int = 5,
        max_q: int = 5,
        max_P: int = 2,
        max_Q: int = 2,
        max_order: int = 5,
        max_d: int = 2,
        max_D: int = 1,
        seasonal: bool = True,
        stepwise: bool = True,
        approximation: bool = False,
        allowdrift: bool = True,
        allowmean: bool = True,
        ic: str = "aicc",
    ):
        self.d = d
        self.D = D
        self.max_p = max_p
        self.max_q = max_q
        self.max_P = max_P
        self.max_Q = max_Q
        self.max_order = max_order
        self.max_d = max_d
        self.max_D = max_D
        self.seasonal = seasonal
        self.stepwise = stepwise
        self.approximation = approximation
        self.allowdrift = allowdrift
        self.allowmean = allowmean
        self.ic = ic

    def _season(self, y, m):
        return 1 if m > self.max_season else super()._season(y, m)

    def _model(self, season_length):
        from statsforecast.models import AutoARIMA as _AutoARIMA

        return _AutoARIMA(season_length=season_length, **self.get_params(deep=False))

    def _covariates(self, group, i):
        if not group.future:
            return None, None
        y = group.values[i]
        hist = np.column_stack(
            [np.asarray(v[i], dtype=float)[-len(y) :] for v in group.future.values()]
        )
        fut = np.column_stack(
            [np.asarray(v[i], dtype=float) for v in group.future_h.values()]
        )
        return _filled(hist), _filled(fut, hist)


def _filled(a: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """Covariates for a regression: gaps carried forward (from ``before`` at the start),
    then 0."""
    out = np.array(a, dtype=float)
    last = (
        before[-1].copy()
        if before is not None and len(before)
        else np.zeros(out.shape[1])
    )
    for t in range(len(out)):
        bad = np.isnan(out[t])
        out[t, bad] = last[bad]
        last = np.where(np.isnan(out[t]), last, out[t])
    return np.nan_to_num(out)


class ThetaCandidate(StatsForecastModel):
    """statsforecast ``AutoTheta``: the best of the standard, optimised and dynamic
    Theta models by in-sample MSE, on the deseasonalised series.

    Parameters
    ----------
    model : {"STM", "OTM", "DSTM", "DOTM"} or None, default None
        A fixed Theta model (standard, optimised, dynamic standard, dynamic
        optimised); None lets the in-sample MSE choose.
    decomposition_type : {"multiplicative", "additive"}, default "multiplicative"
        How the season is removed (when two seasons fit).
    """

    name = "theta"
    steps = "statsforecast AutoTheta per series (deseasonalised when two seasons fit)"
    min_length = 4
    _parameter_constraints = {
        "model": [StrOptions({"STM", "OTM", "DSTM", "DOTM"}), None],
        "decomposition_type": [StrOptions({"multiplicative", "additive"})],
    }

    def __init__(
        self, model: str | None = None, decomposition_type: str = "multiplicative"
    ):
        self.model = model
        self.decomposition_type = decomposition_type

    def _model(self, season_length):
        from statsforecast.models import AutoTheta as _AutoTheta

        return _AutoTheta(
            season_length=season_length,
            model=self.model,
            decomposition_type=self.decomposition_type,
        )

    def fitted_form(self, y, m):
        if self.model:
            return None
        fit = self._model(self._season(y, m)).fit(y)
        return {"model": fit.model_["modeltype"]}


class _Intermittent(StatsForecastModel):
    """An intermittent-demand method: no season, no intervals of its own."""

    _tags = {"intervals": "conformal", "demand": "intermittent"}
    seasonal = False
    min_length = 2
    model_name = ""

    def _model(self, season_length):
        import statsforecast.models as M

        return getattr(M, self.model_name)()


class CrostonCandidate(_Intermittent):
    """Croston's method with the Syntetos-Boylan bias correction."""

    name = "croston"
    steps = "statsforecast Croston (SBA) per series: demand size / interval"
    model_name = "CrostonSBA"


class TSBCandidate(_Intermittent):
    """Teunter-Syntetos-Babai: demand probability and size smoothed separately.

    Parameters
    ----------
    alpha_d, alpha_p : float, default 0.1
        Smoothing of the demand size and of its probability.
    """

    name = "tsb"
    steps = "statsforecast TSB per series (alpha_d {alpha_d}, alpha_p {alpha_p})"
    model_name = "TSB"
    _parameter_constraints = {
        "alpha_d": [Interval(Real, 0, 1, closed="both")],
        "alpha_p": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1):
        self.alpha_d = alpha_d
        self.alpha_p = alpha_p

    def _model(self, season_length):
        from statsforecast.models import TSB as _TSB

        return _TSB(alpha_d=self.alpha_d, alpha_p=self.alpha_p)


class ADIDACandidate(_Intermittent):
    """Aggregate-disaggregate intermittent demand approach."""

    name = "adida"
    steps = "statsforecast ADIDA per series (temporal aggregation)"
    model_name = "ADIDA"


class IMAPACandidate(_Intermittent):
    """Intermittent multiple aggregation prediction algorithm."""

    name = "imapa"
    steps = "statsforecast IMAPA per series (several aggregation levels)"
    model_name = "IMAPA"


class MSTLCandidate(StatsForecastModel):
    """statsforecast ``MSTL``: several seasons removed by STL, the rest forecast by a
    non-seasonal AutoETS; for daily (7, 365) and hourly (24, 168) data.  It uses every
    season of the data that fits twice in a series' history."""

    name = "mstl"
    steps = (
        "statsforecast MSTL per series (every season that fits twice; AutoETS trend)"
    )
    min_length = 4

    def min_history(self, m, horizon):
        return max(self.min_length, 2 * m) if m > 1 else self.min_length

    def _forecast_full(self, y, horizon, m, levels, x=None, x_future=None, seasons=()):
        from statsforecast.models import MSTL as _MSTL
        from statsforecast.models import AutoETS as _AutoETS

        fit = [p for p in (seasons or (m,)) if p > 1 and len(y) >= 2 * p] or [1]
        return _fit_predict(
            _MSTL(season_length=fit, trend_forecaster=_AutoETS(model="ZZN")),
            y,
            horizon,
            levels,
        )


# the old class names shadowed statsforecast's own; they go in segmenter 0.4
__getattr__ = renamed(
    __name__,
    {
        "AutoETS": "ETSCandidate",
        "AutoARIMA": "ARIMACandidate",
        "AutoTheta": "ThetaCandidate",
        "CrostonSBA": "CrostonCandidate",
        "TSB": "TSBCandidate",
        "ADIDA": "ADIDACandidate",
        "IMAPA": "IMAPACandidate",
        "MSTL": "MSTLCandidate",
    },
)
