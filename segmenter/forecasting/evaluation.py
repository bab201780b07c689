"""Scoring segmentations by the forecasts they lead to.

:class:`Backtests` holds every candidate's backtest forecasts and errors: the local
candidates' once for all segmentations (a series' ETS forecast does not depend on its
segment), the pooled candidates' per segmentation.  :func:`score_segmentation` takes one
segmentation (a label per series) and, per segment:

* ranks the candidates on the windows that choose champions (mean error over the
  segment's series and those windows) and builds the combinations of the best ones;
* on each window that chooses the segmentation, takes the best on the windows older
  than it as the segment's champion and scores it there: ``valid_windows`` holds each
  series' error on each such window, ``valid_error`` the mean over windows of each
  window's mean (every window weighs the same);
* chooses again on every window but the final one and scores that champion on the final
  window, which no choice has seen (``final_error``).

A candidate that failed on more than half of a segment's series (that were long enough
for it) takes no part in that segment; the seasonal naive baseline stands in when no
candidate has a score.  The per-series errors come back too, for the comparison and its
bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .backtest import FORECAST_METRICS, errors_of
from .base import failure_message
from .catalogue import Combination

__all__ = [
    "Backtests",
    "Evaluation",
    "score_segmentation",
    "champion_of",
    "conformal_quantiles",
    "groups",
    "segment_singles",
    "from_forecasts",
    "window_mean",
    "final_choice_windows",
]

BASELINE = "seasonal_naive"


class Backtests:
    """Backtest forecasts and errors of every candidate (module docstring)."""

    def __init__(
        self,
        plan,
        actuals,
        scales,
        scale_lags,
        nonnegative,
        local: dict,
        local_iv: dict,
        local_fallbacks: dict,
        local_failed: dict,
        local_usable: dict,
        local_seconds: dict,
        metric: str,
    ):
        self.plan = plan
        self.actuals = actuals  # (W, n, h)
        self.scales = scales  # (W, n)
        self.scale_lags = scale_lags
        self.nonnegative = nonnegative  # (W, n)
        self.local = local  # spec -> (W, n, h)
        self.local_iv = local_iv  # spec -> {level: (lo, hi)}
        self.local_fallbacks = local_fallbacks
        self.local_failed = local_failed  # spec -> (n,) bool
        self.local_usable = local_usable
        self.local_seconds = local_seconds
        self.metric = metric
        self._errors = {
            s: errors_of(forecasts, actuals, scales) for s, forecasts in local.items()
        }
        self.intermittent = np.zeros(actuals.shape[1], dtype=bool)
        self.intermittent_specs: set = set()

    def route(self, intermittent: np.ndarray, specs: set) -> None:
        """Send intermittent series to the intermittent-demand methods: a segment whose
        series are mostly intermittent chooses among ``specs`` and the seasonal naive
        baseline; every other segment among the other candidates."""
        self.intermittent = np.asarray(intermittent, dtype=bool)
        self.intermittent_specs = set(specs)

    def allowed(self, spec: str, intermittent_segment: bool) -> bool:
        """Whether ``spec`` may be a champion of a segment of this kind."""
        if not self.intermittent_specs or spec == BASELINE:
            return True
        return (spec in self.intermittent_specs) == intermittent_segment

    @property
    def n(self) -> int:
        return self.actuals.shape[1]

    def errors(self, spec: str, forecasts: np.ndarray | None = None) -> dict:
        """{metric: (W, n)} of a local candidate, or of forecasts ``F``."""
        return (
            self._errors[spec]
            if forecasts is None
            else errors_of(forecasts, self.actuals, self.scales)
        )

    def scored(self) -> np.ndarray:
        """(W, n): which series each window scores."""
        return self.plan.cutoffs >= 0


@dataclass
class Evaluation:
    """One segmentation scored (see :func:`score_segmentation`)."""

    labels: np.ndarray
    valid_error: float
    final_error: float
    valid_series: np.ndarray  # (n,) per-series validation error
    final_series: dict  # metric -> (n,) errors on the final window
    final_champion: np.ndarray  # (n,) spec chosen for each series' segment
    final_forecasts: np.ndarray  # (W, n, h) that champion on every window
    valid_champions: dict = field(default_factory=dict)  # segment -> spec
    final_champions: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)  # segment -> {spec: reason}
    valid_windows: np.ndarray | None = None  # (len(selection windows), n) errors
    valid_forecasts: np.ndarray | None = None  # (W, n, h) on each selection window

    def window_errors(self) -> list:
        """The mean validation error on each selection window (plan order)."""
        return [_mean(v) for v in self.valid_windows]


def window_mean(valid: np.ndarray) -> float:
    """The mean over windows of each window's mean error over its series (NaN-aware)."""
    means = [_mean(v) for v in np.atleast_2d(valid)]
    means = [m for m in means if np.isfinite(m)]
    return float(np.mean(means)) if means else math.nan


def _nanmean0(a: np.ndarray) -> np.ndarray:
    """Mean over the first axis ignoring NaN; NaN (without a warning) where all are."""
    ok = np.isfinite(a)
    cnt = ok.sum(axis=0)
    return np.where(
        cnt > 0, np.where(ok, a, 0.0).sum(axis=0) / np.maximum(cnt, 1), np.nan
    )


def _mean(a) -> float:
    a = np.asarray(a, dtype=float)
    return float(np.nanmean(a)) if np.isfinite(a).any() else math.nan


def champion_of(
    backtests: Backtests,
    idx: np.ndarray,
    windows: list,
    singles: dict,
    combos: list[Combination],
) -> tuple[str, np.ndarray, list]:
    """The champion of series ``idx`` chosen on ``windows``: among ``singles`` (spec ->
    forecasts (W, n, h)) and the combinations of their best members.  Returns its spec,
    its forecasts of those series (W, len(idx), h) and the ranking [(spec, score)]."""
    metric = backtests.metric
    actuals, scales = backtests.actuals[:, idx], backtests.scales[:, idx]
    scores, of_idx = {}, {}
    for s, forecasts in singles.items():
        mine = forecasts[:, idx]
        errors = (
            backtests.errors(s)[metric][:, idx]
            if s in backtests.local
            else errors_of(mine, actuals, scales)[metric]
        )
        scores[s] = _mean(errors[windows])
        of_idx[s] = mine
    ranked = sorted(
        (s for s in scores if np.isfinite(scores[s])), key=lambda s: scores[s]
    )
    for c in combos:
        if len(ranked) < c.k:
            continue
        combined = c.combine([of_idx[s] for s in ranked[: c.k]])
        scores[c.spec] = _mean(errors_of(combined, actuals, scales)[metric][windows])
        of_idx[c.spec] = combined
    ranking = sorted(
        ((s, v) for s, v in scores.items() if np.isfinite(v)), key=lambda t: t[1]
    )
    if not ranking:
        return BASELINE, of_idx.get(BASELINE, np.full_like(actuals, np.nan)), []
    best = ranking[0][0]
    return best, of_idx[best], ranking


def segment_singles(
    backtests: Backtests,
    idx: np.ndarray,
    pooled: dict,
    pooled_errors: dict,
    local_only: bool = False,
) -> tuple[dict, dict]:
    """The single candidates that take part in the segment of series ``idx``: local ones
    that did not fail on more than half of its (long enough) series, and pooled ones
    that ran on it.  Returns (spec -> forecasts, spec -> reason of the excluded)."""
    singles, failed = {}, {}
    lumpy = bool(backtests.intermittent[idx].mean() > 0.5)
    for s, forecasts in backtests.local.items():
        if not backtests.allowed(s, lumpy):
            continue
        usable = backtests.local_usable[s][idx]
        bad = backtests.local_failed[s][idx] & usable
        if usable.any() and bad.sum() > usable.sum() / 2:
            first = next(
                (
                    r
                    for (w, i, r) in backtests.local_fallbacks[s]
                    if i in set(idx[bad].tolist())
                ),
                "",
            )
            failed[s] = failure_message(s, [first] * int(bad.sum()), int(usable.sum()))
            continue
        singles[s] = forecasts
    if not local_only:
        for s, forecasts in pooled.items():
            if not backtests.allowed(s, lumpy):
                continue
            if pooled_errors.get(s):
                failed[s] = pooled_errors[s]
            else:
                singles[s] = forecasts
    return singles, failed


def groups(labels) -> dict:
    """Segment -> positions of its series, segments in first-seen order."""
    labels = np.asarray(labels, dtype=object)
    codes, uniq = pd.factorize(pd.Series(labels), sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    return {
        (u.item() if isinstance(u, np.generic) else u): order[bounds[j] : bounds[j + 1]]
        for j, u in enumerate(uniq)
    }


def score_segmentation(
    backtests: Backtests,
    labels: np.ndarray,
    pooled: dict | None = None,
    pooled_errors: dict | None = None,
    combos: list | None = None,
    local_only: bool = False,
) -> Evaluation:
    """Score the segmentation ``labels`` (module docstring).  ``pooled``: spec ->
    forecasts (W, n, h) of the pooled candidates fitted per segment of these labels;
    ``pooled_errors``: segment -> {spec: error} where one failed.  ``local_only``
    (a model per series): local single candidates only."""
    plan, metric = backtests.plan, backtests.metric
    n, h = backtests.n, backtests.actuals.shape[2]
    sel_w = plan.selection_windows
    final_choice_w = final_choice_windows(plan)
    if local_only and len(np.unique(np.asarray(labels, dtype=str))) == n:
        return _per_series(backtests, labels, sel_w, final_choice_w)
    valid = np.full((len(sel_w), n), np.nan)
    valid_fc = np.full((plan.n_windows, n, h), np.nan)
    final_fc = np.full((plan.n_windows, n, h), np.nan)
    final_champ = np.empty(n, dtype=object)
    final_err = {k: np.full(n, np.nan) for k in FORECAST_METRICS}
    valid_ch, final_ch, failed_all = {}, {}, {}
    pooled = pooled or {}
    for g, idx in groups(labels).items():
        singles, failed = segment_singles(
            backtests, idx, pooled, (pooled_errors or {}).get(g, {}), local_only
        )
        failed_all[g] = failed
        for j, w in enumerate(sel_w):
            spec, forecasts, _ = champion_of(
                backtests, idx, plan.champion_windows_for(w), singles, combos or []
            )
            errors = errors_of(
                forecasts[w : w + 1],
                backtests.actuals[w : w + 1, idx],
                backtests.scales[w : w + 1, idx],
            )
            valid[j, idx] = errors[metric][0]
            valid_fc[w, idx] = forecasts[w]
            if j == 0:
                valid_ch[g] = spec
        spec2, F2, _ = champion_of(
            backtests, idx, final_choice_w, singles, combos or []
        )
        E2 = errors_of(F2, backtests.actuals[:, idx], backtests.scales[:, idx])
        for k in FORECAST_METRICS:
            final_err[k][idx] = E2[k][plan.final_window]
        final_fc[:, idx] = F2
        final_champ[idx] = spec2
        final_ch[g] = spec2
    return Evaluation(
        labels,
        window_mean(valid),
        _mean(final_err[metric]),
        _nanmean0(valid),
        final_err,
        final_champ,
        final_fc,
        valid_ch,
        final_ch,
        failed_all,
        valid,
        valid_fc,
    )


def final_choice_windows(plan) -> list:
    """The windows that choose the champions scored on the final window: all others."""
    return [w for w in range(plan.n_windows) if w != plan.final_window] or [
        plan.final_window
    ]


def from_forecasts(
    backtests: Backtests,
    labels,
    valid_forecasts: np.ndarray,
    final_forecasts: np.ndarray,
    name: str,
) -> Evaluation:
    """The evaluation of forecasts made some other way (an ensemble of segmentations):
    ``valid_forecasts`` (W, n, h) on the selection windows, ``final_forecasts`` on every
    window (the final one scored)."""
    plan, metric = backtests.plan, backtests.metric
    sel_w = plan.selection_windows
    Ev = errors_of(valid_forecasts, backtests.actuals, backtests.scales)[metric]
    valid = Ev[sel_w]
    Ef = errors_of(final_forecasts, backtests.actuals, backtests.scales)
    final_err = {k: Ef[k][plan.final_window] for k in FORECAST_METRICS}
    n = backtests.n
    champ = np.full(n, name, dtype=object)
    segs = {g: name for g in pd.unique(np.asarray(labels, dtype=object))}
    return Evaluation(
        labels,
        window_mean(valid),
        _mean(final_err[metric]),
        _nanmean0(valid),
        final_err,
        champ,
        final_forecasts,
        segs,
        dict(segs),
        {},
        valid,
        valid_forecasts,
    )


def _per_series(backtests: Backtests, labels, sel_w, final_w) -> Evaluation:
    """A model chosen per series, vectorised over series: the local candidate with the
    least error on the series itself."""
    metric, plan = backtests.metric, backtests.plan
    specs = list(backtests.local)
    n = backtests.n
    cols = np.arange(n)
    with np.errstate(all="ignore"):
        allowed = np.stack(
            [
                [backtests.allowed(s, lumpy) for lumpy in backtests.intermittent]
                for s in specs
            ]
        )  # (C, n)

        def pick(windows):
            sc = np.stack(
                [_nanmean0(backtests.errors(s)[metric][windows]) for s in specs]
            )
            sc = np.where(np.isfinite(sc) & allowed, sc, np.inf)
            best = sc.argmin(axis=0)
            base = specs.index(BASELINE) if BASELINE in specs else 0
            return np.where(np.isfinite(sc.min(axis=0)), best, base)

        errors = {
            k: np.stack([backtests.errors(s)[k] for s in specs])
            for k in FORECAST_METRICS
        }  # (C, W, n)
        Fs = np.stack([backtests.local[s] for s in specs])  # (C, W, n, h)
        valid = np.full((len(sel_w), n), np.nan)
        valid_fc = np.full(Fs.shape[1:], np.nan)
        v = None
        for j, w in enumerate(sel_w):
            pw = pick(plan.champion_windows_for(w))
            v = pw if v is None else v
            valid[j] = errors[metric][pw, w, cols]
            valid_fc[w] = Fs[pw, w, cols]
        f = pick(final_w)
        final_err = {k: errors[k][f, plan.final_window, cols] for k in FORECAST_METRICS}
        final_fc = np.moveaxis(Fs[f, :, cols], 0, 1)  # (W, n, h)
    champs = np.array(specs, dtype=object)
    return Evaluation(
        labels,
        window_mean(valid),
        _mean(final_err[metric]),
        _nanmean0(valid),
        final_err,
        champs[f],
        final_fc,
        dict(zip(np.asarray(labels).tolist(), champs[v])),
        dict(zip(np.asarray(labels).tolist(), champs[f])),
        {},
        valid,
        valid_fc,
    )


def conformal_quantiles(
    backtests: Backtests, forecasts: np.ndarray, idx: np.ndarray, windows: list, levels
) -> dict:
    """Per horizon step, the ``levels``% quantiles of the absolute scaled residuals
    ``|actual - forecast| / scale`` of the series ``idx`` over ``windows`` (finite-sample
    corrected: the ceil((n + 1) L) / n empirical quantile); {level: (h,) array}, NaN
    where there are fewer than 5 residuals."""
    actuals, scales = (
        backtests.actuals[windows][:, idx],
        backtests.scales[windows][:, idx],
    )
    with np.errstate(all="ignore"):
        residuals = np.abs(actuals - forecasts[windows][:, idx]) / scales[:, :, None]
    residuals = residuals.reshape(-1, residuals.shape[2])
    out = {}
    for lv in levels:
        q = np.full(residuals.shape[1], np.nan)
        for t in range(residuals.shape[1]):
            r = np.sort(residuals[np.isfinite(residuals[:, t]), t])
            if len(r) >= 5:
                k = min(len(r), int(math.ceil((len(r) + 1) * lv / 100.0)))
                q[t] = r[k - 1]
        out[lv] = q
    return out
