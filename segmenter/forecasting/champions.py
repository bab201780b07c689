"""A segment's champion: chosen on the backtests, fitted, and served.

* :func:`segment_leaderboard` ranks a segment's candidates on every backtest window with
  the shared leaderboard machinery (:mod:`segmenter.selection.leaderboard`), from the
  forecasts the backtests stored: the production champion is its best row.
* :class:`SegmentModel` is what serving a segment needs: the champion, the members of
  a combination, the pooled models fitted on the segment, and the conformal quantiles
  of its backtest residuals.
* :func:`forecast_segment` is the one function that fits a segment's champion on whole
  histories and forecasts: :meth:`SegmentedForecaster.fit` calls it on the fit data,
  :meth:`SegmentedForecaster.predict` on new data (reusing the pooled models unless
  ``refit``).  Intervals are conformal: ``forecast ± q_h × scale`` with ``q_h`` the
  quantile of the segment's absolute scaled backtest residuals at step h and ``scale``
  the series' MASE scale; with ``SegmentModel.native_intervals`` (``intervals=
  "native"``, and models saved by 0.3) the model's own where it has them
  (statsforecast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..data.series import clean_history
from ..selection.leaderboard import Leaderboard
from ..selection.metrics import mase_scale
from .backtest import FORECAST_METRICS, errors_of, materialize
from .base import clip_nonnegative, modal_form, seasonal_naive
from .evaluation import Backtests, champion_of, conformal_quantiles

__all__ = [
    "segment_leaderboard",
    "SegmentModel",
    "forecast_segment",
    "final_local",
    "member_forecast",
    "StoredCandidate",
    "with_intervals",
    "segment_model",
    "segment_forms",
]


class StoredCandidate:
    """A candidate on a segment's leaderboard whose backtest forecasts are already
    computed (the leaderboard's candidate protocol over stored results)."""

    def __init__(
        self,
        blueprint,
        errors: dict | None,
        fallbacks: np.ndarray,
        failure: tuple[str, str] | None = None,
        describe: str = "",
    ):
        self.blueprint = blueprint
        self.name = blueprint.spec
        self.errors = errors  # metric -> (W, m) errors of the segment's series
        self.fallbacks = fallbacks  # (W,) counts
        self.failure = failure
        self._describe = describe or blueprint.describe()

    def describe(self) -> str:
        return self._describe

    def fit(self, window: int):
        if self.failure:
            raise type(self.failure[0], (RuntimeError,), {})(self.failure[1])
        return window

    def score(self, model, window: int) -> dict:
        out = {}
        for k in FORECAST_METRICS:
            e = self.errors[k][window]
            out[k] = float(np.nanmean(e)) if np.isfinite(e).any() else math.nan
        n = int(np.isfinite(self.errors["smape"][window]).sum())
        out["series_scored"] = n
        out["fallbacks"] = int(self.fallbacks[window])
        out["weight"] = float(max(n, 1))
        return out


def segment_leaderboard(
    backtests: Backtests,
    idx: np.ndarray,
    singles: dict,
    failed: dict,
    combos: list,
    blueprints: dict,
    seconds: dict,
    fallback_counts: dict,
) -> tuple[pd.DataFrame, str, np.ndarray, list]:
    """The segment's candidates ranked on every window; returns the frame, the champion,
    its backtest forecasts (W, len(idx), h) and the members of a combination champion."""
    n_windows = backtests.plan.n_windows
    windows = list(range(n_windows))
    champ, combined, ranking = champion_of(backtests, idx, windows, singles, combos)
    actuals, scales = backtests.actuals[:, idx], backtests.scales[:, idx]
    ranked_singles = [s for s, _ in ranking if s in singles]
    cands = []
    for s, forecasts in singles.items():
        errors = (
            backtests.errors(s)
            if s in backtests.local
            else errors_of(forecasts[:, idx], actuals, scales)
        )
        errors = {
            k: v[:, idx] if s in backtests.local else v for k, v in errors.items()
        }
        cands.append(
            StoredCandidate(
                blueprints[s], errors, fallback_counts.get(s, np.zeros(n_windows))
            )
        )
    for c in combos:
        if len(ranked_singles) < c.k:
            continue
        members = ranked_singles[: c.k]
        forecasts = c.combine([singles[s][:, idx] for s in members])
        cands.append(
            StoredCandidate(
                c,
                errors_of(forecasts, actuals, scales),
                np.zeros(n_windows),
                describe=f"{c.describe()}: {', '.join(members)}",
            )
        )
    for s, reason in failed.items():
        kind, _, msg = (
            reason.partition(": ")
            if reason.split(":")[0].isidentifier() and ": " in reason
            else ("RuntimeError", "", reason)
        )
        cands.append(
            StoredCandidate(blueprints[s], None, np.zeros(n_windows), (kind, msg))
        )
    lb = Leaderboard(
        windows,
        backtests.metric,
        greater_is_better=False,
        progress=False,
        desc="segment",
    )
    lb.score_candidates([(c, {}) for c in cands])
    for e in lb.entries:
        e.fit_seconds = float(seconds.get(e.candidate.name, 0.0))
        e.score_seconds = 0.0
    frame = lb.to_frame().drop(columns=["row"])
    members = (
        ranked_singles[: getattr(blueprints.get(champ), "k", 1)]
        if getattr(blueprints.get(champ), "kind", "") == "combination"
        else [champ]
    )
    return frame, champ, combined, members


@dataclass
class SegmentModel:
    """What serving one segment needs (see the module docstring)."""

    segment: object
    champion: str
    members: list  # the champion, or a combination's members
    states: dict = field(default_factory=dict)  # pooled spec -> fitted state
    quantiles: dict = field(default_factory=dict)  # level -> (h,) conformal quantiles
    residuals: np.ndarray | None = None  # (r, h) absolute scaled residuals
    forms: dict = field(default_factory=dict)  # searched spec -> the form reused
    #: the strategy's residuals pooled over its segments, shared by its models
    #: (:func:`pool_residuals`): steps where this segment has too few of its own take
    #: their quantile
    pooled: dict | None = None
    #: the members' own (statsforecast) intervals where they have them, else conformal
    #: (``SegmentedForecaster(intervals=)``); True for models saved by 0.3
    native_intervals: bool = True

    def quantile(self, level) -> np.ndarray:
        q = self.quantiles.get(level)
        q = np.array(_quantile(self.residuals, level) if q is None else q, dtype=float)
        if self.pooled is None:
            return q
        known = self.pooled["quantiles"]
        if level not in known:
            known[level] = _quantile(self.pooled["sample"], level)
        if len(q) != len(known[level]):
            return known[level].copy()
        return np.where(np.isfinite(q), q, known[level])


#: Rows of pooled residuals a model keeps for levels asked after fit (the fit's levels
#: use them all).
POOLED_SAMPLE = 5000


def pool_residuals(models: dict, levels, seed: int = 0) -> None:
    """Give every segment model of one strategy the residuals of all its segments, for
    the steps where a segment has fewer than 5 of its own (a segment of one or two
    series on a few windows; every segment of the per-series strategy): its conformal
    intervals then come from the strategy's residuals pooled over its segments instead
    of being missing (:meth:`SegmentModel.quantile`).  The quantiles of ``levels`` use
    every residual; other levels asked later use a sample of :data:`POOLED_SAMPLE`."""
    parts = [
        m.residuals
        for m in models.values()
        if m.residuals is not None and m.residuals.ndim == 2 and len(m.residuals)
    ]
    if not parts:
        return
    residuals = np.concatenate(parts)
    sample = residuals
    if len(residuals) > POOLED_SAMPLE:
        rows = np.random.default_rng(seed).choice(len(residuals), POOLED_SAMPLE, False)
        sample = residuals[np.sort(rows)]
    pooled = {
        "sample": sample,
        "quantiles": {lv: _quantile(residuals, lv) for lv in levels or ()},
    }
    for m in models.values():
        m.pooled = pooled


def _quantile(residuals, level) -> np.ndarray:
    h = residuals.shape[1] if residuals is not None and residuals.ndim == 2 else 0
    q = np.full(h, np.nan)
    for t in range(h):
        r = np.sort(residuals[np.isfinite(residuals[:, t]), t])
        if len(r) >= 5:
            q[t] = r[min(len(r), int(math.ceil((len(r) + 1) * level / 100.0))) - 1]
    return q


def segment_model(
    backtests: Backtests,
    segment,
    idx,
    champ: str,
    members: list,
    combined: np.ndarray,
    levels,
    native_intervals: bool = False,
) -> SegmentModel:
    """The segment's model before fitting: its conformal quantiles from the champion's
    backtest residuals on every window (and whether its members' own intervals are
    used where they have them)."""
    windows = list(range(backtests.plan.n_windows))
    full = np.full((backtests.plan.n_windows, backtests.n, combined.shape[2]), np.nan)
    full[:, idx] = combined
    q = conformal_quantiles(backtests, full, idx, windows, levels)
    with np.errstate(all="ignore"):
        residuals = (
            np.abs(backtests.actuals[:, idx] - combined)
            / backtests.scales[:, idx][:, :, None]
        )
    residuals = residuals.reshape(-1, residuals.shape[2]).astype(np.float32)
    return SegmentModel(
        segment,
        champ,
        list(members),
        {},
        q,
        residuals[np.isfinite(residuals).any(axis=1)],
        native_intervals=native_intervals,
    )


def member_forecast(
    bp, group, pos, n: int, horizon: int, levels, state=None, fit_pooled: bool = True
):
    """One candidate fitted on whole histories: (forecast (n, h), fallback (n,),
    native intervals or None, pooled state).  A candidate that raises leaves the
    seasonal naive forecast, flagged as a fallback."""
    m = group.season_length
    forecasts = np.full((n, horizon), np.nan)
    fb = np.zeros(n, dtype=bool)
    iv = None
    if not len(pos):
        return forecasts, fb, iv, state
    try:
        if bp.kind == "pooled":
            if state is None and fit_pooled:
                state = bp.fit(group)
            fc = bp.predict(state, group, horizon, levels)
        else:
            fc = bp.predict(None, group, horizon, levels, strict=False)
        fc = clip_nonnegative(fc, group)
        forecasts[pos] = fc.mean
        for j, _ in fc.fallbacks:
            fb[pos[j]] = True
        if fc.intervals:
            iv = {
                lv: (_rows(lo, pos, n), _rows(hi, pos, n))
                for lv, (lo, hi) in fc.intervals.items()
            }
    except Exception:  # noqa: BLE001 - the baseline stands in, flagged
        for j, i in enumerate(pos):
            forecasts[i] = seasonal_naive(group.values[j], horizon, m)
        fb[pos] = True
    return forecasts, fb, iv, state


def final_local(source, data_spec, idx, horizon: int, blueprints: list, levels) -> dict:
    """Local candidates fitted on the whole histories of the series ``idx`` (a task):
    spec -> (forecast, fallback, intervals)."""
    data = materialize(source, data_spec, keys=idx)
    group, pos = data.history()
    out = {}
    with threadpool_limits(limits=1):
        for bp in blueprints:
            out[bp.spec] = member_forecast(bp, group, pos, len(data), horizon, levels)[
                :3
            ]
    return out


def segment_forms(source, data_spec, idx, blueprints: list) -> dict:
    """The form each searching local candidate picks most often on the series ``idx``
    (a task): spec -> form params, or None (:func:`~segmenter.forecasting.base.modal_form`)."""
    data = materialize(source, data_spec, keys=idx)
    group, _ = data.history()
    with threadpool_limits(limits=1):
        return {
            bp.spec: modal_form(bp, group.values, group.season_length)
            for bp in blueprints
        }


def forecast_segment(
    model: SegmentModel,
    source,
    data_spec,
    idx,
    horizon: int,
    blueprints: dict,
    levels,
    future_h: dict | None = None,
    refit: bool = False,
    known: dict | None = None,
) -> dict:
    """Fit the segment's champion on the whole histories of its series ``idx`` and
    forecast (a task).  Returns ``forecast`` (n, h), ``fallback`` (n,), ``lo``/``hi``
    {level: (n, h)}, ``method`` (n,) ("native" or "conformal") and the pooled
    ``states`` it fitted (the model's own are reused unless ``refit``).  ``known``: spec
    -> (forecast, fallback, intervals) of members already fitted on these histories."""
    data = materialize(source, data_spec, keys=idx)
    n = len(data)
    group, pos = data.history()
    if future_h:
        group.future_h = {k: np.asarray(v)[pos] for k, v in future_h.items()}
    native_levels = levels if getattr(model, "native_intervals", True) else None
    preds, fbs, natives, states = [], [], [], {}
    with threadpool_limits(limits=1):
        for s in model.members:
            if known and s in known:
                forecasts, fb, iv = known[s]
            else:
                bp = blueprints[s]
                state = None if refit else model.states.get(s)
                forecasts, fb, iv, state = member_forecast(
                    bp, group, pos, n, horizon, native_levels, state
                )
                if bp.kind == "pooled":
                    states[s] = state
            preds.append(forecasts)
            fbs.append(fb)
            natives.append(iv)
    if len(preds) > 1:
        comb = blueprints[model.champion]
        mean = comb.combine(preds)
        native = None
    else:
        mean, native = preds[0], (natives[0] if native_levels else None)
    fallback = np.logical_or.reduce(fbs)
    lo, hi, method = with_intervals(
        model, data.values, data_spec.season_length, mean, native, fallback, levels
    )
    return {
        "forecast": mean,
        "fallback": fallback,
        "lo": lo,
        "hi": hi,
        "method": method,
        "states": states,
    }


def with_intervals(
    model: SegmentModel,
    histories: list,
    m: int,
    mean: np.ndarray,
    native: dict | None,
    fallback: np.ndarray,
    levels,
):
    """The ``levels``% intervals of forecasts ``mean`` (n, h) of series with
    ``histories``: the model's own (``native``) where it has them and the series did
    not fall back, else conformal, ``mean ± q_h × scale`` from the segment's backtest
    residuals (pooled over the strategy's segments where the segment has too few,
    :func:`pool_residuals`).  A constant history has no scale: its intervals have zero width (the
    forecast itself), never NaN.  Returns (lo, hi, method): {level: (n, h)},
    {level: (n, h)}, (n,)."""
    n = mean.shape[0]
    hist = [clean_history(y)[0] for y in histories]
    scale = np.array([mase_scale(x, m)[0] for x in hist])
    constant = np.array([len(x) > 0 and np.ptp(x) == 0 for x in hist], dtype=bool)
    nonneg = np.array([len(x) > 0 and x.min() >= 0 for x in hist], dtype=bool)
    lo, hi = {}, {}
    method = np.full(n, "conformal", dtype=object)
    for lv in levels or ():
        q = model.quantile(lv)
        lo[lv] = mean - q[None, :] * scale[:, None]
        hi[lv] = mean + q[None, :] * scale[:, None]
        lo[lv][constant], hi[lv][constant] = mean[constant], mean[constant]
        lo[lv][nonneg] = np.maximum(lo[lv][nonneg], 0.0)
        if native and lv in native:
            use = np.isfinite(native[lv][0]).all(axis=1) & ~fallback
            lo[lv][use], hi[lv][use] = native[lv][0][use], native[lv][1][use]
            method[use] = "native"
    return lo, hi, method


def _rows(a, pos, n):
    out = np.full((n, a.shape[1]), np.nan)
    out[pos] = a
    return out
