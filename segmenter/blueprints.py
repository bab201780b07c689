"""Blueprints: named recipes featurizer -> preprocessing -> clusterer.

A :class:`Blueprint` says how to describe every series (its *representation*: shape
arrays, summary features or one velocity statistic), how to prepare it, and which
clusterer to run for a given k.  :data:`CATALOGUE` holds the default recipes; build one
from a short spec with :func:`make_blueprint`, e.g. ``make_blueprint("dtw_kmeans(band=0.2)")``,
or wrap any scikit-learn clusterer with :meth:`Blueprint.from_estimator`.

Fitting a blueprint returns a :class:`FittedBlueprint` that remembers everything the
featurization learned (e.g. the common resampling length) so ``predict`` on new series
uses the same representation.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from sklearn.base import clone
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture

from . import features as F
from .clusterers import (DTWAgglomerative, DTWHDBSCAN, DTWKMeans, DTWKMedoids,
                         FeatureClusterer, VelocityClusterer)
from .errors import DataValidationError, Problem

__all__ = ["Blueprint", "FittedBlueprint", "CATALOGUE", "make_blueprint", "QUICK", "DEFAULT"]

# parameters that belong to the featurizer rather than the clusterer
_FEATURIZER_PARAMS = {"window", "season_length", "length", "normalize", "columns"}


def _pct(band) -> str:
    if band is None:
        return "no band"
    if isinstance(band, float):
        return f"band {band:.0%}"
    return f"band radius {band}"


@dataclass
class Blueprint:
    """A named clustering recipe.

    Parameters
    ----------
    name : str
        Catalogue name (or the user's name); the leaderboard shows it and
        ``Segmenter(blueprints=[...])`` accepts it.
    representation : {"shape", "summary", "velocity"}
    factory : callable(k, random_state, **params) -> estimator
    params : dict
        Overrides, split between featurizer (``window``, ``season_length``,
        ``length``, ``normalize``, ``columns``) and clusterer.
    picks_k : bool
        True when the clusterer chooses the number of clusters itself (HDBSCAN).
    steps : str
        Words for the recipe, ``{k}`` and parameter names are formatted in.
    """

    name: str
    representation: str
    factory: Callable[..., Any]
    params: dict = field(default_factory=dict)
    picks_k: bool = False
    steps: str = ""
    defaults: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.name.split("_")[0] if self.representation != "velocity" else "velocity"

    def _all_params(self) -> dict:
        return {**self.defaults, **self.params}

    def featurizer_params(self) -> dict:
        return {k: v for k, v in self._all_params().items() if k in _FEATURIZER_PARAMS}

    def clusterer_params(self) -> dict:
        return {k: v for k, v in self._all_params().items() if k not in _FEATURIZER_PARAMS}

    def describe(self, k: int | None = None) -> str:
        """The recipe in words, e.g. ``z-normalise → DTW, band 10% → k-means with DBA ...``."""
        p = dict(self._all_params())
        p["band"] = _pct(p.get("band"))
        if p.get("window", 0) is None:
            p["window"] = "all history"
        text = self.steps.format(**p)
        if self.picks_k:
            return text + " (chooses k)"
        return text + (f", k={k}" if k is not None else "")

    def with_params(self, **params) -> "Blueprint":
        return Blueprint(self.name, self.representation, self.factory,
                         {**self.params, **params}, self.picks_k, self.steps, self.defaults)

    # --------------------------------------------------------------- featurize / fit
    def featurize(self, panel, state: dict | None = None):
        """Representation of every series of ``panel``.

        ``state`` carries what an earlier fit learned (e.g. the resampling length); when
        None it is learned from ``panel`` and returned with the features.
        """
        fp = self.featurizer_params()
        state = dict(state or {})
        if self.representation == "shape":
            length = fp.get("length")
            if length == "median":
                length = state.get("length")
                if length is None:
                    obs = panel.n_observed
                    length = int(max(2, np.median(obs[obs > 0]))) if (obs > 0).any() else 2
                state["length"] = length
            return F.shape_series(panel, normalize=fp.get("normalize", "z"), length=length,
                                  columns=fp.get("columns")), state
        if self.representation == "summary":
            X = F.summary_features(panel, season_length=fp.get("season_length"))
            return X.to_numpy(), state
        if self.representation == "velocity":
            X = F.velocity_features(panel, window=fp.get("window"))
            return X.to_numpy(), state
        raise DataValidationError([Problem("bad_representation", "representation",
                                           f"unknown representation {self.representation!r}")])

    def make_estimator(self, k: int | None, random_state=None):
        return self.factory(k, random_state, **self.clusterer_params())

    def fit(self, panel, k: int | None = None, random_state=None, features=None,
            **fit_kw) -> "FittedBlueprint":
        """Featurize ``panel`` (or use ``features=(X, state)``) and fit the clusterer."""
        X, state = features if features is not None else self.featurize(panel)
        est = self.make_estimator(k, random_state)
        est.fit(X, **fit_kw)
        return FittedBlueprint(self, k, est, state)

    @classmethod
    def from_estimator(cls, name: str, estimator, representation: str = "summary",
                       steps: str | None = None) -> "Blueprint":
        """A blueprint from any scikit-learn clusterer, on summary or velocity features.

        The estimator is cloned per fit, wrapped in :class:`FeatureClusterer` (median
        imputation, standard scaling, nearest-centroid ``predict`` when the estimator has
        none), and gets ``n_clusters``/``n_components`` = k and ``random_state`` when it
        has those parameters.
        """
        if representation not in ("summary", "velocity"):
            raise DataValidationError([Problem(
                "bad_representation", "representation", "user estimators run on 'summary' "
                "or 'velocity' features")])
        params = estimator.get_params()
        picks = not any(p in params for p in ("n_clusters", "n_components"))

        def factory(k, rs, **kw):
            return FeatureClusterer(clone(estimator), n_clusters=None if picks else k,
                                    random_state=rs)
        return cls(name, representation, factory, picks_k=picks,
                   steps=steps or f"{representation} features → impute, scale → "
                                  f"{type(estimator).__name__}")


@dataclass
class FittedBlueprint:
    """A blueprint fitted for one k: labels of the fitted series and ``predict`` for new ones."""

    blueprint: Blueprint
    k: int | None
    estimator: Any
    state: dict

    @property
    def labels_(self) -> np.ndarray:
        return np.asarray(self.estimator.labels_, dtype=np.int64)

    @property
    def n_clusters_(self) -> int:
        return int(getattr(self.estimator, "n_clusters_", len(np.unique(self.labels_))))

    def predict(self, panel) -> np.ndarray:
        X, _ = self.blueprint.featurize(panel, self.state)
        return np.asarray(self.estimator.predict(X), dtype=np.int64)

    def describe(self) -> str:
        return self.blueprint.describe(self.k)


# ---------------------------------------------------------------------------- catalogue
def _tslearn(cls_name):
    def factory(k, rs, **kw):
        from .adapters import tslearn_bridge
        return getattr(tslearn_bridge, cls_name)(n_clusters=k, random_state=rs, **kw)
    return factory


def _feature(make):
    def factory(k, rs, **kw):
        return FeatureClusterer(make(**kw), n_clusters=k, random_state=rs)
    return factory


def _velocity(col):
    def factory(k, rs, **kw):
        return VelocityClusterer(n_clusters=k, column=col)
    return factory


CATALOGUE: dict[str, Blueprint] = {}


def _add(bp: Blueprint):
    CATALOGUE[bp.name] = bp


_add(Blueprint("dtw_kmeans", "shape", lambda k, rs, **kw: DTWKMeans(k, random_state=rs, **kw),
               defaults={"band": 0.1},
               steps="z-normalise → DTW, {band} → k-means with DBA barycenters"))
_add(Blueprint("dtw_kmedoids", "shape", lambda k, rs, **kw: DTWKMedoids(k, random_state=rs, **kw),
               defaults={"band": 0.1}, steps="z-normalise → DTW, {band} → k-medoids"))
_add(Blueprint("dtw_agglomerative", "shape", lambda k, rs, **kw: DTWAgglomerative(k, **kw),
               defaults={"band": 0.1, "linkage": "average"},
               steps="z-normalise → DTW, {band} → agglomerative ({linkage} linkage), "
                     "predict by nearest medoid"))
_add(Blueprint("dtw_hdbscan", "shape", lambda k, rs, **kw: DTWHDBSCAN(**kw), picks_k=True,
               defaults={"band": 0.1},
               steps="z-normalise → DTW, {band} → HDBSCAN, noise to nearest medoid"))
_add(Blueprint("softdtw_kmeans", "shape", _tslearn("SoftDTWKMeans"),
               defaults={"length": "median", "gamma": 1.0},
               steps="z-normalise, resample to median length → soft-DTW (gamma {gamma}) "
                     "k-means (tslearn)"))
_add(Blueprint("kshape", "shape", _tslearn("KShapeClusterer"), defaults={"length": "median"},
               steps="z-normalise, resample to median length → k-Shape (tslearn)"))
_add(Blueprint("features_kmeans", "summary", _feature(lambda **kw: KMeans(n_init=10, **kw)),
               steps="summary features → median-impute, standardise → k-means"))
_add(Blueprint("features_gmm", "summary",
               _feature(lambda **kw: GaussianMixture(covariance_type=kw.pop("covariance_type", "diag"),
                                                     n_init=3, **kw)),
               steps="summary features → median-impute, standardise → Gaussian mixture"))
_add(Blueprint("features_ward", "summary",
               _feature(lambda **kw: AgglomerativeClustering(linkage="ward", **kw)),
               steps="summary features → median-impute, standardise → Ward agglomerative, "
                     "predict by nearest centroid"))
_add(Blueprint("features_hdbscan", "summary",
               lambda k, rs, **kw: FeatureClusterer(HDBSCAN(min_cluster_size=kw.pop("min_cluster_size", 5),
                                                            copy=True, **kw)),
               picks_k=True,
               steps="summary features → median-impute, standardise → HDBSCAN, noise to "
                     "nearest centroid"))
for _i, _stat in enumerate(F.VELOCITY_STATS):
    _add(Blueprint(f"velocity_{_stat}", "velocity", _velocity(_i),
                   steps=f"velocity statistic '{_stat}' (window {{window}}) → equal-frequency "
                         "quantile bins", defaults={"window": None}))

#: Blueprints of the "quick" mode: one per family, the cheap ones.
QUICK = ["dtw_kmeans", "features_kmeans", "velocity_mean", "velocity_std"]
#: Blueprints of the "default" (comprehensive) mode: the whole catalogue.
DEFAULT = list(CATALOGUE)

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def make_blueprint(spec: "str | Blueprint", **params) -> Blueprint:
    """Build a blueprint from a catalogue name or short spec.

    Examples
    --------
    >>> make_blueprint("dtw_kmeans(band=0.2)").describe(6)
    'z-normalise → DTW, band 20% → k-means with DBA barycenters, k=6'
    >>> make_blueprint("velocity_mean", window=8).describe(3)
    "velocity statistic 'mean' (window 8) → equal-frequency quantile bins, k=3"
    >>> make_blueprint("velocity_cv").describe(3)
    "velocity statistic 'cv' (window all history) → equal-frequency quantile bins, k=3"
    """
    if isinstance(spec, Blueprint):
        return spec.with_params(**params) if params else spec
    m = _SPEC.match(str(spec))
    if not m or m.group(1) not in CATALOGUE:
        raise DataValidationError([Problem(
            "unknown_blueprint", "blueprints",
            f"{spec!r} is not a blueprint spec; use one of {sorted(CATALOGUE)}, optionally "
            "with parameters, e.g. 'dtw_kmeans(band=0.2)'")])
    kw = {}
    if m.group(2):
        try:
            call = ast.parse(f"f({m.group(2)})", mode="eval").body
            kw = {a.arg: ast.literal_eval(a.value) for a in call.keywords}
            if call.args:
                raise ValueError("positional arguments")
        except (SyntaxError, ValueError) as exc:
            raise DataValidationError([Problem(
                "bad_blueprint_spec", "blueprints", f"cannot read the parameters of {spec!r} "
                f"({exc}); write them as name=value, e.g. 'dtw_kmeans(band=0.2)'")]) from None
    return CATALOGUE[m.group(1)].with_params(**kw, **params)
