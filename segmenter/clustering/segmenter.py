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
   blueprints); ranks the rows by it (:mod:`segmenter.leaderboard`);
4. refits the best row on all series and writes :attr:`Segmenter.mapping_`.

On a distributed engine (``engine=client``) step 1 builds chunks of series on the
workers and keeps only a per-series summary here (:mod:`segmenter.chunks`); step 3
runs each blueprint × k as a task on the series the folds sample (gathered from the
chunks on a worker); step 4 fits as a task and maps each chunk where it lives.  The
results are those of the local engine.

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
reference product ranks the same way).

Default cluster counts (``n_clusters=None``): the values of ``(2, 3, 4, 5, 6, 8, 10,
12, 15, 20)`` up to ``max(3, round(sqrt(n_series / 2)))`` (the usual ``sqrt(n/2)``
rule of thumb), capped by what C2 allows and by ``max_k_values``; the blueprints that
choose k themselves (HDBSCAN) run too.  With an explicit ``n_clusters`` they run only
when named in ``blueprints``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
import math
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from ..distances import _dtw_kernels as K
from .._version import __version__
from .blueprints import CATALOGUE, DEFAULT, QUICK, Blueprint, FittedBlueprint, make_blueprint
from .clusterers.dtw import _DistanceMatrixClusterer, pruning_counts
from .constraints import ClusteringConstraints, normalize_k
from ..data.series import SeriesSet
from ..errors import ConstraintViolationError, DataValidationError, NotFittedError, Problem
from ..selection.leaderboard import Leaderboard
from .mapping import SegmentMapping
from ..data.panel import Panel, read_panel
from .. import persistence

__all__ = ["Segmenter", "default_k", "K_GRID"]

log = logging.getLogger("segmenter.segmenter")

#: Column names of the segment mapping; series-id columns may not use them.
RESERVED = ("segment", "distance", "short_history", "no_values", "assigned_by")

#: Series assigned per call when the chosen model maps the series outside its fit sample.
ASSIGN_CHUNK = 20000


#: Cluster counts ``n_clusters=None`` chooses from.
K_GRID = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20)

#: ``metric`` values and whether greater is better.
METRICS = {"silhouette": True, "silhouette_train": True, "calinski_harabasz": True,
           "davies_bouldin": False}


def default_k(n_series: int, constraints: ClusteringConstraints, max_feasible: int) -> list[int]:
    """The cluster counts tried when ``n_clusters=None`` (see the module docstring).

    >>> default_k(304, ClusteringConstraints(), 300)
    [2, 3, 4, 5, 6, 8, 10, 12]
    >>> default_k(12, ClusteringConstraints(), 12)
    [2, 3]
    """
    top = min(max(3, round(math.sqrt(n_series / 2))), max_feasible, constraints.k_max)
    ks = [k for k in K_GRID if constraints.k_min <= k <= top]
    return ks[:constraints.max_k_values]


# ============================================================================ folds
@dataclass
class SeriesFold:
    """A split of the series: positions into the panel (sorted)."""

    name: str
    kind: str                   # "holdout" | "cv"
    train: np.ndarray
    valid: np.ndarray
    fit: np.ndarray             # the training series the candidates are fitted on
    train_sample: np.ndarray    # positions (into the panel, within ``fit``) for
    valid_sample: np.ndarray    # training / validation silhouettes


def _sample(idx: np.ndarray, size: int, rng) -> np.ndarray:
    if len(idx) <= size:
        return idx
    return np.sort(rng.choice(idx, size=size, replace=False))


def make_folds(n: int, validation_size: float, min_validation: int, cv_folds: int,
               sample: int, random_state, fit_sample: int | None = None) -> list[SeriesFold]:
    """The series partition(s) of the leaderboard (see the module docstring).

    ``fit_sample`` caps the training series each candidate is fitted on (seeded sample;
    None: all); ``sample`` caps the series of each silhouette.
    """
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    n_valid = int(round(validation_size * n))
    cap = n if fit_sample is None else fit_sample
    if n_valid >= min_validation and n - n_valid >= 2:
        valid, train = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])
        fit = _sample(train, cap, rng)
        return [SeriesFold("holdout", "holdout", train, valid, fit, _sample(fit, sample, rng),
                           _sample(valid, sample, rng))]
    n_folds = max(2, min(cv_folds, n))
    folds = []
    for f, part in enumerate(np.array_split(perm, n_folds)):
        valid = np.sort(part)
        train = np.sort(np.setdiff1d(perm, part))
        fit = _sample(train, cap, rng)
        folds.append(SeriesFold(f"cv{f}", "cv", train, valid, fit, _sample(fit, sample, rng),
                                valid))
    return folds


# ============================================================================ workspace
def _take(X, idx):
    return X.take(idx) if isinstance(X, SeriesSet) else X[np.asarray(idx, dtype=np.int64)]


class _Workspace:
    """The fitted panel's cached featurizations and DTW distance matrices.

    ``stats`` counts the work done (``featurize``, ``dtw_matrices``) so reruns can show
    (and tests assert) that nothing was recomputed.
    """

    def __init__(self, panel: Panel, states: dict | None = None):
        self.panel = panel
        self.states = states or {}     # featurizer state learned from all series, by key
        self._features: dict = {}
        self._dist: dict = {}
        self.stats: Counter = Counter()

    @staticmethod
    def feature_key(bp: Blueprint) -> tuple:
        return (bp.representation,
                tuple(sorted((k, repr(v)) for k, v in bp.featurizer_params().items())))

    def features(self, bp: Blueprint):
        key = self.feature_key(bp)
        if key not in self._features:
            self.stats["featurize"] += 1
            self._features[key] = bp.featurize(self.panel, self.states.get(key))
        return self._features[key]

    def dtw(self, bp: Blueprint, radius: int, idx: np.ndarray, tag: tuple) -> np.ndarray:
        """DTW distance matrix of the series at ``idx`` (cached under ``tag``)."""
        key = (self.feature_key(bp), int(radius), tag)
        if key not in self._dist:
            X = _take(self.features(bp)[0], idx)
            self.stats["dtw_matrices"] += 1
            self._dist[key] = np.sqrt(K.pairwise_sq(X.data, X.offsets, int(radius)))
        return self._dist[key]


#: Workspaces of the sampled series kept by a worker process of a distributed engine,
#: by token (at most two: one fit at a time, plus the one before).
_WORKER_WS: dict = {}


def _worker_workspace(token: str, panel: Panel, states: dict) -> _Workspace:
    ws = _WORKER_WS.get(token)
    if ws is None:
        while len(_WORKER_WS) >= 2:
            _WORKER_WS.pop(next(iter(_WORKER_WS)))
        ws = _WORKER_WS[token] = _Workspace(panel, states)
    return ws


def _fit_final_task(context, cand, fit_pos, k, tag):
    cand.bind(context)
    try:
        return cand.fit_final(fit_pos, k, tag)
    finally:
        cand.bind(None)


def _assign_chunk(chunk: Panel, model: FittedBlueprint, fit_local: np.ndarray,
                  fit_labels: np.ndarray):
    """Segments and center distances of a chunk's series: the fitted ones keep their fit
    labels, the others are assigned (pruned search for DTW blueprints)."""
    X = model.featurize(chunk)
    return _assign_all(model, X, chunk.n_series, fit_local, fit_labels)


def _assign_all(model: FittedBlueprint, X, n: int, fit_idx: np.ndarray,
                fit_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """(labels, center distances, pruning counts) of the ``n`` series ``X``: those at
    ``fit_idx`` keep their fit labels, the others are assigned by :func:`_assign_rest`
    (which returns their distances with the labels, so none is computed twice)."""
    labels, dist = np.empty(n, dtype=np.int64), np.empty(n)
    labels[fit_idx] = fit_labels
    if len(fit_idx):
        dist[fit_idx] = model.center_distances(_take(X, fit_idx), fit_labels)
    rest = np.setdiff1d(np.arange(n), fit_idx)
    pruning = _assign_rest(model, X, rest, labels, dist)
    return labels, dist, pruning


def _assign_rest(model: FittedBlueprint, X, rest: np.ndarray, labels: np.ndarray,
                 dist: np.ndarray, where: str = "") -> dict | None:
    """Assign the series at ``rest`` (in pieces of :data:`ASSIGN_CHUNK`) into
    ``labels`` and their center distances into ``dist``; returns the pruned search's
    summed counts (None when it has none)."""
    pruning = None
    for lo in range(0, len(rest), ASSIGN_CHUNK):
        part = rest[lo:lo + ASSIGN_CHUNK]
        labels[part], dist[part], counts = model.assign(_take(X, part))
        if counts:
            pruning = pruning_counts(pruning, counts)
        log.info("segmenter: assigned %d of %d series outside the fit sample%s",
                 min(lo + ASSIGN_CHUNK, len(rest)), len(rest), where)
    return pruning


# ============================================================================ scoring
def _silhouette(D: np.ndarray, labels: np.ndarray) -> tuple[float, str]:
    n_lab = len(np.unique(labels))
    if not 2 <= n_lab <= len(labels) - 1:
        return math.nan, (f"silhouette undefined: {len(labels)} series in {n_lab} "
                          "segment(s)")
    return float(silhouette_score(D, labels, metric="precomputed")), ""


def silhouette_against(C: np.ndarray, labels: np.ndarray, ref_labels: np.ndarray) -> np.ndarray:
    """Silhouette of series (rows of ``C``) against reference series (columns).

    ``C[i, j]`` is the distance from series i to reference series j; ``labels`` are the
    series' segments, ``ref_labels`` the reference series' segments.  Per series:
    ``(b - a) / max(a, b)`` with ``a`` the mean distance to the reference members of its
    segment and ``b`` the smallest mean distance to another segment's members; 0 when
    its segment has no reference member or there is no other segment.
    """
    segs = np.unique(ref_labels)
    means = np.column_stack([C[:, ref_labels == s].mean(axis=1) for s in segs])
    out = np.zeros(len(labels))
    if len(segs) < 2:
        return np.full(len(labels), np.nan)
    for i, lab in enumerate(labels):
        own = np.flatnonzero(segs == lab)
        if not len(own):
            continue
        a = means[i, own[0]]
        b = np.delete(means[i], own[0]).min()
        denom = max(a, b)
        out[i] = (b - a) / denom if denom > 0 else 0.0
    return out


class _ClusteringCandidate:
    """A blueprint on the clustering leaderboard (the leaderboard's candidate protocol)."""

    def __init__(self, blueprint: Blueprint, ws: _Workspace, random_state,
                 max_segments: int):
        self.blueprint = blueprint
        self.name = blueprint.spec
        self.ws = ws
        self.random_state = random_state
        self.max_segments = max_segments
        self.uses_matrix = isinstance(blueprint.make_estimator(2, 0), _DistanceMatrixClusterer)

    def describe(self, n_clusters=None) -> str:
        return self.blueprint.describe(n_clusters)

    def __getstate__(self):
        return {**self.__dict__, "ws": None}   # a worker binds its own (see bind)

    def bind(self, context) -> None:
        """Work on a distributed engine's worker: ``context`` is ``(token, panel of the
        sampled series, featurizer states)``; None unbinds."""
        self.ws = None if context is None else _worker_workspace(*context)

    def fit_final(self, fit_idx: np.ndarray, k, tag: tuple) -> FittedBlueprint:
        """The model of :meth:`Segmenter.choose`: fitted on the series at ``fit_idx``."""
        X, state = self.ws.features(self.blueprint)
        Xf = _take(X, fit_idx)
        kw = self._matrix_kw(fit_idx, tag, Xf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.blueprint.fit(None, k, self.random_state, features=(Xf, state), **kw)

    def _matrix_kw(self, idx, tag, X) -> dict:
        if not self.uses_matrix:
            return {}
        r = self.blueprint.radius_for(X)
        return {"distance_matrix": self.ws.dtw(self.blueprint, r, idx, tag)}

    def fit(self, fold: SeriesFold, n_clusters=None) -> FittedBlueprint:
        X, state = self.ws.features(self.blueprint)
        Xt = _take(X, fold.fit)
        kw = self._matrix_kw(fold.fit, (fold.name, "fit"), Xt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.blueprint.fit(None, n_clusters, self.random_state, features=(Xt, state),
                                      **kw)

    def _geometry(self, model: FittedBlueprint, idx, tag) -> np.ndarray:
        if self.blueprint.representation == "shape":
            return self.ws.dtw(self.blueprint, model.radius, idx, tag)
        return model.pairwise(_take(self.ws.features(self.blueprint)[0], idx))

    def score(self, model: FittedBlueprint, fold: SeriesFold, n_clusters=None) -> dict:
        X = self.ws.features(self.blueprint)[0]
        k_found = model.n_clusters_
        if k_found > self.max_segments:
            raise ConstraintViolationError([Problem(
                "C5", "n_clusters", f"C5: the blueprint found {k_found} clusters, more than the "
                f"{self.max_segments} segments the forecasting runner accepts")])
        lab_train = model.labels_
        out: dict = {}
        note = []
        if fold.kind == "holdout":
            lv = model.predict_features(_take(X, fold.valid_sample))
            sil, why = _silhouette(self._geometry(model, fold.valid_sample,
                                                  (fold.name, "valid_sample")), lv)
            out["silhouette"] = sil
            if why:
                note.append("validation " + why)
        else:
            Xv, Xt = _take(X, fold.valid), _take(X, fold.fit)
            lv = model.predict_features(Xv)
            s = silhouette_against(model.cross(Xv, Xt), lv, lab_train)
            out["silhouette"] = float(s.mean()) if np.isfinite(s).all() else math.nan
            out["weight"] = float(len(s))
            if not np.isfinite(s).all():
                note.append("silhouette undefined: the training series form one segment")
        # training metrics
        pos = np.searchsorted(fold.fit, fold.train_sample)
        tag = (fold.name, "fit") if len(pos) == len(fold.fit) else (fold.name, "train_sample")
        sil_t, why = _silhouette(self._geometry(model, fold.train_sample, tag), lab_train[pos])
        out["silhouette_train"] = sil_t
        emb = model.embed(_take(X, fold.fit))
        n_lab = len(np.unique(lab_train))
        if emb is not None and 2 <= n_lab <= len(lab_train) - 1:
            out["calinski_harabasz"] = float(calinski_harabasz_score(emb, lab_train))
            out["davies_bouldin"] = float(davies_bouldin_score(emb, lab_train))
        else:
            out["calinski_harabasz"] = out["davies_bouldin"] = math.nan
        sizes = np.bincount(lab_train, minlength=k_found)
        n_empty = int((sizes == 0).sum())
        out["n_clusters_found"] = int(k_found) - n_empty
        out["empty_clusters"] = n_empty
        out["demoted"] = (f"{n_empty} of the {k_found} clusters are empty" if n_empty else "")
        out["sizes"] = sizes.tolist()
        out["validation"] = (f"{len(fold.valid)} held-out series" if fold.kind == "holdout"
                             else "cross-validated over series folds")
        out["note"] = "; ".join(note)
        return out


# ============================================================================ Segmenter
class Segmenter:
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
        :class:`~segmenter.blueprints.Blueprint` objects.
    constraints : ClusteringConstraints, optional
        Defaults to the reference product's limits; relaxations are recorded.
    metric : {"silhouette", "silhouette_train", "calinski_harabasz", "davies_bouldin"}
        What ranks the leaderboard; default the validation silhouette.
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
        :mod:`segmenter.chunks`).  The leaderboard and the mapping equal the local
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

    def __init__(self, n_clusters=None, blueprints="default", constraints=None,
                 metric: str = "silhouette", validation_size: float = 0.2,
                 min_validation: int = 20, cv_folds: int = 5, silhouette_sample: int = 2000,
                 fit_sample: int | None = 5000, random_state=0, progress: bool | None = None,
                 engine="local"):
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

    # ------------------------------------------------------------------ set-up
    def _check_params(self):
        problems = []
        if self.metric not in METRICS:
            problems.append(Problem("bad_metric", "metric", f"metric={self.metric!r}; use one "
                                    f"of {sorted(METRICS)}"))
        if not (isinstance(self.validation_size, (float, int)) and 0 < self.validation_size < 1):
            problems.append(Problem("bad_validation_size", "validation_size",
                                    f"validation_size={self.validation_size!r} must be a "
                                    "fraction strictly between 0 and 1"))
        for name in ("min_validation", "cv_folds", "silhouette_sample", "fit_sample"):
            v = getattr(self, name)
            if name == "fit_sample" and v is None:
                continue
            low = 1 if name == "min_validation" else 2
            if not isinstance(v, (int, np.integer)) or v < low:
                problems.append(Problem(f"bad_{name}", name,
                                        f"{name}={v!r} must be an integer >= {low}"))
        if problems:
            raise DataValidationError(problems)

    def _resolve_blueprints(self) -> tuple[list[Blueprint], set]:
        spec = self.blueprints
        named: set = set()
        if isinstance(spec, str) and spec in ("default", "quick", "all"):
            names = {"default": DEFAULT, "quick": QUICK, "all": list(CATALOGUE)}[spec]
            bps = [make_blueprint(n) for n in names]
        elif isinstance(spec, (str, Blueprint)):
            bps = [make_blueprint(spec)]
            named = {bps[0].spec}
        else:
            bps = [make_blueprint(s) for s in spec]
            named = {b.spec for b in bps}
        if not bps:
            raise DataValidationError([Problem("no_blueprints", "blueprints",
                                               "blueprints is empty; use 'default' or 'quick'")])
        seen = Counter(b.spec for b in bps)
        dup = [s for s, c in seen.items() if c > 1]
        if dup:
            raise DataValidationError([Problem("duplicate_blueprint", "blueprints",
                                               f"blueprints {dup} are listed twice")])
        return bps, named

    @staticmethod
    def _read(data, id_col, time_col, target_col, **kw) -> Panel:
        if isinstance(data, Panel):
            return data
        return read_panel(data, id_col=id_col, time_col=time_col, target_col=target_col, **kw)

    # ------------------------------------------------------------------ fit
    def fit(self, data, id_col="unique_id", time_col="ds", target_col="y", value_cols=None,
            static_cols=None, freq=None, missing="keep", dtype="float64") -> "Segmenter":
        """Rank blueprints × k on the series of ``data`` and map every series to a segment.

        Parameters
        ----------
        data : DataFrame, CSV/Parquet path (or folder), list of files, dask DataFrame or Panel
            Long format, one row per (series, time).  On a distributed ``engine`` a
            Parquet folder, list of files or dask DataFrame is read by the workers.
        id_col, time_col, target_col, value_cols, static_cols, freq, missing, dtype
            As in :meth:`segmenter.Panel.from_frame`.
        """
        self._check_params()
        constraints = self.constraints or ClusteringConstraints()
        requested = normalize_k(self.n_clusters, constraints)
        from ..engine.base import resolve_engine
        from ..data.chunks import load_chunks
        engine = resolve_engine(self.engine)
        read_kw = dict(value_cols=value_cols, static_cols=static_cols, freq=freq,
                       missing=missing, dtype=dtype)
        if engine.distributed:
            panel = load_chunks(engine, data, id_col, time_col, target_col, **read_kw)
        else:
            panel = self._read(data, id_col, time_col, target_col, **read_kw)
        self._engine = engine
        clash = sorted(set(panel.id_cols) & set(RESERVED))
        if clash:
            raise DataValidationError([Problem(
                "reserved_id_name", ",".join(clash), f"series-id column(s) {clash} carry names "
                f"the segment mapping uses for its own columns {list(RESERVED)}; rename them")])
        self.data_args_ = {"id_col": panel.id_cols if len(panel.id_cols) > 1 else
                           panel.id_cols[0], "time_col": panel.time_col,
                           "target_col": panel.target_col,
                           "value_cols": list(panel.value_cols[1:]),
                           "static_cols": list(panel.static_cols), "freq": panel.freq,
                           "missing": panel.missing_policy}
        ks = requested if requested is not None else \
            default_k(panel.n_series, constraints, constraints.max_feasible_k(panel))
        report = constraints.check(panel, ks)
        self.constraint_report_ = report
        if requested is not None:
            report.raise_if_violated()
        elif report.problems:
            raise ConstraintViolationError(report.problems)
        bps, named = self._resolve_blueprints()
        self.constraints_ = constraints
        self.n_clusters_tried_ = ks
        self.folds_ = make_folds(panel.n_series, self.validation_size, self.min_validation,
                                 self.cv_folds, self.silhouette_sample, self.random_state,
                                 self.fit_sample)
        self._panel = panel
        lb_folds = self.folds_
        if engine.distributed:
            self._ws = None
            lb_folds = self._distribute(panel, bps)
        else:
            self._ws = _Workspace(panel)
            self._context = None
        self._lb = Leaderboard(lb_folds, self.metric, METRICS[self.metric],
                               progress=self.progress, desc="segmenter")
        self._candidates = {}
        tasks = []
        for bp in bps:
            cand = _ClusteringCandidate(bp, self._ws, self.random_state,
                                        constraints.max_segments)
            self._candidates[bp.spec] = cand
            if bp.picks_k:
                if requested is None or bp.spec in named:
                    tasks.append((cand, {"n_clusters": None}))
                continue
            tasks += self._k_tasks(cand, ks, report)
        log.info("segmenter: %d candidates on %d series (%s) on %s", len(tasks),
                 panel.n_series, ", ".join(f.name for f in self.folds_), engine.describe())
        self._lb.run(tasks, engine, self._context)
        self.leaderboard_ = self._frame()
        self.choose()
        return self

    def _choose_positions(self, n: int) -> np.ndarray:
        """The series :meth:`choose` fits the final model on (a seeded sample)."""
        fit_idx = np.arange(n)
        if self.fit_sample is not None and n > self.fit_sample:
            fit_idx = _sample(fit_idx, self.fit_sample, np.random.default_rng(self.random_state))
        return fit_idx

    def _distribute(self, source, bps) -> list[SeriesFold]:
        """Distributed engine: gather the series the leaderboard and the final fit need
        into one panel on the engine (``_context``) and return the folds with positions
        into it.  Holdout folds keep ``train`` and ``valid`` as positions into all
        series: only their counts are used."""
        need = [self._choose_positions(source.n_series)]
        for f in self.folds_:
            need += [f.fit, f.train_sample, f.valid_sample] + ([f.valid] if f.kind == "cv"
                                                               else [])
        self._needed = np.unique(np.concatenate(need))
        sample = source.gather(self._needed, label=f"gather {len(self._needed)} series")
        states = {_Workspace.feature_key(bp): bp.panel_state(source) for bp in bps}
        token = f"{source.fingerprint()}-{id(self)}-{time.time_ns()}"
        self._context = [token, sample, states]
        log.info("segmenter: %d of %d series gathered for the leaderboard", len(self._needed),
                 source.n_series)
        pos = lambda idx: np.searchsorted(self._needed, idx)  # noqa: E731
        return [SeriesFold(f.name, f.kind, pos(f.train) if f.kind == "cv" else f.train,
                           pos(f.valid) if f.kind == "cv" else f.valid, pos(f.fit),
                           pos(f.train_sample), pos(f.valid_sample)) for f in self.folds_]

    def _frame(self) -> pd.DataFrame:
        df = self._lb.to_frame()
        if "n_clusters" in df.columns:
            df["n_clusters"] = df["n_clusters"].astype("Int64")
        return df

    def _k_tasks(self, cand, ks, report) -> list:
        """Leaderboard tasks of ``cand`` for each k; infeasible k are recorded as skipped."""
        tasks = []
        for k in ks:
            reason = self._skip_reason(k, report)
            if reason:
                self._lb.skip(cand, {"n_clusters": k}, reason)
            else:
                tasks.append((cand, {"n_clusters": k}))
        return tasks

    def _skip_reason(self, k: int, report) -> str:
        """Why k cannot run: C2/C4 on all series, or too few long series in a training
        partition (every fold's training series must support k)."""
        if k in report.skipped_k:
            return report.skipped_k[k]
        long_enough = self._panel.n_observed >= self.constraints_.min_history
        n_train = min(int(long_enough[f.fit].sum()) for f in self.folds_)
        if k > n_train:
            return (f"C2: k={k} needs {k} training series with >= "
                    f"{self.constraints_.min_history} non-missing steps; the training "
                    f"partition ({1 - self.validation_size:.0%} of the series"
                    f"{', per fold' if len(self.folds_) > 1 else ''}"
                    f"{', as sampled by fit_sample' if self._sampled() else ''}) has "
                    f"{n_train}")
        return ""

    def _sampled(self) -> bool:
        return any(len(f.fit) < len(f.train) for f in self.folds_)

    # ------------------------------------------------------------------ choose / rerun
    def _need_workspace(self, what: str):
        if not hasattr(self, "leaderboard_"):
            raise NotFittedError(f"this Segmenter is not fitted yet; call fit before {what}")
        if getattr(self, "_panel", None) is None:
            raise NotFittedError(
                f"{what} needs the training data and caches, which are not saved with the "
                "model; call fit again on the data")

    def choose(self, row: int | None = None) -> SegmentMapping:
        """Refit leaderboard row ``row`` (default: the best) on all series; sets
        ``model_``, ``mapping_`` and ``chosen_row_`` and returns the mapping."""
        self._need_workspace("choose")
        entry = self._lb.best() if row is None else self._lb.entry(row)
        if entry.status != "ok":
            raise DataValidationError([Problem(
                "row_not_ok", "row", f"row {entry.row} ({entry.candidate.name}, "
                f"{entry.settings}) is {entry.status}: {entry.reason}; choose a row with "
                "status 'ok'")])
        cand: _ClusteringCandidate = entry.candidate
        panel = self._panel
        n = panel.n_series
        fit_idx = self._choose_positions(n)
        tag = ("all",) if len(fit_idx) == n else \
            ("choose_fit", hashlib.sha1(fit_idx.tobytes()).hexdigest())
        k = entry.settings.get("n_clusters")
        how = np.full(n, "predict", dtype=object)
        how[fit_idx] = "fit"
        if self._ws is None:
            model, labels, dist, pruning, seconds = self._choose_distributed(cand, fit_idx, k,
                                                                             tag)
        else:
            model = cand.fit_final(fit_idx, k, tag)
            X = self._ws.features(cand.blueprint)[0]
            t0 = time.perf_counter()
            labels, dist, pruning = _assign_all(model, X, n, fit_idx, model.labels_)
            seconds = time.perf_counter() - t0
        self.model_ = model
        self.chosen_row_ = entry.row
        self.assignment_ = {"n_fit": int(len(fit_idx)), "n_assigned": int(n - len(fit_idx)),
                            "seconds": seconds, **(pruning or {})}
        meta = {"blueprint": cand.name, "steps": cand.describe(k),
                "n_clusters": int(len(np.unique(labels))), "requested_k": k,
                "metric": self.metric, "score": entry.metrics.get(self.metric),
                "leaderboard_row": entry.row, "constraints": self.constraints_.as_dict(),
                "segmenter_version": __version__, "data_fingerprint": panel.fingerprint(),
                "n_series": panel.n_series, "random_state": self.random_state,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._meta = meta
        self.mapping_ = self._mapping(panel, dist, labels, how, meta)
        return self.mapping_

    def _choose_distributed(self, cand, fit_idx, k, tag):
        """:meth:`choose` on a distributed engine: the final fit is one task on the
        gathered sample; each chunk is then assigned where it lives."""
        engine, source = self._engine, self._panel
        fit_pos = np.searchsorted(self._needed, fit_idx)
        model = engine.result(engine.submit(_fit_final_task, self._context, cand, fit_pos,
                                            k, tag, label=f"final fit {cand.name} k={k}"))
        fit_label = np.full(source.n_series, -1, dtype=np.int64)
        fit_label[fit_idx] = model.labels_
        jobs, labels_, where = [], [], []
        for c in range(len(source.refs)):
            members = np.flatnonzero(source.chunk_of == c)
            local = source.local_of[members]
            mine = fit_label[members] >= 0
            jobs.append((source.refs[c], model, local[mine], fit_label[members][mine]))
            labels_.append(f"assign {source.labels[c]}")
            where.append((members, local))
        t0 = time.perf_counter()
        outs = engine.map(_assign_chunk, jobs, labels_, desc="assign", progress=self.progress)
        seconds = time.perf_counter() - t0
        n = source.n_series
        labels, dist = np.empty(n, dtype=np.int64), np.empty(n)
        pruning = None
        for (members, local), (lab, d, counts) in zip(where, outs):
            labels[members], dist[members] = lab[local], d[local]
            if counts:
                pruning = pruning_counts(pruning, counts)
        return model, labels, dist, pruning, seconds

    def _mapping(self, panel, distances, labels, how, meta) -> SegmentMapping:
        nobs = panel.n_observed
        frame = panel.ids.copy()
        frame["segment"] = np.asarray(labels, dtype=np.int64)
        frame["distance"] = np.asarray(distances, dtype=np.float64)
        frame["short_history"] = nobs < self.constraints_.min_history
        frame["no_values"] = nobs == 0
        frame["assigned_by"] = how
        return SegmentMapping(frame, panel.id_cols, "segment", metadata=meta,
                              max_segments=self.constraints_.max_segments)

    def rerun(self, row: int | None = None, n_clusters=None) -> pd.DataFrame:
        """Fit more cluster counts without recomputing features or distance matrices.

        ``rerun(row, n_clusters=k)`` refits that row's blueprint with new k (an int or a
        list); ``rerun(n_clusters=[...])`` does so for every blueprint that takes a k.
        The new rows join ``leaderboard_`` (re-ranked) and are returned; the mapping is
        unchanged until :meth:`choose`.
        """
        self._need_workspace("rerun")
        if n_clusters is None:
            raise DataValidationError([Problem("no_k", "n_clusters",
                                               "rerun needs n_clusters (an int or a list)")])
        ks = normalize_k(n_clusters, self.constraints_)
        report = self.constraints_.check(self._panel, ks)
        if row is not None:
            cands = [self._lb.entry(row).candidate]
            if cands[0].blueprint.picks_k:
                raise DataValidationError([Problem(
                    "picks_k", "row", f"row {row} ({cands[0].name}) chooses k itself; rerun a "
                    "row of a blueprint that takes n_clusters")])
        else:
            cands = [c for c in self._candidates.values() if not c.blueprint.picks_k]
        before = len(self._lb.entries)
        tasks = []
        for cand in cands:
            tasks += self._k_tasks(cand, ks, report)
        self._lb.run(tasks, self._engine, self._context)
        self.leaderboard_ = self._frame()
        return self.leaderboard_[self.leaderboard_["row"] >= before]

    @property
    def cache_stats_(self) -> dict:
        """How many featurizations and DTW matrices were computed (reruns reuse them).
        Local engine only: a distributed engine's workers keep their own caches."""
        self._need_workspace("cache_stats_")
        return dict(self._ws.stats) if self._ws is not None else {}

    # ------------------------------------------------------------------ predict
    def predict(self, data, **columns) -> SegmentMapping:
        """Assign series (typically never seen in fit) to the fitted segments.

        ``data`` is read with the fit's column names, frequency and missing policy
        (override with keyword arguments such as ``id_col=...``).  Returns a
        :class:`SegmentMapping` whose rows have ``assigned_by == "predict"``.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("this Segmenter is not fitted yet; call fit first")
        args = {**self.data_args_, **columns}
        panel = self._read(data, **args)
        X = self.model_.featurize(panel)
        labels = self.model_.predict_features(X)
        meta = {**self._meta, "assigned": "predict", "n_series": panel.n_series,
                "data_fingerprint": panel.fingerprint()}
        return self._mapping(panel, self.model_.center_distances(X, labels), labels,
                             "predict", meta)

    # ------------------------------------------------------------------ insights / report
    def insights(self, data=None, names: dict | None = None, **kw):
        """Cluster insights, feature impact and feature associations of the chosen model
        (:class:`segmenter.insights.Insights`; ``kw``: ``sample``, ``n_repeats``,
        ``max_features``, ``random_state``).  ``data`` is needed only after
        :func:`segmenter.load`; ``names`` names segments, e.g. ``{0: "steady"}``."""
        from ..reporting.insights import Insights
        ins = Insights.from_segmenter(self, data=data, **kw)
        return ins.rename(names) if names else ins

    def report(self, path, data=None, forecaster=None, actuals=None, names=None,
               insights=None):
        """Write one self-contained HTML report (leaderboard, insights, impact,
        associations, plots; forecasting results when ``forecaster`` is a fitted
        :class:`~segmenter.SegmentedForecaster`, with ``actuals`` over its horizon when
        given).  Returns the path.  See :mod:`segmenter.report`."""
        from ..reporting.report import write_report
        return write_report(self, path, data=data, forecaster=forecaster, actuals=actuals,
                            names=names, insights=insights)

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        state = dict(self.__dict__)
        from ..engine.base import saveable_engine
        for key in ("_ws", "_lb", "_candidates", "_panel", "_engine", "_context", "_needed"):
            state.pop(key, None)
        state["engine"] = saveable_engine(self.engine)
        return state

    def save(self, path) -> "Path":
        """Write the fitted segmenter to ``path`` (read it back with ``segmenter.load``).

        The file keeps the leaderboard, the mapping and the chosen model; the training
        data and the caches are not saved (``rerun`` and ``choose`` need ``fit`` again).
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("this Segmenter is not fitted yet; call fit before save")
        return persistence.save(self, path)

    def __repr__(self) -> str:
        fitted = f", chosen row {self.chosen_row_}" if hasattr(self, "chosen_row_") else ""
        return (f"Segmenter(n_clusters={self.n_clusters!r}, blueprints={self.blueprints!r}"
                f"{fitted})")
