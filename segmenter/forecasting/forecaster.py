"""The segmented forecaster and the combined model it serves: :class:`SegmentedForecaster`.

``fit`` does, in order:

1. reads the table (covariates included) and the segments: a mapping, a Segmenter
   (fitted here when it is not), or a segment column;
2. plans the rolling-origin backtests (:mod:`.plan`) and runs the *local* candidates
   (ETS, Theta, ARIMA, seasonal naive...) once per series and window, in parallel
   chunks of series (:mod:`.fit_job` runs the tasks, :mod:`.backtest` is one task):
   their errors do not depend on the segmentation;
3. builds the segmentations to compare (:mod:`.segmentations`): the segmenter's
   row(s), the user's column, and the baselines (one global model, seeded random
   partitions of the same sizes, a model per series); runs the *pooled* candidates
   (LightGBM) on every segment of each;
4. scores each segmentation by the backtest error its champions lead to
   (:mod:`.evaluation`): on each selection window, champions chosen on the older
   windows; the most recent window kept for the comparison (:mod:`.comparison`); adds
   the ensembles of segmentations (:mod:`.ensemble`), scored from the same forecasts.
   ``select="forecast"`` keeps one global model unless a candidate beats it on every
   selection window with an interval clear of zero, corrected for the number of
   candidates compared (:mod:`.choice`); ``select="silhouette"`` keeps the segmenter's
   own choice (or the given segments);
5. ranks every segment's candidates on all windows (``leaderboard_``), fits each
   champion on whole histories and forecasts every series, with prediction intervals
   (:mod:`.champions`).

After fit, ``predict``, ``forecast_with`` and ``set_champion`` live in
:mod:`.predicting` (a mixin of the class).

Parallelism: tasks run on the engine (``engine="local"``: joblib processes, ``n_jobs``;
or a Dask cluster), each limited to one BLAS/OpenMP thread (threadpoolctl).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from datetime import UTC, datetime
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from .. import persistence
from ..base import (
    Check,
    SegmenterEstimator,
    check_fitted,
    check_levels,
    fit_context,
    get_tag,
    level_problems,
    params_key,
)
from ..clustering.constraints import check_segment_count
from ..clustering.mapping import SegmentMapping, check_segment_names
from ..data.chunks import ChunkedPanel
from ..data.panel import Panel
from ..data.reading import check_read_options, reading_args
from ..errors import DataValidationError, Problem
from ..features.naming import describe_segments
from ..selection.metrics import metric_names
from .backtest import DataSpec
from .base import SeriesGroup
from .choice import choice_text, choose
from .comparison import compare_segmentations
from .covariates import Calendar
from .ensemble import (
    ensemble_candidates,
    produce_ensemble,
)
from .evaluation import groups, score_segmentation
from .fit_job import FitJob, forecast_frame, future_blind
from .forecast_driven import (
    ForecastAssigner,
    assign_series,
    forecast_driven_candidates,
)
from .inputs import (
    INTERMITTENT_SHARE,
    base_segmentation,
    candidate_problems,
    candidates_of,
    mostly_zero,
    read_fit_data,
    seasons_of,
    segments_from,
)
from .plan import plan_backtests
from .predicting import PredictingMixin
from .segmentations import (
    baselines,
    from_segmenter,
    random_peers,
    restricted_to,
    stratified_sample,
)

__all__ = ["SegmentedForecaster", "DEFAULT_LEVELS"]

log = logging.getLogger(__name__)

#: Interval levels computed at fit (``predict(level=...)`` reads them; other levels
#: are computed on demand).
DEFAULT_LEVELS = (80, 95)

_COMPARISON = (
    "comparison_",
    "comparison_per_series_",
    "improvement_",
    "comparison_text_",
)


@dataclasses.dataclass
class _Prepared:
    """What :meth:`SegmentedForecaster._prepare` returns: the fit's seasons, plan,
    candidates and data spec, and its job with the candidates by kind."""

    seasons: tuple
    plan: object
    candidates: list
    blueprints: dict
    data_spec: DataSpec
    finals: dict
    job: FitJob
    local: list
    pooled: list
    combos: list


def _sample_record(panel, sample, stratified_by, best) -> dict | None:
    """``forecast_sample_``: what selection ran on."""
    if sample is None:
        return None
    in_sample = np.zeros(panel.n_series, dtype=bool)
    in_sample[sample] = True
    segments = {
        g: (int(in_sample[idx].sum()), len(idx))
        for g, idx in groups(best.labels).items()
    }
    return {
        "n_series": int(panel.n_series),
        "n_sampled": len(sample),
        "stratified_by": stratified_by,
        "ids": panel.id_labels(sample),
        "segments": segments,
    }


class SegmentedForecaster(PredictingMixin, SegmenterEstimator):
    """One forecasting champion per segment, chosen on honest backtests, served as one
    combined model.

    Parameters
    ----------
    horizon : int
        Steps to forecast past the end of each series.
    n_origins : int or "auto", default "auto"
        Rolling-origin backtest windows: the oldest chooses champions only, the most
        recent only scores, those between choose the segmentation (4 give two selection
        windows); "auto" fits them to the data, preferring 4 (:mod:`.plan`).
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
        column), a model per series and the ensembles with one global model by backtest
        error, and keep the global model unless one of them beats it by the rule of
        :mod:`.choice` (``confidence``, ``min_gain``, ``require_consistent``); random
        partitions are scored as baselines, never chosen; the segmenter then follows a
        clustering choice.  "silhouette": keep the segmenter's chosen row (or the given
        segments); the baselines are still compared.
    n_candidates : int, default 8
    n_random : int, default 3
        Random partitions per segment count (seeds 0..n_random-1).
    confidence : float or None, default 0.9
        ``select="forecast"``: a candidate's gain over the global model must have the
        lower end of its interval (windows and series resampled, Bonferroni-corrected
        for the number of candidates) above ``min_gain`` at this confidence; None skips
        the test.
    min_gain : float, default 0.0
        The relative gain over the global model a candidate must show.
    require_consistent : bool, default True
        A candidate must beat the global model on every selection window, and there
        must be at least two (with one, the global model is kept).
    ensembles : list of str, default ("top-3", "all")
        Ensembles of segmentations compared with ``select="forecast"`` (:mod:`.ensemble`):
        ``"top-<m>"`` (the global model and the m best segmentations) or ``"all"``;
        ``()`` compares none.
    ensemble_method : {"mean", "median"}, default "mean"
    forecast_driven : bool, default True
        With ``select="forecast"`` and a pooled candidate (LightGBM), also compare
        segments found by forecasting (:mod:`.forecast_driven`): each series moved to
        the segment whose pooled model forecasts it best, one candidate per segment
        count of the best clustering candidates.
    compare : bool, default True
        Score the baselines and write ``comparison_``.
    forecast_sample : int or None, default None
        Choose the segmentation and each segment's champion on a seeded sample of
        this many series (more when every segment of every candidate needs its
        :data:`~segmenter.forecasting.segmentations.MIN_SAMPLED` series), stratified
        by segment
        (:func:`~segmenter.forecasting.segmentations.stratified_sample`), then forecast
        every series: each segment's local champions search their form (AutoETS,
        AutoTheta) once on its sampled series, and every series is fitted with that
        form (the search is not repeated series by series).  ``forecast_sample_``
        records the sample; ``comparison_`` and ``selection_`` are computed on it, and
        a model per series is scored as a baseline but not chosen (it would need every
        series' backtests).  None: every series.
    intermittent : "auto", bool, default "auto"
        Croston, TSB, ADIDA and IMAPA.  "auto": added when some series are mostly zeros
        (:data:`INTERMITTENT_SHARE`), and a segment whose series are mostly such series
        chooses its champion among them (and the seasonal naive), the others among the
        rest; True: added and compared everywhere; False: never.
    holidays : str, optional
        Country code of the ``holidays`` package for the calendar features.
    levels : tuple of int, default (80, 95)
        Interval levels computed at fit.
    intervals : {"conformal", "native"}, default "conformal"
        How prediction intervals are made.  ``"conformal"``: from each segment's
        backtest residuals per horizon step, scaled by each series' MASE scale (pooled
        over the strategy's segments where a segment has too few), for every champion.
        ``"native"``: the model's own where statsforecast has them (AutoETS, AutoTheta,
        AutoARIMA...), conformal for the others (segmenter 0.3, and models saved by
        it).  On the most recent backtest window of prison, M1 quarterly, tourism and
        M1 monthly, the native 80% intervals of AutoETS and AutoTheta applied to every
        series covered 49-71% of the actuals and the conformal ones 68-86%, with a
        lower MSIS in 15 of the 16 panel × model × level cells
        (``benchmarks/interval_methods.py``).
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
        A fit has no future covariate values for the horizon, so with ``future_cols``
        a champion reading them falls back here (flagged, and the warning says why);
        ``predict(future=...)`` gives its forecasts.
    selection_ : DataFrame
        One row per candidate segmentation and baseline: ``candidate``, ``kind``
        (clustering, user, global, random, per-series, ensemble), ``row`` (the
        segmenter's leaderboard row), ``n_segments``, ``silhouette``, ``valid_error``
        (the mean of the selection windows' errors), ``final_error``, ``chosen``,
        ``seconds``, then ``valid_w<w>`` (the error on each selection window), ``gain``
        and ``gain_lo`` (over the global model, and the corrected lower bound) and
        ``consistent`` (better than global on every selection window).
    choice_text_ : str
        Why the chosen segmentation was chosen (or the global model kept).
    mapping_ : SegmentMapping or None
        Series -> the segment whose model forecasts it: the chosen segmentation,
        forecast-driven segments included (its metadata name the candidate and kind);
        None for an ensemble of segmentations.
        ``segmenter.reporting.Insights.from_mapping(data, fc.mapping_)`` describes
        those segments, and the report does when they are forecast-driven.
    segmenter_ : Segmenter or None
        The forecaster's own fitted copy of the ``segmenter`` given to ``fit``; with
        ``select="forecast"`` it follows a clustering choice (``choose``), so its
        report, insights and mapping describe the segments used.
    comparison_, comparison_per_series_ : DataFrame
    comparison_text_ : str
    improvement_ : dict
        ``{"global": (gain, lo, hi), "random": (...)}``: the chosen segmentation's
        relative gain and its bootstrap 90% interval.
    plan_ : BacktestPlan
    forecast_sample_ : dict or None
        With ``forecast_sample``: ``n_series``, ``n_sampled``, ``stratified_by``, the
        sampled series' ``ids`` (panel order) and per segment of the chosen
        segmentation ``segments``: {segment: (sampled, total)}; None when selection ran
        on every series.
    timings_ : dict
        Seconds spent in each stage of ``fit``.
    fitted_at_ : str
        When ``fit`` ended (ISO 8601, UTC).
    data_fingerprint_ : str
        SHA-256 of the training data (:meth:`segmenter.data.Panel.fingerprint`): the
        same data, however read, give the same fingerprint.
    """

    _parameter_constraints = {
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "n_origins": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "step": [None, Interval(Integral, 1, None, closed="left")],
        "candidates": [Check(candidate_problems)],
        "metric": [StrOptions(set(metric_names("forecast")))],
        "season_length": [
            None,
            Interval(Integral, 1, None, closed="left"),
            list,
            tuple,
        ],
        "select": [StrOptions({"silhouette", "forecast"})],
        "confidence": [None, Interval(Real, 0, 1, closed="neither")],
        "min_gain": [Interval(Real, None, 1, closed="neither")],
        "require_consistent": ["boolean"],
        "ensembles": [list, tuple],
        "ensemble_method": [StrOptions({"mean", "median"})],
        "forecast_driven": ["boolean"],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "n_random": [Interval(Integral, 1, None, closed="left")],
        "compare": ["boolean"],
        "forecast_sample": [None, Interval(Integral, 2, None, closed="left")],
        "intermittent": ["boolean", StrOptions({"auto"})],
        "holidays": [None, str],
        "levels": [Check(level_problems)],
        "intervals": [StrOptions({"conformal", "native"})],
        "min_scored": [Interval(Real, 0, 1, closed="both")],
        "n_jobs": [Integral],
        "progress": ["boolean", None],
        "max_segments": [Interval(Integral, 1, None, closed="left")],
        "engine": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        horizon: int,
        n_origins="auto",
        step: int | None = None,
        candidates="default",
        metric: str = "mase",
        season_length=None,
        select: str = "silhouette",
        confidence: float | None = 0.9,
        min_gain: float = 0.0,
        require_consistent: bool = True,
        ensembles=("top-3", "all"),
        ensemble_method: str = "mean",
        forecast_driven: bool = True,
        n_candidates: int = 8,
        n_random: int = 3,
        compare: bool = True,
        forecast_sample: int | None = None,
        intermittent="auto",
        holidays: str | None = None,
        levels=DEFAULT_LEVELS,
        intervals: str = "conformal",
        min_scored: float = 0.5,
        n_jobs: int = -1,
        progress: bool | None = None,
        max_segments: int = 100,
        engine="local",
        random_state=0,
    ):
        self.horizon = horizon
        self.n_origins = n_origins
        self.step = step
        self.candidates = candidates
        self.metric = metric
        self.season_length = season_length
        self.select = select
        self.confidence = confidence
        self.min_gain = min_gain
        self.require_consistent = require_consistent
        self.ensembles = ensembles
        self.ensemble_method = ensemble_method
        self.forecast_driven = forecast_driven
        self.n_candidates = n_candidates
        self.n_random = n_random
        self.compare = compare
        self.forecast_sample = forecast_sample
        self.intermittent = intermittent
        self.holidays = holidays
        self.levels = levels
        self.intervals = intervals
        self.min_scored = min_scored
        self.n_jobs = n_jobs
        self.progress = progress
        self.max_segments = max_segments
        self.engine = engine
        self.random_state = random_state

    @staticmethod
    def _own_segmenter(segmenter, panel, data, checkpoint, read_args):
        """The forecaster's own copy of the caller's ``segmenter`` (scikit-learn's
        searches refit a clone): a fitted one is copied, so following the choice
        (``choose``) never changes the caller's; an unfitted one is cloned and fitted
        here on the Panel already read (the table is not parsed again)."""
        if segmenter is None:
            return None
        if hasattr(segmenter, "mapping_"):
            return copy.copy(segmenter)
        segmenter = clone(segmenter)
        log.info("fitting the segmenter first")
        sub = None if checkpoint is None else Path(checkpoint) / "segmenter"
        if isinstance(panel, Panel):
            return segmenter.fit(panel.select_columns(), checkpoint=sub)
        return segmenter.fit(data, checkpoint=sub, **read_args)  # read by the workers

    def _engine(self):
        from ..engine.resolve import resolve_engine

        return resolve_engine(self.engine, self.n_jobs)

    # ------------------------------------------------------------------ fit
    @fit_context
    def fit(
        self,
        data,
        mapping: SegmentMapping | None = None,
        segmenter=None,
        segment_col: str | None = None,
        id_col="unique_id",
        time_col="ds",
        target_col="y",
        static_cols=None,
        future_cols=None,
        freq=None,
        missing="keep",
        checkpoint=None,
        **reading,
    ) -> SegmentedForecaster:
        """Backtest the candidates, choose the segmentation and the champions, forecast.

        Parameters
        ----------
        data : DataFrame, CSV or Parquet path (file, folder or list), dask DataFrame or Panel
            With a distributed ``engine``, a Parquet folder (or list of files) or a dask
            DataFrame is read by the workers and each task gathers its series there.
        mapping : SegmentMapping, optional
            Series -> segment (e.g. ``Segmenter.mapping_`` or ``read_mapping(path)``).
        segmenter : Segmenter, optional
            The forecaster works on its own copy, ``segmenter_`` (scikit-learn's
            searches refit a clone): an unfitted one is cloned and fitted here on the
            table already read, a fitted one is copied; the caller's object is never
            changed.  Its mapping is used (or, with ``select="forecast"``, its
            leaderboard's best rows are compared and ``segmenter_`` follows the
            choice); series it has not seen are assigned with its ``predict``.
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
        **reading
            How to read the table: ``date_format``, ``dayfirst``, ``near_duplicate_ids``
            (:meth:`segmenter.Panel.from_frame`) and ``encoding`` (of a text file).
        """
        t_start = time.perf_counter()
        for name in _COMPARISON:  # a fit without comparison keeps none
            self.__dict__.pop(name, None)
        engine = self._engine()
        static_cols, future_cols = list(static_cols or []), list(future_cols or [])
        panel, segmenter, ids, base = self._read_inputs(
            engine,
            data,
            mapping,
            segmenter,
            segment_col,
            dict(
                id_col=id_col,
                time_col=time_col,
                target_col=target_col,
                freq=freq,
                missing=missing,
                **check_read_options(reading),
            ),
            static_cols,
            future_cols,
            checkpoint,
        )
        return self._fit(
            engine,
            panel,
            segmenter,
            ids,
            base,
            static_cols,
            future_cols,
            checkpoint,
            t_start,
        )

    def _fit(
        self,
        engine,
        panel,
        segmenter,
        ids,
        base,
        static_cols,
        future_cols,
        checkpoint,
        t_start,
    ) -> SegmentedForecaster:
        """The algorithm on the inputs ``fit`` checked and read (``t_start``: when the
        fit began): backtests, the choice, production and the comparison; then every
        fitted attribute is set, in one place."""
        ckpt = None
        if checkpoint is not None:
            engine, ckpt = self._checkpointed(
                engine, checkpoint, panel, static_cols, future_cols, base, segmenter
            )
        prep = self._prepare(engine, panel, static_cols, future_cols)
        job, local, pooled, combos = prep.job, prep.local, prep.pooled, prep.combos
        levels = check_levels(self.levels, "levels")
        timings = {"read": time.perf_counter() - t_start}
        cands, full_segs = self._segmentations_of(panel, ids, base, segmenter)
        sample, stratified_by = self._selection_sample(full_segs, panel)
        segs = full_segs if sample is None else restricted_to(full_segs, sample)
        sjob = job if sample is None else job.view(sample)
        backtests, pooled_results, evals, seconds = self._score_segmentations(
            sjob, segs, local, pooled, combos, levels, timings
        )
        t0 = time.perf_counter()
        chosen, choice_text_, selection_ = self._choose(
            segs, evals, len(cands), seconds, prep.plan
        )
        timings["scoring segmentations"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        served = self._full_labels(segs, full_segs, chosen, sample, sjob, job)
        best = served[chosen]
        sample_record = _sample_record(panel, sample, stratified_by, best)
        choice = self._follow_choice(best, panel, ids, base, segmenter)
        production = self._produce(
            job,
            backtests,
            served,
            evals,
            pooled_results,
            chosen,
            combos,
            levels,
            sample,
        )
        names = self._names_at_fit(panel, best, segmenter)
        forecasts = self._named(
            forecast_frame(
                panel,
                production["_final"],
                levels,
                production["champions_"],
                self.horizon,
                future_blind(production["_models"], prep.blueprints, future_cols),
            ),
            names or {},
        )
        timings["champions"] = time.perf_counter() - t0
        k = _peer_k(segs, evals, chosen)
        t0 = time.perf_counter()
        comparison = {}
        if self.compare and len(segs) > 1:
            comparison = self._compare(
                panel,
                backtests,
                segs,
                evals,
                chosen,
                seconds,
                levels,
                k,
                sample,
                prep.plan,
                choice_text_,
                sample_record,
            )
        timings["comparison"] = time.perf_counter() - t0
        fit_seconds = time.perf_counter() - t_start
        # every fitted attribute is set here, from what the stages returned
        self._set_fitted(
            seasons_=prep.seasons,
            season_length_=prep.seasons[0],
            candidates_=prep.candidates,
            plan_=prep.plan,
            step_=prep.plan.step,
            data_args_=reading_args(panel),
            static_cols_=static_cols,
            future_cols_=future_cols,
            intervals_=self.intervals,
            selection_=selection_,
            choice_text_=choice_text_,
            forecast_sample_=sample_record,
            **choice,
            **production,
            forecasts_=forecasts,
            **comparison,
            checkpoint_=dict(ckpt.stats) if ckpt is not None else None,
            fit_seconds_=fit_seconds,
            fitted_at_=datetime.now(UTC).isoformat(timespec="seconds"),
            data_fingerprint_=panel.fingerprint(),
            timings_={k: round(v, 2) for k, v in timings.items()},
            # private state predict, forecast_with and set_champion read
            _bps=prep.blueprints,
            _data_spec=prep.data_spec,
            _finals=prep.finals,
            _segmentations={s.name: s for s in served},
            _evals={s.name: e for s, e in zip(segs, evals)},
            _segment_names=names,
            _runs=_kept_runs(segs, pooled_results, chosen, k),
            _fit_data=(panel, job.data, backtests),
            _sample=sample,
        )
        log.info("forecaster fitted in %.1fs: %s", self.fit_seconds_, self.timings_)
        return self

    def _set_fitted(self, **attributes) -> None:
        """Set the fitted attributes of one fit, all at once (the one place a fit
        writes them)."""
        for name, value in attributes.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ fit stages
    def _read_inputs(
        self,
        engine,
        data,
        mapping,
        segmenter,
        segment_col,
        read_args,
        static_cols,
        future_cols,
        checkpoint,
    ):
        """Read the table once, fit (or copy) the forecaster's own segmenter on it and
        find the segments given; returns (panel, segmenter, ids, base segmentation)."""
        reading = {
            k: v
            for k, v in read_args.items()
            if k not in ("id_col", "time_col", "target_col", "freq", "missing")
        }
        panel = read_fit_data(
            data,
            engine,
            read_args["id_col"],
            read_args["time_col"],
            read_args["target_col"],
            segment_col,
            static_cols,
            future_cols,
            read_args["freq"],
            read_args["missing"],
            reading,
        )
        if isinstance(panel, Panel):
            panel.check_horizon(self.horizon)
        segmenter = self._own_segmenter(segmenter, panel, data, checkpoint, read_args)
        ids = panel.id_labels()
        base = base_segmentation(panel, mapping, segmenter, ids)
        if base is None and not (self.select == "forecast" and segmenter is not None):
            raise DataValidationError(
                [
                    Problem(
                        "no_segments",
                        "mapping",
                        "give mapping= (a SegmentMapping, e.g. "
                        "Segmenter.mapping_), segmenter= (a Segmenter) or segment_col= "
                        "(a column of the data holding each series' segment)",
                    )
                ]
            )
        if base is not None and base.kind == "user":
            check_segment_count(base.n_segments, self.max_segments, column="segment")
        return panel, segmenter, ids, base

    def _score_segmentations(self, sjob, segs, local, pooled, combos, levels, timings):
        """Backtest the local candidates once per series and window and the pooled ones
        per segment of every segmentation, score each segmentation, and add the
        forecast-driven segments and the ensembles (``segs`` grows); returns the
        backtests, the pooled results, the evaluations and the seconds per candidate."""
        t0 = time.perf_counter()
        backtests, zero_share = sjob.local_backtests(local, sjob.native_levels(levels))
        if self.intermittent == "auto":
            backtests.route(
                zero_share >= INTERMITTENT_SHARE,
                {b.spec for b in local if get_tag(b, "demand") == "intermittent"},
            )
        timings["local backtests"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pooled_results = sjob.pooled_backtests(pooled, segs)
        timings["pooled backtests"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        evals, seconds = [], {}

        def scored(s, pooled_result):
            return score_segmentation(
                backtests,
                s.labels,
                pooled_result.forecasts,
                pooled_result.errors,
                combos,
                local_only=s.kind == "per-series",
            )

        for s, pooled_result in zip(segs, pooled_results):
            t1 = time.perf_counter()
            evals.append(scored(s, pooled_result))
            seconds[s.name] = (
                sum(pooled_result.seconds.values()) + time.perf_counter() - t1
            )
        if self.select == "forecast" and self.forecast_driven and pooled:
            t1 = time.perf_counter()
            driven = forecast_driven_candidates(sjob, backtests, segs, evals, pooled)
            for d, pooled_result in zip(driven, sjob.pooled_backtests(pooled, driven)):
                segs.append(d)
                evals.append(scored(d, pooled_result))
                pooled_results.append(pooled_result)
                seconds[d.name] = (time.perf_counter() - t1) / len(driven)
            timings["forecast-driven segments"] = time.perf_counter() - t1
        if self.select == "forecast" and self.ensembles:
            for e, ev in ensemble_candidates(
                backtests, segs, evals, self.ensembles, self.ensemble_method
            ):
                segs.append(e)
                evals.append(ev)
                pooled_results.append(None)
                seconds[e.name] = sum(seconds[m] for m in e.meta["members"])
        timings["scoring segmentations"] = time.perf_counter() - t0
        return backtests, pooled_results, evals, seconds

    def _follow_choice(self, best, panel, ids, base, segmenter) -> dict:
        """The chosen segmentation's fitted attributes: its name, where its segments
        come from, its mapping, and the forecaster's segmenter following a clustering
        choice."""
        if (
            best.kind in ("clustering", "ensemble")
            and best.row is not None
            and segmenter is not None
            and self.select == "forecast"
            and getattr(segmenter, "_search", None)
        ):
            segmenter.choose(best.row)  # the segmenter follows the choice
        return {
            "segmentation_": best.name,
            "segmenter_": segmenter,
            "segment_source_": {
                "user": "user column"
                if base is not None and base.name == "user column"
                else "mapping",
                "clustering": "mapping"
                if self.select != "forecast"
                else "forecast selection",
            }.get(best.kind, best.kind),
            "mapping_": None
            if best.kind == "ensemble"
            else SegmentMapping(
                panel.ids.assign(segment=np.asarray(best.labels)),
                panel.id_cols,
                metadata={"candidate": best.name, "kind": best.kind},
                max_segments=max(self.max_segments, int(best.n_segments)),
            ),
            "_labels": best.labels,
            "_id_labels": ids,
        }

    def _produce(
        self,
        job,
        backtests,
        served,
        evals,
        pooled_results,
        chosen,
        combos,
        levels,
        sample,
    ) -> dict:
        """Production: each segment's champion chosen on all windows, fitted on every
        series and forecast (an ensemble's members each, then averaged); returns the
        fitted attributes (leaderboard, champions, the segment models)."""
        best = served[chosen]
        members = assigner = None
        if best.kind == "forecast-driven":
            assigner = best.meta.get("assigner") or ForecastAssigner.fit(
                job, best.labels, best.name
            )
        if best.kind == "ensemble":
            leaderboard, members, models, final = produce_ensemble(
                job,
                backtests,
                served,
                evals,
                pooled_results,
                chosen,
                combos,
                levels,
                sample,
            )
            champions = {g: best.name for g in models}
        else:
            leaderboard, champions, models, final = job.production(
                backtests,
                best.labels,
                pooled_results[chosen],
                combos,
                levels,
                name=best.name,
                sample=sample,
            )
        return {
            "leaderboard_": leaderboard,
            "champions_": champions,
            "_members": members,
            "_assigner": assigner,
            "_models": models,
            "_final": final,
        }

    def _compare(
        self,
        panel,
        backtests,
        segs,
        evals,
        chosen,
        seconds,
        levels,
        k,
        sample,
        plan,
        choice_text_,
        sample_record,
    ) -> dict:
        """``comparison_`` and its text: the choice against the baselines (on the
        selection ``sample`` of series, when there is one)."""
        comparison, per_series, improvement, text = compare_segmentations(
            backtests,
            segs,
            evals,
            chosen,
            seconds,
            levels,
            panel.ids
            if sample is None
            else panel.ids.iloc[sample].reset_index(drop=True),
            np.random.default_rng(self.random_state),
            self.min_scored,
            self.horizon,
            plan.notes,
            k,
            choice_text_,
        )
        if sample is not None:
            text += " " + _sample_sentence(sample_record)
        return {
            "comparison_": comparison,
            "comparison_per_series_": per_series,
            "improvement_": improvement,
            "comparison_text_": text,
        }

    def _checkpointed(
        self, engine, checkpoint, panel, static_cols, future_cols, base, segmenter
    ):
        """The engine wrapped to write (and resume from) each finished task."""
        from ..engine.checkpoint import Checkpoint, CheckpointedEngine, fingerprint_of

        ckpt = Checkpoint(
            checkpoint,
            fingerprint_of(
                panel.fingerprint(),
                params_key(self),
                static_cols,
                future_cols,
                None if base is None else (base.kind, base.labels.tolist()),
                None
                if segmenter is None
                else (
                    params_key(segmenter),
                    segmenter.leaderboard_[
                        ["row", "blueprint", "n_clusters", "status"]
                    ].to_csv(),
                ),
            ),
            "SegmentedForecaster.fit",
        )
        # every class a candidate of this fit may be (all extras added)
        ckpt.trusted = [
            type(b) for b in candidates_of(self.candidates, True, (1, 2), True)
        ]
        return CheckpointedEngine(engine, ckpt), ckpt

    def _prepare(self, engine, panel, static_cols, future_cols) -> _Prepared:
        """Seasons, candidates, backtest plan, data spec, memory check: the fit's
        :class:`FitJob` and its local, pooled and combined candidates."""
        seasons = seasons_of(panel, self.season_length)
        m = seasons[0]
        chunked = isinstance(panel, ChunkedPanel)
        bps = candidates_of(
            self.candidates,
            self.intermittent,
            seasons,
            True if chunked else mostly_zero(panel),
        )
        blueprints = {b.spec: b for b in bps}
        local = [b for b in bps if b.kind == "local"]
        pooled = [b for b in bps if b.kind == "pooled"]
        combos = [b for b in bps if b.kind == "combination"]
        plan = plan_backtests(panel.lengths, self.horizon, self.n_origins, self.step)
        for b in bps:  # candidates whose cost explodes with the season are capped
            cap = getattr(b, "max_season", None)
            if cap is not None and m > cap:
                plan.notes.append(
                    f"{b.spec} is fitted without a seasonal part: season "
                    f"{m} is longer than the {cap} its search "
                    "handles at a reasonable cost"
                )
        for note in plan.notes:
            log.warning("backtests: %s", note)
        calendar = Calendar(panel.grid, m, self.holidays)
        data_spec = DataSpec(
            m,
            seasons,
            calendar,
            static_cols,
            future_cols,
            id_as_static=len(panel.id_cols) > 1,
        )
        from ..engine.resources import check_memory, forecaster_bytes

        check_memory(
            forecaster_bytes(
                panel.n_series,
                plan.n_windows,
                self.horizon,
                len(local),
                len(pooled),
                len(self.levels),
                self.n_candidates + 3 * self.n_random + 2,
                self.forecast_sample,
                int(np.asarray(panel.lengths).sum()),
                len(self.levels) if self.intervals == "native" else 0,
            ),
            "this forecast",
            "select on a sample of the series (forecast_sample=, e.g. 2000), run on a "
            "Dask cluster (engine=), forecast fewer series at a time (e.g. per region), "
            "or use fewer candidates, backtest windows (n_origins) or levels",
        )
        finals = {}
        data = None if chunked else SeriesGroup.from_panel(panel, data_spec)
        job = self._fit_job(
            engine,
            panel,
            data,
            plan,
            data_spec,
            blueprints,
            finals,
            native=self.intervals == "native",
        )
        return _Prepared(
            seasons,
            plan,
            [b.spec for b in bps],
            blueprints,
            data_spec,
            finals,
            job,
            local,
            pooled,
            combos,
        )

    def _fit_job(
        self,
        engine,
        panel,
        data,
        plan=None,
        data_spec=None,
        blueprints=None,
        finals=None,
        native=None,
    ) -> FitJob:
        """The fit's job: on the given plan, data spec, candidates and interval method,
        or (after fit) on the fitted ones."""
        if native is None:  # a model saved by 0.3 has no ``intervals_``: native ones
            native = getattr(self, "intervals_", "native") == "native"
        return FitJob(
            engine,
            panel,
            data,
            self._data_spec if data_spec is None else data_spec,
            self.plan_ if plan is None else plan,
            self.horizon,
            self._bps if blueprints is None else blueprints,
            self.metric,
            self.progress,
            self.__dict__.setdefault("_finals", {}) if finals is None else finals,
            native=native,
        )

    def _segmentations_of(self, panel, ids, base, segmenter):
        """The candidate segmentations (the segmenter's rows with ``select="forecast"``,
        the given segments) and, after them, the baselines: (candidates, all)."""
        cands = []
        if self.select == "forecast" and segmenter is not None:
            cands = from_segmenter(
                segmenter,
                ids,
                self.n_candidates,
                lambda model, pos: segments_from(segmenter, model, panel, pos),
            )
            if base is not None and base.kind == "user":
                cands.append(base)
        elif base is not None:
            cands = [base]
        if self.compare or self.select == "forecast":
            return cands, cands + baselines(
                cands, panel.n_series, self.n_random, self.random_state
            )
        return cands, cands

    def _selection_sample(self, segs, panel) -> tuple[np.ndarray | None, str | None]:
        """The panel positions selection runs on (``forecast_sample``; None for every
        series) and the segmentation the sample is stratified by."""
        if self.forecast_sample is None or panel.n_series <= self.forecast_sample:
            return None, None
        sample, stratified_by = stratified_sample(
            segs, panel.n_series, self.forecast_sample, self.random_state
        )
        log.info(
            "selecting on a sample of %d of %d series (stratified by %s)",
            len(sample),
            panel.n_series,
            stratified_by,
        )
        return sample, stratified_by

    def _full_labels(self, segs, full_segs, chosen, sample, sjob, job) -> list:
        """``segs`` (scored on the sample) with every series' labels: the candidates'
        and baselines' from ``full_segs``, an ensemble's from its lead, and a chosen
        forecast-driven segmentation's from its pooled models fitted on the sampled
        series (the others are assigned like new series, in chunks on the engine)."""
        if sample is None:
            return segs
        full = {s.name: s for s in full_segs}
        out = []
        for i, s in enumerate(segs):
            if s.name in full:
                s = full[s.name]
            elif s.kind == "ensemble":
                s = dataclasses.replace(s, labels=full[s.meta["lead"]].labels)
            elif s.kind == "forecast-driven" and i == chosen:
                assigner = ForecastAssigner.fit(sjob, s.labels, s.name)
                labels = np.empty(job.panel.n_series, dtype=object)
                labels[sample] = s.labels
                rest = np.setdiff1d(np.arange(job.panel.n_series), sample)
                chunks = job.chunks(rest)
                outs = job.map(
                    assign_series,
                    [
                        (assigner, job.source(c, "assign"), job.data_spec, c)
                        for c in chunks
                    ],
                    [f"assign series {c[0]}-{c[-1]} to {s.name}" for c in chunks],
                    "assign",
                )
                for c, got in zip(chunks, outs):
                    labels[c] = got
                s = dataclasses.replace(
                    s,
                    labels=labels.astype(np.int64),
                    meta={**s.meta, "assigner": assigner},
                )
            out.append(s)
        return out

    def _choose(self, segs, evals, n_cands, seconds, plan) -> tuple:
        """The chosen segmentation's index, the text saying why and ``selection_``: with
        ``select="forecast"`` by the rule of :mod:`.choice` (the global model unless a
        candidate beats it), else the first candidate with the least validation error."""
        verdicts = {}
        if self.select == "forecast":
            chosen, verdicts = choose(
                segs,
                evals,
                np.random.default_rng(self.random_state),
                self.confidence,
                self.min_gain,
                self.require_consistent,
            )
        else:
            pick = list(range(n_cands))
            finite = [i for i in pick if np.isfinite(evals[i].valid_error)]
            chosen = (
                min(finite, key=lambda i: evals[i].valid_error) if finite else pick[0]
            )
        text = choice_text(
            segs,
            evals,
            chosen,
            verdicts,
            self.confidence,
            self.min_gain,
            self.require_consistent,
        )
        windows = plan.selection_windows
        rows = []
        for i, (s, e) in enumerate(zip(segs, evals)):
            v = verdicts.get(i)
            row = {
                "candidate": s.name,
                "kind": s.kind,
                "row": s.row,
                "n_segments": s.n_segments,
                "silhouette": s.silhouette,
                "valid_error": e.valid_error,
                "final_error": e.final_error,
                "chosen": i == chosen,
                "seconds": round(seconds[s.name], 3),
            }
            for w, x in zip(windows, e.window_errors()):
                row[f"valid_w{w}"] = x
            row["gain"] = v.gain if v else np.nan
            row["gain_lo"] = v.gain_lo if v else np.nan
            row["consistent"] = v.consistent if v else None
            rows.append(row)
        return chosen, text, pd.DataFrame(rows)

    def _names_at_fit(self, panel, best, segmenter) -> dict:
        """The chosen segments' names: the segmenter's when the forecasts use its
        segments (an ensemble's ``segment`` column holds its base segmentation's),
        the labels of a user column that are not integers, one name for a single
        segment, else built from the segments' summary features
        (:func:`~segmenter.features.naming.describe_segments`)."""
        if best.labels is None:
            return {}
        labels = np.asarray(best.labels)
        if self._segmenter_follows(segmenter, labels):
            return segmenter.mapping_.names
        segs = np.unique(labels)
        if not np.issubdtype(labels.dtype, np.integer):  # a user column's own labels
            return {s: str(s) for s in segs.tolist()}
        if len(segs) == 1:
            return {int(segs[0]): "all series"}
        return describe_segments(panel, labels, random_state=self.random_state)

    @staticmethod
    def _segmenter_follows(segmenter, labels) -> bool:
        """Whether ``segmenter``'s mapping holds exactly these segment labels."""
        m = getattr(segmenter, "mapping_", None)
        return (
            m is not None
            and labels is not None
            and len(m) == len(labels)
            and np.array_equal(m.to_frame()["segment"].to_numpy(), np.asarray(labels))
        )

    @property
    def segment_names_(self) -> dict:
        """``{segment: name}`` of the segments the forecasts use (the ``segment_name``
        column of ``forecasts_`` and of :meth:`predict`); see :meth:`rename_segments`."""
        check_fitted(self, "forecasts_", "segment_names_")
        return dict(getattr(self, "_segment_names", {}))

    def rename_segments(self, names: dict) -> SegmentedForecaster:
        """Name the forecasts' segments, e.g. ``{0: "steady sellers"}``: in
        ``forecasts_``, :meth:`predict`'s frames, ``mapping_`` and, when the forecasts
        use its segments, the segmenter's mapping and report.  Unknown segments, empty
        or repeated names are a :class:`~segmenter.DataValidationError`."""
        check_fitted(self, "forecasts_", "rename_segments")
        new = check_segment_names(self.segment_names_, names)
        seg = getattr(self, "segmenter_", None)
        if self._segmenter_follows(seg, getattr(self, "_labels", None)):
            seg.rename_segments(names)
        self._segment_names = new
        if self.mapping_ is not None:
            self.mapping_.metadata["segment_names"] = new
        self.forecasts_ = self._named(self.forecasts_)
        return self

    def _named(self, frame: pd.DataFrame, names: dict | None = None) -> pd.DataFrame:
        """``frame`` with a ``segment_name`` column right after ``segment`` (the
        chosen segments' names, or ``names``)."""
        names = names if names is not None else getattr(self, "_segment_names", None)
        if not names or "segment" not in frame.columns:
            return frame
        frame = frame.drop(columns="segment_name", errors="ignore")
        pos = frame.columns.get_loc("segment") + 1
        frame.insert(
            pos,
            "segment_name",
            frame["segment"].map(lambda g: names.get(g, f"segment {g}")),
        )
        return frame

    def __setstate__(self, state):
        # a model saved by 0.3 has no ``intervals``: it kept the models' own
        super().__setstate__({"intervals": "native", **state})

    def __getstate__(self):
        from ..engine.base import saveable_engine

        state = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("_fit_data", "_runs", "_finals", "_evals")
        }
        state["engine"] = saveable_engine(self.engine)
        return state

    def save(self, path):
        """Write the fitted combined model (``segmenter.load`` reads it)."""
        check_fitted(self, "forecasts_", "save")
        return persistence.save(self, path)


def _kept_runs(segs, pooled_results, chosen, k) -> dict:
    """The pooled results kept after fit: the choice, its random peers, the ensembles'
    members and the baselines (the comparison and the report read them)."""
    members = {m for s in segs if s.kind == "ensemble" for m in s.meta["members"]}
    kept = {chosen, *random_peers(segs, k)}
    return {
        s.name: r
        for i, (s, r) in enumerate(zip(segs, pooled_results))
        if r is not None
        and (i in kept or s.name in members or s.kind in ("global", "per-series"))
    }


def _sample_sentence(record: dict) -> str:
    return (
        f"Selection ran on a stratified sample of {record['n_sampled']:,} of "
        f"{record['n_series']:,} series (forecast_sample, stratified by "
        f"{record['stratified_by']}); the comparison is on those series, and every "
        "series is forecast."
    )


def _peer_k(segs, evals, chosen) -> int:
    """The segment count the random baselines of the comparison have: the chosen
    segmentation's, or when the global model is kept, the best candidate's."""
    if segs[chosen].kind not in ("global", "ensemble"):
        return segs[chosen].n_segments
    cands = [
        i
        for i, s in enumerate(segs)
        if s.kind in ("clustering", "user") and np.isfinite(evals[i].valid_error)
    ]
    best = min(cands, key=lambda i: evals[i].valid_error) if cands else chosen
    return segs[best].n_segments
