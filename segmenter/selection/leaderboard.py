"""The leaderboard machinery: fit candidates on one partition, score them on another, rank.

One machinery serves both halves of the library:

* clustering: candidates are blueprint × k, the partition is a split of the *series*
  into training and validation (or folds of series), the metric is a silhouette;
* forecasting (the per-segment runner): candidates are forecasting blueprints, the
  partition is a set of rolling-origin backtest windows, the metric a scaled error.

A candidate is any object with

``name``
    what the leaderboard's ``blueprint`` column shows;
``describe(**settings) -> str``
    the recipe in words;
``fit(fold, **settings) -> model``
    fit on ``fold``'s training part;
``score(model, fold, **settings) -> dict``
    metrics on ``fold``'s validation part (plus anything else worth a column).
    Numeric values are averaged over folds (weighted by the ``"weight"`` entry when
    present); strings are joined (distinct non-empty values, ``"; "``); other values are
    kept from the first fold.  A non-empty ``"demoted"``
    entry (a reason) ranks the row below every row without one (e.g. a clustering
    whose requested k produced empty clusters).

``settings`` are the knobs a rerun may change (for clustering, ``n_clusters``).  A
*fold* is any object the candidate understands; the leaderboard only iterates them.

A candidate that raises is recorded with status ``"failed"`` and the reason; a
candidate skipped before fitting (e.g. an infeasible k) with status ``"skipped"``.
Neither stops the run; both are listed below the ranked rows.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._moved import renamed
from ..engine.progress import progress_bar
from ..errors import DataValidationError, NoCandidateError, Problem

__all__ = ["Leaderboard", "Entry", "score_on_folds"]

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """One leaderboard row: a candidate with its settings and what it scored."""

    row: int
    candidate: Any
    settings: dict
    status: str = "pending"  # ok | failed | skipped
    reason: str = ""
    metrics: dict = field(default_factory=dict)
    fit_seconds: float = 0.0
    score_seconds: float = 0.0
    models: list = field(default_factory=list, repr=False)


class Leaderboard:
    """Fit, score and rank candidates over a fixed list of folds.

    Parameters
    ----------
    folds : sequence
        The partition(s): each candidate is fitted and scored on every fold.
    metric : str
        Key of the score dict that ranks the rows.
    greater_is_better : bool, default True
    progress : bool or None
        Progress bar (None: only on a terminal).
    keep_models : bool, default True
        Keep each row's fitted model(s) (needed to reuse them without refitting).
    desc : str
        Label of the progress bar and log lines.

    Examples
    --------
    >>> class Const:
    ...     name = "const"
    ...     def describe(self, c): return f"always {c}"
    ...     def fit(self, fold, c): return c
    ...     def score(self, model, fold, c): return {"score": -abs(model - fold)}
    >>> lb = Leaderboard(folds=[3, 5], metric="score", progress=False)
    >>> _ = lb.score_candidates([(Const(), {"c": c}) for c in (1, 4, 9)])
    >>> lb.to_frame()[["blueprint", "c", "score"]].to_string(index=False)
    'blueprint  c  score\\n    const  4   -1.0\\n    const  1   -3.0\\n    const  9   -5.0'
    """

    def __init__(
        self,
        folds: Sequence,
        metric: str,
        greater_is_better: bool = True,
        progress: bool | None = None,
        keep_models: bool = True,
        desc: str = "leaderboard",
    ):
        if not len(folds):
            raise DataValidationError(
                [
                    Problem(
                        "no_folds", "folds", "the leaderboard needs at least one fold"
                    )
                ]
            )
        self.folds = list(folds)
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.progress = progress
        self.keep_models = keep_models
        self.desc = desc
        self.entries: list[Entry] = []

    # ------------------------------------------------------------------ running
    def skip(self, candidate, settings: dict, reason: str) -> Entry:
        """Record a candidate that is not run, with the reason."""
        e = Entry(
            len(self.entries),
            candidate,
            dict(settings),
            status="skipped",
            reason=reason,
        )
        self.entries.append(e)
        log.info("%s: %s %s skipped: %s", self.desc, candidate.name, settings, reason)
        return e

    def run(self, *args, **kwargs):
        """Deprecated name of :meth:`score_candidates`; it goes in segmenter 0.4."""
        warnings.warn(
            "Leaderboard.run is now Leaderboard.score_candidates; the old name works "
            "until segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.score_candidates(*args, **kwargs)

    def score_candidates(
        self,
        tasks: Iterable[tuple[Any, dict]],
        engine=None,
        context=None,
        checkpoint=None,
    ) -> list[Entry]:
        """Fit and score each ``(candidate, settings)`` on every fold; returns the new rows.

        With a distributed ``engine`` each row is one task: the candidate is pickled to
        a worker and, when it has a ``bind(context)`` method, bound there to
        ``context`` (an engine reference, e.g. the data it works on) before it runs.
        The rows and their scores are the same as in this process.  With a
        :class:`~segmenter.engine.checkpoint.Checkpoint`, rows already in its folder are
        loaded, not refitted, and every new row is written as it finishes.
        """
        tasks = list(tasks)
        new = []
        for cand, settings in tasks:
            e = Entry(len(self.entries), cand, dict(settings))
            self.entries.append(e)
            new.append(e)
        labels = [
            f"{self.desc} candidate {e.candidate.name} "
            f"{_fmt_settings(e.settings)}".strip()
            for e in new
        ]
        if engine is not None and engine.distributed and new:
            jobs = [
                (context, e.candidate, e.settings, self.folds, self.keep_models)
                for e in new
            ]
            outs = engine.map(
                _evaluate_bound,
                jobs,
                labels,
                desc=self.desc,
                progress=self.progress,
                checkpoint=checkpoint,
            )
            for e, out in zip(new, outs):
                self._record(e, out)
            return new
        with progress_bar(len(new) * len(self.folds), self.desc, self.progress) as bar:
            for e, label in zip(new, labels):
                bar.set_postfix_str(
                    f"{e.candidate.name} {_fmt_settings(e.settings)}", refresh=False
                )
                found, out = (
                    checkpoint.get(label) if checkpoint is not None else (False, None)
                )
                if found:
                    bar.update(len(self.folds))
                else:
                    out = score_on_folds(
                        e.candidate,
                        e.settings,
                        self.folds,
                        self.keep_models,
                        bar.update,
                    )
                    if checkpoint is not None:
                        checkpoint.put(label, out)
                self._record(e, out)
        return new

    def _record(self, e: Entry, out: dict) -> None:
        for key, value in out.items():
            setattr(e, key, value)
        if e.status == "failed":
            log.warning(
                "%s: %s %s failed: %s",
                self.desc,
                e.candidate.name,
                e.settings,
                e.reason,
            )
        else:
            log.info(
                "%s: %s %s %s=%.4g (fit %.2fs, score %.2fs)",
                self.desc,
                e.candidate.name,
                e.settings,
                self.metric,
                e.metrics.get(self.metric, math.nan),
                e.fit_seconds,
                e.score_seconds,
            )

    # ------------------------------------------------------------------ reading
    def entry(self, row: int) -> Entry:
        if not isinstance(row, (int, np.integer)) or not 0 <= row < len(self.entries):
            raise DataValidationError(
                [
                    Problem(
                        "bad_row",
                        "row",
                        f"row {row!r} is not on the leaderboard; rows are "
                        f"0..{len(self.entries) - 1} (the 'row' column of to_frame())",
                    )
                ]
            )
        return self.entries[int(row)]

    def ranked(self) -> list[Entry]:
        """Entries best first: ok rows by the metric, then ok rows without a score,
        then failed, then skipped (each group in the order they were added)."""
        sign = -1.0 if self.greater_is_better else 1.0

        def key(e: Entry):
            v = e.metrics.get(self.metric, math.nan) if e.status == "ok" else math.nan
            finite = v is not None and np.isfinite(v)
            if e.status == "ok" and finite:
                group = 1 if e.metrics.get("demoted") else 0
            else:
                group = {"ok": 2, "failed": 3, "skipped": 4}.get(e.status, 5)
            return (group, sign * v if finite else 0.0, e.row)

        return sorted(self.entries, key=key)

    def best(self) -> Entry:
        """The best row with a finite score (not demoted, when there is one)."""
        for e in self.ranked():
            v = e.metrics.get(self.metric, math.nan)
            if e.status == "ok" and np.isfinite(v):
                return e
        raise NoCandidateError(
            f"no candidate produced a finite {self.metric}; see the leaderboard's 'status', "
            "'reason' and 'note' columns"
        )

    def to_frame(self) -> pd.DataFrame:
        """The leaderboard, best first: rank, row, blueprint, settings, metrics, times,
        status, reason, steps."""
        rows = []
        for rank, e in enumerate(self.ranked(), start=1):
            ok = e.status == "ok" and np.isfinite(e.metrics.get(self.metric, math.nan))
            rows.append(
                {
                    "rank": rank if ok else pd.NA,
                    "row": e.row,
                    "blueprint": e.candidate.name,
                    **e.settings,
                    **e.metrics,
                    "fit_seconds": round(e.fit_seconds, 4),
                    "score_seconds": round(e.score_seconds, 4),
                    "status": e.status,
                    "reason": e.reason,
                    "steps": e.candidate.describe(**e.settings),
                }
            )
        df = pd.DataFrame(rows)
        if len(df):
            df["rank"] = df["rank"].astype("Int64")
        return df


def score_on_folds(
    candidate, settings: dict, folds, keep_models: bool = True, on_fold=None
) -> dict:
    """Fit and score ``candidate`` on every fold: the fields of its :class:`Entry`
    (``status``, ``reason``, ``metrics``, times, ``models``).  A candidate that raises
    is ``failed`` with the reason; it never stops the run."""
    results, models = [], []
    fit_s = score_s = 0.0
    try:
        for fold in folds:
            t0 = time.perf_counter()
            model = candidate.fit(fold, **settings)
            t1 = time.perf_counter()
            scores = candidate.score(model, fold, **settings)
            t2 = time.perf_counter()
            fit_s += t1 - t0
            score_s += t2 - t1
            results.append(scores)
            if keep_models:
                models.append(model)
            if on_fold is not None:
                on_fold(1)
    except Exception as exc:  # one bad candidate never stops the run
        if on_fold is not None:
            on_fold(len(folds) - len(results))
        return {
            "status": "failed",
            "reason": f"{type(exc).__name__}: {exc}",
            "models": [],
            "fit_seconds": fit_s,
            "score_seconds": score_s,
        }
    return {
        "status": "ok",
        "metrics": _aggregate(results),
        "models": models,
        "fit_seconds": fit_s,
        "score_seconds": score_s,
    }


def _evaluate_bound(context, candidate, settings, folds, keep_models) -> dict:
    """:func:`evaluate` in a worker, after binding the candidate to its ``context``."""
    if hasattr(candidate, "bind"):
        candidate.bind(context)
    out = score_on_folds(candidate, settings, folds, keep_models)
    if hasattr(candidate, "bind"):
        candidate.bind(None)
    return out


def _aggregate(results: list[dict]) -> dict:
    if len(results) == 1:
        return {k: v for k, v in results[0].items() if k != "weight"}
    w = np.array([r.get("weight", 1.0) for r in results], dtype=float)
    out = {}
    for key, first in results[0].items():
        if key == "weight":
            continue
        vals = [r.get(key) for r in results]
        if all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
            for v in vals
        ):
            arr = np.array(vals, dtype=float)
            ok = np.isfinite(arr)
            out[key] = (
                float(np.average(arr[ok], weights=w[ok])) if ok.any() else math.nan
            )
        elif all(isinstance(v, str) for v in vals):
            out[key] = "; ".join(dict.fromkeys(v for v in vals if v))
        else:
            out[key] = first
    return out


def _fmt_settings(settings: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items())


__getattr__ = renamed(__name__, {"evaluate": "score_on_folds"})
