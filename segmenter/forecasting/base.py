"""The forecasting blueprint protocol and the group of series it forecasts.

A forecasting blueprint forecasts a *group* of series (one segment, or all series for
the global model) ``horizon`` steps past the end of each:

``fit(group) -> state`` then ``predict(state, group, horizon, levels=None) -> Forecast``

where ``group`` is a :class:`SeriesGroup` of clean training histories (its
:meth:`SeriesGroup.history`) plus what a model may use besides them (season positions and calendar, static and future
covariates).  :class:`Forecast` holds the point forecasts ``(n, horizon)``, the
per-series fallbacks, and prediction intervals when the model has its own; it unpacks
as ``mean, fallbacks``.

*Local* blueprints (seasonal naive, the statsforecast models, any sktime forecaster)
fit one model per series inside ``predict``; *pooled* blueprints (the LightGBM global
model) fit one model on all series of the group in ``fit`` and can then forecast series
they never saw.  A local model that cannot run on a series (fewer values than its
``min_history``) or raises on it falls back to the seasonal naive forecast for that
series, with the reason in ``fallbacks``.

Capability tags (:func:`segmenter.base.get_tag`): ``kind`` (``"local"``,
``"pooled"`` or ``"combination"``), ``intervals`` (``"native"`` when the model computes
its own, ``"conformal"`` when the runner derives them from backtest residuals),
``uses:future`` / ``uses:static`` (reads future-known or static covariates).

Parameters follow scikit-learn's estimator contract (:class:`segmenter.base.
SegmenterEstimator`): a candidate's ``__init__`` names each parameter with its default
and only stores it; ``get_params``, ``set_params`` and ``clone`` work, and
``_parameter_constraints`` declares what each may be, checked by :func:`~segmenter.
forecasting.catalogue.make_forecaster` (and so by every fit that names the candidate).
The short spec (``ets(damped=False)``) shows the parameters set away from their
defaults (:attr:`ForecastBlueprint.params`).
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._spec import format_spec
from ..base import SegmenterEstimator, get_tag
from ..data.series import clean_history
from ..selection.metrics import mase_scale

__all__ = [
    "SeriesGroup",
    "Forecast",
    "ForecastBlueprint",
    "LocalForecaster",
    "SeasonalNaive",
    "Naive",
    "seasonal_naive",
    "clip_nonnegative",
    "modal_form",
]


@dataclass
class SeriesGroup:
    """A group of series as arrays: the one container of the forecasting layer.

    It holds either the series as they are on the panel's grid (:meth:`from_panel`: read-
    only views of the Panel's value array, NaN at gaps, no copy) or the clean training
    histories a model reads (:meth:`history`: each series cut at a cutoff, gaps
    interpolated, covariates cut alike, so a model never sees a value at or after the
    cutoff).  :meth:`subset` takes some series, in the Panel's style: their values and
    covariate arrays are the same arrays (views), the small per-series arrays
    (``end_phase``, ``ends``, ``keys``) are copied.

    Attributes
    ----------
    values : list of ndarray
        One array per series: on the grid (from :meth:`from_panel`) or clean histories
        (:func:`segmenter.data.series.clean_history`, possibly empty).
    end_phase : ndarray of int
        Season position (0..m-1) of the step right after each series; with the grid's
        absolute positions this is the calendar (e.g. month of year).
    season_length : int
        m, the main season (1 when there is none).
    seasons : tuple of int
        Every season length of the data (daily data: 7 and 365), main one first.
    ends : ndarray of int, optional
        Grid position of the step right after each series.
    keys : ndarray of int, optional
        A stable integer per series (its position in the fitted panel).
    calendar : Calendar, optional
        Calendar features of grid positions (:mod:`segmenter.forecasting.covariates`).
    statics : DataFrame, optional
        Static covariates, one row per series.
    future : dict, optional
        Future-known covariates: name -> list of arrays aligned with ``values``.
    future_h : dict, optional
        Their values over the forecast horizon: name -> (n, horizon) array.
    """

    values: list
    end_phase: np.ndarray
    season_length: int
    seasons: tuple = ()
    ends: np.ndarray | None = None
    keys: np.ndarray | None = None
    calendar: object = None
    statics: pd.DataFrame | None = None
    future: dict | None = None
    future_h: dict | None = None

    def __post_init__(self):
        self.end_phase = np.asarray(self.end_phase, dtype=np.int64)
        if not self.seasons:
            self.seasons = (int(self.season_length),)

    @classmethod
    def from_panel(cls, panel, data_spec, keys=None) -> SeriesGroup:
        """The panel's series on its grid as read-only views of its value array (no
        copy), with the covariates the :class:`~segmenter.forecasting.backtest.
        DataSpec` names; ``keys`` default to the series' positions."""
        n = panel.n_series
        cols = list(panel.value_cols)
        arr = np.asarray(panel.values, dtype=np.float64)  # a copy only when float32
        arr = arr.view()
        arr.flags.writeable = False
        off = panel.offsets

        def column(c: int) -> list:
            return [arr[off[i] : off[i + 1], c] for i in range(n)]

        parts = []
        if data_spec.id_as_static:
            parts.append(panel.ids.reset_index(drop=True))
        if data_spec.static_cols:
            parts.append(
                panel.statics[list(data_spec.static_cols)].reset_index(drop=True)
            )
        m = int(data_spec.season_length)
        ends = np.asarray(panel.start, dtype=np.int64) + np.diff(off)
        return cls(
            column(0),
            ends % m if m > 1 else np.zeros(n, dtype=np.int64),
            m,
            tuple(data_spec.seasons),
            ends=ends,
            keys=np.arange(n) if keys is None else np.asarray(keys),
            calendar=data_spec.calendar,
            statics=pd.concat(parts, axis=1) if parts else None,
            future={c: column(cols.index(c)) for c in data_spec.future_cols} or None,
        )

    def __len__(self) -> int:
        return len(self.values)

    @property
    def starts(self) -> np.ndarray | None:
        """Grid position of each series' first value (None when ``ends`` is)."""
        if self.ends is None:
            return None
        return self.ends - np.array([len(v) for v in self.values], dtype=np.int64)

    def subset(self, idx) -> SeriesGroup:
        """The series at positions ``idx``, every field cut alike (values and covariate
        arrays are views)."""
        idx = np.asarray(list(idx), dtype=np.int64)
        pick = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
        return replace(
            self,
            values=[self.values[i] for i in idx],
            end_phase=self.end_phase[idx],
            ends=pick(self.ends),
            keys=pick(self.keys),
            statics=None
            if self.statics is None
            else self.statics.iloc[idx].reset_index(drop=True),
            future=None
            if self.future is None
            else {k: [v[i] for i in idx] for k, v in self.future.items()},
            future_h=None
            if self.future_h is None
            else {k: np.asarray(v)[idx] for k, v in self.future_h.items()},
        )

    def take(self, idx) -> SeriesGroup:
        """:meth:`subset` under its 0.2 name (until segmenter 0.4)."""
        warnings.warn(
            "SeriesGroup.take is now SeriesGroup.subset (as Panel.subset); the old "
            "name works until segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.subset(idx)

    def group(self, cutoffs=None, horizon: int = 0) -> tuple[SeriesGroup, np.ndarray]:
        """:meth:`history` under ``ForecastData``'s 0.2 name (until segmenter 0.4)."""
        warnings.warn(
            "SeriesGroup.group (0.2's ForecastData.group) is now SeriesGroup.history; "
            "the old name works until segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.history(cutoffs, horizon)

    def history(self, cutoffs=None, horizon: int = 0) -> tuple[SeriesGroup, np.ndarray]:
        """The clean histories up to each cutoff (a position in each series' values;
        the whole series when None), and the positions of the series kept (cutoff -1
        leaves a series out).  In a backtest the future covariates of the ``horizon``
        steps after the cutoff come from the data (``future_h``).  Without ``ends``
        (a group built by hand) the season positions move back from ``end_phase``;
        without ``keys`` the histories are keyed by their positions here."""
        m = self.season_length
        vals, shifts, pos = [], [], []
        future = self.future or {}
        fut = {k: [] for k in future}
        fut_h = {k: [] for k in future}
        for i, y in enumerate(self.values):
            cut = len(y) if cutoffs is None else int(cutoffs[i])
            if cut < 0:
                continue
            x, first = clean_history(y[:cut])
            vals.append(x)
            shifts.append(cut - len(y))  # where the history ends, from the series' end
            pos.append(i)
            for k, v in future.items():
                fut[k].append(v[i][first:cut])
                fut_h[k].append(_pad(v[i][cut : cut + horizon], horizon))
        pos = np.asarray(pos, dtype=np.int64)
        shifts = np.asarray(shifts, dtype=np.int64)
        ends = None if self.ends is None else np.asarray(self.ends)[pos] + shifts
        phase = self.end_phase[pos] + shifts if ends is None else ends
        group = replace(
            self,
            values=vals,
            end_phase=phase % m if m > 1 else np.zeros(len(pos), dtype=np.int64),
            ends=ends,
            keys=pos if self.keys is None else np.asarray(self.keys)[pos],
            statics=None
            if self.statics is None
            else self.statics.iloc[pos].reset_index(drop=True),
            future=fut or None,
            future_h={
                k: np.array(v).reshape(len(pos), horizon) for k, v in fut_h.items()
            }
            if fut_h and cutoffs is not None
            else None,
        )
        return group, pos

    def actuals(self, cutoffs, horizon: int) -> np.ndarray:
        """(n, horizon) values after each cutoff (NaN past a series' end or unscored)."""
        out = np.full((len(self), horizon), np.nan)
        for i, y in enumerate(self.values):
            c = int(cutoffs[i])
            if c >= 0:
                out[i] = _pad(y[c : c + horizon], horizon)
        return out

    def scales(self, cutoffs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each series' MASE scale at its cutoff, the lag it used (m, 1 or 0), and
        whether its history up to the cutoff has no negative value."""
        m = self.season_length
        s, lag = np.full(len(self), np.nan), np.zeros(len(self), dtype=np.int64)
        nonneg = np.zeros(len(self), dtype=bool)
        for i, y in enumerate(self.values):
            c = int(cutoffs[i])
            if c >= 0:
                x = clean_history(y[:c])[0]
                s[i], lag[i] = mase_scale(x, m)
                nonneg[i] = len(x) > 0 and x.min() >= 0
        return s, lag, nonneg


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[: len(a)] = a[:n]
    return out


@dataclass
class Forecast:
    """What a blueprint's ``predict`` returns.

    ``mean`` (n, horizon) point forecasts; ``fallbacks`` [(series position, reason)];
    ``intervals`` {level: (lo, hi)} of (n, horizon) arrays when the model computed its
    own (NaN rows for series that fell back), else None.  Unpacks as ``mean, fallbacks``.
    """

    mean: np.ndarray
    fallbacks: list = field(default_factory=list)
    intervals: dict | None = None

    def __iter__(self):
        return iter((self.mean, self.fallbacks))


def clip_nonnegative(fc: Forecast, group: SeriesGroup) -> Forecast:
    """Forecasts (and intervals) of series whose history has no negative value, clipped
    at 0: counts, sales and demand cannot go below zero.  Applied alike in backtests and
    in the served forecasts."""
    nonneg = np.array(
        [len(v) > 0 and np.nanmin(v) >= 0 for v in group.values], dtype=bool
    )
    if not nonneg.any():
        return fc
    fc.mean[nonneg] = np.maximum(fc.mean[nonneg], 0.0)
    for lo, hi in (fc.intervals or {}).values():
        lo[nonneg] = np.maximum(lo[nonneg], 0.0)
        hi[nonneg] = np.maximum(hi[nonneg], 0.0)
    return fc


def seasonal_naive(y: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """Repeat the last season (the last value when the history is shorter than m)."""
    if len(y) == 0:
        return np.full(horizon, np.nan)
    if m > 1 and len(y) >= m:
        return np.resize(y[-m:], horizon) if horizon else np.zeros(0)
    return np.full(horizon, y[-1])


class ForecastBlueprint(SegmenterEstimator):
    """Base of forecasting blueprints; see the module docstring for the protocol.

    Subclasses set ``name`` (the spec's name), ``steps`` (what the model does, a
    format string over its parameters) and ``_tags``, and declare their parameters in
    ``__init__`` (keyword arguments with defaults, stored unchanged under the same
    names) with their ``_parameter_constraints``.
    """

    name = "forecaster"
    steps = ""
    _tags = {
        "kind": "local",
        "intervals": "conformal",
        "uses:future": False,
        "uses:static": False,
    }

    def __init__(self, **params):
        # segmenter 0.2's protocol passed parameters up as keywords; they are now
        # the subclass's own ``__init__`` arguments (stored as attributes)
        if params:
            warnings.warn(
                f"{type(self).__name__} passes {sorted(params)} to "
                "ForecastBlueprint.__init__; declare them as its own __init__ "
                "arguments and store each as an attribute of the same name "
                "(scikit-learn's convention); the keywords are stored that way until "
                "segmenter 0.4",
                DeprecationWarning,
                stacklevel=2,
            )
            for name, value in params.items():
                setattr(self, name, value)

    @property
    def kind(self) -> str:
        """``"local"``, ``"pooled"`` or ``"combination"`` (the ``kind`` tag)."""
        return get_tag(self, "kind")

    @classmethod
    def param_defaults(cls) -> dict:
        """Each ``__init__`` parameter with its default."""
        sig = inspect.signature(cls.__init__)
        return {
            n: p.default
            for n, p in sig.parameters.items()
            if n != "self" and p.default is not inspect.Parameter.empty
        }

    @property
    def params(self) -> dict:
        """The parameters set away from their defaults: what the spec shows.

        >>> from segmenter.forecasting.catalogue import make_forecaster
        >>> make_forecaster("ets(damped=False)").params
        {'damped': False}
        """
        defaults = self.param_defaults()
        out = {}
        for k, v in self.get_params(deep=False).items():
            v = v.item() if isinstance(v, np.generic) else v  # np.int64(4) -> 4
            if k not in defaults or not _same(v, defaults[k]):
                out[k] = v
        return out

    @property
    def spec(self) -> str:
        return format_spec(self.name, self.params)

    def describe(self) -> str:
        return self.steps.format(**self.get_params(deep=False))

    def min_history(self, m: int, horizon: int) -> int:
        """Values of history a series needs for this model to run on it (shorter series
        get the seasonal naive fallback)."""
        return 1

    def fit(self, group: SeriesGroup):
        return None

    def predict(self, state, group: SeriesGroup, horizon: int, levels=None) -> Forecast:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"


class LocalForecaster(ForecastBlueprint):
    """One model per series.

    Subclasses write ``_forecast(y, horizon, m)`` returning ``horizon`` values, or, to
    give intervals and read covariates, ``_forecast_full(y, horizon, m, levels, x,
    x_future, seasons)`` returning ``(mean, {level: (lo, hi)} or None)`` (``x`` and
    ``x_future``: covariate matrices from :meth:`_covariates`; ``seasons``: every season
    length of the data).
    """

    min_length = 3

    def min_history(self, m: int, horizon: int) -> int:
        return self.min_length

    def _forecast(self, y: np.ndarray, horizon: int, m: int) -> np.ndarray:
        raise NotImplementedError

    def _forecast_full(self, y, horizon, m, levels, x=None, x_future=None, seasons=()):
        return self._forecast(y, horizon, m), None

    def _covariates(self, group: SeriesGroup, i: int):
        """(history, horizon) matrices of the future-known covariates of series i, or
        (None, None) when the model reads none."""
        return None, None

    def fitted_form(self, y: np.ndarray, m: int) -> dict | None:
        """The parameters that fix the model form an automatic search picks on the
        series ``y`` (e.g. ``{"model": "MAN", "damped": True}`` for AutoETS), or None
        when the candidate searches nothing (or its form is already fixed).  A
        forecaster that selects on a sample (``forecast_sample=``) fits each segment's
        other series with the form chosen most often on its sampled series, so the
        search is not repeated series by series (:func:`modal_form`)."""
        return None

    def with_form(self, form: dict) -> LocalForecaster:
        """This candidate with its form fixed to ``form`` (its other parameters kept);
        a series the fixed form fails on is fitted by the search (``searched``)."""
        fixed = type(self)(**{**self.get_params(deep=False), **form})
        fixed.searched = self
        return fixed

    def predict(
        self, state, group: SeriesGroup, horizon: int, levels=None, strict: bool = True
    ) -> Forecast:
        """Forecast every series; with ``strict`` (the default) raise when more than half
        of the series long enough for the model failed (the leaderboard records it)."""
        n = len(group)
        out = np.empty((n, horizon))
        ivals = {
            lv: (np.full((n, horizon), np.nan), np.full((n, horizon), np.nan))
            for lv in (levels or ())
        }
        native = False
        fallbacks = []
        m = group.season_length
        need = self.min_history(m, horizon)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, y in enumerate(group.values):
                if len(y) < need:
                    out[i] = seasonal_naive(y, horizon, m)
                    if len(y):
                        fallbacks.append(
                            (
                                i,
                                f"{len(y)} values, fewer than the {need} "
                                f"{self.spec} needs",
                            )
                        )
                    continue
                try:
                    x, xf = self._covariates(group, i)
                    f, iv = self._forecast_full(
                        y, horizon, m, levels, x, xf, group.seasons
                    )
                    f = np.asarray(f, dtype=float)
                    if f.shape != (horizon,) or not np.isfinite(f).all():
                        raise ValueError("non-finite forecast")
                    out[i] = f
                    if iv:
                        native = True
                        for lv, (lo, hi) in iv.items():
                            ivals[lv][0][i], ivals[lv][1][i] = lo, hi
                except Exception as exc:  # noqa: BLE001 - any model failure falls back
                    out[i] = seasonal_naive(y, horizon, m)
                    fallbacks.append((i, f"{type(exc).__name__}: {exc}"))
        if strict:
            check_failures(self.spec, group, fallbacks, need)
        return Forecast(out, fallbacks, ivals if native else None)


def _same(value, default) -> bool:
    """``value`` is the default itself (``1.0`` is no default ``1``, ``0`` no ``False``)."""
    return value is default or (type(value) is type(default) and value == default)


def modal_form(blueprint: LocalForecaster, values: list, m: int) -> dict | None:
    """The form ``blueprint``'s search picks most often on the series ``values`` (ties:
    the first seen), or None when it fixes none there."""
    counts: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y in values:
            if len(y) < blueprint.min_history(m, 1):
                continue
            try:
                form = blueprint.fitted_form(np.asarray(y, dtype=np.float64), m)
            except Exception:  # noqa: BLE001 - a series the search fails on casts no vote
                continue
            if form:
                key = tuple(sorted(form.items()))
                counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    return dict(max(counts, key=counts.get))


def failures(group: SeriesGroup, fallbacks: list, need: int) -> tuple[list, int]:
    """(reasons of the series that failed although long enough, how many were)."""
    usable = sum(len(y) >= need for y in group.values)
    failed = [r for i, r in fallbacks if len(group.values[i]) >= need]
    return failed, usable


def check_failures(spec: str, group: SeriesGroup, fallbacks: list, need: int) -> None:
    """Raise when the model failed on more than half of the series it could run on."""
    failed, usable = failures(group, fallbacks, need)
    if usable and len(failed) > usable / 2:
        raise RuntimeError(failure_message(spec, failed, usable))


def failure_message(spec: str, failed: list, usable: int) -> str:
    return f"{spec} failed on {len(failed)} of {usable} series (first: {failed[0]})"


class SeasonalNaive(LocalForecaster):
    """The last season repeated; the baseline that always runs."""

    name = "seasonal_naive"
    steps = "repeat the last season (last value without a season)"
    min_length = 1

    def _forecast(self, y, horizon, m):
        return seasonal_naive(y, horizon, m)


class Naive(LocalForecaster):
    """The last value repeated."""

    name = "naive"
    steps = "repeat the last value"
    min_length = 1

    def _forecast(self, y, horizon, m):
        return np.full(horizon, y[-1])
