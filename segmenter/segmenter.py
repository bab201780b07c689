"""The Segmenter: a clustering leaderboard over blueprints × k, and the segment mapping.

``Segmenter.fit`` does, in order:

1. reads the table into a :class:`~segmenter.Panel` and checks the constraints (C1-C4
   for every requested k; an infeasible k is skipped with its reason on the
   leaderboard, a violated data constraint raises before any fitting);
2. splits the *series* (not the time axis) into a training and a validation partition,
   seeded (``validation_size=0.2``);
3. fits every blueprint × k on the training series, assigns the validation series with
   ``predict`` and scores the silhouette of the validation series in the blueprint's own
   geometry (DTW with the blueprint's band for shape blueprints, Euclidean distance on
   the standardised features for feature blueprints, the statistic itself for velocity
   blueprints); ranks the rows by it (:mod:`segmenter.selection.leaderboard`);
4. refits the best row on all series and writes :attr:`Segmenter.mapping_`.

On a distributed engine (``engine=client``) step 1 builds chunks of series on the
workers and keeps only a per-series summary here (:mod:`segmenter.data.chunks`); step 3
runs each blueprint × k as a task on the series the folds sample (gathered from the
chunks on a worker); step 4 fits as a task and maps each chunk where it lives.  The
results are those of the local engine.  The search itself (the leaderboard over
blueprints × k, and where it runs) is :mod:`segmenter.clustering.search`; this module
holds only the public estimator.

A row whose requested k left clusters without any training series (velocity bins whose
quantile edges coincide) is *demoted*: ranked below every row without empty clusters,
with the reason in the ``demoted`` column, since it is really a clustering with fewer
segments than its k says.

Scoring rules
-------------
* Validation silhouette (``silhouette``): scikit-learn's silhouette of the validation
  series with their predicted segments, from the precomputed distance matrix.  It is
  undefined (NaN, with a ``note``) when the validation series fall into a single segment.
* Small validation sets: when the validation partition would hold fewer than
  ``min_validation`` series (default 20), the leaderboard switches to cross-validation
  over series folds (``cv_folds``, default 5): each fold's held-out series are assigned
  by a model fitted on the other folds, and each gets the silhouette value
  ``(b - a) / max(a, b)`` computed against the *training* series of its fold (``a``: mean
  distance to the training members of its segment; ``b``: the smallest mean distance to
  the training members of another segment).  The score is the mean over all series, so
  it is defined for folds of any size.
* Large sets: every candidate is fitted on a seeded sample of at most ``fit_sample``
  training series (default 5000), and silhouettes use a seeded sample of at most
  ``silhouette_sample`` series (default 2000) of each partition, so the leaderboard's
  cost does not grow with the number of series.  The chosen row's final model is also
  fitted on at most ``fit_sample`` series; the mapping assigns the others with its
  ``predict`` (for DTW blueprints, the pruned nearest-center search) and marks them
  ``assigned_by == "predict"``.  Nothing builds an n x n matrix for the full n.  With
  at most ``fit_sample`` series nothing but the silhouettes is sampled.
* Training metrics: ``silhouette_train`` (same geometry, training series, same
  sampling), ``calinski_harabasz`` and ``davies_bouldin`` on the Euclidean embedding
  where one exists (feature blueprints; shape blueprints whose series all have one
  length), NaN elsewhere.

Geometries differ between families, so silhouettes of a shape and a feature blueprint
measure different things; the leaderboard shows both so the user can judge (the
DataRobot ranks the same way).

Default cluster counts (``n_clusters=None``): the values of ``(2, 3, 4, 5, 6, 8, 10,
12, 15, 20)`` up to ``max(3, round(sqrt(n_series / 2)))`` (the usual ``sqrt(n/2)``
rule of thumb), capped by what C2 allows and by ``max_k_values``; the blueprints that
choose k themselves (HDBSCAN) run too.  With an explicit ``n_clusters`` they run only
when named in ``blueprints``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from . import persistence
from ._spec import resolve_specs
from ._version import __version__
from .base import SegmenterEstimator, check_fitted, fit_context, params_key
from .clustering.blueprints import CATALOGUE, DEFAULT, QUICK, Blueprint, make_blueprint
from .clustering.constraints import ClusteringConstraints, normalize_k
from .clustering.mapping import SegmentMapping, check_segment_names
from .clustering.search import (
    ChunkedExecution,
    ClusteringSearch,
    LocalExecution,
    choose_positions,
    default_k,
)
from .data.panel import Panel
from .data.reading import check_read_options, read_panel, reading_args
from .errors import (
    ConstraintViolationError,
    DataValidationError,
    NotFittedError,
    Problem,
)
from .features.naming import describe_segments
from .selection.folds import make_folds
from .selection.metrics import metric_names

__all__ = ["Segmenter", "default_k", "RESERVED"]

log = logging.getLogger(__name__)

#: Column names of the segment mapping; series-id columns may not use them.
RESERVED = ("segment", "distance", "short_history", "no_values", "assigned_by")

_MODES = {"default": DEFAULT, "quick": QUICK, "all": list(CATALOGUE)}


def _classes_of(blueprints) -> set:
    """The estimator classes the blueprints build (the user's own among them)."""
    out = set()
    for bp in blueprints:
        est = bp.make_estimator(None if bp.picks_k else 2, 0)
        out.add(type(est))
        if getattr(est, "estimator", None) is not None:
            out.add(type(est.estimator))
    return out


class Segmenter(SegmenterEstimator):
    """Segment many series: rank clustering blueprints × k, map every series to a segment.

    Parameters
    ----------
    n_clusters : int, list of int or None, default None
        Cluster counts to try (2..100, at most 10 values).  None chooses them from the
        number of series (see :func:`default_k`) and adds the blueprints that choose k
        themselves.
    blueprints : "default", "quick", "all" or list, default "default"
        "quick": one cheap blueprint per family (``blueprints.QUICK``); "default": the
        comprehensive catalogue except soft-DTW k-means (``blueprints.DEFAULT``);
        "all": every catalogue blueprint; or a list of catalogue specs (as shown in
        the leaderboard's ``blueprint`` column, e.g. ``"dtw_kmeans(band=0.2)"``) and
        :class:`~segmenter.clustering.blueprints.Blueprint` objects.
    constraints : ClusteringConstraints, optional
        Defaults to DataRobot's limits; relaxations are recorded.
    metric : {"silhouette", "silhouette_train", "calinski_harabasz", "davies_bouldin", "forecast"}
        What ranks the leaderboard; default the validation silhouette.  "forecast" ranks
        the rows by the backtest error of the forecasts each segmentation leads to
        (``forecast_error``, from a :class:`~segmenter.SegmentedForecaster` with
        ``select="forecast"``; needs ``horizon``); rows it did not compare come after.
    horizon : int, optional
        Forecast horizon of ``metric="forecast"``.
    forecaster : SegmentedForecaster, optional
        With ``metric="forecast"``: the forecaster to use (cloned; default quick
        candidates, ``select="forecast"``).  The fitted one is kept in ``forecaster_``.
    validation_size : float, default 0.2
        Share of the series held out to score each candidate.
    min_validation : int, default 20
        Fewer held-out series than this switches to cross-validation over series folds.
    cv_folds : int, default 5
    silhouette_sample : int, default 2000
        Silhouettes use at most this many series per partition (seeded sample).
    fit_sample : int or None, default 5000
        Every candidate, and the chosen row's final model, is fitted on at most this
        many series (a seeded sample); the others are assigned by the fitted model's
        ``predict`` (for DTW blueprints the pruned nearest-center search), so the cost
        grows linearly with the number of series and no n x n matrix is built for large
        n.  With at most ``fit_sample`` series nothing is sampled.  None: fit on all.
    random_state : int or None, default 0
        Seeds the split, the samples and every blueprint.
    progress : bool or None, default None
        Progress bar during fitting; None shows it only on a terminal.
    engine : "local", dask.distributed.Client or str, default "local"
        Where the work runs.  "local": in this process.  A Dask client (or a scheduler
        address): the data are cut into chunks of series held by the workers (a Parquet
        folder or a dask DataFrame is read by the workers, never collected here), the
        leaderboard's candidates run as tasks on a sample of the series gathered from
        the chunks, and the chosen model assigns each chunk where it lives (see
        :mod:`segmenter.data.chunks`).  The leaderboard and the mapping equal the local
        engine's for the same ``random_state``; a worker that dies mid-run is replaced
        and its tasks rerun.  Needs the ``dask`` extra.

    Attributes
    ----------
    leaderboard_ : DataFrame
        One row per blueprint × k, best first (``rank``); ``row`` identifies a row for
        :meth:`choose` and :meth:`rerun`.
    mapping_ : SegmentMapping
        The chosen row refitted on all series: one row per input series.
    model_ : FittedBlueprint
        The chosen blueprint fitted on all series (used by :meth:`predict`).
    chosen_row_ : int
    assignment_ : dict
        How the chosen model mapped the series: ``n_fit`` series fitted, ``n_assigned``
        assigned afterwards (``assigned_by == "predict"`` in the mapping), ``seconds``,
        and for DTW blueprints the pruned search's counts and ``pruned_share``.
    constraint_report_ : ConstraintReport
    folds_ : list of SeriesFold
    fit_lengths_ : Series
        Each series' length at fit (grid steps), by id: the monitor compares new data
        on windows of the same length (:mod:`segmenter.serving.monitoring`).

    Examples
    --------
    >>> import segmenter as sg
    >>> from segmenter.datasets import load_tourism
    >>> df = load_tourism()
    >>> seg = sg.Segmenter(n_clusters=[3, 4], blueprints=["velocity_mean", "velocity_std"],
    ...                    progress=False)
    >>> seg = seg.fit(df, id_col=["Region", "State", "Purpose"], time_col="Quarter",
    ...               target_col="Trips")
    >>> len(seg.mapping_), seg.leaderboard_["blueprint"].nunique()
    (304, 2)
    """

    _parameter_constraints = {
        "n_clusters": "no_validation",  # C4, checked by the constraints
        "blueprints": "no_validation",  # resolved with typed errors
        "constraints": [None, ClusteringConstraints],
        "metric": [StrOptions(set(metric_names("clustering")) | {"forecast"})],
        "horizon": [None, Interval(Integral, 1, None, closed="left")],
        "forecaster": "no_validation",
        "validation_size": [Interval(Real, 0, 1, closed="neither")],
        "min_validation": [Interval(Integral, 1, None, closed="left")],
        "cv_folds": [Interval(Integral, 2, None, closed="left")],
        "silhouette_sample": [Interval(Integral, 2, None, closed="left")],
        "fit_sample": [None, Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "progress": ["boolean", None],
        "engine": "no_validation",  # resolved by resolve_engine
    }

    def __init__(
        self,
        n_clusters=None,
        blueprints="default",
        constraints=None,
        metric: str = "silhouette",
        validation_size: float = 0.2,
        min_validation: int = 20,
        cv_folds: int = 5,
        silhouette_sample: int = 2000,
        fit_sample: int | None = 5000,
        random_state=0,
        progress: bool | None = None,
        engine="local",
        horizon: int | None = None,
        forecaster=None,
    ):
        self.n_clusters = n_clusters
        self.blueprints = blueprints
        self.constraints = constraints
        self.metric = metric
        self.validation_size = validation_size
        self.min_validation = min_validation
        self.cv_folds = cv_folds
        self.silhouette_sample = silhouette_sample
        self.fit_sample = fit_sample
        self.random_state = random_state
        self.progress = progress
        self.engine = engine
        self.horizon = horizon
        self.forecaster = forecaster

    def _param_problems(self) -> list[Problem]:
        if self.metric == "forecast" and self.horizon is None:
            return [
                Problem(
                    "no_horizon",
                    "horizon",
                    "metric='forecast' needs horizon= (the steps to forecast)",
                )
            ]
        return []

    # ------------------------------------------------------------------ fit
    @fit_context
    def fit(
        self,
        data,
        id_col="unique_id",
        time_col="ds",
        target_col="y",
        value_cols=None,
        static_cols=None,
        freq=None,
        missing="keep",
        dtype="float64",
        checkpoint=None,
        **reading,
    ) -> Segmenter:
        """Rank blueprints × k on the series of ``data`` and map every series to a segment.

        Parameters
        ----------
        data : DataFrame, CSV/Parquet path (or folder), list of files, dask DataFrame or Panel
            Long format, one row per (series, time).  On a distributed ``engine`` a
            Parquet folder, list of files or dask DataFrame is read by the workers.
        id_col, time_col, target_col, value_cols, static_cols, freq, missing, dtype
            As in :meth:`segmenter.Panel.from_frame`.
        checkpoint : str or path, optional
            A folder: each finished leaderboard row is written there as it completes, and
            a fit of the same data and arguments resumes from it
            (:mod:`segmenter.engine.checkpoint`; ``checkpoint_`` counts what was loaded
            and computed).
        **reading
            How to read the table: ``date_format``, ``dayfirst``, ``near_duplicate_ids``
            (:meth:`segmenter.Panel.from_frame`) and ``encoding`` (of a text file).
        """
        reading = check_read_options(reading)
        from .data.chunks import load_chunks
        from .engine.resolve import resolve_engine

        engine = resolve_engine(self.engine)
        read_kw = dict(
            value_cols=value_cols,
            static_cols=static_cols,
            freq=freq,
            missing=missing,
            dtype=dtype,
            **reading,
        )
        if engine.distributed:
            panel = load_chunks(engine, data, id_col, time_col, target_col, **read_kw)
        else:
            panel = read_panel(data, id_col, time_col, target_col, **read_kw)
        clash = sorted(set(panel.id_cols) & set(RESERVED))
        if clash:
            raise DataValidationError(
                [
                    Problem(
                        "reserved_id_name",
                        ",".join(clash),
                        f"series-id column(s) {clash} carry names "
                        f"the segment mapping uses for its own columns {list(RESERVED)}; rename them",
                    )
                ]
            )
        return self._fit(
            panel,
            engine,
            checkpoint,
            dict(
                id_col=id_col,
                time_col=time_col,
                target_col=target_col,
                freq=freq,
                missing=missing,
            ),
            data,
        )

    def _fit(self, panel, engine, checkpoint, read_args: dict, data) -> Segmenter:
        """The algorithm on the panel ``fit`` read: the constraints, the leaderboard of
        blueprints × k, the mapping (and with ``metric="forecast"`` the ranking by
        forecasts, which reads ``data`` with ``read_args``)."""
        constraints = self.constraints or ClusteringConstraints()
        requested = normalize_k(self.n_clusters, constraints)
        ks = (
            requested
            if requested is not None
            else default_k(
                panel.n_series, constraints, constraints.max_feasible_k(panel)
            )
        )
        report = constraints.check(panel, ks)
        if requested is not None:
            report.raise_if_violated()
        elif report.problems:
            raise ConstraintViolationError(report.problems)
        bps, named = resolve_specs(
            self.blueprints,
            _MODES,
            make_blueprint,
            Blueprint,
            "blueprint",
            "blueprints",
            "dtw_kmeans(band=0.2)",
        )
        folds = make_folds(
            panel.n_series,
            self.validation_size,
            self.min_validation,
            self.cv_folds,
            self.silhouette_sample,
            self.random_state,
            self.fit_sample,
        )
        from .engine.resources import check_memory, segmenter_bytes

        parts = segmenter_bytes(
            panel,
            bps,
            folds,
            self.fit_sample,
            len(choose_positions(panel.n_series, self.fit_sample, self.random_state)),
        )
        if engine.distributed:
            parts.pop("panel")  # the series stay on the workers
        check_memory(
            parts,
            "this fit",
            "lower fit_sample (every candidate and the final "
            "model are fitted on at most that many series) or silhouette_sample, "
            "read the values as float32 (dtype='float32'), use fewer shape "
            "blueprints, or run on a Dask cluster (engine=client)",
        )
        if engine.distributed:
            fit_idx = choose_positions(
                panel.n_series, self.fit_sample, self.random_state
            )
            execution = ChunkedExecution(
                engine, panel, folds, fit_idx, bps, str(id(self))
            )
        else:
            execution = LocalExecution(panel, folds)
        ckpt = None
        if checkpoint is not None:
            from .engine.checkpoint import Checkpoint, fingerprint_of

            ckpt = Checkpoint(
                checkpoint,
                fingerprint_of(
                    panel.fingerprint(), params_key(self), constraints.as_dict(), ks
                ),
                "Segmenter.fit",
                trusted=_classes_of(bps),
            )
        search = ClusteringSearch(
            panel,
            execution,
            constraints,
            report,
            "silhouette" if self.metric == "forecast" else self.metric,
            self.random_state,
            self.fit_sample,
            self.validation_size,
            self.progress,
            ckpt,
        )
        log.info("segmenter: fitting on %s", engine.describe())
        search.rank_blueprints(
            bps, ks, lambda bp: requested is None or bp.spec in named
        )
        self.data_args_ = reading_args(panel)
        self.fit_lengths_ = pd.Series(
            np.asarray(panel.lengths, dtype=np.int64),
            index=pd.Index(panel.id_labels(), tupleize_cols=False),
            name="steps",
        )
        self.constraint_report_ = report
        self.constraints_ = constraints
        self.n_clusters_tried_ = ks
        self.folds_ = folds
        self._search = search
        self.checkpoint_ = dict(ckpt.stats) if ckpt is not None else None
        self.leaderboard_ = search.frame()
        self.choose()
        if self.metric == "forecast":
            self.forecaster_, self.leaderboard_ = self._rank_by_forecasts(
                data, **read_args
            )
            self.choose()
        return self

    def _rank_by_forecasts(self, data, id_col, time_col, target_col, freq, missing):
        """``metric="forecast"``: score the rows by the forecasts they lead to; returns
        the forecaster that scored them and the leaderboard reranked by that error
        (``fit`` sets both and maps with its best row)."""
        from sklearn.base import clone

        from .forecasting.forecaster import SegmentedForecaster

        fc = (
            clone(self.forecaster)
            if self.forecaster is not None
            else SegmentedForecaster(
                horizon=self.horizon,
                candidates="quick",
                random_state=self.random_state,
                progress=self.progress,
                engine=self.engine,
            )
        )
        fc.set_params(select="forecast")
        if isinstance(data, Panel):
            fc.fit(data, segmenter=self)
        else:
            fc.fit(
                data,
                segmenter=self,
                id_col=id_col,
                time_col=time_col,
                target_col=target_col,
                freq=freq,
                missing=missing,
            )
        lb = self._search.leaderboard
        sel = fc.selection_[fc.selection_["kind"] == "clustering"]
        errors = dict(zip(sel["row"].astype(int), sel["valid_error"]))
        for e in lb.entries:
            if e.status == "ok":
                e.metrics["forecast_error"] = float(errors.get(e.row, np.nan))
        lb.metric, lb.greater_is_better = "forecast_error", False
        return fc, self._search.frame()

    # ------------------------------------------------------------------ choose / rerun
    def _fitted_search(self, what: str) -> ClusteringSearch:
        check_fitted(self, "leaderboard_", what)
        search = getattr(self, "_search", None)
        if search is None:
            raise NotFittedError(
                f"{what} needs the training data and caches, which are not saved with the "
                "model; call fit again on the data"
            )
        return search

    def choose(self, row: int | None = None) -> SegmentMapping:
        """Refit leaderboard row ``row`` (default: the best) on all series; sets
        ``model_``, ``mapping_`` and ``chosen_row_`` and returns the mapping."""
        search = self._fitted_search("choose")
        choice = search.choose(row)
        entry, panel = choice.entry, search.panel
        k = entry.settings.get("n_clusters")
        self.model_ = choice.model
        self.chosen_row_ = entry.row
        self.assignment_ = choice.assignment
        self._meta = {
            "blueprint": entry.candidate.name,
            "steps": entry.candidate.describe(k),
            "n_clusters": int(len(np.unique(choice.labels))),
            "requested_k": k,
            "metric": self.metric,
            "score": entry.metrics.get(
                "forecast_error" if self.metric == "forecast" else self.metric
            ),
            "leaderboard_row": entry.row,
            "constraints": self.constraints_.as_dict(),
            "segmenter_version": __version__,
            "data_fingerprint": panel.fingerprint(),
            "n_series": panel.n_series,
            "random_state": self.random_state,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "segment_names": describe_segments(
                panel, choice.labels, random_state=self.random_state
            ),
        }
        self.mapping_ = self._mapping(
            panel, choice.distances, choice.labels, choice.assigned_by, self._meta
        )
        return self.mapping_

    @property
    def segment_names_(self) -> dict:
        """``{segment: name}``: built from the segments' summary features at fit
        (:func:`segmenter.features.naming.describe_segments`, e.g. ``"high level,
        strong season"``) and changed by :meth:`rename_segments`."""
        check_fitted(self, "mapping_", "segment_names_")
        return self.mapping_.names

    def rename_segments(self, names: dict) -> Segmenter:
        """Name segments, e.g. ``{0: "steady sellers"}``; the names go into
        ``mapping_`` (its ``segment_name`` column), the mappings :meth:`predict`
        returns, the insights and the report.  Unknown segments, empty or repeated
        names are a :class:`~segmenter.DataValidationError`.  To rename the segments
        of a fitted forecaster (and its forecasts), use
        ``SegmentedForecaster.rename_segments``."""
        check_fitted(self, "mapping_", "rename_segments")
        new = check_segment_names(self.mapping_.names, names)
        self._meta["segment_names"] = new
        self.mapping_.metadata["segment_names"] = new
        return self

    def _mapping(self, panel, distances, labels, how, meta) -> SegmentMapping:
        nobs = panel.n_observed
        frame = panel.ids.copy()
        frame["segment"] = np.asarray(labels, dtype=np.int64)
        frame["distance"] = np.asarray(distances, dtype=np.float64)
        frame["short_history"] = nobs < self.constraints_.min_history
        frame["no_values"] = nobs == 0
        frame["assigned_by"] = how
        return SegmentMapping(
            frame,
            panel.id_cols,
            "segment",
            metadata=meta,
            max_segments=self.constraints_.max_segments,
        )

    def rerun(self, row: int | None = None, n_clusters=None) -> pd.DataFrame:
        """Fit more cluster counts without recomputing features or distance matrices.

        ``rerun(row, n_clusters=k)`` refits that row's blueprint with new k (an int or a
        list); ``rerun(n_clusters=[...])`` does so for every blueprint that takes a k.
        The new rows join ``leaderboard_`` (re-ranked) and are returned; the mapping is
        unchanged until :meth:`choose`.
        """
        search = self._fitted_search("rerun")
        if n_clusters is None:
            raise DataValidationError(
                [
                    Problem(
                        "no_k",
                        "n_clusters",
                        "rerun needs n_clusters (an int or a list)",
                    )
                ]
            )
        ks = normalize_k(n_clusters, self.constraints_)
        report = self.constraints_.check(search.panel, ks)
        if row is not None:
            cands = [search.leaderboard.entry(row).candidate]
            if cands[0].blueprint.picks_k:
                raise DataValidationError(
                    [
                        Problem(
                            "picks_k",
                            "row",
                            f"row {row} ({cands[0].name}) chooses k itself; rerun a "
                            "row of a blueprint that takes n_clusters",
                        )
                    ]
                )
        else:
            cands = [c for c in search.candidates.values() if not c.blueprint.picks_k]
        before = search.rerun(cands, ks, report)
        self.leaderboard_ = search.frame()
        return self.leaderboard_[self.leaderboard_["row"] >= before]

    @property
    def cache_stats_(self) -> dict:
        """How many featurizations and DTW matrices were computed (reruns reuse them).
        Local engine only: a distributed engine's workers keep their own caches."""
        ws = self._fitted_search("cache_stats_").workspace
        return dict(ws.stats) if ws is not None else {}

    # ------------------------------------------------------------------ predict
    def predict(self, data, **columns) -> SegmentMapping:
        """Assign series (typically never seen in fit) to the fitted segments.

        ``data`` is read with the fit's column names, frequency and missing policy
        (override with keyword arguments such as ``id_col=...``).  Returns a
        :class:`SegmentMapping` whose rows have ``assigned_by == "predict"``.
        """
        check_fitted(self, "model_", "predict")
        panel = read_panel(data, **{**self.data_args_, **columns})
        X = self.model_.featurize(panel)
        labels = self.model_.predict_features(X)
        meta = {
            **self._meta,
            "assigned": "predict",
            "n_series": panel.n_series,
            "data_fingerprint": panel.fingerprint(),
        }
        return self._mapping(
            panel, self.model_.center_distances(X, labels), labels, "predict", meta
        )

    @property
    def _fit_workspace(self):
        """The fit's panel and cached features (None after :func:`segmenter.load` or on a
        distributed engine, where the data stay on the workers)."""
        search = getattr(self, "_search", None)
        return None if search is None else search.workspace

    # ------------------------------------------------------------------ insights / report
    def insights(self, data=None, names: dict | None = None, **kw):
        """Cluster insights, feature impact and feature associations of the chosen model
        (:class:`segmenter.reporting.insights.Insights`; ``kw``: ``sample``,
        ``n_repeats``, ``max_features``, ``random_state``).  ``data`` is needed only after
        :func:`segmenter.load`; ``names`` names segments, e.g. ``{0: "steady"}``."""
        from .reporting.insights import Insights

        ins = Insights.from_segmenter(self, data=data, **kw)
        return ins.rename(names) if names else ins

    def report(
        self,
        path,
        data=None,
        forecaster=None,
        actuals=None,
        names=None,
        insights=None,
        static: bool = False,
    ):
        """Write one self-contained HTML report: the verdict and key figures first,
        then the segments, the forecasts and the selection (when ``forecaster`` is a
        fitted :class:`~segmenter.SegmentedForecaster`), the leaderboard, insights,
        impact and associations, as interactive charts (``static=True``: images) with
        tables on demand.  Returns the path.  See :mod:`segmenter.reporting.report`."""
        from .reporting.report import write_report

        return write_report(
            self,
            path,
            data=data,
            forecaster=forecaster,
            actuals=actuals,
            names=names,
            insights=insights,
            static=static,
        )

    # ------------------------------------------------------------------ persistence
    def __copy__(self):
        """A shallow copy that keeps the training data and caches, which pickling
        (``__getstate__``) leaves out, so that the copy can still ``choose`` (the
        forecaster's own copy, ``segmenter_``, follows its choice this way)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __getstate__(self):
        from .engine.base import saveable_engine

        state = {k: v for k, v in self.__dict__.items() if k != "_search"}
        state["engine"] = saveable_engine(self.engine)
        return state

    def save(self, path) -> Path:
        """Write the fitted segmenter to ``path`` (read it back with ``segmenter.load``).

        The file keeps the leaderboard, the mapping and the chosen model; the training
        data and the caches are not saved (``rerun`` and ``choose`` need ``fit`` again).
        """
        check_fitted(self, "model_", "save")
        return persistence.save(self, path)
