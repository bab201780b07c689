"""One fit's work, run on an engine: the backtests, the pooled models per segmentation,
and the champions fitted and served.

:class:`FitJob` holds what every stage needs (the engine, the data, the backtest plan,
the candidates); each method takes its inputs and returns its results.  The one thing
kept between calls is ``finals``, the cache of local candidates fitted on whole
histories, shared with the estimator so that ``forecast_with`` reuses it.  :class:`~segmenter.forecasting.forecaster.SegmentedForecaster`
drives it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.chunks import ChunkedPanel
from ..errors import DataValidationError, Problem
from .backtest import LocalResult, backtest_local, backtest_pooled
from .champions import final_local, forecast_segment, segment_leaderboard, segment_model
from .evaluation import Backtests, groups, segment_singles

__all__ = [
    "FitJob",
    "PooledBacktests",
    "forecast_frame",
    "with_levels",
    "SERIES_PER_TASK",
]

#: Series per local-backtest task (several tasks per worker balance the load).
SERIES_PER_TASK = 400


class FitJob:
    """The engine and data of one fit (see the module docstring)."""

    def __init__(
        self,
        engine,
        panel,
        data,
        spec,
        plan,
        horizon: int,
        blueprints: dict,
        metric: str,
        progress=None,
        finals: dict | None = None,
    ):
        self.engine, self.panel, self.data, self.spec = engine, panel, data, spec
        self.plan, self.horizon, self.blueprints = plan, horizon, blueprints
        self.metric, self.progress = metric, progress
        self.finals = {} if finals is None else finals  # local fits on whole histories

    def map(self, fn, jobs, labels, desc):
        return self.engine.map(fn, jobs, labels, desc=desc, progress=self.progress)

    def chunks(self) -> list[np.ndarray]:
        """The series cut into tasks: at most :data:`SERIES_PER_TASK` each, and about four
        per worker so that they balance the load."""
        n = self.panel.n_series
        per = max(
            1, min(SERIES_PER_TASK, math.ceil(n / max(1, 4 * _workers(self.engine))))
        )
        return [np.arange(lo, min(lo + per, n)) for lo in range(0, n, per)]

    def source(self, idx, label):
        """The task data of the series ``idx``: a slice here, or a panel gathered on a
        distributed engine's worker."""
        if isinstance(self.panel, ChunkedPanel):
            return self.panel.gather(np.asarray(idx), label=f"gather {label}")
        return self.data.subset(idx)

    def local_backtests(self, local, levels) -> tuple[Backtests, np.ndarray]:
        """The local candidates on every series and window, in chunks of series (their
        forecasts do not depend on the segmentation); and each series' zero share."""
        n = self.panel.n_series
        chunks = self.chunks()
        jobs = [
            (
                self.source(idx, f"series {idx[0]}-{idx[-1]}"),
                self.spec,
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
        n, W, h = self.panel.n_series, self.plan.n_windows, self.horizon
        jobs, labels, where = [], [], []
        for si, s in enumerate(segs):
            if not pooled or s.kind == "per-series":
                continue
            for g, idx in groups(s.labels).items():
                jobs.append(
                    (
                        self.source(idx, f"{s.name} segment {g}"),
                        self.spec,
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
                {b.spec: np.full((W, n, h), np.nan) for b in pooled}
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
    ):
        """Every segment's candidates ranked on all windows, its champion (or ``force``)
        fitted on whole histories, and the forecasts: (leaderboard, champions, models,
        final results)."""
        frames, models, jobs, names, champions = [], {}, [], [], {}
        seconds = {**backtests.local_seconds, **pooled_backtests.seconds}
        segments = groups(labels)
        plans = []
        for g, idx in segments.items():
            if force is None:
                singles, failed = segment_singles(
                    backtests,
                    idx,
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
                idx,
                singles,
                failed,
                combos if force is None else [],
                self.blueprints,
                seconds,
                _fallback_counts(
                    {**backtests.local_fallbacks, **pooled_backtests.fallbacks},
                    idx,
                    backtests.plan.n_windows,
                ),
            )
            frame.insert(0, "segment", g)
            frames.append(frame)
            champions[g] = champ
            models[g] = segment_model(
                backtests, g, idx, champ, members, combined, levels
            )
            plans.append((g, idx))
        local = {
            s_
            for m_ in models.values()
            for s_ in m_.members
            if self.blueprints[s_].kind == "local"
        }
        finals = self.local_finals(sorted(local), levels)
        for g, idx in plans:
            known = {
                s_: tuple(None if a is None else _take_rows(a, idx) for a in finals[s_])
                for s_ in models[g].members
                if s_ in finals
            }
            jobs.append(
                (
                    models[g],
                    self.source(idx, f"segment {g}"),
                    self.spec,
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

    def local_finals(self, specs: list, levels) -> dict:
        """Local candidates fitted on every series' whole history, computed once per
        candidate and interval levels and reused by every segmentation: spec ->
        (forecast (n, h), fallback (n,), intervals {level: (lo, hi)} or None)."""
        cache = self.finals
        todo = [s_ for s_ in specs if (s_, levels) not in cache]
        if todo:
            n = self.panel.n_series
            chunks = self.chunks()
            bps = [self.blueprints[s_] for s_ in todo]
            jobs = [
                (
                    self.source(idx, f"series {idx[0]}-{idx[-1]}"),
                    self.spec,
                    idx,
                    self.horizon,
                    bps,
                    levels,
                )
                for idx in chunks
            ]
            outs = self.map(
                final_local,
                jobs,
                [
                    f"final fits of {','.join(todo)} at {levels} for series "
                    f"{i[0]}-{i[-1]}"
                    for i in chunks
                ],
                "final",
            )
            for s_ in todo:
                F = np.full((n, self.horizon), np.nan)
                fb = np.zeros(n, dtype=bool)
                iv = None
                for idx, out in zip(chunks, outs):
                    F[idx], fb[idx], piv = out[s_]
                    if piv:
                        iv = iv or {
                            lv: (
                                np.full((n, self.horizon), np.nan),
                                np.full((n, self.horizon), np.nan),
                            )
                            for lv in piv
                        }
                        for lv, (lo, hi) in piv.items():
                            iv[lv][0][idx], iv[lv][1][idx] = lo, hi
                cache[(s_, levels)] = (F, fb, iv)
        return {s_: cache[(s_, levels)] for s_ in specs}


def forecast_frame(
    panel, results: dict, levels, champions: dict, horizon: int
) -> pd.DataFrame:
    """Forecasts of every series: id column(s), time, ``forecast``, ``segment``,
    ``champion``, ``fallback``, intervals; series in panel order, steps in time order.

    No fallback is silent: the series whose champion could not forecast them (and got
    the seasonal naive instead, ``fallback`` True) are counted in
    ``frame.attrs["fallback_series"]`` and logged as a warning with their ids."""
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

        logging.getLogger(__name__).warning(
            "%d of %d series fell back to the seasonal naive (their champion could not "
            "forecast them): %s",
            len(fell),
            panel.n_series,
            format_examples(id_labels(fell)),
        )
    return out


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


def _fallback_counts(fallbacks: dict, idx, W: int) -> dict:
    """Per candidate, the fallbacks of the series ``idx`` in each window."""
    members = set(np.asarray(idx).tolist())
    out = {}
    for s, fb in fallbacks.items():
        c = np.zeros(W)
        for w, i, _ in fb:
            if i in members:
                c[w] += 1
        out[s] = c
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
