"""The per-segment forecasting runner and the combined model: :class:`SegmentedForecaster`.

For every segment it runs a forecasting leaderboard (the same machinery as the
clustering leaderboard, :mod:`segmenter.leaderboard`) over rolling-origin backtest
windows, with a scaled error as the metric (MASE by default), and keeps the best
candidate as the segment's *champion*.  The champions, refitted on each series' whole
history, form the *combined model*: :meth:`SegmentedForecaster.predict` returns
forecasts for every series, including series added after clustering.

Whether segmenting helps is measured, not assumed (``comparison_``):

* **segmented**: per segment, the candidate with the least error;
* **global**: one candidate for all series, pooled models fitted on all series at once
  (no segmentation);
* **per-series**: for each series, the local candidate with the least error on it.

To keep the comparison honest each strategy *chooses* on the older backtest windows and
is *scored* on the most recent window, which no choice has seen (with one window, choice
and score share it and the comparison says so).  The production champions
(``champions_``) are chosen on all windows.

Parallelism: each segment is one task on the engine (``engine="local"``: joblib
processes, ``n_jobs``; or a Dask cluster), with a progress bar on a terminal; inside a
task BLAS and OpenMP are limited to one thread (threadpoolctl), since threads competing
with the processes made statsmodels' ETS about 4× and gradient boosting about 9× slower
on this machine kind.  A task that raises reaches the caller as its original error, with
a note naming the segment.  A candidate that fails on a segment is recorded with the
reason (status ``failed``); the seasonal naive baseline always runs and stands in when
every other candidate fails, so one bad segment never stops the run.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .. import persistence
from ..base import SegmenterEstimator
from ..errors import (ConstraintViolationError, DataValidationError, NoCandidateError,
                     NotFittedError, Problem)
from ..data.calendar import season_length_for
from .base import (DEFAULT_FORECASTERS, QUICK_FORECASTERS, ForecastBlueprint,
                          SeriesGroup, backtest_cutoffs, clean_history, make_forecaster,
                          mase, rmse, smape)
from ..selection.leaderboard import Leaderboard
from ..clustering.mapping import SegmentMapping
from ..data.chunks import ChunkedPanel, is_dask_collection, load_chunks, parquet_parts
from ..data.panel import Panel, read_panel

__all__ = ["SegmentedForecaster"]

log = logging.getLogger("segmenter.runner")

METRICS = ("mase", "smape", "rmse")


# ============================================================================ one group
@dataclass
class BacktestWindow:
    """Window ``w`` (0 = most recent) of a group: each series' cutoff (-1: too short)."""

    w: int
    cutoffs: np.ndarray


class _GroupData:
    """The raw series of one group (a segment, or all series) as plain arrays."""

    def __init__(self, values: list, starts: np.ndarray, m: int):
        self.values = values            # raw arrays, NaN for missing steps
        self.starts = np.asarray(starts, dtype=np.int64)
        self.m = m

    def history(self, cutoffs=None) -> tuple[SeriesGroup, np.ndarray]:
        """Clean histories up to each cutoff (whole series when None) and their positions
        within the group (series without usable history are left out)."""
        vals, phases, pos = [], [], []
        for i, y in enumerate(self.values):
            cut = len(y) if cutoffs is None else int(cutoffs[i])
            if cut < 0:
                continue
            x, _ = clean_history(y[:cut])
            vals.append(x)
            phases.append((self.starts[i] + cut) % self.m if self.m > 1 else 0)
            pos.append(i)
        return SeriesGroup(vals, np.asarray(phases, dtype=np.int64), self.m), np.asarray(pos)


class _ForecastCandidate:
    """A forecasting blueprint on a group's leaderboard (the leaderboard's protocol)."""

    def __init__(self, blueprint: ForecastBlueprint, data: _GroupData, horizon: int):
        self.blueprint = blueprint
        self.name = blueprint.spec
        self.data = data
        self.horizon = horizon

    def describe(self) -> str:
        return self.blueprint.describe()

    def fit(self, window: BacktestWindow) -> dict:
        group, pos = self.data.history(window.cutoffs)
        n = len(self.data.values)
        F = np.full((n, self.horizon), np.nan)
        fallbacks = []
        usable = np.array([len(v) > 0 for v in group.values], dtype=bool)
        if usable.any():
            g = group.take(np.flatnonzero(usable))
            state = self.blueprint.fit(g)
            out, fb = self.blueprint.predict(state, g, self.horizon)
            F[pos[usable]] = out
            fallbacks = [(int(pos[usable][i]), r) for i, r in fb]
        return {"forecast": F, "fallbacks": fallbacks}

    def score(self, result: dict, window: BacktestWindow) -> dict:
        n, h, m = len(self.data.values), self.horizon, self.data.m
        errs = {k: np.full(n, np.nan) for k in METRICS}
        for i, y in enumerate(self.data.values):
            cut = int(window.cutoffs[i])
            f = result["forecast"][i]
            if cut < 0 or np.isnan(f).all():
                continue
            actual = y[cut:cut + h]
            train, _ = clean_history(y[:cut])
            errs["mase"][i] = mase(actual, f, train, m)
            errs["smape"][i] = smape(actual, f)
            errs["rmse"][i] = rmse(actual, f)
        result["errors"] = errs
        out = {k: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
               for k, v in errs.items()}
        out["series_scored"] = int(np.isfinite(errs["smape"]).sum())
        out["fallbacks"] = len(result["fallbacks"])
        out["weight"] = float(max(out["series_scored"], 1))
        return out


def _run_group(key, data: _GroupData, horizon: int, cutoffs: np.ndarray,
               candidates: list, metric: str) -> dict:
    """Leaderboard of ``candidates`` on one group; returns what the parent needs."""
    t0 = time.perf_counter()
    folds = [BacktestWindow(w, cutoffs[w]) for w in range(len(cutoffs))]
    lb = Leaderboard(folds, metric, greater_is_better=False, progress=False,
                     desc=f"segment {key}")
    with threadpool_limits(limits=1):
        lb.run([(_ForecastCandidate(bp, data, horizon), {}) for bp in candidates])
    errors = {}
    for e in lb.entries:
        if e.status == "ok":
            errors[e.candidate.name] = {k: np.vstack([mdl["errors"][k] for mdl in e.models])
                                        for k in METRICS}
    try:
        best = lb.best().candidate.name
    except NoCandidateError:
        best = None
    frame = lb.to_frame().drop(columns=["row"])
    return {"key": key, "frame": frame, "errors": errors, "best": best,
            "seconds": time.perf_counter() - t0}


def _group_data(panel: Panel, m: int, idx=None) -> _GroupData:
    """The series of ``panel`` at ``idx`` (default: all) as one group (a task when they
    sit on a worker)."""
    idx = np.arange(panel.n_series) if idx is None else np.asarray(idx)
    return _GroupData([panel.series(i).astype(np.float64) for i in idx], panel.start[idx], m)


def _final(key, data: _GroupData, horizon: int, blueprint: ForecastBlueprint) -> dict:
    """The champion fitted on whole histories: forecasts and the state for new series."""
    group, pos = data.history()
    n = len(data.values)
    F = np.full((n, horizon), np.nan)
    fallback = np.zeros(n, dtype=bool)
    state = None
    usable = np.array([len(v) > 0 for v in group.values], dtype=bool)
    if usable.any():
        g = group.take(np.flatnonzero(usable))
        try:
            with threadpool_limits(limits=1):
                state = blueprint.fit(g)
                out, fb = blueprint.predict(state, g, horizon)
        except Exception as exc:  # noqa: BLE001 - the baseline stands in
            log.warning("segment %s: champion %s failed on the full history (%s); seasonal "
                        "naive stands in", key, blueprint.spec, exc)
            from .base import SeasonalNaive
            state = None
            out, fb = SeasonalNaive().predict(None, g, horizon)
            fb = [(i, "champion failed") for i in range(len(g))]
        F[pos[usable]] = out
        for i, _ in fb:
            fallback[pos[usable][i]] = True
    return {"key": key, "forecast": F, "fallback": fallback, "state": state}


# ============================================================================ the runner
class SegmentedForecaster(SegmenterEstimator):
    """One forecasting champion per segment, served as one combined model.

    Parameters
    ----------
    horizon : int
        Steps to forecast past the end of each series.
    n_origins : int, default 3
        Rolling-origin backtest windows.
    step : int or None
        Steps between origins (default: ``horizon``).
    candidates : "default", "quick" or list
        Forecasting blueprint specs (``segmenter.forecasting.FORECASTERS``, e.g.
        ``"ets(damped=False)"``) or :class:`~segmenter.forecasting.ForecastBlueprint`
        objects (e.g. ``SktimeForecaster(...)``).  The seasonal naive baseline is always
        added.
    metric : {"mase", "smape", "rmse"}, default "mase"
    season_length : int or None
        Default: from the panel's frequency (12 monthly, 4 quarterly, 7 daily, ...).
    compare : bool, default True
        Also backtest one global model and per-series choices (``comparison_``).
    n_jobs : int, default -1
        joblib processes across segments with the local engine (1: in this process).
    engine : "local", dask.distributed.Client or str, default "local"
        Where the per-segment tasks run: "local" (joblib, ``n_jobs``), or a Dask client
        or scheduler address (one task per segment on the cluster, retried when a
        worker dies; see :mod:`segmenter.adapters.dask_engine`).  Results are the same.
    progress : bool or None
    max_segments : int, default 100 (C5)

    Attributes
    ----------
    leaderboard_ : DataFrame
        Every segment's forecasting leaderboard, with a ``segment`` column.
    champions_ : dict segment -> spec
    forecasts_ : DataFrame
        id column(s), time, ``forecast``, ``segment``, ``champion``, ``fallback``.
    comparison_, comparison_per_series_ : DataFrame
    comparison_text_ : str
    """

    def __init__(self, horizon: int, n_origins: int = 3, step: int | None = None,
                 candidates="default", metric: str = "mase", season_length: int | None = None,
                 compare: bool = True, n_jobs: int = -1, progress: bool | None = None,
                 max_segments: int = 100, engine="local"):
        self.horizon = horizon
        self.n_origins = n_origins
        self.step = step
        self.candidates = candidates
        self.metric = metric
        self.season_length = season_length
        self.compare = compare
        self.n_jobs = n_jobs
        self.progress = progress
        self.max_segments = max_segments
        self.engine = engine

    # ------------------------------------------------------------------ set-up
    def _check(self):
        problems = []
        for name in ("horizon", "n_origins"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                problems.append(Problem(f"bad_{name}", name, f"{name}={v!r} must be an "
                                        "integer >= 1"))
        if self.step is not None and (not isinstance(self.step, (int, np.integer)) or
                                      self.step < 1):
            problems.append(Problem("bad_step", "step", f"step={self.step!r} must be an "
                                    "integer >= 1 or None"))
        if self.metric not in METRICS:
            problems.append(Problem("bad_metric", "metric", f"metric={self.metric!r}; use "
                                    f"one of {list(METRICS)}"))
        if problems:
            raise DataValidationError(problems)

    def _blueprints(self) -> list[ForecastBlueprint]:
        spec = self.candidates
        if isinstance(spec, str) and spec in ("default", "quick"):
            spec = DEFAULT_FORECASTERS if spec == "default" else QUICK_FORECASTERS
        elif isinstance(spec, (str, ForecastBlueprint)):
            spec = [spec]
        bps = [make_forecaster(s) for s in spec]
        if "seasonal_naive" not in [b.spec for b in bps]:
            bps.insert(0, make_forecaster("seasonal_naive"))
        dup = [s for s in {b.spec for b in bps} if [b.spec for b in bps].count(s) > 1]
        if dup:
            raise DataValidationError([Problem("duplicate_candidate", "candidates",
                                               f"candidates {dup} are listed twice")])
        return bps

    def _segments_for(self, panel: Panel, mapping, segmenter) -> tuple[np.ndarray, str]:
        """Segment of every series and where it came from."""
        if panel.segments is not None and mapping is None and segmenter is None:
            return np.asarray(panel.segments, dtype=object), "user column"
        if mapping is None and segmenter is not None:
            mapping = segmenter.mapping_
        if mapping is None:
            raise DataValidationError([Problem(
                "no_segments", "mapping", "give mapping= (a SegmentMapping, e.g. "
                "Segmenter.mapping_), segmenter= (a fitted Segmenter) or segment_col= (a "
                "column of the data holding each series' segment)")])
        ids = panel.id_labels()
        try:
            return mapping.segments_of(ids), "mapping"
        except DataValidationError:
            if segmenter is None:
                raise
        # series unknown to the mapping: assign them with the segmenter
        known = set(mapping.ids())
        unknown = [i for i, sid in enumerate(ids) if sid not in known]
        segs = np.empty(len(ids), dtype=object)
        unknown_set = set(unknown)
        kn = [i for i in range(len(ids)) if i not in unknown_set]
        if kn:
            segs[kn] = mapping.segments_of([ids[i] for i in kn])
        assigned = segmenter.predict(self._subset(panel, unknown))
        segs[unknown] = assigned.to_frame()[assigned.segment_col].to_numpy()
        log.info("%d series not in the mapping were assigned by the segmenter", len(unknown))
        return segs, "mapping + segmenter.predict"

    def _group(self, panel, idx, label: str = "group"):
        """The series at ``idx`` as a group: built here from a Panel, or, for series held
        in chunks by a distributed engine, an engine reference to it built there."""
        if isinstance(panel, ChunkedPanel):
            engine = panel.engine
            part = panel.gather(np.asarray(idx), label=f"gather {label}")
            return engine.submit(_group_data, part, self.season_length_, label=label)
        return _group_data(panel, self.season_length_, idx)

    @staticmethod
    def _subset(panel, idx) -> Panel:
        if isinstance(panel, ChunkedPanel):
            return panel.engine.result(panel.gather(np.asarray(idx), label="gather series"))
        return panel.subset(idx)

    def _get_engine(self):
        from ..engine.base import resolve_engine
        if getattr(self, "_engine", None) is None:
            self._engine = resolve_engine(self.engine, self.n_jobs)
        return self._engine

    def _parallel(self, fn, jobs: list, desc: str) -> list:
        """Run ``fn(*args)`` for each args tuple in ``jobs`` on the engine (one task per
        segment); results in job order.  A task that raises names its segment."""
        engine = self._get_engine()
        labels = [f"{desc[:-1] if desc.endswith('s') else desc} {args[0]!r}" for args in jobs]
        return engine.map(fn, jobs, labels, desc=desc, progress=self.progress)

    # ------------------------------------------------------------------ fit
    def fit(self, data, mapping: SegmentMapping | None = None, segmenter=None,
            segment_col: str | None = None, id_col="unique_id", time_col="ds",
            target_col="y", freq=None, missing="keep") -> "SegmentedForecaster":
        """Backtest the candidates per segment, choose champions, forecast every series.

        Parameters
        ----------
        data : DataFrame, CSV or Parquet path (file, folder or list), dask DataFrame or Panel
            With a distributed ``engine``, a Parquet folder (or list of files) or a
            dask DataFrame is read by the workers (:mod:`segmenter.chunks`) and each
            segment's series are gathered on a worker for its task; the client keeps
            the per-series summary, errors and forecasts only.  Anything else is read
            into this process.
        mapping : SegmentMapping, optional
            Series -> segment (e.g. ``Segmenter.mapping_`` or ``read_mapping(path)``).
        segmenter : Segmenter, optional
            A fitted segmenter: its mapping is used and series it has not seen are
            assigned with its ``predict``; it is kept for :meth:`predict` on new series.
        segment_col : str, optional
            A column of ``data`` holding user-defined segments (C6, C7 checked).
        """
        self._check()
        t_start = time.perf_counter()
        self._engine = None
        engine = self._get_engine()
        if isinstance(data, Panel):
            panel = data
        elif engine.distributed and (is_dask_collection(data) or
                                     parquet_parts(data) is not None):
            if segment_col is not None:
                raise DataValidationError([Problem(
                    "segment_col_on_workers", "segment_col", "segment_col= is not read from "
                    "data that stay on the workers (a Parquet folder or a dask DataFrame); "
                    "give mapping= or segmenter=, or pass a pandas frame")])
            panel = load_chunks(engine, data, id_col, time_col, target_col, freq=freq,
                                missing=missing)
        else:
            panel = read_panel(data, id_col=id_col, time_col=time_col, target_col=target_col,
                               segment_col=segment_col, freq=freq, missing=missing)
        segs, source = self._segments_for(panel, mapping, segmenter)
        segs = np.array([v.item() if isinstance(v, np.generic) else v for v in segs],
                        dtype=object)
        uniq = list(pd.unique(segs))
        if len(uniq) > self.max_segments:
            raise ConstraintViolationError([Problem(
                "C5", "segment", f"C5: {len(uniq)} segments, at most {self.max_segments} can "
                "be forecast; merge segments or raise max_segments")])
        self.season_length_ = int(self.season_length or season_length_for(panel.freq) or 1)
        if self.season_length is None and panel.time_kind == "int":
            log.warning("integer time steps carry no calendar: no season is assumed "
                        "(season_length=1); pass season_length= (e.g. 12 for monthly data)")
        self.step_ = int(self.step or self.horizon)
        bps = self._blueprints()
        self.candidates_ = [b.spec for b in bps]
        self.segmenter_ = segmenter
        self.segment_source_ = source
        self.data_args_ = {"id_col": panel.id_cols if len(panel.id_cols) > 1 else
                           panel.id_cols[0], "time_col": panel.time_col,
                           "target_col": panel.target_col, "freq": panel.freq,
                           "missing": panel.missing_policy}
        self._id_labels = panel.id_labels()
        lengths = panel.lengths
        m = self.season_length_
        min_train = max(2 * m, 4) if m > 1 else 4
        cut = backtest_cutoffs(lengths, self.horizon, self.n_origins, self.step_, min_train)
        members = {s: np.flatnonzero(segs == s) for s in uniq}
        groups = {s: self._group(panel, idx, f"segment {s!r}") for s, idx in members.items()}
        jobs = [(s, groups[s], self.horizon, cut[:, idx], bps, self.metric)
                for s, idx in members.items()]
        results = self._parallel(_run_group, jobs, "segments")
        pooled = [b for b in bps if b.kind == "pooled"]
        glob = None
        if self.compare and pooled:
            every = np.arange(panel.n_series)
            glob = self._parallel(_run_group, [("all", self._group(panel, every, "all series"),
                                                self.horizon,
                                                cut, pooled, self.metric)], "global")[0]
        frames = []
        self.champions_ = {}
        for s, res in zip(members, results):
            f = res["frame"]
            f.insert(0, "segment", s)
            frames.append(f)
            champ = res["best"] or "seasonal_naive"
            if res["best"] is None:
                log.warning("segment %s: no candidate scored; seasonal naive stands in", s)
            self.champions_[s] = champ
        self.leaderboard_ = pd.concat(frames, ignore_index=True)
        self._members = members
        self._segs = segs
        self._bps = {b.spec: b for b in bps}
        self._panel_for_final = panel
        self._final_all(groups)
        if self.compare:
            self._compare(panel, members, results, glob, cut)
        self.fit_seconds_ = time.perf_counter() - t_start
        del self._panel_for_final
        return self

    def _final_all(self, groups: dict | None = None, only=None):
        """Fit each segment's champion on whole histories (``groups``: the segments'
        groups already built by :meth:`fit`; else built from ``_panel_for_final``)."""
        panel = self._panel_for_final
        keys = list(self._members) if only is None else [only]
        jobs = [(s, groups[s] if groups else
                 self._group(panel, self._members[s], f"segment {s!r}"), self.horizon,
                 self._bps.get(self.champions_[s]) or make_forecaster(self.champions_[s]))
                for s in keys]
        finals = self._parallel(_final, jobs, "champions")
        if not hasattr(self, "_states"):
            self._states, self._final_F, self._final_fb = {}, {}, {}
        for s, res in zip(keys, finals):
            self._states[s] = res["state"]
            self._final_F[s] = res["forecast"]
            self._final_fb[s] = res["fallback"]
        self.forecasts_ = self._forecast_frame(panel, self._members, self._final_F,
                                               self._final_fb)

    def _forecast_frame(self, panel, members, F, fb) -> pd.DataFrame:
        h = self.horizon
        rows_idx, seg_col, champ_col, fc, fbk = [], [], [], [], []
        for s, idx in members.items():
            rows_idx.append(np.repeat(idx, h))
            fc.append(F[s].reshape(-1))
            fbk.append(np.repeat(fb[s], h))
            seg_col += [s] * (len(idx) * h)
            champ_col += [self.champions_[s]] * (len(idx) * h)
        rows_idx = np.concatenate(rows_idx) if rows_idx else np.zeros(0, dtype=np.int64)
        steps = np.tile(np.arange(h), len(rows_idx) // h if h else 0)
        out = panel.ids.iloc[rows_idx].reset_index(drop=True)
        pos = panel.end_positions()[rows_idx] + steps
        out[panel.time_col] = panel.time_labels(pos)
        out["forecast"] = np.concatenate(fc) if fc else np.zeros(0)
        out["segment"] = seg_col
        out["champion"] = champ_col
        out["fallback"] = np.concatenate(fbk) if fbk else np.zeros(0, dtype=bool)
        # series in input order, steps in time order
        key = np.argsort(rows_idx * max(h, 1) + steps, kind="stable")
        return out.iloc[key].reset_index(drop=True)

    # ------------------------------------------------------------------ comparison
    def _compare(self, panel, members, results, glob, cut):
        n = panel.n_series
        W = cut.shape[0]
        sel = list(range(1, W)) if W > 1 else [0]
        local = [s for s, b in self._bps.items() if b.kind == "local"]
        # errors[c][metric] (W, n) in panel order; segment-level fits
        E_seg: dict = {}
        for (s, idx), res in zip(members.items(), results):
            for c, errs in res["errors"].items():
                tgt = E_seg.setdefault(c, {k: np.full((W, n), np.nan) for k in METRICS})
                for k in METRICS:
                    tgt[k][:, idx] = errs[k]
        E_glob = {c: E_seg[c] for c in local if c in E_seg}
        if glob is not None:
            E_glob.update(glob["errors"])
        metric = self.metric

        def sel_score(E, cols):
            v = E[metric][np.ix_(sel, cols)]
            return np.nanmean(v) if np.isfinite(v).any() else np.inf

        chosen = {"segmented": np.empty(n, dtype=object), "global": np.empty(n, dtype=object),
                  "per-series": np.empty(n, dtype=object)}
        for s, idx in members.items():
            scores = {c: sel_score(E, idx) for c, E in E_seg.items()}
            chosen["segmented"][idx] = min(scores, key=scores.get) if scores else None
        every = np.arange(n)
        gscores = {c: sel_score(E, every) for c, E in E_glob.items()}
        gbest = min(gscores, key=gscores.get) if gscores else None
        chosen["global"][:] = gbest
        for i in range(n):
            scores = {c: sel_score(E_seg[c], [i]) for c in local if c in E_seg}
            chosen["per-series"][i] = min(scores, key=scores.get) if scores else None
        per = panel.ids.copy()
        per["segment"] = self._segs
        sources = {"segmented": E_seg, "global": E_glob, "per-series": E_seg}
        for strat, E in sources.items():
            per[f"{strat} model"] = chosen[strat]
            for k in METRICS:
                per[f"{strat} {k}"] = [E[c][k][0, i] if c in E else np.nan
                                       for i, c in enumerate(chosen[strat])]
        self.comparison_per_series_ = per
        secs = self.leaderboard_.assign(t=self.leaderboard_["fit_seconds"] +
                                        self.leaderboard_["score_seconds"])
        local_secs = float(secs[secs["blueprint"].isin(local)]["t"].sum())
        glob_secs = local_secs + (float((glob["frame"]["fit_seconds"] +
                                         glob["frame"]["score_seconds"]).sum()) if glob else 0.0)
        seconds = {"segmented": float(secs["t"].sum()), "global": glob_secs,
                   "per-series": local_secs}
        rows = []
        for strat in sources:
            rows.append({"strategy": strat,
                         **{k: float(np.nanmean(per[f"{strat} {k}"])) for k in METRICS},
                         "series_scored": int(per[f"{strat} {metric}"].notna().sum()),
                         "models": ", ".join(f"{c} ×{v}" for c, v in
                                             pd.Series(chosen[strat]).value_counts().items()),
                         "backtest_seconds": round(seconds[strat], 2)})
        comp = pd.DataFrame(rows).sort_values(metric, kind="stable").reset_index(drop=True)
        self.comparison_ = comp
        self.comparison_text_ = self._statement(comp, W)

    def _statement(self, comp: pd.DataFrame, W: int) -> str:
        k = self.metric.upper() if self.metric != "smape" else "sMAPE"
        win = comp.iloc[0]
        base = (f"On the most recent backtest window (horizon {self.horizon}; models chosen on "
                f"the {W - 1} earlier window{'s' if W > 2 else ''})" if W > 1 else
                f"On the single backtest window (horizon {self.horizon}; models chosen and "
                "scored on the same window, so the per-series choice is optimistic)")
        others = []
        for _, r in comp.iloc[1:].iterrows():
            rel = (r[self.metric] - win[self.metric]) / r[self.metric] * 100 \
                if r[self.metric] else float("nan")
            others.append(f"{r['strategy']} {r[self.metric]:.4g} ({rel:.1f}% worse)")
        verdict = {"segmented": "segmenting helped", "global": "segmenting did not help: one "
                   "global model was better", "per-series": "segmenting did not help: choosing "
                   "a model per series was better"}[win["strategy"]]
        return (f"{base}, the {win['strategy']} strategy had the lowest mean {k}, "
                f"{win[self.metric]:.4g}, against " + "; ".join(others) + f": {verdict}.")

    # ------------------------------------------------------------------ serving
    def _need_fit(self):
        if not hasattr(self, "forecasts_"):
            raise NotFittedError("this SegmentedForecaster is not fitted yet; call fit first")

    def set_champion(self, segment, spec, data=None, **columns) -> "SegmentedForecaster":
        """Override a segment's champion (any candidate spec); its forecasts are refitted
        on ``data`` (the fit data; needed because it is not stored)."""
        self._need_fit()
        if segment not in self._members:
            raise DataValidationError([Problem(
                "unknown_segment", "segment", f"segment {segment!r} is not one of "
                f"{list(self._members)}")])
        if data is None:
            raise DataValidationError([Problem(
                "no_data", "data", "set_champion needs the fit data again (data=...) to "
                "refit the segment's forecasts")])
        bp = make_forecaster(spec)
        self._bps.setdefault(bp.spec, bp)
        self.champions_[segment] = bp.spec
        panel = data if isinstance(data, Panel) else \
            read_panel(data, **{**self.data_args_, **columns})
        self._panel_for_final = panel
        try:
            self._final_all(only=segment)
        finally:
            del self._panel_for_final
        return self

    def predict(self, data=None, **columns) -> pd.DataFrame:
        """Forecasts: id column(s), time, ``forecast``, ``segment``, ``champion``,
        ``fallback``; every series × horizon step exactly once.

        Without ``data``: the fitted series.  With ``data``: its series, forecast from
        their own histories by their segment's champion (pooled champions reuse the
        model fitted on the segment); series unknown to the mapping are assigned by
        the segmenter given to ``fit``.
        """
        self._need_fit()
        if data is None:
            return self.forecasts_.copy()
        panel = data if isinstance(data, Panel) else \
            read_panel(data, **{**self.data_args_, **columns})
        known = dict(zip(self._id_labels, self._segs))
        ids = panel.id_labels()
        segs = np.array([known.get(i, None) for i in ids], dtype=object)
        unknown = [i for i, s in enumerate(segs) if s is None]
        if unknown:
            if self.segmenter_ is None:
                raise DataValidationError([Problem(
                    "unknown_series", ",".join(panel.id_cols), f"{len(unknown)} series are "
                    "not in the mapping and no segmenter was given to fit to assign them",
                    ids=[ids[i] for i in unknown])])
            got = self.segmenter_.predict(panel.subset(unknown)).to_frame()
            segs[unknown] = got[self.segmenter_.mapping_.segment_col].to_numpy()
        members = {s: np.flatnonzero(segs == s) for s in pd.unique(segs)}
        F, fb = {}, {}
        for s, idx in members.items():
            if s not in self.champions_:
                raise DataValidationError([Problem(
                    "unknown_segment", "segment", f"series were assigned to segment {s!r}, "
                    "which had no series in fit", ids=[ids[i] for i in idx])])
            bp = self._bps.get(self.champions_[s]) or make_forecaster(self.champions_[s])
            group, pos = self._group(panel, idx).history()
            F[s] = np.full((len(idx), self.horizon), np.nan)
            fb[s] = np.zeros(len(idx), dtype=bool)
            ok = np.array([len(v) > 0 for v in group.values], dtype=bool)
            if ok.any():
                g = group.take(np.flatnonzero(ok))
                state = self._states.get(s) if bp.kind == "pooled" else None
                with threadpool_limits(limits=1):
                    if bp.kind == "pooled" and state is None:
                        state = bp.fit(g)
                    out, fbs = bp.predict(state, g, self.horizon)
                F[s][pos[ok]] = out
                for i, _ in fbs:
                    fb[s][pos[ok][i]] = True
        return self._forecast_frame(panel, members, F, fb)

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        from ..engine.base import saveable_engine
        state = {**self.__dict__, "engine": saveable_engine(self.engine)}
        state.pop("_engine", None)
        return state

    def save(self, path):
        """Write the fitted combined model (``segmenter.load`` reads it)."""
        self._need_fit()
        return persistence.save(self, path)


