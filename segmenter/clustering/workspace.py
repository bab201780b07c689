"""What a clustering leaderboard computes on: the cached featurizations and DTW matrices
of one set of series (:class:`Workspace`), and a blueprint as a leaderboard candidate
(:class:`ClusteringCandidate`: fit on a fold's training series, score the silhouette of
its validation series in the blueprint's own geometry)."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from ..base import get_tag
from ..data.panel import Panel
from ..data.series import SeriesSet
from ..distances import _dtw_kernels as K
from ..selection.folds import SeriesFold
from ..selection.scoring import silhouette, silhouette_against
from .blueprints import Blueprint, FittedBlueprint
from .constraints import check_segment_count

__all__ = ["Workspace", "ClusteringCandidate", "take"]


def take(X, idx):
    """Rows ``idx`` of a feature matrix, or series ``idx`` of a :class:`SeriesSet`."""
    return (
        X.take(idx) if isinstance(X, SeriesSet) else X[np.asarray(idx, dtype=np.int64)]
    )


class Workspace:
    """The cached featurizations and DTW distance matrices of the series of ``panel``.

    ``states`` holds what featurizers learned from all series (by feature key) when the
    panel is only a sample of them.  ``stats`` counts the work done (``featurize``,
    ``dtw_matrices``) so reruns can show (and tests assert) that nothing was recomputed.
    """

    def __init__(self, panel: Panel, states: dict | None = None):
        self.panel = panel
        self.states = states or {}
        self._features: dict = {}
        self._dist: dict = {}
        self.stats: Counter = Counter()

    @staticmethod
    def feature_key(bp: Blueprint) -> tuple:
        return (
            bp.representation,
            tuple(sorted((k, repr(v)) for k, v in bp.featurizer_params().items())),
        )

    def features(self, bp: Blueprint):
        """``(X, state)``: the blueprint's representation of every series (cached)."""
        key = self.feature_key(bp)
        if key not in self._features:
            self.stats["featurize"] += 1
            self._features[key] = bp.featurize(self.panel, self.states.get(key))
        return self._features[key]

    def dtw(
        self, bp: Blueprint, radius: int, idx: np.ndarray, tag: tuple
    ) -> np.ndarray:
        """DTW distance matrix of the series at ``idx`` (cached under ``tag``)."""
        key = (self.feature_key(bp), int(radius), tag)
        if key not in self._dist:
            X = take(self.features(bp)[0], idx)
            self.stats["dtw_matrices"] += 1
            self._dist[key] = np.sqrt(K.pairwise_sq(X.data, X.offsets, int(radius)))
        return self._dist[key]


#: Workspaces of the sampled series kept by a worker process of a distributed engine,
#: by token (at most two: one fit at a time, plus the one before).
_WORKER_WS: dict = {}


def worker_workspace(token: str, panel: Panel, states: dict) -> Workspace:
    """The workspace of ``token`` in this worker process (built on first use)."""
    ws = _WORKER_WS.get(token)
    if ws is None:
        while len(_WORKER_WS) >= 2:
            _WORKER_WS.pop(next(iter(_WORKER_WS)))
        ws = _WORKER_WS[token] = Workspace(panel, states)
    return ws


class ClusteringCandidate:
    """A blueprint on the clustering leaderboard (the leaderboard's candidate protocol:
    ``fit(fold, n_clusters)`` and ``score(model, fold, n_clusters)``)."""

    def __init__(
        self,
        blueprint: Blueprint,
        ws: Workspace | None,
        random_state,
        max_segments: int,
    ):
        self.blueprint = blueprint
        self.name = blueprint.spec
        self.ws = ws
        self.random_state = random_state
        self.max_segments = max_segments
        self.uses_matrix = bool(get_tag(blueprint, "requires:distance_matrix"))
        self.dtw_geometry = get_tag(blueprint, "geometry") == "dtw"

    def describe(self, n_clusters=None) -> str:
        return self.blueprint.describe(n_clusters)

    def __getstate__(self):
        return {**self.__dict__, "ws": None}  # a worker binds its own (see bind)

    def bind(self, context) -> None:
        """Work on a distributed engine's worker: ``context`` is ``(token, panel of the
        sampled series, featurizer states)``; None unbinds."""
        self.ws = None if context is None else worker_workspace(*context)

    # ------------------------------------------------------------------ fitting
    def fit_on(self, idx: np.ndarray, k, tag: tuple) -> FittedBlueprint:
        """The blueprint fitted with ``k`` clusters on the series at ``idx``; ``tag``
        names that set of series for the DTW matrix cache."""
        X, state = self.ws.features(self.blueprint)
        Xf = take(X, idx)
        kw = {}
        if self.uses_matrix:
            kw["distance_matrix"] = self.ws.dtw(
                self.blueprint, self.blueprint.radius_for(Xf), idx, tag
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.blueprint.fit(
                None, k, self.random_state, features=(Xf, state), **kw
            )

    def fit(self, fold: SeriesFold, n_clusters=None) -> FittedBlueprint:
        return self.fit_on(fold.fit, n_clusters, (fold.name, "fit"))

    # ------------------------------------------------------------------ scoring
    def _distances(self, model: FittedBlueprint, idx, tag) -> np.ndarray:
        if self.dtw_geometry:
            return self.ws.dtw(self.blueprint, model.radius, idx, tag)
        return model.pairwise(take(self.ws.features(self.blueprint)[0], idx))

    def score(self, model: FittedBlueprint, fold: SeriesFold, n_clusters=None) -> dict:
        X = self.ws.features(self.blueprint)[0]
        k_found = model.n_clusters_
        check_segment_count(k_found, self.max_segments, "the blueprint found")
        lab_train = model.labels_
        out: dict = {}
        note = []
        if fold.kind == "holdout":
            lv = model.predict_features(take(X, fold.valid_sample))
            sil, why = silhouette(
                self._distances(model, fold.valid_sample, (fold.name, "valid_sample")),
                lv,
            )
            out["silhouette"] = sil
            if why:
                note.append("validation " + why)
        else:
            Xv, Xt = take(X, fold.valid), take(X, fold.fit)
            lv = model.predict_features(Xv)
            s = silhouette_against(model.cross(Xv, Xt), lv, lab_train)
            out["silhouette"] = float(s.mean()) if np.isfinite(s).all() else math.nan
            out["weight"] = float(len(s))
            if not np.isfinite(s).all():
                note.append(
                    "silhouette undefined: the training series form one segment"
                )
        # training metrics
        pos = np.searchsorted(fold.fit, fold.train_sample)
        tag = (
            (fold.name, "fit")
            if len(pos) == len(fold.fit)
            else (fold.name, "train_sample")
        )
        out["silhouette_train"] = silhouette(
            self._distances(model, fold.train_sample, tag), lab_train[pos]
        )[0]
        emb = model.embed(take(X, fold.fit))
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
        out["demoted"] = (
            f"{n_empty} of the {k_found} clusters are empty" if n_empty else ""
        )
        out["sizes"] = sizes.tolist()
        out["validation"] = (
            f"{len(fold.valid)} held-out series"
            if fold.kind == "holdout"
            else "cross-validated over series folds"
        )
        out["note"] = "; ".join(note)
        return out
