"""The per-segment forecasting runner and the combined model: :class:`SegmentedForecaster`.

``fit`` does, in order:

1. reads the table (covariates included) and the segments: a mapping, a Segmenter
   (fitted here when it is not), or a segment column;
2. plans the rolling-origin backtests (:mod:`.plan`) and runs the *local* candidates
   (ETS, Theta, ARIMA, seasonal naive...) once per series and window, in parallel
   chunks of series (:mod:`.backtest`): their errors do not depend on the segmentation;
3. builds the segmentations to compare (:mod:`.segmentations`): the segmenter's
   row(s), the user's column, and the baselines (one global model, seeded random
   partitions of the same sizes, a model per series); runs the *pooled* candidates
   (LightGBM) on every segment of each;
4. scores each segmentation by the backtest error its champions lead to
   (:mod:`.evaluation`): champions chosen on the oldest windows, the segmentation on
   the next, the most recent window kept for the comparison (:mod:`.comparison`).
   ``select="forecast"`` keeps the segmentation with the least validation error;
   ``select="silhouette"`` keeps the segmenter's own choice (or the given segments);
5. ranks every segment's candidates on all windows (``leaderboard_``), fits each
   champion on whole histories and forecasts every series, with prediction intervals
   (:mod:`.champions`).

Parallelism: tasks run on the engine (``engine="local"``: joblib processes, ``n_jobs``;
or a Dask cluster), each limited to one BLAS/OpenMP thread (threadpoolctl).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from .. import persistence
from .._spec import resolve_specs
from ..base import SegmenterEstimator, check_fitted, get_tag
from ..clustering.mapping import SegmentMapping
from ..clustering.constraints import check_segment_count
from ..data.calendar import season_length_for
from ..data.chunks import ChunkedPanel, is_dask_collection, load_chunks, parquet_parts
from ..data.panel import Panel, read_panel
from ..errors import DataValidationError, Problem
from ..selection.metrics import metric_names
from .backtest import DataSpec, ForecastData, run_local, run_pooled
from .base import ForecastBlueprint
from .catalogue import INTERMITTENT, MODES, Combination, make_forecaster
from .champions import (SegmentModel, final_local, forecast_segment, segment_leaderboard,
                        segment_model)
from .comparison import compare
from .covariates import Calendar, check_covariate_columns, future_values
from .evaluation import Backtests, evaluate, groups, segment_singles
from .plan import plan_backtests
from .segmentations import Segmentation, baselines, from_segmenter

__all__ = ["SegmentedForecaster", "DEFAULT_LEVELS"]

log = logging.getLogger("segmenter.runner")

#: Interval levels computed at fit (``predict(level=...)`` reads them; other levels
#: are computed on demand).
DEFAULT_LEVELS = (80, 95)

#: Series per local-backtest task (several tasks per worker balance the load).
CHUNK_SERIES = 400

#: A series with at least this share of zeros (among its observed values) is
#: intermittent: with ``intermittent="auto"``, a segment of mostly intermittent series
#: chooses its champion among the intermittent-demand methods.
INTERMITTENT_SHARE = 0.5


class SegmentedForecaster(SegmenterEstimator):
    """One forecasting champion per segment, chosen on honest backtests, served as one
    combined model.

    Parameters
    ----------
    horizon : int
        Steps to forecast past the end of each series.
    n_origins : int or "auto", default 3
        Rolling-origin backtest windows (3 give the three levels: champions,
        segmentation, final score); "auto" fits them to the data (:mod:`.plan`).
    step : int or None
        Steps between origins (default: ``horizon``).
    candidates : "default", "quick" or list
        Forecasting blueprint specs (:data:`segmenter.forecasting.FORECASTERS`, e.g.
        ``"ets(damped=False)"``, ``"combo(k=3)"``) or
        :class:`~segmenter.forecasting.ForecastBlueprint` objects (e.g.
        ``SktimeForecaster(...)``).  The seasonal naive baseline is always added.
    metric : {"mase", "smape", "rmse"}, default "mase"
    season_length : int, list of int or None
        Default: from the frequency (12 monthly, 4 quarterly; daily data 7 and 365,
        hourly 24 and 168).  A list gives several seasons (the first is the main one;
        MSTL joins the candidates).
    select : {"silhouette", "forecast"}, default "silhouette"
        "forecast": compare the segmenter's best ``n_candidates`` rows (and the user's
        column) with the baselines by backtest error and keep the best; the segmenter
        then follows the choice.  "silhouette": keep the segmenter's chosen row (or the
        given segments); the baselines are still compared.
    n_candidates : int, default 8
    n_random : int, default 3
        Random partitions per segment count (seeds 0..n_random-1).
    compare : bool, default True
        Score the baselines and write ``comparison_``.
    intermittent : "auto", bool, default "auto"
        Croston, TSB, ADIDA and IMAPA.  "auto": added when some series are mostly zeros
        (:data:`INTERMITTENT_SHARE`), and a segment whose series are mostly such series
        chooses its champion among them (and the seasonal naive), the others among the
        rest; True: added and compared everywhere; False: never.
    holidays : str, optional
        Country code of the ``holidays`` package for the calendar features.
    levels : tuple of int, default (80, 95)
        Interval levels computed at fit.
    min_scored : float, default 0.5
        Below this share of series scored on the final window, no verdict is given.
    n_jobs : int, default -1
    engine : "local", dask.distributed.Client or str, default "local"
    progress : bool or None
    max_segments : int, default 100 (C5)
    random_state : int, default 0

    Attributes
    ----------
    leaderboard_ : DataFrame
        Every segment's candidates ranked on all backtest windows (``segment`` column).
    champions_ : dict segment -> spec
    forecasts_ : DataFrame
        id column(s), time, ``forecast``, ``segment``, ``champion``, ``fallback``.
    selection_ : DataFrame
        One row per candidate segmentation and baseline: ``candidate``, ``kind``,
        ``row`` (the segmenter's leaderboard row), ``n_segments``, ``silhouette``,
        ``valid_error``, ``final_error``, ``chosen``, ``seconds``.
    comparison_, comparison_per_series_ : DataFrame
    comparison_text_ : str
    improvement_ : dict
        ``{"global": (gain, lo, hi), "random": (...)}``: the chosen segmentation's
        relative gain and its bootstrap 90% interval.
    plan_ : BacktestPlan
    timings_ : dict
        Seconds spent in each stage of ``fit``.
    """

    _parameter_constraints = {
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "n_origins": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "step": [None, Interval(Integral, 1, None, closed="left")],
        "candidates": "no_validation",
        "metric": [StrOptions(set(metric_names("forecast")))],
        "season_length": [None, Interval(Integral, 1, None, closed="left"), list, tuple],
        "select": [StrOptions({"silhouette", "forecast"})],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "n_random": [Interval(Integral, 1, None, closed="left")],
        "compare": ["boolean"],
        "intermittent": ["boolean", StrOptions({"auto"})],
        "holidays": [None, str],
        "levels": [list, tuple],
        "min_scored": [Interval(Real, 0, 1, closed="both")],
        "n_jobs": [Integral],
        "progress": ["boolean", None],
        "max_segments": [Interval(Integral, 1, None, closed="left")],
        "engine": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(self, horizon: int, n_origins=3, step: int | None = None,
                 candidates="default", metric: str = "mase", season_length=None,
                 select: str = "silhouette", n_candidates: int = 8, n_random: int = 3,
                 compare: bool = True, intermittent="auto", holidays: str | None = None,
                 levels=DEFAULT_LEVELS, min_scored: float = 0.5, n_jobs: int = -1,
                 progress: bool | None = None, max_segments: int = 100, engine="local",
                 random_state=0):
        self.horizon = horizon
        self.n_origins = n_origins
        self.step = step
        self.candidates = candidates
        self.metric = metric
        self.season_length = season_length
        self.select = select
        self.n_candidates = n_candidates
        self.n_random = n_random
        self.compare = compare
        self.intermittent = intermittent
        self.holidays = holidays
        self.levels = levels
        self.min_scored = min_scored
        self.n_jobs = n_jobs
        self.progress = progress
        self.max_segments = max_segments
        self.engine = engine
        self.random_state = random_state

    # ------------------------------------------------------------------ set-up
    def _blueprints(self, panel_values) -> list[ForecastBlueprint]:
        bps, _ = resolve_specs(self.candidates, MODES, make_forecaster, ForecastBlueprint,
                               "candidate", "candidates", "ets(damped=False)")
        specs = [b.spec for b in bps]
        if "seasonal_naive" not in specs:
            bps.insert(0, make_forecaster("seasonal_naive"))
        extra = []
        if self.intermittent is True or (self.intermittent == "auto" and panel_values):
            extra += INTERMITTENT
        if len(self.seasons_) > 1:
            extra.append("mstl")
        for name in extra:
            if name not in [b.name for b in bps]:
                bps.insert(len([b for b in bps if b.kind == "local"]), make_forecaster(name))
        return bps

    def _seasons(self, panel) -> tuple:
        if self.season_length is not None:
            s = self.season_length
            return tuple(int(v) for v in (s if isinstance(s, (list, tuple)) else [s]))
        m = season_length_for(panel.freq)
        if panel.time_kind == "int":
            log.warning("integer time steps carry no calendar: no season is assumed "
                        "(season_length=1); pass season_length= (e.g. 12 for monthly data)")
            return (1,)
        extra = {7: (7, 365), 24: (24, 168)}.get(m or 1)
        if extra and panel.span >= 2 * extra[1]:
            return extra
        return (int(m or 1),)

    def _engine(self):
        from ..engine.base import resolve_engine
        return resolve_engine(self.engine, self.n_jobs)

    def _map(self, engine, fn, jobs, labels, desc):
        return engine.map(fn, jobs, labels, desc=desc, progress=self.progress)

    @staticmethod
    def _source(panel, data, idx, label):
        """The task data of the series ``idx``: a slice here, or a panel gathered on a
        distributed engine's worker."""
        if isinstance(panel, ChunkedPanel):
            return panel.gather(np.asarray(idx), label=f"gather {label}")
        return data.subset(idx)

    # ------------------------------------------------------------------ reading
    def _read(self, data, engine, id_col, time_col, target_col, segment_col, static_cols,
              future_cols, freq, missing):
        kw = dict(value_cols=future_cols or None, static_cols=static_cols or None, freq=freq,
                  missing=missing)
        if isinstance(data, Panel):
            return data
        if engine.distributed and (is_dask_collection(data) or parquet_parts(data) is not None):
            if segment_col is not None:
                raise DataValidationError([Problem(
                    "segment_col_on_workers", "segment_col", "segment_col= is not read from "
                    "data that stay on the workers (a Parquet folder or a dask DataFrame); "
                    "give mapping= or segmenter=, or pass a pandas frame")])
            return load_chunks(engine, data, id_col, time_col, target_col, **kw)
        if isinstance(data, pd.DataFrame) and (static_cols or future_cols):
            problems = check_covariate_columns(
                data.columns, static_cols or [], future_cols or [],
                [id_col] if isinstance(id_col, str) else list(id_col), time_col, target_col)
            if problems:
                raise DataValidationError(problems)
        try:
            return read_panel(data, id_col=id_col, time_col=time_col, target_col=target_col,
                              segment_col=segment_col, **kw)
        except DataValidationError as exc:
            if static_cols and "static_conflict" in exc.kinds():
                exc.add_note("a static column must be constant within a series; a column "
                             "that varies over time and is known in advance belongs in "
                             "future_cols=")
            raise

    def _base_segments(self, panel, mapping, segmenter, ids) -> Segmentation | None:
        if panel.segments is not None and mapping is None and segmenter is None:
            return Segmentation("user column", "user", np.asarray(panel.segments, dtype=object))
        if mapping is None and segmenter is not None:
            mapping = segmenter.mapping_
        if mapping is None:
            return None
        try:
            labels = mapping.segments_of(ids)
        except DataValidationError:
            if segmenter is None:
                raise
            known = set(mapping.ids())
            unknown = [i for i, sid in enumerate(ids) if sid not in known]
            labels = np.empty(len(ids), dtype=object)
            kn = [i for i in range(len(ids)) if i not in set(unknown)]
            labels[kn] = mapping.segments_of([ids[i] for i in kn])
            labels[unknown] = segmenter.predict(_for_segmenter(segmenter, panel, unknown)) \
                .to_frame()["segment"].to_numpy()
            log.info("%d series not in the mapping were assigned by the segmenter",
                     len(unknown))
        meta = mapping.metadata or {}
        by_segmenter = "blueprint" in meta
        name = (f"{meta['blueprint']} k={meta.get('n_clusters')}" if by_segmenter else "user")
        return Segmentation(name, "clustering" if by_segmenter else "user",
                            np.array([v.item() if isinstance(v, np.generic) else v
                                      for v in labels], dtype=object),
                            float(meta.get("score") or math.nan), meta.get("leaderboard_row"),
                            mapping)

    # ------------------------------------------------------------------ fit
    def fit(self, data, mapping: SegmentMapping | None = None, segmenter=None,
            segment_col: str | None = None, id_col="unique_id", time_col="ds",
            target_col="y", static_cols=None, future_cols=None, freq=None,
            missing="keep", checkpoint=None) -> "SegmentedForecaster":
        """Backtest the candidates, choose the segmentation and the champions, forecast.

        Parameters
        ----------
        data : DataFrame, CSV or Parquet path (file, folder or list), dask DataFrame or Panel
            With a distributed ``engine``, a Parquet folder (or list of files) or a dask
            DataFrame is read by the workers and each task gathers its series there.
        mapping : SegmentMapping, optional
            Series -> segment (e.g. ``Segmenter.mapping_`` or ``read_mapping(path)``).
        segmenter : Segmenter, optional
            Fitted here on ``data`` when it is not fitted yet.  Its mapping is used (or,
            with ``select="forecast"``, its leaderboard's best rows are compared);
            series it has not seen are assigned with its ``predict``.
        segment_col : str, optional
            A column of ``data`` holding user-defined segments (C6, C7 checked).
        static_cols : list of str, optional
            Columns constant within a series (store size, region...); the pooled model
            reads them as categorical (or numeric) features.
        future_cols : list of str, optional
            Numeric columns known in advance for the whole horizon (price, promotion):
            the pooled model and ARIMA read them; ``predict`` then needs ``future=``.
        checkpoint : str or path, optional
            A folder: each finished task (a chunk of series' backtests, a segment's pooled
            backtests, a segment's champion) is written there, and a fit of the same data
            and arguments resumes from it (:mod:`segmenter.engine.checkpoint`; a segmenter
            fitted here checkpoints in its ``segmenter`` sub-folder).  ``checkpoint_``
            counts what was loaded and computed.
        """
        self._check_params()
        t_start = time.perf_counter()
        self.__dict__.pop("_finals", None)
        engine = self._engine()
        static_cols, future_cols = list(static_cols or []), list(future_cols or [])
        panel = self._read(data, engine, id_col, time_col, target_col, segment_col,
                           static_cols, future_cols, freq, missing)
        if segmenter is not None and not hasattr(segmenter, "mapping_"):
            log.info("fitting the segmenter first")
            sub = None if checkpoint is None else Path(checkpoint) / "segmenter"
            if isinstance(data, Panel):
                segmenter.fit(data, checkpoint=sub)
            else:
                segmenter.fit(data, id_col=id_col, time_col=time_col, target_col=target_col,
                              freq=freq, missing=missing, checkpoint=sub)
        ids = panel.id_labels()
        base = self._base_segments(panel, mapping, segmenter, ids)
        if base is None and not (self.select == "forecast" and segmenter is not None):
            raise DataValidationError([Problem(
                "no_segments", "mapping", "give mapping= (a SegmentMapping, e.g. "
                "Segmenter.mapping_), segmenter= (a Segmenter) or segment_col= (a column of "
                "the data holding each series' segment)")])
        if base is not None and base.kind == "user":
            check_segment_count(base.n_segments, self.max_segments, column="segment")
        ckpt = None
        if checkpoint is not None:
            from ..clustering.segmenter import _params_key
            from ..engine.checkpoint import Checkpoint, CheckpointedEngine, fingerprint_of
            ckpt = Checkpoint(checkpoint, fingerprint_of(
                panel.fingerprint(), _params_key(self), static_cols, future_cols,
                None if base is None else (base.kind, base.labels.tolist()),
                None if segmenter is None else (_params_key(segmenter), segmenter.leaderboard_[
                    ["row", "blueprint", "n_clusters", "status"]].to_csv())),
                "SegmentedForecaster.fit")
            engine = CheckpointedEngine(engine, ckpt)
            ckpt.trusted = [type(b) for b in resolve_specs(
                self.candidates, MODES, make_forecaster, ForecastBlueprint, "candidate",
                "candidates", "ets")[0]]
        self.seasons_ = self._seasons(panel)
        self.season_length_ = self.seasons_[0]
        m = self.season_length_
        zeros = self._mostly_zero(panel) if not isinstance(panel, ChunkedPanel) else True
        bps = self._blueprints(zeros)
        self._bps = {b.spec: b for b in bps}
        self.candidates_ = [b.spec for b in bps]
        local = [b for b in bps if b.kind == "local"]
        pooled = [b for b in bps if b.kind == "pooled"]
        combos = [b for b in bps if isinstance(b, Combination)]
        plan = plan_backtests(panel.lengths, self.horizon, self.n_origins, self.step)
        self.plan_ = plan
        self.step_ = plan.step
        for note in plan.notes:
            log.warning("backtests: %s", note)
        levels = tuple(int(v) for v in self.levels)
        calendar = Calendar(panel.grid, m, self.holidays)
        spec = DataSpec(m, self.seasons_, calendar, static_cols, future_cols,
                        id_as_static=len(panel.id_cols) > 1)
        self._spec = spec
        data_local = None if isinstance(panel, ChunkedPanel) else \
            ForecastData.from_panel(panel, spec)
        from ..engine.resources import check_memory, forecaster_bytes
        check_memory(forecaster_bytes(panel.n_series, plan.n_windows, self.horizon, len(local),
                                      len(pooled), len(self.levels),
                                      self.n_candidates + 3 * self.n_random + 2),
                     "this forecast", "forecast fewer series at a time (e.g. per region), "
                     "use fewer candidates, backtest windows (n_origins) or levels, or lower "
                     "n_candidates")
        timings = {"read": time.perf_counter() - t_start}
        # -- local candidates: once per series and window ---------------------------
        t0 = time.perf_counter()
        book = self._local_backtests(engine, panel, data_local, spec, plan, local, levels)
        if self.intermittent == "auto":
            book.route(self._zero_share >= INTERMITTENT_SHARE,
                       {b.spec for b in local if get_tag(b, "demand") == "intermittent"})
        timings["local backtests"] = time.perf_counter() - t0
        # -- segmentations ----------------------------------------------------------
        cands = []
        if self.select == "forecast" and segmenter is not None:
            cands = from_segmenter(segmenter, ids, self.n_candidates,
                                   lambda model, pos: self._assign(segmenter, model, panel, pos))
            if base is not None and base.kind == "user":
                cands.append(base)
        elif base is not None:
            cands = [base]
        segs = cands + (baselines(cands, panel.n_series, self.n_random, self.random_state)
                        if self.compare or self.select == "forecast" else [])
        t_seg = time.perf_counter()
        pooled_runs = self._pooled_backtests(engine, panel, data_local, spec, plan, pooled,
                                             segs)
        timings["pooled backtests"] = time.perf_counter() - t_seg
        evals, seconds = [], {}
        for s, run in zip(segs, pooled_runs):
            t0 = time.perf_counter()
            evals.append(evaluate(book, s.labels, run.forecasts, run.errors, combos,
                                  local_only=s.kind == "per-series"))
            seconds[s.name] = sum(run.seconds.values()) + time.perf_counter() - t0
        pick = list(range(len(segs))) if self.select == "forecast" else \
            list(range(len(cands)))
        finite = [i for i in pick if np.isfinite(evals[i].valid_error)]
        chosen = min(finite, key=lambda i: evals[i].valid_error) if finite else pick[0]
        self.selection_ = pd.DataFrame([{
            "candidate": s.name, "kind": s.kind, "row": s.row, "n_segments": s.n_segments,
            "silhouette": s.silhouette, "valid_error": e.valid_error,
            "final_error": e.final_error, "chosen": i == chosen,
            "seconds": round(seconds[s.name], 3)} for i, (s, e) in enumerate(zip(segs, evals))])
        timings["scoring segmentations"] = time.perf_counter() - t_seg - \
            timings["pooled backtests"]
        best = segs[chosen]
        self.segmentation_ = best.name
        if best.kind == "clustering" and best.row is not None and segmenter is not None \
                and self.select == "forecast" and getattr(segmenter, "_search", None):
            segmenter.choose(best.row)           # the segmenter follows the choice
        self.segmenter_ = segmenter
        self.segment_source_ = {"user": "user column" if base is not None and
                                base.name == "user column" else "mapping",
                                "clustering": "mapping" if self.select != "forecast"
                                else "forecast selection"}.get(best.kind, best.kind)
        # -- production: champions on all windows, fitted and served ----------------
        labels = best.labels
        self._labels = labels
        self._id_labels = ids
        self._panel_info(panel, static_cols, future_cols)
        t0 = time.perf_counter()
        self.leaderboard_, self.champions_, self._models, self._final = self._production(
            engine, panel, data_local, spec, book, labels, pooled_runs[chosen], combos, levels,
            name=best.name)
        self.forecasts_ = self._forecast_frame(panel, self._final, levels)
        timings["champions"] = time.perf_counter() - t0
        k = best.n_segments
        keep = [i for i, s_ in enumerate(segs) if i == chosen or s_.kind in ("global", "per-series")
                or (s_.kind == "random" and s_.meta.get("k") == k)]
        self._segmentations = {s_.name: s_ for s_ in segs}
        self._runs = {segs[i].name: pooled_runs[i] for i in keep}
        t0 = time.perf_counter()
        if self.compare and len(segs) > 1:
            self._comparison(book, segs, evals, chosen, seconds, levels, panel)
        timings["comparison"] = time.perf_counter() - t0
        self._fit_data = (panel, data_local, book)
        self.checkpoint_ = dict(ckpt.stats) if ckpt is not None else None
        self.fit_seconds_ = time.perf_counter() - t_start
        self.timings_ = {k: round(v, 2) for k, v in timings.items()}
        log.info("forecaster fitted in %.1fs: %s", self.fit_seconds_, self.timings_)
        return self

    @staticmethod
    def _mostly_zero(panel) -> bool:
        with np.errstate(all="ignore"):
            v = panel.values[:, 0]
            ok = ~np.isnan(v)
            z = np.add.reduceat((v == 0) & ok, panel.offsets[:-1]) / \
                np.maximum(np.add.reduceat(ok, panel.offsets[:-1]), 1)
        return bool((z >= INTERMITTENT_SHARE).any())

    @staticmethod
    def _assign(segmenter, model, panel, pos):
        sub = _for_segmenter(segmenter, panel, pos)
        return model.predict_features(model.featurize(sub))

    def _panel_info(self, panel, static_cols, future_cols):
        self.data_args_ = {"id_col": panel.id_cols if len(panel.id_cols) > 1 else
                           panel.id_cols[0], "time_col": panel.time_col,
                           "target_col": panel.target_col, "freq": panel.freq,
                           "missing": panel.missing_policy}
        self.static_cols_, self.future_cols_ = static_cols, future_cols

    # ------------------------------------------------------------------ backtests
    def _local_backtests(self, engine, panel, data, spec, plan, local, levels) -> Backtests:
        n = panel.n_series
        per = max(1, min(CHUNK_SERIES, math.ceil(n / max(1, 4 * _workers(engine)))))
        chunks = [np.arange(lo, min(lo + per, n)) for lo in range(0, n, per)]
        jobs = [(self._source(panel, data, idx, f"series {idx[0]}-{idx[-1]}"), spec, idx,
                 plan.cutoffs[:, idx], self.horizon, local, levels) for idx in chunks]
        labels = [f"local backtests of series {idx[0]}-{idx[-1]}" for idx in chunks]
        outs = self._map(engine, run_local, jobs, labels, "backtests") if jobs else []
        W, h = plan.n_windows, self.horizon
        A, S = np.full((W, n, h), np.nan), np.full((W, n), np.nan)
        lags = np.zeros((W, n), dtype=np.int64)
        nonneg = np.zeros((W, n), dtype=bool)
        F = {b.spec: np.full((W, n, h), np.nan) for b in local}
        IV: dict = {b.spec: {} for b in local}
        FB = {b.spec: [] for b in local}
        failed = {b.spec: np.zeros(n, dtype=bool) for b in local}
        usable = {b.spec: np.zeros(n, dtype=bool) for b in local}
        secs = {b.spec: 0.0 for b in local}
        self._zero_share = np.zeros(n)
        for r in outs:
            idx = r.idx
            A[:, idx], S[:, idx], lags[:, idx] = r.actuals, r.scales, r.scale_lags
            nonneg[:, idx] = r.nonnegative
            self._zero_share[idx] = r.zero_share
            for s in F:
                F[s][:, idx] = r.forecasts[s]
                for lv, (lo, hi) in r.intervals[s].items():
                    if lv not in IV[s]:
                        IV[s][lv] = (np.full((W, n, h), np.nan), np.full((W, n, h), np.nan))
                    IV[s][lv][0][:, idx], IV[s][lv][1][:, idx] = lo, hi
                FB[s] += [(w, int(idx[i]), reason) for w, i, reason in r.fallbacks[s]]
                failed[s][idx] = r.failed[s]
                usable[s][idx] = r.usable[s]
                secs[s] += r.seconds[s]
        return Backtests(plan, A, S, lags, nonneg, F, IV, FB, failed, usable, secs,
                         self.metric)

    def _pooled_backtests(self, engine, panel, data, spec, plan, pooled, segs) -> list:
        """Per segmentation, a :class:`PooledRun` of the pooled candidates on its segments
        (empty for the per-series baseline, which has local candidates only)."""
        n, W, h = panel.n_series, plan.n_windows, self.horizon
        jobs, labels, where = [], [], []
        for si, s in enumerate(segs):
            if not pooled or s.kind == "per-series":
                continue
            for g, idx in groups(s.labels).items():
                jobs.append((self._source(panel, data, idx, f"{s.name} segment {g}"), spec, idx,
                             plan.cutoffs[:, idx], h, pooled))
                labels.append(f"pooled backtests of {s.name}, segment {g!r}")
                where.append((si, g, idx))
        outs = self._map(engine, run_pooled, jobs, labels, "pooled") if jobs else []
        runs = [PooledRun({b.spec: np.full((W, n, h), np.nan) for b in pooled}
                          if pooled and s.kind != "per-series" else {}) for s in segs]
        for (si, g, idx), out in zip(where, outs):
            run = runs[si]
            for spec_, r in out.items():
                run.forecasts[spec_][:, idx] = r["forecasts"]
                if r["error"]:
                    run.errors.setdefault(g, {})[spec_] = r["error"]
                run.fallbacks.setdefault(spec_, []).extend(
                    (w, int(idx[i]), reason) for w, i, reason in r["fallbacks"])
                run.seconds[spec_] = run.seconds.get(spec_, 0.0) + r["seconds"]
        return runs

    # ------------------------------------------------------------------ production
    def _production(self, engine, panel, data, spec, book, labels, run: "PooledRun", combos,
                    levels, force: str | None = None, name: str = ""):
        """Every segment's candidates ranked on all windows, its champion (or ``force``)
        fitted on whole histories, and the forecasts: (leaderboard, champions, models,
        final results)."""
        frames, models, jobs, names, champions = [], {}, [], [], {}
        seconds = {**book.local_seconds, **run.seconds}
        segments = groups(labels)
        plans = []
        for g, idx in segments.items():
            if force is None:
                singles, failed = segment_singles(book, idx, run.forecasts,
                                                  run.errors.get(g, {}),
                                                  local_only=not run.forecasts)
            else:                            # one candidate everywhere, as asked
                pool = {**book.local, **run.forecasts}
                if force not in pool:
                    raise DataValidationError([Problem(
                        "unknown_candidate", "champion", f"{force!r} was not backtested in "
                        f"this fit; use one of {sorted(pool)}")])
                singles, failed = {force: pool[force]}, {}
            frame, champ, Fc, members = segment_leaderboard(
                book, idx, singles, failed, combos if force is None else [], self._bps,
                seconds, _fallback_counts({**book.local_fallbacks, **run.fallbacks}, idx,
                                          book.plan.n_windows))
            frame.insert(0, "segment", g)
            frames.append(frame)
            champions[g] = champ
            models[g] = segment_model(book, g, idx, champ, members, Fc, levels)
            plans.append((g, idx))
        local = {s_ for m_ in models.values() for s_ in m_.members
                 if self._bps[s_].kind == "local"}
        finals = self._local_finals(engine, panel, data, spec, sorted(local), levels)
        for g, idx in plans:
            known = {s_: tuple(None if a is None else _take_rows(a, idx) for a in finals[s_])
                     for s_ in models[g].members if s_ in finals}
            jobs.append((models[g], self._source(panel, data, idx, f"segment {g}"), spec, idx,
                         self.horizon, self._bps, levels, None, True, known))
            names.append(f"champion of segment {g!r} of {name} ({force or 'chosen'})")
        outs = self._map(engine, forecast_segment, jobs, names, "champions")
        final = {}
        for (g, idx), out in zip(segments.items(), outs):
            models[g].states = out.pop("states")
            final[g] = (idx, out)
        return pd.concat(frames, ignore_index=True), champions, models, final

    def _local_finals(self, engine, panel, data, spec, specs: list, levels) -> dict:
        """Local candidates fitted on every series' whole history, computed once per
        candidate and interval levels and reused by every segmentation: spec ->
        (forecast (n, h), fallback (n,), intervals {level: (lo, hi)} or None)."""
        cache = self.__dict__.setdefault("_finals", {})
        todo = [s_ for s_ in specs if (s_, levels) not in cache]
        if todo:
            n = panel.n_series
            per = max(1, min(CHUNK_SERIES, math.ceil(n / max(1, 4 * _workers(engine)))))
            chunks = [np.arange(lo, min(lo + per, n)) for lo in range(0, n, per)]
            bps = [self._bps[s_] for s_ in todo]
            jobs = [(self._source(panel, data, idx, f"series {idx[0]}-{idx[-1]}"), spec, idx,
                     self.horizon, bps, levels) for idx in chunks]
            outs = self._map(engine, final_local, jobs,
                             [f"final fits of {','.join(todo)} at {levels} for series "
                              f"{i[0]}-{i[-1]}" for i in chunks], "final")
            for s_ in todo:
                F = np.full((n, self.horizon), np.nan)
                fb = np.zeros(n, dtype=bool)
                iv = None
                for idx, out in zip(chunks, outs):
                    F[idx], fb[idx], piv = out[s_]
                    if piv:
                        iv = iv or {lv: (np.full((n, self.horizon), np.nan),
                                         np.full((n, self.horizon), np.nan)) for lv in piv}
                        for lv, (lo, hi) in piv.items():
                            iv[lv][0][idx], iv[lv][1][idx] = lo, hi
                cache[(s_, levels)] = (F, fb, iv)
        return {s_: cache[(s_, levels)] for s_ in specs}

    def forecast_with(self, candidate: str, champion: str | None = None,
                      level=None) -> pd.DataFrame:
        """The forecasts another row of ``selection_`` leads to (e.g. ``"global"``,
        ``"per-series"``, a random partition or a clustering row), chosen and fitted
        exactly as the chosen one; with ``champion`` (a candidate spec), that candidate
        in every segment instead.  Needs the fit data in memory (not after
        :func:`segmenter.load`).  Same columns as :meth:`predict`."""
        check_fitted(self, "forecasts_", "forecast_with")
        if getattr(self, "_fit_data", None) is None:
            raise DataValidationError([Problem(
                "no_data", "candidate", "forecast_with needs the backtests of the fit, which "
                "are not saved with the model; fit again")])
        if candidate not in self._segmentations:
            raise DataValidationError([Problem(
                "unknown_candidate", "candidate", f"{candidate!r} is not a row of selection_; "
                f"use one of {list(self._segmentations)}")])
        panel, data, book = self._fit_data
        seg = self._segmentations[candidate]
        run = self._runs.get(candidate)
        if run is None:
            run = self._pooled_backtests(self._engine(), panel, data, self._spec, self.plan_,
                                         [b for b in self._bps.values() if b.kind == "pooled"],
                                         [seg])[0]
        if champion is not None:
            bp = make_forecaster(champion)
            self._bps.setdefault(bp.spec, bp)
            champion = bp.spec
        levels = tuple(int(v) for v in (level or self.levels))
        combos = [b for b in self._bps.values() if isinstance(b, Combination)]
        _, champs, _, final = self._production(self._engine(), panel, data, self._spec, book,
                                               seg.labels, run, combos, levels, champion,
                                               candidate)
        frame = self._forecast_frame(panel, final, levels, champs)
        return self._columns(frame, tuple(int(v) for v in (level or ())))

    def _forecast_frame(self, panel, results: dict, levels, champions=None) -> pd.DataFrame:
        champions = self.champions_ if champions is None else champions
        h = self.horizon
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
        cat = lambda parts, dtype=float: np.concatenate(parts) if parts else np.zeros(0, dtype)  # noqa: E731
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
        return out.iloc[key].reset_index(drop=True)

    # ------------------------------------------------------------------ comparison
    def _comparison(self, book, segs, evals, chosen, seconds, levels, panel):
        best = segs[chosen]
        k = best.n_segments
        strategies = {"segmented": evals[chosen]}
        for s, e in zip(segs, evals):
            if s.kind == "global":
                strategies["global"] = e
            elif s.kind == "per-series":
                strategies["per-series"] = e
        rand = [e for s, e in zip(segs, evals) if s.kind == "random" and s.meta.get("k") == k]
        if rand:
            strategies["random"] = rand
        secs = {"segmented": seconds[best.name],
                "global": seconds.get("global", math.nan),
                "per-series": seconds.get("per-series", math.nan),
                "random": float(np.mean([seconds[s.name] for s in segs
                                         if s.kind == "random" and s.meta.get("k") == k]))
                if rand else math.nan}
        local_total = float(sum(book.local_seconds.values()))
        secs = {key: v + local_total for key, v in secs.items()}
        rng = np.random.default_rng(self.random_state)
        comp, per, imps, text = compare(book, strategies, secs, levels, rng, self.min_scored,
                                        self.horizon, self.plan_.notes, best.name)
        self.comparison_ = comp
        self.improvement_ = imps
        self.comparison_text_ = text
        frame = panel.ids.copy()
        frame["segment"] = best.labels
        for name, ev in strategies.items():
            if not isinstance(ev, list):
                frame[f"{name} model"] = ev.final_champion
        for key, v in per.items():
            frame[key] = v
        frame["mase scale"] = pd.Series(book.scale_lags[0]).map(
            {0: "none", 1: "naive"}).fillna("seasonal naive").to_numpy()
        self.comparison_per_series_ = frame

    # ------------------------------------------------------------------ serving
    def set_champion(self, segment, spec, data=None, **columns) -> "SegmentedForecaster":
        """Override a segment's champion (any candidate spec); its forecasts are refitted
        on ``data`` (the fit data, needed when the forecaster was loaded from a file)."""
        check_fitted(self, "forecasts_", "set_champion")
        if segment not in self._models:
            raise DataValidationError([Problem(
                "unknown_segment", "segment", f"segment {segment!r} is not one of "
                f"{list(self._models)}")])
        if data is None and getattr(self, "_fit_data", None) is None:
            raise DataValidationError([Problem(
                "no_data", "data", "set_champion needs the fit data again (data=...) to "
                "refit the segment's forecasts")])
        bp = make_forecaster(spec)
        self._bps.setdefault(bp.spec, bp)
        panel = self._fit_data[0] if data is None else (
            data if isinstance(data, Panel) else read_panel(data, **{**self.data_args_,
                                                                  **columns}))
        old = self._models[segment]
        model = SegmentModel(segment, bp.spec, [bp.spec], {}, old.quantiles, old.residuals)
        idx = self._final[segment][0]
        fdata = ForecastData.from_panel(panel, self._spec)
        out = forecast_segment(model, fdata.subset(idx), self._spec, idx, self.horizon,
                               self._bps, tuple(self.levels), None, True)
        model.states = out.pop("states")
        self._models[segment] = model
        self.champions_[segment] = bp.spec
        self._final[segment] = (idx, out)
        self.forecasts_ = self._forecast_frame(panel, self._final, tuple(self.levels))
        return self

    def predict(self, data=None, future=None, level=None, refit: bool = False,
                **columns) -> pd.DataFrame:
        """Forecasts: id column(s), time, ``forecast``, ``segment``, ``champion``,
        ``fallback``; every series × horizon step exactly once.

        Parameters
        ----------
        data : DataFrame or Panel, optional
            New history (the same series with more periods, or series never seen, which
            are assigned to a segment by the segmenter given to ``fit``).  Each series is
            forecast from its own history by its segment's champion; pooled champions
            reuse the model fitted on the segment (``refit=True`` refits them on
            ``data``).  Histories may end at different times: each series' horizon
            starts after its own last step.  Without ``data``: the fitted series.
        future : DataFrame, optional
            The future-known covariates (``future_cols``) for every series × horizon
            step; required when the model was fitted with them.
        level : list of int, optional
            Adds ``lo-<level>``/``hi-<level>`` columns and ``interval`` ("native": the
            model's own; "conformal": from the segment's backtest residuals).
        """
        check_fitted(self, "forecasts_", "predict")
        levels = tuple(int(v) for v in (level or ()))
        if data is None and future is None and set(levels) <= set(int(v) for v in self.levels):
            out = self.forecasts_.copy()
            return self._columns(out, levels)
        if data is None:
            if getattr(self, "_fit_data", None) is None:
                raise DataValidationError([Problem(
                    "no_data", "data", "this forecaster was loaded from a file and keeps no "
                    "training data: pass data= (the history to forecast from)")])
            panel = self._fit_data[0]
        else:
            panel = data if isinstance(data, Panel) else read_panel(
                data, **{**self.data_args_, "value_cols": self.future_cols_ or None,
                         "static_cols": self.static_cols_ or None, **columns})
        ids = panel.id_labels()
        segs = self._segments_of(panel, ids)
        times = [panel.time_labels(panel.end_positions()[i] + np.arange(self.horizon))
                 for i in range(panel.n_series)]
        fut = None
        if self.future_cols_:
            arr = future_values(future, panel.ids, panel.id_cols, panel.time_col, times,
                                self.future_cols_)
            fut = {c: arr[:, :, j] for j, c in enumerate(self.future_cols_)}
        fdata = ForecastData.from_panel(panel, self._spec)
        results = {}
        for g, idx in groups(segs).items():
            if g not in self._models:
                raise DataValidationError([Problem(
                    "unknown_segment", "segment", f"series were assigned to segment {g!r}, "
                    "which had no series in fit", ids=[ids[i] for i in idx])])
            out = forecast_segment(self._models[g], fdata.subset(idx), self._spec, idx,
                                   self.horizon, self._bps, levels,
                                   {k: v[idx] for k, v in fut.items()} if fut else None, refit)
            out.pop("states")
            results[g] = (idx, out)
        return self._columns(self._forecast_frame(panel, results, levels), levels)

    @staticmethod
    def _columns(frame: pd.DataFrame, levels) -> pd.DataFrame:
        keep = [c for c in frame.columns if not (c.startswith(("lo-", "hi-")) or c == "interval")]
        if levels:
            keep += [f"{p}-{lv}" for lv in levels for p in ("lo", "hi")] + ["interval"]
        return frame[keep]

    def _segments_of(self, panel, ids) -> np.ndarray:
        known = dict(zip(self._id_labels, self._labels))
        segs = np.array([known.get(i, None) for i in ids], dtype=object)
        unknown = [i for i, s in enumerate(segs) if s is None]
        if unknown:
            if self.segmenter_ is None:
                raise DataValidationError([Problem(
                    "unknown_series", ",".join(panel.id_cols), f"{len(unknown)} series are "
                    "not in the mapping and no segmenter was given to fit to assign them",
                    ids=[ids[i] for i in unknown])])
            got = self.segmenter_.predict(_for_segmenter(self.segmenter_, panel, unknown))
            segs[unknown] = got.to_frame()["segment"].to_numpy()
        return segs

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        from ..engine.base import saveable_engine
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("_fit_data", "_runs", "_finals")}
        state["engine"] = saveable_engine(self.engine)
        return state

    def save(self, path):
        """Write the fitted combined model (``segmenter.load`` reads it)."""
        check_fitted(self, "forecasts_", "save")
        return persistence.save(self, path)


def _for_segmenter(segmenter, panel, positions) -> Panel:
    """The series at ``positions`` read as the segmenter reads data (its own value
    columns, not the forecaster's covariates)."""
    sub = panel.subset(positions) if isinstance(panel, Panel) else \
        panel.engine.result(panel.gather(np.asarray(positions), label="gather series"))
    return read_panel(sub.to_frame(), **segmenter.data_args_)


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


@dataclass
class PooledRun:
    """The pooled candidates' backtests on one segmentation."""

    forecasts: dict                                    # spec -> (W, n, h)
    errors: dict = field(default_factory=dict)         # segment -> {spec: error}
    fallbacks: dict = field(default_factory=dict)      # spec -> [(w, series, reason)]
    seconds: dict = field(default_factory=dict)        # spec -> seconds


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
