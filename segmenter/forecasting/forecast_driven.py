"""Segments found by forecasting: each series goes to the segment whose pooled model
forecasts it best.

After López-Oriona, Montero-Manso & Vilar (2025, "Time series clustering based on
prediction accuracy of global forecasting models", Knowledge-Based Systems 323): start
from a partition (the best clustering candidate with ``k`` segments by validation
error), fit the pooled model (the first pooled candidate, LightGBM) on each segment's
series, forecast *every* series with each segment's model, and move each series to the
segment whose model forecast it best; repeat until fewer than :data:`TOL` of the series
move or :data:`MAX_ITER` rounds.  Those segments are defined by what matters to
forecasting, not by shape or level, so they can find dynamics that shape and feature
clustering cannot see.

The moves are decided on origins that end before the selection windows begin: the
oldest backtest window's and :data:`MOVE_ORIGINS` - 1 more, one step apart, before it
(:func:`move_cutoffs`), never on the selection windows that then score the result like
any other candidate, and never on the final window.  A segment left
with fewer than :data:`MIN_SEGMENT` series is dissolved into the others.  One candidate
is made per segment count of the best clustering candidates, so ``k`` is chosen by the
same validation error and rule as everything else (``kind="forecast-driven"`` in
``selection_``).  ``predict`` assigns a series never seen in fit to the segment whose
fitted model forecasts the last ``horizon`` steps of its history best
(:class:`ForecastAssigner`).
"""

from __future__ import annotations

import logging

import numpy as np
from threadpoolctl import threadpool_limits

from .backtest import errors_of, materialize
from .base import clip_nonnegative
from .evaluation import _nanmean0, groups
from .segmentations import Segmentation

__all__ = ["forecast_driven_candidates", "refine", "ForecastAssigner", "MAX_ITER", "TOL",
           "MIN_SEGMENT"]

log = logging.getLogger(__name__)

#: Rounds of moves at most.
MAX_ITER = 5
#: Stop when fewer than this share of the series move in a round.
TOL = 0.01
#: A segment with fewer series is dissolved.
MIN_SEGMENT = 2
#: Origins the moves are decided on (the oldest backtest window's and earlier ones).
MOVE_ORIGINS = 4


def cross_errors(source, spec, idx, cutoffs, horizon: int, bp, members, metric: str):
    """A task: ``bp`` fitted on the series ``members`` (positions in ``idx``) at each
    row of ``cutoffs`` (J, n) and forecasting every series of ``idx`` there; returns
    the errors (J, n) of those forecasts."""
    data = materialize(source, spec, keys=idx)
    n = len(data)
    J = cutoffs.shape[0]
    F = np.full((J, n, horizon), np.nan)
    A = np.full((J, n, horizon), np.nan)
    S = np.full((J, n), np.nan)
    train = data.subset(members)
    with threadpool_limits(limits=1):
        for j in range(J):
            A[j] = data.actuals(cutoffs[j], horizon)
            S[j] = data.scales(cutoffs[j])[0]
            tgroup, tpos = train.group(cutoffs[j][members], horizon)
            group, pos = data.group(cutoffs[j], horizon)
            if len(tpos) < 1 or not len(pos):
                continue
            try:
                state = bp.fit(tgroup)
                F[j, pos] = clip_nonnegative(bp.predict(state, group, horizon), group).mean
            except Exception as exc:   # noqa: BLE001 - that segment's model takes no part
                log.warning("forecast-driven segments: %s failed on a segment: %s",
                            bp.spec, exc)
    return errors_of(F, A, S)[metric]


def move_cutoffs(plan, n_origins: int = MOVE_ORIGINS, min_train: int = 8) -> np.ndarray:
    """The origins the moves are decided on: the oldest backtest window's and
    ``n_origins - 1`` more, one step apart, before it (J, n); -1 where a series is too
    short.  All end before the selection windows begin."""
    base = plan.cutoffs[plan.n_windows - 1]
    rows = [np.where(base >= 0, base - j * plan.step, -1) for j in range(n_origins)]
    cut = np.stack(rows)
    return np.where(cut >= min_train, cut, -1)


def refine(run, book, labels: np.ndarray, bp, name: str) -> tuple[np.ndarray, list]:
    """Move series to the segment whose pooled model forecasts them best (module
    docstring), from ``labels``; returns the labels and the share moved each round."""
    plan = book.plan
    cuts = move_cutoffs(plan)
    n = book.n
    idx_all = np.arange(n)
    labels = np.unique(np.asarray(labels).astype(str), return_inverse=True)[1]
    moved = []
    for it in range(MAX_ITER):
        segs = groups(labels)
        jobs = [(run.source(idx_all, f"{name} round {it}"), run.spec, idx_all, cuts,
                 run.horizon, bp, idx, book.metric) for idx in segs.values()]
        outs = run.map(cross_errors, jobs,
                       [f"{name}: round {it}, model of segment {g}" for g in segs],
                       "forecast-driven segments")
        E = np.stack([_nanmean0(e) for e in outs])                       # (k, n)
        keys = np.array(list(segs))
        E = np.where(np.isfinite(E), E, np.inf)
        best = keys[E.argmin(axis=0)]
        keep = np.isfinite(E.min(axis=0))
        new = np.where(keep, best, labels)
        counts = np.bincount(new, minlength=labels.max() + 1)
        small = np.flatnonzero((counts > 0) & (counts < MIN_SEGMENT))
        if len(small) and len(np.flatnonzero(counts >= MIN_SEGMENT)):
            E2 = E.copy()
            E2[np.isin(keys, small)] = np.inf
            alt = keys[E2.argmin(axis=0)]
            new = np.where(np.isin(new, small), alt, new)
        share = float((new != labels).mean())
        moved.append(share)
        labels = np.unique(new, return_inverse=True)[1]
        if share < TOL:
            break
    return labels.astype(np.int64), moved


def forecast_driven_candidates(run, book, segs: list, evals: list, pooled: list,
                               max_k: int = 3) -> list[Segmentation]:
    """One forecast-driven segmentation per segment count of the (up to ``max_k``)
    best clustering candidates, each started from the best candidate of that count."""
    if not pooled:
        return []
    bp = pooled[0]
    cands = [i for i, s in enumerate(segs) if s.kind in ("clustering", "user")
             and np.isfinite(evals[i].valid_error) and s.n_segments > 1]
    cands.sort(key=lambda i: evals[i].valid_error)
    starts, seen = [], set()
    for i in cands:
        k = segs[i].n_segments
        if k not in seen:
            seen.add(k)
            starts.append(i)
        if len(starts) == max_k:
            break
    out = []
    for i in starts:
        start = segs[i]
        name = f"forecast-driven k={start.n_segments} (from {start.name})"
        labels, moved = refine(run, book, start.labels, bp, name)
        k = len(np.unique(labels))
        out.append(Segmentation(
            name, "forecast-driven", labels, meta={
                "start": start.name, "moved": moved, "model": bp.spec, "k_start":
                start.n_segments, "k": k}))
        log.info("%s: %d rounds, moved %s, %d segments", name, len(moved),
                 [round(x, 3) for x in moved], k)
    return out


class ForecastAssigner:
    """Assigns series never seen in fit to the segment whose fitted pooled model
    forecasts the last ``horizon`` steps of their history best (MASE)."""

    def __init__(self, spec: str, states: dict, horizon: int):
        self.spec = spec                 # the pooled candidate
        self.states = states             # segment -> its fitted state
        self.horizon = horizon

    def assign(self, data, blueprints: dict) -> np.ndarray:
        """Segments of the series of ``data`` (a ForecastData)."""
        bp = blueprints[self.spec]
        h = self.horizon
        lengths = np.array([len(v) for v in data.values])
        cut = np.where(lengths - h >= 4, lengths - h, -1)
        A = data.actuals(cut, h)[None]
        S = data.scales(cut)[0][None]
        group, pos = data.group(cut, h)
        keys = list(self.states)
        E = np.full((len(keys), len(data)), np.inf)
        for j, g in enumerate(keys):
            F = np.full((1, len(data), h), np.nan)
            if len(pos):
                with threadpool_limits(limits=1):
                    F[0, pos] = clip_nonnegative(bp.predict(self.states[g], group, h),
                                                 group).mean
            e = errors_of(F, A, S)["mase"][0]
            E[j] = np.where(np.isfinite(e), e, np.inf)
        best = E.argmin(axis=0)
        # a series too short to backtest goes to the largest segment (the first key)
        return np.array([keys[b] if np.isfinite(E[b, i]) else keys[0]
                         for i, b in enumerate(best)], dtype=object)
