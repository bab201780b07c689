"""Segments found by forecasting: each series goes to the segment whose pooled model
forecasts it best.

After López-Oriona, Montero-Manso & Vilar (2025, "Time series clustering based on
prediction accuracy of global forecasting models", Knowledge-Based Systems 323): start
from a partition (the best clustering candidate with ``k`` segments by validation
error), fit one pooled linear autoregression per segment (ridge AR on lags
1..:func:`ar_order`, each series standardised by its own mean and sd, as the paper's
global linear models), compute every series' one-step error under every segment's
model, and move each series to the segment whose model forecasts it best; repeat until
fewer than :data:`TOL` of the series move or :data:`MAX_ITER` rounds.  Those segments
are defined by what matters to forecasting, not by shape or level, so they can find
dynamics that shape and feature clustering cannot see.  The segments found are then
forecast by the pooled candidate (LightGBM) and scored like any other segmentation.

Why a linear model decides the moves: LightGBM fitted on segments that are still mixed
gives nearly the same model on each, and the moves then swing with its training noise
(30-45% of the series moved every round on a planted lag-3 / lag-5 panel, which it
never recovered: adjusted Rand 0.0-0.7); the pooled linear AR recovers that panel
exactly from a random start, in a fraction of the time.

The moves see only the history before the oldest backtest window's cutoff: never the
selection windows that then score the result, never the final window.  A segment left
with fewer than :data:`MIN_SEGMENT` series is dissolved into the others.  One candidate
is made per segment count of the best clustering candidates, so ``k`` is chosen by the
same validation error and rule as everything else (``kind="forecast-driven"`` in
``selection_``).  ``predict`` assigns a series never seen in fit the way the moves
placed the others: to the segment whose pooled linear AR, refitted on the segment's
whole histories, forecasts its history best one step ahead (:class:`ForecastAssigner`).
"""

from __future__ import annotations

import logging

import numpy as np

from .backtest import materialize
from .evaluation import groups
from .segmentations import Segmentation

__all__ = [
    "forecast_driven_candidates",
    "refine",
    "ForecastAssigner",
    "assign_series",
    "MAX_ITER",
    "TOL",
    "MIN_SEGMENT",
    "RIDGE",
    "ar_order",
    "insample_errors",
    "segment_models",
    "pooled_ar",
    "one_step_errors",
]

log = logging.getLogger(__name__)

#: Rounds of moves at most.
MAX_ITER = 5
#: Stop when fewer than this share of the series move in a round.
TOL = 0.01
#: A segment with fewer series is dissolved.
MIN_SEGMENT = 2


#: Ridge penalty of the pooled linear autoregression that decides the moves.
RIDGE = 1.0


def ar_order(m: int) -> int:
    """Lags 1..p of the pooled linear AR that decides the moves: the short lags the
    pooled LightGBM reads too (1..max(m, 4), at most 24)."""
    return min(max(int(m), 4), 24)


def design(data, cut: np.ndarray, p: int) -> list:
    """One-step rows (X, y) of each series' history before ``cut`` (cleaned, and
    standardised by its own mean and sd, so segments are not told apart by level);
    empty where the history is too short."""
    group, pos = data.history(cut, 0)
    rows = [(np.zeros((0, p)), np.zeros(0))] * len(data)
    for x, i in zip(group.values, pos):
        if len(x) <= p + 1:
            continue
        z = (x - x.mean()) / (x.std() or 1.0)
        X = np.stack([z[p - lag : len(z) - lag] for lag in range(1, p + 1)], axis=1)
        rows[i] = (X, z[p:])
    return rows


def pooled_ar(rows: list, members, p: int):
    """The ridge AR(p) coefficients fitted on the one-step rows of ``members`` pooled,
    or None when they hold fewer than ``2 p`` rows."""
    X = np.concatenate([rows[i][0] for i in members])
    y = np.concatenate([rows[i][1] for i in members])
    if len(y) < 2 * p:
        return None
    return np.linalg.solve(X.T @ X + RIDGE * np.eye(p), X.T @ y)


def one_step_errors(rows: list, coefs: list) -> np.ndarray:
    """(k, n) mean absolute one-step errors of every series' ``rows`` under each of the
    ``coefs`` (inf where the series or the model is missing)."""
    errors = np.full((len(coefs), len(rows)), np.inf)
    for g, coef in enumerate(coefs):
        if coef is None:
            continue
        for i, (Xi, yi) in enumerate(rows):
            if len(yi):
                errors[g, i] = np.abs(yi - Xi @ coef).mean()
    return errors


def insample_errors(source, data_spec, idx, cut, segments: list, p: int) -> np.ndarray:
    """A task: one pooled ridge AR(p) per segment (``segments``: positions in ``idx``),
    fitted on its series' histories before ``cut``; returns the (k, n) mean absolute
    one-step errors of every series under every segment's model over that history
    (inf where a series or a segment is too short)."""
    rows = design(materialize(source, data_spec, keys=idx), cut, p)
    return one_step_errors(rows, [pooled_ar(rows, m, p) for m in segments])


def segment_models(source, data_spec, idx, segments: list, p: int) -> list:
    """A task: each segment's pooled ridge AR(p) fitted on its series' whole histories
    (``segments``: positions in ``idx``)."""
    rows = design(materialize(source, data_spec, keys=idx), None, p)
    return [pooled_ar(rows, m, p) for m in segments]


def refine(job, backtests, labels: np.ndarray, name: str) -> tuple[np.ndarray, list]:
    """Move series to the segment whose pooled model forecasts them best (module
    docstring), from ``labels``; returns the labels and the share moved each round."""
    plan = backtests.plan
    cut = plan.cutoffs[plan.n_windows - 1]  # the moves see nothing after it
    p = ar_order(job.data_spec.season_length)
    n = backtests.n
    idx_all = np.arange(n)
    labels = np.unique(np.asarray(labels).astype(str), return_inverse=True)[1]
    moved = []
    for it in range(MAX_ITER):
        segs = groups(labels)
        keys = np.array(list(segs))
        (errors,) = job.map(
            insample_errors,
            [
                (
                    job.source(idx_all, f"{name} round {it}"),
                    job.data_spec,
                    idx_all,
                    cut,
                    list(segs.values()),
                    p,
                )
            ],
            [f"{name}: round {it}"],
            "forecast-driven segments",
        )
        best = keys[errors.argmin(axis=0)]
        keep = np.isfinite(errors.min(axis=0))
        new = np.where(keep, best, labels)
        counts = np.bincount(new, minlength=labels.max() + 1)
        small = np.flatnonzero((counts > 0) & (counts < MIN_SEGMENT))
        if len(small) and len(np.flatnonzero(counts >= MIN_SEGMENT)):
            E2 = errors.copy()
            E2[np.isin(keys, small)] = np.inf
            new = np.where(np.isin(new, small), keys[E2.argmin(axis=0)], new)
        share = float((new != labels).mean())
        moved.append(share)
        labels = np.unique(new, return_inverse=True)[1]
        if share < TOL:
            break
    return labels.astype(np.int64), moved


def forecast_driven_candidates(
    job, backtests, segs: list, evals: list, pooled: list, max_k: int = 3
) -> list[Segmentation]:
    """One forecast-driven segmentation per segment count of the (up to ``max_k``)
    best clustering candidates, each started from the best candidate of that count."""
    if not pooled:
        return []
    bp = pooled[0]
    cands = [
        i
        for i, s in enumerate(segs)
        if s.kind in ("clustering", "user")
        and np.isfinite(evals[i].valid_error)
        and s.n_segments > 1
    ]
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
        labels, moved = refine(job, backtests, start.labels, name)
        k = len(np.unique(labels))
        out.append(
            Segmentation(
                name,
                "forecast-driven",
                labels,
                meta={
                    "start": start.name,
                    "moved": moved,
                    "model": bp.spec,
                    "moves": f"pooled ridge AR({ar_order(job.data_spec.season_length)})",
                    "k_start": start.n_segments,
                    "k": k,
                },
            )
        )
        log.info(
            "%s: %d rounds, moved %s, %d segments",
            name,
            len(moved),
            [round(x, 3) for x in moved],
            k,
        )
    return out


class ForecastAssigner:
    """Assigns series never seen in fit to a forecast-driven segment the way the moves
    placed the series of fit: to the segment whose pooled ridge AR (refitted on each
    segment's whole histories) gives the lowest mean absolute one-step error over the
    series' history.  A series too short for that goes to the largest segment."""

    def __init__(self, coefs: dict, p: int, largest):
        self.coefs = coefs  # segment -> AR coefficients (None: too short to fit)
        self.p = p
        self.largest = largest

    @classmethod
    def fit(cls, job, labels: np.ndarray, name: str) -> ForecastAssigner:
        """Fit each segment's model on the whole histories of its series (one task)."""
        segs = groups(np.asarray(labels))
        p = ar_order(job.data_spec.season_length)
        idx = np.arange(len(labels))
        (coefs,) = job.map(
            segment_models,
            [(job.source(idx, name), job.data_spec, idx, list(segs.values()), p)],
            [f"{name}: models to assign new series"],
            "forecast-driven segments",
        )
        largest = max(segs, key=lambda g: len(segs[g]))
        return cls(dict(zip(segs, coefs)), p, largest)

    def assign(self, data) -> np.ndarray:
        """Segments of the series of ``data`` (a :class:`~segmenter.forecasting.base.SeriesGroup`)."""
        keys = list(self.coefs)
        errors = one_step_errors(design(data, None, self.p), list(self.coefs.values()))
        best = errors.argmin(axis=0)
        return np.array(
            [
                keys[b] if np.isfinite(errors[b, i]) else self.largest
                for i, b in enumerate(best)
            ],
            dtype=object,
        )


def assign_series(assigner: ForecastAssigner, source, data_spec, idx) -> list:
    """The segments ``assigner`` gives the series ``idx`` (a task)."""
    return assigner.assign(materialize(source, data_spec, keys=idx)).tolist()
