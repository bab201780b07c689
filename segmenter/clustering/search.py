"""The search over blueprints × k, and where it runs.

:class:`ClusteringSearch` owns one fit's leaderboard: it runs blueprint × k candidates
(skipping infeasible k with the reason), reranks after reruns, and refits a chosen row
on the series (:meth:`ClusteringSearch.choose`).  Everything it needs comes in through
its constructor; it keeps no state another object leaves behind.

Where the work runs is an *execution* with one interface:

* :class:`LocalExecution` -- the panel is here; one :class:`~.workspace.Workspace`
  caches its features and DTW matrices;
* :class:`ChunkedExecution` -- the series are held in chunks by a distributed engine
  (:class:`~segmenter.data.chunks.ChunkedPanel`): the series the folds sample and the
  final fit needs are gathered into one panel on the engine, each candidate runs as a
  task bound to it, the final model is fitted as a task and assigns every chunk where
  it lives.  Results equal the local execution's.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem
from ..selection.folds import SeriesFold, sample_positions
from ..selection.leaderboard import Leaderboard
from ..selection.metrics import METRICS
from .blueprints import Blueprint, FittedBlueprint
from .clusterers import pruning_counts
from .constraints import ClusteringConstraints, ConstraintReport
from .workspace import ClusteringCandidate, Workspace, take

__all__ = [
    "ClusteringSearch",
    "LocalExecution",
    "ChunkedExecution",
    "Choice",
    "default_k",
    "K_GRID",
    "choose_positions",
    "ASSIGN_CHUNK",
]

log = logging.getLogger(__name__)

#: Cluster counts ``n_clusters=None`` chooses from.
K_GRID = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20)

#: Series assigned per call when the chosen model maps the series outside its fit sample.
ASSIGN_CHUNK = 20000


def default_k(
    n_series: int, constraints: ClusteringConstraints, max_feasible: int
) -> list[int]:
    """The cluster counts tried when ``n_clusters=None``: the values of :data:`K_GRID` up
    to ``max(3, round(sqrt(n_series / 2)))``, capped by C2 (``max_feasible``) and C4.

    >>> default_k(304, ClusteringConstraints(), 300)
    [2, 3, 4, 5, 6, 8, 10, 12]
    >>> default_k(12, ClusteringConstraints(), 12)
    [2, 3]
    """
    top = min(max(3, round(math.sqrt(n_series / 2))), max_feasible, constraints.k_max)
    ks = [k for k in K_GRID if constraints.k_min <= k <= top]
    return ks[: constraints.max_k_values]


def choose_positions(n: int, fit_sample: int | None, random_state) -> np.ndarray:
    """The series the chosen row's final model is fitted on: all, or a seeded sample of
    ``fit_sample`` of them."""
    idx = np.arange(n)
    if fit_sample is not None and n > fit_sample:
        idx = sample_positions(idx, fit_sample, np.random.default_rng(random_state))
    return idx


# ============================================================================ assignment
def assign_all(
    model: FittedBlueprint,
    X,
    n: int,
    fit_idx: np.ndarray,
    fit_labels: np.ndarray,
    where: str = "",
) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """(labels, center distances, pruning counts) of the ``n`` series ``X``: those at
    ``fit_idx`` keep their fit labels, the others are assigned by the model in pieces of
    :data:`ASSIGN_CHUNK` (for DTW blueprints the pruned search, whose distances come back
    with the labels, so none is computed twice)."""
    labels, dist = np.empty(n, dtype=np.int64), np.empty(n)
    labels[fit_idx] = fit_labels
    if len(fit_idx):
        dist[fit_idx] = model.center_distances(take(X, fit_idx), fit_labels)
    rest = np.setdiff1d(np.arange(n), fit_idx)
    pruning = None
    for lo in range(0, len(rest), ASSIGN_CHUNK):
        part = rest[lo : lo + ASSIGN_CHUNK]
        labels[part], dist[part], counts = model.assign(take(X, part))
        if counts:
            pruning = pruning_counts(pruning, counts)
        log.info(
            "segmenter: assigned %d of %d series outside the fit sample%s",
            min(lo + ASSIGN_CHUNK, len(rest)),
            len(rest),
            where,
        )
    return labels, dist, pruning


def _assign_chunk(
    chunk, model: FittedBlueprint, fit_local: np.ndarray, fit_labels: np.ndarray
):
    """A task: segments and center distances of a chunk's series (the fitted ones keep
    their fit labels)."""
    return assign_all(
        model, model.featurize(chunk), chunk.n_series, fit_local, fit_labels
    )


def _fit_final_task(context, cand: ClusteringCandidate, fit_pos, k, tag):
    cand.bind(context)
    try:
        return cand.fit_on(fit_pos, k, tag)
    finally:
        cand.bind(None)


# ============================================================================ executions
class LocalExecution:
    """The leaderboard and the final fit in this process, on ``panel``."""

    engine = None
    context = None

    def __init__(self, panel, folds: list[SeriesFold]):
        self.workspace = Workspace(panel)
        self.folds = self.series_folds = folds

    def fit_final(self, cand: ClusteringCandidate, fit_idx, k, tag) -> FittedBlueprint:
        return cand.fit_on(fit_idx, k, tag)

    def assign(self, model, cand: ClusteringCandidate, fit_idx, progress=None):
        X = self.workspace.features(cand.blueprint)[0]
        t0 = time.perf_counter()
        labels, dist, pruning = assign_all(
            model, X, self.workspace.panel.n_series, fit_idx, model.labels_
        )
        return labels, dist, pruning, time.perf_counter() - t0


class ChunkedExecution:
    """The leaderboard and the final fit on a distributed engine, for series held in
    chunks (see the module docstring).  ``folds`` hold positions into all series
    (:attr:`series_folds`); the leaderboard's folds (:attr:`folds`) hold positions into
    the gathered sample."""

    workspace = None

    def __init__(
        self,
        engine,
        source,
        folds: list[SeriesFold],
        fit_idx: np.ndarray,
        blueprints: list[Blueprint],
        owner: str = "",
    ):
        self.engine, self.source = engine, source
        self.series_folds = folds
        need = [fit_idx]
        for f in folds:
            need += [f.fit, f.train_sample, f.valid_sample] + (
                [f.valid] if f.kind == "cv" else []
            )
        self.needed = np.unique(np.concatenate(need))
        sample = source.gather(self.needed, label=f"gather {len(self.needed)} series")
        states = {
            Workspace.feature_key(bp): bp.panel_state(source) for bp in blueprints
        }
        token = f"{source.fingerprint()}-{owner}-{time.time_ns()}"
        self.context = [token, sample, states]
        log.info(
            "segmenter: %d of %d series gathered for the leaderboard",
            len(self.needed),
            source.n_series,
        )
        pos = lambda idx: np.searchsorted(self.needed, idx)  # noqa: E731
        # holdout folds keep train and valid as positions into all series (only counts)
        self.folds = [
            SeriesFold(
                f.name,
                f.kind,
                pos(f.train) if f.kind == "cv" else f.train,
                pos(f.valid) if f.kind == "cv" else f.valid,
                pos(f.fit),
                pos(f.train_sample),
                pos(f.valid_sample),
            )
            for f in folds
        ]

    def fit_final(self, cand: ClusteringCandidate, fit_idx, k, tag) -> FittedBlueprint:
        fit_pos = np.searchsorted(self.needed, fit_idx)
        engine = self.engine
        return engine.result(
            engine.submit(
                _fit_final_task,
                self.context,
                cand,
                fit_pos,
                k,
                tag,
                label=f"final fit {cand.name} k={k}",
            )
        )

    def assign(self, model, cand, fit_idx, progress=None):
        """Each chunk assigned where it lives; only labels and distances come back."""
        source = self.source
        fit_label = np.full(source.n_series, -1, dtype=np.int64)
        fit_label[fit_idx] = model.labels_
        jobs, labels_, where = [], [], []
        for c, local, members in source.members(np.arange(source.n_series)):
            mine = fit_label[members] >= 0
            jobs.append((source.refs[c], model, local[mine], fit_label[members][mine]))
            labels_.append(f"assign {source.labels[c]}")
            where.append((members, local))
        t0 = time.perf_counter()
        outs = self.engine.map(
            _assign_chunk, jobs, labels_, desc="assign", progress=progress
        )
        seconds = time.perf_counter() - t0
        n = source.n_series
        labels, dist = np.empty(n, dtype=np.int64), np.empty(n)
        pruning = None
        for (members, local), (lab, d, counts) in zip(where, outs):
            labels[members], dist[members] = lab[local], d[local]
            if counts:
                pruning = pruning_counts(pruning, counts)
        return labels, dist, pruning, seconds


# ============================================================================ the search
@dataclass
class Choice:
    """A leaderboard row refitted and applied to every series."""

    entry: object
    model: FittedBlueprint
    labels: np.ndarray
    distances: np.ndarray
    assigned_by: np.ndarray
    assignment: dict


class ClusteringSearch:
    """One fit's clustering leaderboard over blueprints × k (see the module docstring).

    Parameters
    ----------
    panel : Panel or ChunkedPanel
        All series (a chunked panel's per-series summary on a distributed engine).
    execution : LocalExecution or ChunkedExecution
    constraints, report : the active constraints and their check of the data
    metric : str
        What ranks the rows (a clustering metric of :data:`~segmenter.selection.metrics.METRICS`).
    """

    def __init__(
        self,
        panel,
        execution,
        constraints: ClusteringConstraints,
        report: ConstraintReport,
        metric: str,
        random_state,
        fit_sample,
        validation_size: float,
        progress=None,
        checkpoint=None,
    ):
        self.panel = panel
        self.execution = execution
        self.constraints = constraints
        self.report = report
        self.random_state = random_state
        self.fit_sample = fit_sample
        self.validation_size = validation_size
        self.progress = progress
        self.checkpoint = checkpoint
        self.leaderboard = Leaderboard(
            execution.folds,
            metric,
            METRICS[metric].greater_is_better,
            progress=progress,
            desc="segmenter",
        )
        self.candidates: dict[str, ClusteringCandidate] = {}

    @property
    def workspace(self) -> Workspace | None:
        """The cached features of every series (local execution only)."""
        return self.execution.workspace

    # ------------------------------------------------------------------ running
    def rank_blueprints(
        self, blueprints: list[Blueprint], ks: list[int], with_picks_k
    ) -> None:
        """Every blueprint at every k of ``ks``; blueprints that choose k themselves run
        once when ``with_picks_k(blueprint)`` says so."""
        tasks = []
        for bp in blueprints:
            cand = ClusteringCandidate(
                bp, self.workspace, self.random_state, self.constraints.max_segments
            )
            self.candidates[bp.spec] = cand
            if bp.picks_k:
                if with_picks_k(bp):
                    tasks.append((cand, {"n_clusters": None}))
                continue
            tasks += self._k_tasks(cand, ks, self.report)
        log.info(
            "segmenter: %d candidates on %d series (%s)",
            len(tasks),
            self.panel.n_series,
            ", ".join(f.name for f in self.execution.folds),
        )
        self._score_tasks(tasks)

    def rerun(
        self, cands: list[ClusteringCandidate], ks: list[int], report: ConstraintReport
    ) -> int:
        """Run ``cands`` at more k; returns the first new row number."""
        before = len(self.leaderboard.entries)
        tasks = []
        for cand in cands:
            tasks += self._k_tasks(cand, ks, report)
        self._score_tasks(tasks)
        return before

    def _score_tasks(self, tasks) -> None:
        self.leaderboard.score_candidates(
            tasks, self.execution.engine, self.execution.context, self.checkpoint
        )

    def _k_tasks(self, cand, ks, report) -> list:
        """Leaderboard tasks of ``cand`` for each k; infeasible k are recorded as skipped."""
        tasks = []
        for k in ks:
            reason = self._skip_reason(k, report)
            if reason:
                self.leaderboard.skip(cand, {"n_clusters": k}, reason)
            else:
                tasks.append((cand, {"n_clusters": k}))
        return tasks

    def _skip_reason(self, k: int, report) -> str:
        """Why k cannot run: C2/C4 on all series, or too few long series in a training
        partition (every fold's training series must support k)."""
        if k in report.skipped_k:
            return report.skipped_k[k]
        folds = self.execution.series_folds
        long_enough = self.panel.n_observed >= self.constraints.min_history
        n_train = min(int(long_enough[f.fit].sum()) for f in folds)
        if k > n_train:
            sampled = any(len(f.fit) < len(f.train) for f in folds)
            return (
                f"C2: k={k} needs {k} training series with >= "
                f"{self.constraints.min_history} non-missing steps; the training "
                f"partition ({1 - self.validation_size:.0%} of the series"
                f"{', per fold' if len(folds) > 1 else ''}"
                f"{', as sampled by fit_sample' if sampled else ''}) has {n_train}"
            )
        return ""

    # ------------------------------------------------------------------ reading
    def frame(self) -> pd.DataFrame:
        df = self.leaderboard.to_frame()
        if "n_clusters" in df.columns:
            df["n_clusters"] = df["n_clusters"].astype("Int64")
        return df

    def choose(self, row: int | None = None) -> Choice:
        """Refit leaderboard row ``row`` (default: the best) on the series (a seeded
        sample of ``fit_sample`` when there are more) and assign every series."""
        lb = self.leaderboard
        entry = lb.best() if row is None else lb.entry(row)
        if entry.status != "ok":
            raise DataValidationError(
                [
                    Problem(
                        "row_not_ok",
                        "row",
                        f"row {entry.row} ({entry.candidate.name}, "
                        f"{entry.settings}) is {entry.status}: {entry.reason}; choose a row with "
                        "status 'ok'",
                    )
                ]
            )
        cand: ClusteringCandidate = entry.candidate
        n = self.panel.n_series
        fit_idx = choose_positions(n, self.fit_sample, self.random_state)
        tag = (
            ("all",)
            if len(fit_idx) == n
            else ("choose_fit", hashlib.sha1(fit_idx.tobytes()).hexdigest())
        )
        k = entry.settings.get("n_clusters")
        how = np.full(n, "predict", dtype=object)
        how[fit_idx] = "fit"
        model = self.execution.fit_final(cand, fit_idx, k, tag)
        labels, dist, pruning, seconds = self.execution.assign(
            model, cand, fit_idx, self.progress
        )
        assignment = {
            "n_fit": int(len(fit_idx)),
            "n_assigned": int(n - len(fit_idx)),
            "seconds": seconds,
            **(pruning or {}),
        }
        return Choice(entry, model, labels, dist, how, assignment)
