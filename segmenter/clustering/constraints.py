"""Time-series clustering constraints (C1-C8 of the design), checked before any fitting.

The defaults follow DataRobot's time-series clustering:

====  ====================================================  =========================
 #    constraint                                             default
====  ====================================================  =========================
 C1   minimum number of series                               ``min_series=10``
 C2   for k clusters, at least k series with enough history  ``min_history=20`` steps
 C3   all series together span at least                      ``min_span=35`` steps
 C4   cluster count k                                        2..100, <= 10 values a run
 C5   segments fed to the forecaster                 ``max_segments=100``
 C6   series-id column and segment-id column                 must differ
 C7   every row of a series                                  in the same segment
 C8   the clustering variable                                numeric (regression only)
====  ====================================================  =========================

"History" is the number of non-missing target values of a series.  Short series are
never dropped: they are listed in the report (``short_ids``) and flagged downstream.
A constraint is relaxed only explicitly, with :meth:`ClusteringConstraints.relax`, and
the relaxation travels with the report (and later the leaderboard and the mapping).
C6-C8 are properties of the input table and are enforced by :class:`~segmenter.Panel`
when it is built; the report restates them for completeness.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from ..errors import ConstraintViolationError, Problem, format_examples

__all__ = [
    "ClusteringConstraints",
    "ConstraintReport",
    "normalize_k",
    "check_segment_count",
    "segment_count_problems",
]


@dataclass(frozen=True)
class ClusteringConstraints:
    """The clustering constraints, as one object.

    Parameters
    ----------
    min_series : int, default 10
        C1: fewest series a clustering run accepts.
    min_history : int, default 20
        C2: non-missing steps a series needs to count towards the k series a k needs.
    min_span : int, default 35
        C3: time steps that all series together must span.
    k_min, k_max : int, default 2, 100
        C4: allowed cluster counts.
    max_k_values : int, default 10
        C4: most cluster counts in one run.
    max_segments : int, default 100
        C5: most segments passed on to the forecaster.

    Examples
    --------
    >>> c = ClusteringConstraints().relax(min_series=5, reason="pilot study")
    >>> c.min_series, c.relaxations
    (5, {'min_series': (10, 5, 'pilot study')})
    """

    min_series: int = 10
    min_history: int = 20
    min_span: int = 35
    k_min: int = 2
    k_max: int = 100
    max_k_values: int = 10
    max_segments: int = 100
    relaxations: dict = field(default_factory=dict, compare=False)

    _CODES = {
        "min_series": "C1",
        "min_history": "C2",
        "min_span": "C3",
        "k_min": "C4",
        "k_max": "C4",
        "max_k_values": "C4",
        "max_segments": "C5",
    }

    def relax(self, reason: str = "", **changes) -> ClusteringConstraints:
        """Return a copy with some limits changed; each change is recorded.

        Parameters
        ----------
        reason : str
            Why; kept with the relaxation.
        **changes
            New values, e.g. ``min_series=5``.
        """
        names = {f.name for f in fields(self)} - {"relaxations"}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConstraintViolationError(
                [
                    Problem(
                        "unknown_constraint",
                        None,
                        f"cannot relax {unknown}: the constraints are {sorted(names)}",
                    )
                ]
            )
        bad = [
            k
            for k, v in changes.items()
            if not isinstance(v, (int, np.integer)) or v < 0
        ]
        if bad:
            raise ConstraintViolationError(
                [
                    Problem(
                        "bad_relaxation", None, f"{bad} must be non-negative integers"
                    )
                ]
            )
        rel = dict(self.relaxations)
        for k, v in changes.items():
            old = rel[k][0] if k in rel else getattr(self, k)
            rel[k] = (old, int(v), reason)
        return replace(self, **{k: int(v) for k, v in changes.items()}, relaxations=rel)

    def as_dict(self) -> dict:
        """Limits and relaxations as plain data (for leaderboards, mappings, JSON)."""
        d = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "relaxations"
        }
        d["relaxations"] = {
            k: {"default": a, "value": b, "reason": r}
            for k, (a, b, r) in self.relaxations.items()
        }
        return d

    # ------------------------------------------------------------------ checks
    def check_k(self, n_clusters) -> list[Problem]:
        """C4 on a requested k or list of k (no data needed)."""
        problems = []
        ks = _as_k_list(n_clusters)
        if ks is None:
            return problems
        if len(ks) > self.max_k_values:
            problems.append(
                Problem(
                    "too_many_k",
                    "n_clusters",
                    f"C4: {len(ks)} cluster counts requested, at most {self.max_k_values} per run; "
                    "split them over several runs or relax max_k_values",
                )
            )
        bad = [
            k for k in ks if not _is_int(k) or not (self.k_min <= int(k) <= self.k_max)
        ]
        if bad:
            problems.append(
                Problem(
                    "k_out_of_range",
                    "n_clusters",
                    f"C4: cluster counts {format_examples(bad)} are not integers in "
                    f"{self.k_min}..{self.k_max}; choose k in that range",
                )
            )
        dup = [k for k in set(ks) if _is_int(k) and ks.count(k) > 1]
        if dup:
            problems.append(
                Problem(
                    "duplicate_k",
                    "n_clusters",
                    f"C4: cluster counts {sorted(dup)} requested more than once",
                )
            )
        return problems

    def check(self, panel, n_clusters=None) -> ConstraintReport:
        """Check a :class:`~segmenter.Panel` (and an optional k list); report everything.

        Parameters
        ----------
        panel : Panel
        n_clusters : int, list of int or None
            Requested cluster counts; None checks the data only.
        """
        problems: list[Problem] = []
        n = panel.n_series
        nobs = panel.n_observed
        long_enough = nobs >= self.min_history
        n_long = int(long_enough.sum())
        short_idx = np.flatnonzero(~long_enough)
        short_ids = panel.id_labels(short_idx)
        if n < self.min_series:
            problems.append(
                Problem(
                    "C1",
                    None,
                    f"C1: {n} series, at least {self.min_series} are needed to cluster; "
                    "add series or relax min_series",
                )
            )
        span = panel.span
        if span < self.min_span:
            problems.append(
                Problem(
                    "C3",
                    None,
                    f"C3: all series together span {span} time steps, at least "
                    f"{self.min_span} are needed; use longer histories or relax min_span",
                )
            )
        if n_long < self.k_min:
            problems.append(
                Problem(
                    "C2",
                    None,
                    f"C2: only {n_long} series have at least {self.min_history} "
                    f"non-missing steps, and even k={self.k_min} needs {self.k_min}; use longer "
                    "series or relax min_history",
                    ids=short_ids,
                )
            )
        problems.extend(self.check_k(n_clusters))
        if panel.segments is not None:
            problems.extend(
                segment_count_problems(
                    len(pd.unique(panel.segments)),
                    self.max_segments,
                    column=panel.segment_col,
                )
            )
        all_missing = panel.all_missing_ids
        feasible, skipped = [], {}
        ks = _as_k_list(n_clusters)
        if ks is not None:
            for k in ks:
                if not _is_int(k) or not (self.k_min <= int(k) <= self.k_max):
                    skipped[k] = (
                        f"C4: k must be an integer in {self.k_min}..{self.k_max}"
                    )
                elif int(k) > n_long:
                    skipped[k] = (
                        f"C2: k={k} needs {k} series with >= {self.min_history} "
                        f"non-missing steps; the data has {n_long}"
                    )
                elif int(k) > n:
                    skipped[k] = f"k={k} exceeds the {n} series"
                else:
                    feasible.append(int(k))
        return ConstraintReport(
            constraints=self,
            problems=problems,
            n_series=n,
            n_long_enough=n_long,
            span=span,
            short_ids=short_ids,
            all_missing_ids=all_missing,
            feasible_k=feasible,
            skipped_k=skipped,
            requested_k=ks,
        )

    def max_feasible_k(self, panel) -> int:
        """Largest k the data supports under C2 and C4 (0 when none)."""
        n_long = int((panel.n_observed >= self.min_history).sum())
        top = min(n_long, panel.n_series, self.k_max)
        return top if top >= self.k_min else 0


@dataclass
class ConstraintReport:
    """The outcome of :meth:`ClusteringConstraints.check`.

    Attributes
    ----------
    ok : bool
        True when no constraint is violated (some requested k may still be skipped).
    problems : list of Problem
        Every violation, with the ids concerned.
    feasible_k, skipped_k : list, dict
        The requested k the data supports, and for the others the reason.
    short_ids : list
        Series with fewer than ``min_history`` non-missing steps: kept and flagged.
    """

    constraints: ClusteringConstraints
    problems: list
    n_series: int
    n_long_enough: int
    span: int
    short_ids: list
    all_missing_ids: list
    feasible_k: list
    skipped_k: dict
    requested_k: list | None

    @property
    def ok(self) -> bool:
        return not self.problems and (self.requested_k is None or bool(self.feasible_k))

    def raise_if_violated(self) -> ConstraintReport:
        """Raise :class:`ConstraintViolationError` listing every violation, else return self."""
        problems = list(self.problems)
        if not problems and self.requested_k is not None and not self.feasible_k:
            problems.append(
                Problem(
                    "no_feasible_k",
                    "n_clusters",
                    "no requested cluster count is feasible: "
                    + "; ".join(f"k={k}: {r}" for k, r in self.skipped_k.items()),
                )
            )
        if problems:
            raise ConstraintViolationError(problems)
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row per constraint: code, limit, observed value, status."""
        c = self.constraints
        codes = {p.kind for p in self.problems}
        rows = [
            (
                "C1",
                "minimum number of series",
                c.min_series,
                self.n_series,
                "C1" not in codes,
            ),
            (
                "C2",
                f"series with >= {c.min_history} non-missing steps (>= k)",
                c.k_min,
                self.n_long_enough,
                "C2" not in codes,
            ),
            (
                "C3",
                "span of all series (steps)",
                c.min_span,
                self.span,
                "C3" not in codes,
            ),
            (
                "C4",
                f"k in {c.k_min}..{c.k_max}, <= {c.max_k_values} values; feasible k",
                None,
                None if self.requested_k is None else self.feasible_k,
                not codes & {"too_many_k", "k_out_of_range", "duplicate_k"},
            ),
            ("C5", "segments for forecasting", c.max_segments, None, "C5" not in codes),
            ("C6", "segment column differs from id column", None, None, True),
            ("C7", "one segment per series", None, None, True),
            ("C8", "numeric (regression) target", None, None, True),
        ]
        df = pd.DataFrame(
            rows,
            columns=["constraint", "rule", "limit", "observed", "ok"],
            dtype=object,
        )
        df["relaxed"] = df["constraint"].map(
            lambda code: ", ".join(k for k in c.relaxations if c._CODES.get(k) == code)
        )
        return df

    def __str__(self) -> str:
        lines = ["Constraint report"]
        for r in self.to_frame().itertuples(index=False):
            status = " ok " if r.ok else "FAIL"
            lim = "" if r.limit is None else f" (limit {r.limit})"
            obs = "" if r.observed is None else f": {r.observed}"
            rel = f"  [relaxed: {r.relaxed}]" if r.relaxed else ""
            lines.append(f"  [{status}] {r.constraint} {r.rule}{lim}{obs}{rel}")
        for p in self.problems:
            lines.append(f"  ! {p}")
        if self.skipped_k:
            for k, reason in self.skipped_k.items():
                lines.append(f"  k={k} skipped: {reason}")
        if self.short_ids:
            lines.append(
                f"  short series (kept, flagged): {len(self.short_ids)} "
                f"{format_examples(self.short_ids)}"
            )
        if self.all_missing_ids:
            lines.append(
                f"  series with no value at all (kept, flagged): "
                f"{len(self.all_missing_ids)} {format_examples(self.all_missing_ids)}"
            )
        for k, (old, new, reason) in self.constraints.relaxations.items():
            lines.append(
                f"  relaxed {k}: {old} -> {new}" + (f" ({reason})" if reason else "")
            )
        lines.append(
            "  verdict: "
            + (
                "the data can be clustered"
                if self.ok
                else "the data cannot be clustered as requested"
            )
        )
        return "\n".join(lines)


def _is_int(k) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, bool)


def _as_k_list(n_clusters) -> list | None:
    if n_clusters is None:
        return None
    if isinstance(n_clusters, (int, np.integer)) or not isinstance(
        n_clusters, Iterable
    ):
        return [n_clusters]
    return list(n_clusters)


def normalize_k(n_clusters, constraints: ClusteringConstraints) -> list[int] | None:
    """Validate a requested k (or list) against C4 and return it as a list of int.

    Raises
    ------
    ConstraintViolationError
        When C4 is broken (non-integer, out of range, too many values, duplicates).
    """
    problems = constraints.check_k(n_clusters)
    if problems:
        raise ConstraintViolationError(problems)
    ks = _as_k_list(n_clusters)
    return None if ks is None else [int(k) for k in ks]


def segment_count_problems(
    n_segments: int, max_segments: int, what: str = "", column: str | None = "segment"
) -> list[Problem]:
    """C5: the problem (if any) of ``n_segments`` segments against ``max_segments``.

    >>> [p.message for p in segment_count_problems(4, 3)]
    ['C5: 4 segments, at most 3 can be forecast; merge segments or relax max_segments']
    """
    if n_segments <= max_segments:
        return []
    return [
        Problem(
            "C5",
            column,
            f"C5: {what + ' ' if what else ''}{n_segments} segments, at "
            f"most {max_segments} can be forecast; merge segments or relax "
            "max_segments",
        )
    ]


def check_segment_count(
    n_segments: int, max_segments: int, what: str = "", column: str | None = "segment"
) -> None:
    """Raise :class:`~segmenter.ConstraintViolationError` when C5 is violated."""
    problems = segment_count_problems(n_segments, max_segments, what, column)
    if problems:
        raise ConstraintViolationError(problems)
