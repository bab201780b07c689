"""One fit's work, run on an engine: the backtests, the pooled models per segmentation,
and the champions fitted and served.

:class:`FitJob` holds what every stage needs (the engine, the data, the backtest plan,
the candidates); each method takes its inputs and returns its results.  The one thing
kept between calls is ``finals``, the cache of local candidates fitted on whole
histories, shared with the estimator so that ``forecast_with`` reuses it.  :class:`~segmenter.forecasting.forecaster.SegmentedForecaster`
drives it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..base import get_tag
from ..data.chunks import ChunkedPanel
from ..errors import DataValidationError, Problem
from .backtest import LocalResult, backtest_local, backtest_pooled
from .base import LocalForecaster
from .champions import (
    final_local,
    forecast_segment,
    pool_residuals,
    segment_forms,
    segment_leaderboard,
    segment_model,
)
from .evaluation import Backtests, groups, segment_singles

__all__ = [
    "FitJob",
    "PooledBacktests",
    "forecast_frame",
    "future_blind",
    "with_levels",
    "SERIES_PER_TASK",
]

#: Series per local-backtest task (several tasks per worker balance the load).
SERIES_PER_TASK = 400

#: Sampled series per segment whose searches vote on a segment's model form
#: (:meth:`FitJob.reuse_forms`).
FORM_SERIES = 30


class FitJob:
    """The engine and data of one fit (see the module docstring)."""

    def __init__(
        self,
        engine,
        panel,
        data,
        data_spec,
        plan,
        horizon: int,
        blueprints: dict,
        metric: str,
        progress=None,
        finals: dict | None = None,
        native: bool = False,
    ):
        self.engine, self.panel, self.data, self.data_spec = (
            engine,
            panel,
            data,
            data_spec,
        )
        self.plan, self.horizon, self.blueprints = plan, horizon, blueprints
        self.metric, self.progress = metric, progress
        self.finals = {} if finals is None else finals  # local fits on whole histories
        self.native = native  # the models' own intervals where they have them
        self.rows = None  # a view's series: their positions in the panel

    def native_levels(self, levels):
        """The levels the models compute intervals for themselves: ``levels`` with
        native intervals, else none (their intervals are conformal)."""
        return levels if self.native else None

    @property
    def n_series(self) -> int:
        return self.panel.n_series if self.rows is None else len(self.rows)

    def view(self, rows: np.ndarray) -> FitJob:
        """The job on the series at ``rows`` only (e.g. the sample that selection runs
        on, ``forecast_sample=``): positions ``0..len(rows)-1`` of the view are those
        series, in that order; the data are not copied."""
        sub = copy.copy(self)
        sub.rows = np.asarray(rows, dtype=np.int64)
        sub.plan = dataclasses.replace(
            self.plan, cutoffs=self.plan.cutoffs[:, sub.rows]
        )
        sub.finals = {}
        return sub

    def map(self, fn, jobs, labels, desc):
        return self.engine.map(fn, jobs, labels, desc=desc, progress=self.progress)

    def chunks(self, idx: np.ndarray | None = None) -> list[np.ndarray]:
        """The series (``idx``, default all) cut into tasks: at most
        :data:`SERIES_PER_TASK` each, and about four per worker so that they balance
        the load."""
        idx = np.arange(self.n_series) if idx is None else np.asarray(idx)
        n = len(idx)
        per = max(
            1, min(SERIES_PER_TASK, math.ceil(n / max(1, 4 * _workers(self.engine))))
        )
        return [idx[lo : lo + per] for lo in range(0, n, per)]

    def source(self, idx, label):
        """The task data of the series ``idx``: a slice here, or a panel gathered on a
        distributed engine's worker."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.rows is not None:
            idx = self.rows[idx]
        if isinstance(self.panel, ChunkedPanel):
            return self.panel.gather(idx, label=f"gather {label}")
        return self.data.subset(idx)

    def local_backtests(self, local, levels) -> tuple[Backtests, np.ndarray]:
        """The local candidates on every series and window, in chunks of series (their
        forecasts do not depend on the segmentation); and each series' zero share."""
        n = self.n_series
        chunks = self.chunks()
        jobs = [
            (
                self.source(idx, f"series {idx[0]}-{idx[-1]}"),
                self.data_spec,
                idx,
                self.plan.cutoffs[:, idx],
                self.horizon,
                local,
                levels,
            )
            for idx in chunks
        ]
        labels = [f"local backtests of series {idx[0]}-{idx[-1]}" for idx in chunks]
        outs = self.map(backtest_local, jobs, labels, "backtests") if jobs else []
        r = LocalResult.merge(
            outs, n, self.plan.n_windows, self.horizon, [b.spec for b in local]
        )
        return Backtests(
            self.plan,
            r.actuals,
            r.scales,
            r.scale_lags,
            r.nonnegative,
            r.forecasts,
            r.intervals,
            r.fallbacks,
            r.failed,
            r.usable,
            r.seconds,
            self.metric,
        ), r.zero_share

    def pooled_backtests(self, pooled, segs) -> list:
        """Per segmentation, a :class:`PooledBacktests` of the pooled candidates on its segments
        (empty for the per-series baseline, which has local candidates only)."""
        n, n_windows, h = self.n_series, self.plan.n_windows, self.horizon
        jobs, labels, where = [], [], []
        for si, s in enumerate(segs):
            if not pooled or s.kind == "per-series":
                continue
            for g, idx in groups(s.labels).items():
                jobs.append(
                    (
                        self.source(idx, f"{s.name} segment {g}"),
                        self.data_spec,
                        idx,
                        self.plan.cutoffs[:, idx],
                        h,
                        pooled,
                    )
                )
                labels.append(f"pooled backtests of {s.name}, segment {g!r}")
                where.append((si, g, idx))
        outs = self.map(backtest_pooled, jobs, labels, "pooled") if jobs else []
        results = [
            PooledBacktests(
                {b.spec: np.full((n_windows, n, h), np.nan) for b in pooled}
                if pooled and s.kind != "per-series"
                else {}
            )
            for s in segs
        ]
        for (si, g, idx), out in zip(where, outs):
            result = results[si]
            for spec_, r in out.items():
                result.forecasts[spec_][:, idx] = r["forecasts"]
                if r["error"]:
                    result.errors.setdefault(g, {})[spec_] = r["error"]
                result.fallbacks.setdefault(spec_, []).extend(
                    (w, int(idx[i]), reason) for w, i, reason in r["fallbacks"]
                )
                result.seconds[spec_] = result.seconds.get(spec_, 0.0) + r["seconds"]
        return results

    def production(
        self,
        backtests,
        labels,
        pooled_backtests: PooledBacktests,
        combos,
        levels,
        force: str | None = None,
        name: str = "",
        sample: np.ndarray | None = None,
    ):
        """Every segment's candidates ranked on all windows, its champion (or ``force``)
        fitted on whole histories, and the forecasts: (leaderboard, champions, models,
        final results).

        ``labels`` hold a segment for every series of the panel.  With ``sample`` (the
        panel positions the backtests were run on, ``forecast_sample=``), each segment
        is ranked on its sampled series, its local champions search their form once on
        them (:func:`~segmenter.forecasting.base.modal_form`), and every series of the
        segment is forecast with that form."""
        frames, models, jobs, names, champions = [], {}, [], [], {}
        seconds = {**backtests.local_seconds, **pooled_backtests.seconds}
        segments = groups(labels)
        in_sample = _positions_in(sample, len(labels))
        for g, idx in segments.items():
            scored = idx if sample is None else in_sample[idx][in_sample[idx] >= 0]
            if not len(scored):
                raise DataValidationError(
                    [
                        Problem(
                            "segment_not_sampled",
                            "forecast_sample",
                            f"segment {g!r} of {name} has none of its {len(idx)} "
                            "series in the selection sample; raise forecast_sample",
                        )
                    ]
                )
            if force is None:
                singles, failed = segment_singles(
                    backtests,
                    scored,
                    pooled_backtests.forecasts,
                    pooled_backtests.errors.get(g, {}),
                    local_only=not pooled_backtests.forecasts,
                )
            else:  # one candidate everywhere, as asked
                pool = {**backtests.local, **pooled_backtests.forecasts}
                if force not in pool:
                    raise DataValidationError(
                        [
                            Problem(
                                "unknown_candidate",
                                "champion",
                                f"{force!r} was not backtested in "
                                f"this fit; use one of {sorted(pool)}",
                            )
                        ]
                    )
                singles, failed = {force: pool[force]}, {}
            frame, champ, combined, members = segment_leaderboard(
                backtests,
                scored,
                singles,
                failed,
                combos if force is None else [],
                self.blueprints,
                seconds,
                _fallback_counts(
                    {**backtests.local_fallbacks, **pooled_backtests.fallbacks},
                    scored,
                    backtests.plan.n_windows,
                ),
            )
            frame.insert(0, "segment", g)
            frames.append(frame)
            champions[g] = champ
            models[g] = segment_model(
                backtests, g, scored, champ, members, combined, levels, self.native
            )
        pool_residuals(models, levels)
        if sample is not None:
            self.reuse_forms(models, segments, sample, in_sample)
        rows: dict = {}
        for g, idx in segments.items():
            for s_ in models[g].members:
                if self.blueprints[s_].kind == "local":
                    rows.setdefault(s_, []).append(idx)
        finals = self.local_finals(
            {s_: np.sort(np.concatenate(parts)) for s_, parts in rows.items()},
            self.native_levels(levels),
        )
        for g, idx in segments.items():
            known = {
                s_: tuple(None if a is None else _take_rows(a, idx) for a in finals[s_])
                for s_ in models[g].members
                if s_ in finals
            }
            jobs.append(
                (
                    models[g],
                    self.source(idx, f"segment {g}"),
                    self.data_spec,
                    idx,
                    self.horizon,
                    self.blueprints,
                    levels,
                    None,
                    True,
                    known,
                )
            )
            names.append(f"champion of segment {g!r} of {name} ({force or 'chosen'})")
        outs = self.map(forecast_segment, jobs, names, "champions")
        final = {}
        for (g, idx), out in zip(segments.items(), outs):
            models[g].states = out.pop("states")
            final[g] = (idx, out)
        return pd.concat(frames, ignore_index=True), champions, models, final

    def reuse_forms(self, models: dict, segments: dict, sample, in_sample) -> None:
        """Each segment's local members that search a form (AutoETS, AutoTheta) fixed
        to the form their search picks most often on up to :data:`FORM_SERIES` of the
        segment's sampled series (a task per segment); the fixed candidates join
        ``blueprints`` and replace the members, so the final fits and later
        ``predict`` calls do not search again."""
        jobs, where = [], []
        for g, idx in segments.items():
            searching = [
                s_
                for s_ in models[g].members
                if self.blueprints[s_].kind == "local"
                and type(self.blueprints[s_]).fitted_form
                is not LocalForecaster.fitted_form
            ]
            if not searching:
                continue
            voters = idx[in_sample[idx] >= 0][:FORM_SERIES]
            jobs.append(
                (
                    self.source(voters, f"segment {g} forms"),
                    self.data_spec,
                    voters,
                    [self.blueprints[s_] for s_ in searching],
                )
            )
            where.append(g)
        outs = self.map(
            segment_forms,
            jobs,
            [f"model forms of segment {g!r}" for g in where],
            "forms",
        )
        for g, forms in zip(where, outs):
            members = []
            for s_ in models[g].members:
                form = forms.get(s_)
                if form:
                    fixed = self.blueprints[s_].with_form(form)
                    self.blueprints.setdefault(fixed.spec, fixed)
                    s_ = fixed.spec
                members.append(s_)
            models[g].members = members
            models[g].forms = {k: v for k, v in forms.items() if v}

    def local_finals(self, rows: dict, levels) -> dict:
        """Local candidates fitted on the whole histories of the series ``rows[spec]``
        (panel positions), computed once per candidate, series and interval levels and
        reused by every segmentation: spec -> (forecast (n, h), fallback (n,),
        intervals {level: (lo, hi)} or None), NaN where not asked."""
        cache = self.finals
        n, h = self.panel.n_series, self.horizon
        todo = {}
        for s_, idx in rows.items():
            if (s_, levels) not in cache:
                cache[(s_, levels)] = (
                    np.full((n, h), np.nan),
                    np.zeros(n, dtype=bool),
                    None,
                    np.zeros(n, dtype=bool),
                )
            missing = np.asarray(idx)[~cache[(s_, levels)][3][idx]]
            if len(missing):
                todo[s_] = missing
        # one pass per set of series: every candidate wanted there in the same task
        by_rows: dict = {}
        for s_, idx in todo.items():
            by_rows.setdefault(idx.tobytes(), (idx, []))[1].append(s_)
        for idx_all, specs in by_rows.values():
            chunks = self.chunks(idx_all)
            bps = [self.blueprints[s_] for s_ in specs]
            jobs = [
                (
                    self.source(idx, f"series {idx[0]}-{idx[-1]}"),
                    self.data_spec,
                    idx,
                    h,
                    bps,
                    levels,
                )
                for idx in chunks
            ]
            outs = self.map(
                final_local,
                jobs,
                [
                    f"final fits of {','.join(specs)} at {levels} for series "
                    f"{i[0]}-{i[-1]} ({len(i)})"
                    for i in chunks
                ],
                "final",
            )
            for s_ in specs:
                forecasts, fb, iv, done = cache[(s_, levels)]
                for idx, out in zip(chunks, outs):
                    forecasts[idx], fb[idx], piv = out[s_]
                    done[idx] = True
                    if piv:
                        iv = iv or {
                            lv: (np.full((n, h), np.nan), np.full((n, h), np.nan))
                            for lv in piv
                        }
                        for lv, (lo, hi) in piv.items():
                            iv[lv][0][idx], iv[lv][1][idx] = lo, hi
                cache[(s_, levels)] = (forecasts, fb, iv, done)
        return {s_: cache[(s_, levels)][:3] for s_ in rows}


def forecast_frame(
    panel,
    results: dict,
    levels,
    champions: dict,
    horizon: int,
    unknown_future: tuple = ((), ()),
) -> pd.DataFrame:
    """Forecasts of every series: id column(s), time, ``forecast``, ``segment``,
    ``champion``, ``fallback``, intervals; series in panel order, steps in time order.

    No fallback is silent: the series whose champion could not forecast them (and got
    the seasonal naive instead, ``fallback`` True) are counted in
    ``frame.attrs["fallback_series"]`` and logged as a warning with their ids.
    ``unknown_future``: (the future covariates the models were fitted with, the
    segments whose model reads them), when these forecasts are made without their
    values for the horizon (the fit's own forecasts, :func:`future_blind`); the warning
    then says how many of the fallen series are in those segments and that
    ``predict(future=...)`` forecasts them."""
    h = horizon
    rows_idx, seg_col, champ_col, fc, fbk, meth = [], [], [], [], [], []
    lo = {lv: [] for lv in levels}
    hi = {lv: [] for lv in levels}
    for g, (idx, out) in results.items():
        rows_idx.append(np.repeat(idx, h))
        fc.append(out["forecast"].reshape(-1))
        fbk.append(np.repeat(out["fallback"], h))
        meth.append(np.repeat(out["method"], h))
        seg_col += [g] * (len(idx) * h)
        champ_col += [champions[g]] * (len(idx) * h)
        for lv in levels:
            lo[lv].append(out["lo"][lv].reshape(-1))
            hi[lv].append(out["hi"][lv].reshape(-1))

    def cat(parts, dtype=float):
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    rows_idx = cat(rows_idx, np.int64).astype(np.int64)
    steps = np.tile(np.arange(h), len(rows_idx) // h if h else 0)
    out = panel.ids.iloc[rows_idx].reset_index(drop=True)
    pos = panel.end_positions()[rows_idx] + steps
    out[panel.time_col] = panel.time_labels(pos)
    out["forecast"] = cat(fc)
    out["segment"] = seg_col
    out["champion"] = champ_col
    out["fallback"] = cat(fbk, bool).astype(bool)
    for lv in levels:
        out[f"lo-{lv}"] = cat(lo[lv])
        out[f"hi-{lv}"] = cat(hi[lv])
    out["interval"] = cat(meth, object)
    key = np.argsort(rows_idx * max(h, 1) + steps, kind="stable")
    out = out.iloc[key].reset_index(drop=True)
    fell = out.loc[out["fallback"], list(panel.id_cols)].drop_duplicates()
    out.attrs["fallback_series"] = len(fell)
    if len(fell):
        from ..data.panel import id_labels
        from ..errors import format_examples

        why = ""
        cols, blind = unknown_future
        if len(cols) and len(blind):
            fell_segments = out.loc[out["fallback"]].drop_duplicates(
                list(panel.id_cols)
            )["segment"]
            n_blind = int(fell_segments.isin(list(blind)).sum())
            if n_blind:
                why = (
                    f"; {n_blind} of them are in segments whose champion reads the "
                    f"future covariates {list(cols)}, whose values for the horizon "
                    "these forecasts do not have: predict(future=...) forecasts them "
                    "with it"
                )
        logging.getLogger(__name__).warning(
            "%d of %d series fell back to the seasonal naive (their champion could not "
            "forecast them%s): %s",
            len(fell),
            panel.n_series,
            why,
            format_examples(id_labels(fell)),
        )
    return out


def future_blind(models: dict, blueprints: dict, future_cols) -> tuple:
    """(``future_cols``, the segments of ``models`` with a member that reads future
    covariates): what :func:`forecast_frame` says when forecasting without their
    values for the horizon."""
    if not future_cols:
        return ((), ())
    blind = [
        g
        for g, m in models.items()
        if any(
            s in blueprints and get_tag(blueprints[s], "uses:future") for s in m.members
        )
    ]
    return (tuple(future_cols), tuple(blind))


def with_levels(frame: pd.DataFrame, levels) -> pd.DataFrame:
    """The forecast columns, with the interval columns of ``levels`` only."""
    keep = [
        c
        for c in frame.columns
        if not (c.startswith(("lo-", "hi-")) or c == "interval")
    ]
    if levels:
        keep += [f"{p}-{lv}" for lv in levels for p in ("lo", "hi")] + ["interval"]
    return frame[keep]


@dataclass
class PooledBacktests:
    """The pooled candidates' backtests on one segmentation."""

    forecasts: dict  # spec -> (W, n, h)
    errors: dict = field(default_factory=dict)  # segment -> {spec: error}
    fallbacks: dict = field(default_factory=dict)  # spec -> [(w, series, reason)]
    seconds: dict = field(default_factory=dict)  # spec -> seconds


def _fallback_counts(fallbacks: dict, idx, n_windows: int) -> dict:
    """Per candidate, the fallbacks of the series ``idx`` in each window."""
    members = set(np.asarray(idx).tolist())
    out = {}
    for s, fb in fallbacks.items():
        c = np.zeros(n_windows)
        for w, i, _ in fb:
            if i in members:
                c[w] += 1
        out[s] = c
    return out


def _positions_in(sample, n: int) -> np.ndarray:
    """Each panel position's position in ``sample`` (-1: not sampled; None: all)."""
    if sample is None:
        return np.arange(n)
    out = np.full(n, -1, dtype=np.int64)
    out[np.asarray(sample)] = np.arange(len(sample))
    return out


def _take_rows(a, idx):
    """Rows ``idx`` of an array, or of each array of an intervals dict."""
    if isinstance(a, dict):
        return {k: (lo[idx], hi[idx]) for k, (lo, hi) in a.items()}
    return a[idx]


def _workers(engine) -> int:
    import os

    n = getattr(engine, "n_jobs", None)
    if n is not None:
        return max(1, os.cpu_count() or 1) if n == -1 else max(1, int(n))
    return 2
