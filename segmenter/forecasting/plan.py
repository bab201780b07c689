"""The backtest plan: rolling-origin windows that fit the data, and what each one is for.

Windows are relative to each series' own end (:func:`segmenter.selection.folds.backtest_cutoffs`):
window ``w`` (0 = the most recent) holds out the ``horizon`` steps after
``cutoff = length - horizon - w * step``.  A series is scored in a window when it has
at least :data:`MIN_TRAIN` values before the cutoff; every candidate forecasts every
scored series (a candidate that needs more history falls back to the seasonal naive
forecast there, recorded per series), so candidates are compared on the same series.

Time is split in three for an honest answer:

* the oldest window (``champion_windows``) only chooses champions;
* the next ones (``selection_windows``, every window between the oldest and the most
  recent) choose the segmentation: on each of them, every segment's champion is chosen
  on the windows older than it (:meth:`BacktestPlan.champion_windows_for`) and scored
  there, so the segmentation is judged on several periods, not one;
* the most recent one (``final_window``) only scores: no choice has seen it.

With three windows there is one selection window; with two the segmentation is chosen
on the champions' own window and with one window everything shares it: the plan says so
(``notes``), and so does the comparison.

``n_origins="auto"`` (the default) picks the windows and step that fit, preferring two
selection windows: 4 windows with a step of the horizon or half of it, else 3 windows
with the longest step that fits (the horizon, half of it, 1), else 4 windows one step
apart, else 2 or 1 window; "fits" means at least :data:`AUTO_SHARE` of the series are
scored in every window.  Two selection windows are worth more than a full champion
window: when no 4-window plan fits, one whose oldest window (champions only) scores at
least :data:`CHAMPION_SHARE` of the series, and whose other windows fit, comes before
3 windows.  A requested plan under
which a window scores no series is kept (those series get the seasonal naive forecast)
and its ``notes`` say what would fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..selection.folds import backtest_cutoffs

__all__ = [
    "BacktestPlan",
    "plan_backtests",
    "MIN_TRAIN",
    "AUTO_SHARE",
    "CHAMPION_SHARE",
]

#: Values a series needs before a cutoff to be scored in that window (a naive forecast
#: and the MASE scale need a few).
MIN_TRAIN = 4

#: ``n_origins="auto"``: share of the series that must be scored in every window.
AUTO_SHARE = 0.8

#: ``n_origins="auto"``: share of the series the oldest window (which only chooses each
#: segment's champion) must score when that buys a second selection window.
CHAMPION_SHARE = 0.5


@dataclass
class BacktestPlan:
    """Where each backtest window cuts every series, and what the windows are for."""

    horizon: int
    n_windows: int
    step: int
    cutoffs: np.ndarray  # (n_windows, n_series), -1: not scored
    champion_windows: list
    selection_windows: list
    final_window: int = 0
    notes: list = field(default_factory=list)

    def champion_windows_for(self, w: int) -> list:
        """The windows that choose the champions scored on window ``w``: every older
        window (``w`` itself when there is none)."""
        return list(range(w + 1, self.n_windows)) or [w]

    @property
    def levels(self) -> int:
        """How many separate levels the windows give (3 is the honest protocol)."""
        return 3 if self.n_windows >= 3 else self.n_windows

    def scored(self, w: int) -> np.ndarray:
        """Which series are scored in window ``w``."""
        return self.cutoffs[w] >= 0

    def describe(self) -> str:
        c = ", ".join(map(str, self.champion_windows))
        s = ", ".join(map(str, self.selection_windows))
        return (
            f"{self.n_windows} window(s) {self.step} steps apart, horizon {self.horizon}: "
            f"champions chosen on window(s) {c}, segmentation on {s}, scored on "
            f"{self.final_window} (0 = most recent)"
        )


def _levels(n_windows: int) -> tuple[list, list, list]:
    if n_windows >= 4:
        return [n_windows - 1], list(range(1, n_windows - 1)), []
    if n_windows == 3:
        return (
            [2],
            [1],
            [
                "one selection window (4 backtest windows give two): the "
                "segmentation is judged on one period"
            ],
        )
    if n_windows == 2:
        return (
            [1],
            [1],
            [
                "the segmentation is chosen on the champions' own backtest window "
                "(2 windows; 3 are needed for three separate levels), so its "
                "validation error is optimistic"
            ],
        )
    return (
        [0],
        [0],
        [
            "one backtest window: champions and segmentation are chosen on the "
            "window that scores them, so the comparison is optimistic"
        ],
    )


def _fits(scored: np.ndarray, partial: bool) -> bool:
    """Whether a plan whose ``scored`` is (windows, series) fits: :data:`AUTO_SHARE` of
    the series scored in every window, or with ``partial`` in every window but the
    oldest, which scores :data:`CHAMPION_SHARE` of them."""
    if not partial:
        return scored.all(axis=0).mean() >= AUTO_SHARE
    return (
        scored[:-1].all(axis=0).mean() >= AUTO_SHARE
        and scored[-1].mean() >= CHAMPION_SHARE
    )


def plan_backtests(
    lengths: np.ndarray,
    horizon: int,
    n_origins,
    step: int | None,
    min_train: int = MIN_TRAIN,
) -> BacktestPlan:
    """The plan for series of ``lengths`` (steps, gaps included).

    ``n_origins`` is an int or ``"auto"``; ``step`` None means the horizon.

    >>> p = plan_backtests(np.array([40, 30]), horizon=6, n_origins=4, step=None)
    >>> p.cutoffs.tolist(), p.champion_windows, p.selection_windows
    ([[34, 24], [28, 18], [22, 12], [16, 6]], [3], [1, 2])
    >>> p.champion_windows_for(1), p.champion_windows_for(2)
    ([2, 3], [3])
    >>> a = plan_backtests(np.array([24, 22]), 6, "auto", None)
    >>> a.n_windows, a.step, a.selection_windows
    (4, 3, [1, 2])
    >>> b = plan_backtests(np.array([25, 25, 25, 18, 18]), 6, "auto", None)
    >>> b.n_windows, b.step, int((b.cutoffs[3] >= 0).sum())  # 3 of 5 in the oldest
    (4, 3, 3)
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    if n_origins == "auto":
        steps = (
            [step]
            if step
            else sorted({horizon, max(1, math.ceil(horizon / 2)), 1}, reverse=True)
        )
        half = max(1, math.ceil(horizon / 2))
        # two selection windows at least half a horizon apart first (with a full
        # champion window, then with a partial one), then one
        wide = [st for st in steps if st >= half or step]
        order = (
            [(4, st, False) for st in wide]
            + [(4, st, True) for st in wide]
            + [(3, st, False) for st in steps]
            + [(4, st, False) for st in steps if st < half and not step]
            + [(n_windows, st, False) for n_windows in (2, 1) for st in steps]
        )
        choice = None
        for n_windows, st, partial in order:
            cut = backtest_cutoffs(lengths, horizon, n_windows, st, min_train)
            if n and _fits(cut >= 0, partial):
                choice = (n_windows, st, cut)
                break
        if choice is None:  # fewer than AUTO_SHARE fit even one window: take what fits
            choice = (
                1,
                steps[0],
                backtest_cutoffs(lengths, horizon, 1, steps[0], min_train),
            )
        n_windows, st, cut = choice
        champ, sel, notes = _levels(n_windows)
        share = (cut >= 0).all(axis=0).mean() if n else 0.0
        notes = [
            f"n_origins='auto' chose {n_windows} window(s) {st} steps apart: "
            f"{share:.0%} of the series are scored in every window"
        ] + notes
        if n and n_windows > 2 and share < AUTO_SHARE:
            newer = (cut[: n_windows - 1] >= 0).all(axis=0).mean()
            notes.append(
                f"the oldest window, which only chooses champions, scores "
                f"{(cut[n_windows - 1] >= 0).mean():.0%} of the series and the others "
                f"{newer:.0%}: a second selection window was preferred to a full "
                "champion window"
            )
        return BacktestPlan(horizon, n_windows, st, cut, champ, sel, 0, notes)
    n_windows = int(n_origins)
    st = int(step or horizon)
    cut = backtest_cutoffs(lengths, horizon, n_windows, st, min_train)
    empty = [w for w in range(n_windows) if not (cut[w] >= 0).any()]
    notes = []
    if empty and n:
        need = horizon + max(empty) * st + min_train
        fits = None
        for W2 in range(n_windows, 0, -1):
            for st2 in sorted({st, max(1, math.ceil(st / 2)), 1}, reverse=True):
                if (
                    (backtest_cutoffs(lengths, horizon, W2, st2, min_train) >= 0)
                    .any(axis=1)
                    .all()
                ):
                    fits = f"n_origins={W2}, step={st2}"
                    break
            if fits:
                break
        hint = (
            f"{fits} would fit, or n_origins='auto'"
            if fits
            else "no backtest of this horizon fits: shorten the horizon"
        )
        notes.append(
            f"the requested backtests do not fit: n_origins={n_windows} with step={st} "
            f"and horizon={horizon} needs series of at least {need} steps for window "
            f"{max(empty)} ({min_train} values before its cutoff), the longest has "
            f"{int(lengths.max())}; {hint}"
        )
    champ, sel, level_notes = _levels(n_windows)
    short = int((cut < 0).any(axis=0).sum())
    if short and not empty:
        notes.append(
            f"{short} of {n} series are too short for some windows and are scored "
            "only in the windows they fit"
        )
    return BacktestPlan(horizon, n_windows, st, cut, champ, sel, 0, notes + level_notes)
