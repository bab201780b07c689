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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform
from sklearn.base import clone
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture

from .. import features
from .._safe_pickle import trust_factory
from .._spec import format_spec, parse_spec
from ..base import get_tag, get_tags
from ..distances import _dtw_kernels as K
from ..distances.dtw import band_radius
from ..errors import DataValidationError, Problem
from .clusterers import (
    DTWHDBSCAN,
    DTWAgglomerative,
    DTWKMeans,
    DTWKMedoids,
    FeatureClusterer,
    KShapeClusterer,
    VelocityClusterer,
)

__all__ = [
    "Blueprint",
    "FittedBlueprint",
    "CATALOGUE",
    "make_blueprint",
    "register",
    "QUICK",
    "DEFAULT",
]

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
    def spec(self) -> str:
        """The short spec that :func:`make_blueprint` and ``Segmenter(blueprints=[...])``
        accept, e.g. ``'dtw_kmeans'`` or ``'dtw_kmeans(band=0.2)'``."""
        return format_spec(self.name, self.params)

    def get_tags(self) -> dict:
        """Capability tags (:mod:`segmenter.base`): the clusterer class's, plus
        ``representation``, ``geometry`` (``"dtw"`` for shape blueprints, ``"statistic"``
        for velocity ones, ``"euclidean"`` on scaled features otherwise) and ``picks_k``."""
        est = self.make_estimator(None if self.picks_k else 2, 0)
        geometry = {"shape": "dtw", "velocity": "statistic"}.get(
            self.representation, "euclidean"
        )
        return {
            **get_tags(est),
            "representation": self.representation,
            "geometry": geometry,
            "picks_k": self.picks_k,
        }

    @property
    def geometry(self) -> str:
        """Where the blueprint's distances live (its ``geometry`` tag)."""
        return self.get_tags()["geometry"]

    def feature_names(self) -> list[str] | None:
        """Names of the feature columns the clusterer reads (None for shape blueprints,
        whose input is time points)."""
        if self.representation == "summary":
            return list(features.SUMMARY_FEATURES)
        if self.representation == "velocity":
            return [f"velocity_{s}" for s in features.VELOCITY_STATS]
        if self.representation == "catch22":
            from sktime.transformations.catch22 import CATCH22_SHORT_FEATURE_NAMES

            return list(CATCH22_SHORT_FEATURE_NAMES)
        return None

    @property
    def family(self) -> str:
        return (
            self.name.split("_")[0] if self.representation != "velocity" else "velocity"
        )

    def _all_params(self) -> dict:
        return {**self.defaults, **self.params}

    def featurizer_params(self) -> dict:
        return {k: v for k, v in self._all_params().items() if k in _FEATURIZER_PARAMS}

    def clusterer_params(self) -> dict:
        return {
            k: v for k, v in self._all_params().items() if k not in _FEATURIZER_PARAMS
        }

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

    def with_params(self, **params) -> Blueprint:
        return Blueprint(
            self.name,
            self.representation,
            self.factory,
            {**self.params, **params},
            self.picks_k,
            self.steps,
            self.defaults,
        )

    # --------------------------------------------------------------- featurize / fit
    def featurize(self, panel, state: dict | None = None):
        """Representation of every series of ``panel``.

        ``state`` carries what an earlier fit learned (e.g. the resampling length); when
        None it is learned from ``panel`` and returned with the features.
        """
        fp = self.featurizer_params()
        state = dict(self.panel_state(panel) if state is None else state)
        if self.representation == "shape":
            length = fp.get("length")
            if length == "median":
                length = state.get("length") or self.panel_state(panel)["length"]
                state["length"] = length
            return features.shape_series(
                panel,
                normalize=fp.get("normalize", "z"),
                length=length,
                columns=fp.get("columns"),
            ), state
        if self.representation == "summary":
            X = features.summary_features(panel, season_length=fp.get("season_length"))
            return X.to_numpy(), state
        if self.representation == "velocity":
            X = features.velocity_features(panel, window=fp.get("window"))
            return X.to_numpy(), state
        if self.representation == "catch22":
            return features.catch22_features(panel).to_numpy(), state
        raise DataValidationError(
            [
                Problem(
                    "bad_representation",
                    "representation",
                    f"unknown representation {self.representation!r}",
                )
            ]
        )

    def panel_state(self, panel) -> dict:
        """What :meth:`featurize` learns from the whole set of series (the resampling
        length of ``length="median"``); needs only ``panel.n_observed``, so it also
        works on the client's summary of series held in chunks."""
        if (
            self.representation == "shape"
            and self.featurizer_params().get("length") == "median"
        ):
            obs = panel.n_observed
            return {
                "length": int(max(2, np.median(obs[obs > 0]))) if (obs > 0).any() else 2
            }
        return {}

    def make_estimator(self, k: int | None, random_state=None):
        return self.factory(k, random_state, **self.clusterer_params())

    def fit(
        self, panel, k: int | None = None, random_state=None, features=None, **fit_kw
    ) -> FittedBlueprint:
        """Featurize ``panel`` (or use ``features=(X, state)``) and fit the clusterer."""
        X, state = features if features is not None else self.featurize(panel)
        est = self.make_estimator(k, random_state)
        est.fit(X, **fit_kw)
        if get_tag(est, "input") == "series":
            state = {**state, "radius": self.radius_for(X, est)}
        return FittedBlueprint(self, k, est, state)

    def radius_for(self, X, estimator=None) -> int:
        """The DTW band radius of this blueprint's geometry on shape features ``X``.

        The estimator's own radius when it has one (DTW clusterers), else the
        blueprint's ``band`` (default 10%) on the longest series of ``X``.
        """
        if estimator is not None and hasattr(estimator, "radius_"):
            return int(estimator.radius_)
        band = self._all_params().get("band", 0.1)
        return band_radius(band, int(X.lengths.max()) if len(X) else 1)

    @classmethod
    def from_estimator(
        cls,
        name: str,
        estimator,
        representation: str = "summary",
        steps: str | None = None,
    ) -> Blueprint:
        """A blueprint from any scikit-learn clusterer, on summary or velocity features.

        The estimator is cloned per fit, wrapped in :class:`FeatureClusterer` (median
        imputation, standard scaling, nearest-centroid ``predict`` when the estimator has
        none), and gets ``n_clusters``/``n_components`` = k and ``random_state`` when it
        has those parameters.
        """
        if representation not in ("summary", "velocity"):
            raise DataValidationError(
                [
                    Problem(
                        "bad_representation",
                        "representation",
                        "user estimators run on 'summary' or 'velocity' features",
                    )
                ]
            )
        params = estimator.get_params()
        picks = not any(p in params for p in ("n_clusters", "n_components"))
        return cls(
            name,
            representation,
            partial(_user_estimator, clone(estimator), picks),
            picks_k=picks,
            steps=steps
            or f"{representation} features → impute, scale → "
            f"{type(estimator).__name__}",
        )


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

    @property
    def geometry(self) -> str:
        """The blueprint's geometry tag."""
        return self.blueprint.geometry

    @property
    def radius(self) -> int | None:
        """DTW band radius of the geometry (shape blueprints), else None."""
        return self.state.get("radius")

    def featurize(self, panel):
        """Features of ``panel``'s series as this fitted blueprint sees them."""
        return self.blueprint.featurize(panel, self.state)[0]

    def predict(self, panel) -> np.ndarray:
        """Segments of the series of ``panel`` (series never seen in fit allowed)."""
        return self.predict_features(self.featurize(panel))

    def predict_features(self, X) -> np.ndarray:
        return np.asarray(self.estimator.predict(X), dtype=np.int64)

    def assign(self, X) -> tuple[np.ndarray, np.ndarray, dict]:
        """Segments of series ``X``, their :meth:`center_distances` and what the search
        cost: for the numba DTW clusterers the pruned nearest-center search (whose
        distances are the ones to the chosen center) and its counts (see
        :meth:`segmenter.clustering.clusterers.DTWKMeans.nearest`), else ``predict`` and ``{}``."""
        if hasattr(self.estimator, "nearest"):
            return self.estimator.nearest(X)
        labels = self.predict_features(X)
        return labels, self.center_distances(X, labels), {}

    def center_distances(self, X, labels) -> np.ndarray:
        """Distance of each series to the center (barycenter, medoid, centroid, bin median)
        of its segment, in the blueprint's geometry."""
        return np.asarray(self.estimator.center_distances(X, labels), dtype=np.float64)

    def embed(self, X):
        """Series as rows of a Euclidean space, or None when there is none.

        Feature blueprints: imputed, standardised features (velocity: the statistic).
        Shape blueprints: the concatenated values when all series have one length
        (then Euclidean distance is DTW with radius 0), else None.
        """
        if get_tag(self.estimator, "input") == "matrix":
            return self.estimator.embed(X)
        lengths = X.lengths
        if len(lengths) and (lengths == lengths[0]).all():
            return X.data.reshape(len(X), -1)
        return None

    def pairwise(self, X) -> np.ndarray:
        """Distance matrix of series ``X`` in the blueprint's geometry (DTW or Euclidean)."""
        if self.geometry == "dtw":
            return np.sqrt(K.pairwise_sq(X.data, X.offsets, self.radius))
        return squareform(pdist(self.embed(X)))

    def cross(self, X, Y) -> np.ndarray:
        """Distances between series ``X`` (rows) and ``Y`` (columns) in the geometry."""
        if self.geometry == "dtw":
            return np.sqrt(
                K.cross_sq(X.data, X.offsets, Y.data, Y.offsets, self.radius)
            )
        return cdist(self.embed(X), self.embed(Y))

    def describe(self) -> str:
        return self.blueprint.describe(self.k)


# ---------------------------------------------------------------------------- catalogue
# Factories are module-level functions (or partials of them) so that blueprints and
# fitted models pickle (``Segmenter.save``).
def _dtw_kmeans(k, rs, **kw):
    return DTWKMeans(k, random_state=rs, **kw)


def _dtw_kmedoids(k, rs, **kw):
    return DTWKMedoids(k, random_state=rs, **kw)


def _dtw_agglomerative(k, rs, **kw):
    return DTWAgglomerative(k, **kw)


def _dtw_hdbscan(k, rs, **kw):
    return DTWHDBSCAN(**kw)


def _tslearn(cls_name, k, rs, **kw):
    import warnings

    with warnings.catch_warnings():  # tslearn warns at import that h5py is missing
        warnings.filterwarnings("ignore", message=".*h5py.*")
        from ..adapters import tslearn_bridge
    return getattr(tslearn_bridge, cls_name)(n_clusters=k, random_state=rs, **kw)


def _kshape(k, rs, **kw):
    return KShapeClusterer(k, random_state=rs, **kw)


def _kmeans(**kw):
    return KMeans(n_init=10, **kw)


def _gmm(**kw):
    return GaussianMixture(
        covariance_type=kw.pop("covariance_type", "diag"), n_init=3, **kw
    )


def _ward(**kw):
    return AgglomerativeClustering(linkage="ward", **kw)


def _feature(make, k, rs, **kw):
    return FeatureClusterer(make(**kw), n_clusters=k, random_state=rs)


def _features_hdbscan(k, rs, **kw):
    return FeatureClusterer(
        HDBSCAN(min_cluster_size=kw.pop("min_cluster_size", 5), copy=True, **kw)
    )


def _velocity(col, k, rs, **kw):
    if kw:
        raise TypeError(
            f"velocity blueprints take no clusterer parameters, got {sorted(kw)}"
        )
    return VelocityClusterer(n_clusters=k, column=col)


def _user_estimator(estimator, picks, k, rs, **kw):
    est = clone(estimator)
    if kw:
        est.set_params(**kw)
    return FeatureClusterer(est, n_clusters=None if picks else k, random_state=rs)


#: The factories a saved blueprint may name: the only functions of segmenter that
#: loading a model file is allowed to call (:mod:`segmenter.persistence`).
TRUSTED_FACTORIES = (
    _dtw_kmeans,
    _dtw_kmedoids,
    _dtw_agglomerative,
    _dtw_hdbscan,
    _tslearn,
    _kshape,
    _kmeans,
    _gmm,
    _ward,
    _feature,
    _features_hdbscan,
    _velocity,
    _user_estimator,
)
for _factory in TRUSTED_FACTORIES:
    trust_factory(_factory)

CATALOGUE: dict[str, Blueprint] = {}


def register(blueprint: Blueprint, replace: bool = False) -> Blueprint:
    """Add a blueprint to :data:`CATALOGUE` so that its name works as a spec.

    After ``register(bp)``, ``Segmenter(blueprints=[bp.name])`` and
    ``make_blueprint(bp.name)`` find it.  Names already taken raise unless
    ``replace=True``.
    """
    if blueprint.name in CATALOGUE and not replace:
        raise DataValidationError(
            [
                Problem(
                    "duplicate_blueprint",
                    "blueprints",
                    f"a blueprint named {blueprint.name!r} is "
                    "already in the catalogue; choose another name or pass replace=True",
                )
            ]
        )
    CATALOGUE[blueprint.name] = blueprint
    return blueprint


register(
    Blueprint(
        "dtw_kmeans",
        "shape",
        _dtw_kmeans,
        defaults={"band": 0.1},
        steps="z-normalise → DTW, {band} → k-means with DBA barycenters",
    )
)
register(
    Blueprint(
        "dtw_kmedoids",
        "shape",
        _dtw_kmedoids,
        defaults={"band": 0.1},
        steps="z-normalise → DTW, {band} → k-medoids",
    )
)
register(
    Blueprint(
        "dtw_agglomerative",
        "shape",
        _dtw_agglomerative,
        defaults={"band": 0.1, "linkage": "average"},
        steps="z-normalise → DTW, {band} → agglomerative ({linkage} linkage), "
        "predict by nearest medoid",
    )
)
register(
    Blueprint(
        "dtw_hdbscan",
        "shape",
        _dtw_hdbscan,
        picks_k=True,
        defaults={"band": 0.1},
        steps="z-normalise → DTW, {band} → HDBSCAN, noise to nearest medoid",
    )
)
register(
    Blueprint(
        "softdtw_kmeans",
        "shape",
        partial(_tslearn, "SoftDTWKMeans"),
        defaults={"length": "median", "gamma": 1.0},
        steps="z-normalise, resample to median length → soft-DTW (gamma {gamma}) "
        "k-means (tslearn)",
    )
)
register(
    Blueprint(
        "kshape",
        "shape",
        _kshape,
        defaults={"length": "median"},
        steps="z-normalise, resample to median length → k-Shape",
    )
)
register(
    Blueprint(
        "features_kmeans",
        "summary",
        partial(_feature, _kmeans),
        steps="summary features → median-impute, standardise → k-means",
    )
)
register(
    Blueprint(
        "features_gmm",
        "summary",
        partial(_feature, _gmm),
        steps="summary features → median-impute, standardise → Gaussian mixture",
    )
)
register(
    Blueprint(
        "features_ward",
        "summary",
        partial(_feature, _ward),
        steps="summary features → median-impute, standardise → Ward agglomerative, "
        "predict by nearest centroid",
    )
)
register(
    Blueprint(
        "features_hdbscan",
        "summary",
        _features_hdbscan,
        picks_k=True,
        steps="summary features → median-impute, standardise → HDBSCAN, noise to "
        "nearest centroid",
    )
)
register(
    Blueprint(
        "catch22_kmeans",
        "catch22",
        partial(_feature, _kmeans),
        steps="z-normalise → catch22 shape features (sktime) → median-impute, "
        "standardise → k-means",
    )
)
for _i, _stat in enumerate(features.VELOCITY_STATS):
    register(
        Blueprint(
            f"velocity_{_stat}",
            "velocity",
            partial(_velocity, _i),
            steps=f"velocity statistic '{_stat}' (window {{window}}) → equal-frequency "
            "quantile bins",
            defaults={"window": None},
        )
    )

#: Blueprints of the "quick" mode: one per family, the cheap ones.
QUICK = ["dtw_kmeans", "features_kmeans", "velocity_mean", "velocity_std"]
#: Blueprints of the "default" (comprehensive) mode: the catalogue except soft-DTW
#: k-means, which costs about 20 s per fit on 243 series of length 80 (tslearn computes
#: soft-DTW pair by pair from Python); ``Segmenter(blueprints="all")`` includes it.
DEFAULT = [n for n in CATALOGUE if n != "softdtw_kmeans"]


def make_blueprint(spec: str | Blueprint, **params) -> Blueprint:
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
    name, kw = parse_spec(
        spec, CATALOGUE, "blueprint", "blueprints", "dtw_kmeans(band=0.2)"
    )
    bp = CATALOGUE[name].with_params(**kw, **params)
    try:  # unknown parameters fail here, not mid-run
        bp.make_estimator(2 if not bp.picks_k else None, 0)
    except TypeError as exc:
        raise DataValidationError(
            [
                Problem(
                    "bad_blueprint_params",
                    "blueprints",
                    f"{spec!r}: {exc}; the featurizer takes "
                    f"{sorted(_FEATURIZER_PARAMS)}, the clusterer its own parameters",
                )
            ]
        ) from None
    return bp
