import numpy as np
import pytest
from conftest import planted_frame
from sklearn.utils.estimator_checks import check_estimator

import segmenter as sg
from segmenter.clustering.blueprints import (
    CATALOGUE,
    DEFAULT,
    Blueprint,
    make_blueprint,
)
from segmenter.clustering.clusterers import (
    DTWHDBSCAN,
    DTWAgglomerative,
    DTWKMeans,
    DTWKMedoids,
    FeatureClusterer,
    KShapeClusterer,
    VelocityClusterer,
)


def planted(n_per=8, length=40, seed=0, shapes=("sine", "ramp", "step")):
    """Panel of planted shapes with random warping, noise and level."""
    df, truth = planted_frame(n_per, length, seed, shapes)
    return sg.read_panel(df), truth


SHAPE_CLUSTERERS = [
    lambda: DTWKMeans(3, random_state=0),
    lambda: DTWKMedoids(3, random_state=0),
    lambda: DTWAgglomerative(3),
]


@pytest.mark.parametrize("make", SHAPE_CLUSTERERS, ids=["kmeans", "kmedoids", "agglo"])
def test_shape_clusterers_recover_planted_and_predict_unseen(make):
    from sklearn.metrics import adjusted_rand_score

    from segmenter.features import shape_series

    p, truth = planted()
    X = shape_series(p)
    m = make().fit(X)
    assert adjusted_rand_score(truth, m.labels_) == 1.0
    p2, truth2 = planted(n_per=3, seed=9)
    pred = m.predict(shape_series(p2))
    assert adjusted_rand_score(truth2, pred) == 1.0
    assert m.distances_.shape == (len(truth),) and np.all(m.distances_ >= 0)


def test_dtw_kmeans_deterministic_and_unequal_lengths():
    rng = np.random.default_rng(0)
    X = [np.cumsum(rng.normal(size=int(rng.integers(20, 40)))) for _ in range(20)]
    a = DTWKMeans(3, random_state=5).fit(X)
    b = DTWKMeans(3, random_state=5).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_.data, b.cluster_centers_.data)
    np.testing.assert_array_equal(a.predict(X), a.labels_)


def test_dtw_kmedoids_handles_identical_series_and_matches_predict():
    m = DTWKMedoids(3, random_state=0).fit([[0.0, 1, 2], [0.0, 1, 2], [2.0, 1, 0]])
    assert sorted(np.bincount(m.labels_).tolist()) == [1, 1, 1]
    rng = np.random.default_rng(1)
    X = [np.cumsum(rng.normal(size=30)) for _ in range(25)]
    for seed in range(10):
        km = DTWKMedoids(5, max_iter=1, n_init=2, random_state=seed).fit(X)
        np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_hdbscan_picks_k_and_assigns_noise():
    from segmenter.features import shape_series

    p, truth = planted(n_per=10)
    m = DTWHDBSCAN(min_cluster_size=5).fit(shape_series(p))
    assert m.n_clusters_ >= 2
    assert m.labels_.min() >= 0  # noise reassigned: every series has a segment
    assert m.predict(shape_series(p)).shape == truth.shape


def test_velocity_ties_and_coinciding_edges():
    v = VelocityClusterer(n_clusters=4).fit(np.array([[0.0]] * 6 + [[1.0], [2.0]]))
    assert v.empty_clusters_ and v.n_nonempty_ < 4
    assert set(v.labels_.tolist()) | set(v.empty_clusters_) == {0, 1, 2, 3}
    # a value equal to an inner edge goes to the upper bin
    v = VelocityClusterer(n_clusters=2).fit(np.array([[1.0], [2.0], [3.0]]))
    assert v.edges_[1] == 2.0 and v.labels_.tolist() == [0, 1, 1]
    # new series use the stored edges; NaN goes to the median's bin
    assert v.predict(np.array([[-5.0], [2.5], [np.nan], [99.0]])).tolist() == [
        0,
        1,
        1,
        1,
    ]


def _velocity_expected_failures():
    # Quantile bins of one column are not meant to find the blobs of sklearn's generic
    # clustering check (which needs ARI > 0.4 from all features).
    return {"check_clustering": "velocity bins one statistic; blobs need all features"}


@pytest.mark.parametrize(
    "est,xfail",
    [
        (FeatureClusterer(n_clusters=3, random_state=0), {}),
        (
            FeatureClusterer(
                __import__("sklearn.mixture", fromlist=["x"]).GaussianMixture(),
                n_clusters=3,
                random_state=0,
            ),
            {},
        ),
        (
            FeatureClusterer(
                __import__("sklearn.cluster", fromlist=["x"]).AgglomerativeClustering(
                    linkage="ward"
                ),
                n_clusters=3,
            ),
            {},
        ),
        (VelocityClusterer(n_clusters=3), _velocity_expected_failures()),
    ],
    ids=["kmeans", "gmm", "ward", "velocity"],
)
def test_sklearn_check_estimator(est, xfail):
    check_estimator(est, expected_failed_checks=xfail)


_ANY_LENGTH = (
    "DTW compares series of any length: a series of another length at predict or "
    "transform is by design, not an error"
)


@pytest.mark.parametrize(
    "est,xfail",
    [
        (DTWKMeans(n_clusters=3, random_state=0), None),
        (DTWKMedoids(n_clusters=3, random_state=0), None),
        (DTWAgglomerative(n_clusters=3), None),
        (DTWHDBSCAN(), None),
        (
            KShapeClusterer(n_clusters=2, random_state=0),
            {
                "check_clustering": "k-Shape compares z-normalised shapes; the check's blobs are "
                "series of length 2, which have only two shapes, so 3 clusters "
                "leave one empty"
            },
        ),
    ],
    ids=["dtw_kmeans", "dtw_kmedoids", "dtw_agglomerative", "dtw_hdbscan", "kshape"],
)
def test_sklearn_check_estimator_shape_clusterers(est, xfail):
    """The shape clusterers pass scikit-learn's checks on 2-D arrays (series of one
    length), except those listed with their reason."""
    if xfail is None:
        xfail = {
            "check_n_features_in_after_fitting": _ANY_LENGTH,
            "check_transformer_general": _ANY_LENGTH,
        }
    check_estimator(est, expected_failed_checks=xfail)


# ----------------------------------------------------------------- blueprints
FAST = [n for n in DEFAULT if n != "softdtw_kmeans"]


@pytest.mark.parametrize("name", FAST)
def test_every_blueprint_fits_predicts_and_is_deterministic(name):
    p, truth = planted(n_per=8)
    bp = make_blueprint(name)
    a = bp.fit(p, 3, random_state=0)
    b = bp.fit(p, 3, random_state=0)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert len(a.labels_) == p.n_series and a.labels_.min() >= 0
    new, _ = planted(n_per=2, seed=4)
    pred = a.predict(new)
    assert pred.shape == (new.n_series,) and pred.min() >= 0
    text = a.describe()
    assert "→" in text and (bp.picks_k or "k=3" in text)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["softdtw_kmeans", "kshape"])
def test_fixed_length_blueprints_recover_planted_and_predict(name):
    from sklearn.metrics import adjusted_rand_score

    p, truth = planted(n_per=6)
    fb = make_blueprint(name).fit(p, 3, random_state=0)
    assert adjusted_rand_score(truth, fb.labels_) > 0.5
    sub = p.subset(np.arange(0, p.n_series, 3))
    pred = fb.predict(sub)
    np.testing.assert_array_equal(pred, fb.labels_[np.arange(0, p.n_series, 3)])


def test_blueprint_specs_and_user_estimator():
    from sklearn.cluster import Birch

    bp = make_blueprint("dtw_kmeans(band=0.2, max_iter=5)")
    assert bp.clusterer_params() == {"band": 0.2, "max_iter": 5}
    assert "band 20%" in bp.describe(4)
    with pytest.raises(sg.DataValidationError, match="not a blueprint"):
        make_blueprint("dtw_kmeanz")
    with pytest.raises(sg.DataValidationError, match="name=value"):
        make_blueprint("dtw_kmeans(0.2)")
    user = Blueprint.from_estimator("birch", Birch())
    p, truth = planted()
    fb = user.fit(p, 3, random_state=0)
    assert fb.n_clusters_ == 3 and fb.predict(p).shape == truth.shape
    assert set(CATALOGUE) >= {
        "dtw_kmeans",
        "kshape",
        "dtw_kmedoids",
        "dtw_agglomerative",
        "dtw_hdbscan",
        "features_kmeans",
        "features_gmm",
        "features_ward",
        "velocity_mean",
        "softdtw_kmeans",
    }


def test_dtw_kmeans_pruned_search_equals_brute_force(monkeypatch):
    from segmenter.distances import _dtw_kernels as K

    df, _ = planted_frame(n_per=30, length=50, seed=4)
    X = [g["y"].to_numpy() for _, g in df.groupby("unique_id", sort=False)]
    X = [(x - x.mean()) / x.std() for x in X]
    pruned = DTWKMeans(n_clusters=3, band=0.1, random_state=0).fit(X)
    assert (
        pruned.pruning_["lb_kim"]
        + pruned.pruning_["lb_keogh"]
        + pruned.pruning_["abandoned"]
        > 0
    )

    def brute(data_x, off_x, data_c, off_c, radius, hint):
        sq = K.cross_sq(data_x, off_x, data_c, off_c, radius)
        lab = sq.argmin(axis=1)
        stats = np.zeros((len(lab), 4), dtype=np.int64)
        stats[:, 3] = sq.shape[1]
        return lab, sq[np.arange(len(lab)), lab], stats

    monkeypatch.setattr(K, "nearest_sq", brute)
    plain = DTWKMeans(n_clusters=3, band=0.1, random_state=0).fit(X)
    np.testing.assert_array_equal(pruned.labels_, plain.labels_)
    assert pruned.inertia_ == plain.inertia_ and pruned.n_iter_ == plain.n_iter_
    assert plain.pruning_["pruned_share"] == 0.0
    lab, dist, counts = pruned.nearest(X)
    np.testing.assert_array_equal(lab, plain.predict(X))
    np.testing.assert_allclose(dist, plain.transform(X).min(axis=1), rtol=0, atol=1e-12)
    assert sum(counts.values()) == len(X) * 3


def test_feature_clusterer_does_not_blow_up_rounding_noise():
    """A column constant up to rounding (the std of z-normalised series, 1 +- 1e-16)
    must not be scaled to unit variance, where its noise would outvote real features."""
    from segmenter.clustering.clusterers import FeatureClusterer

    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1], 30)
    informative = truth * 1.0 + rng.normal(scale=0.1, size=60)
    noise = 1.0 + rng.choice([-1, 1], size=60) * 1.1e-16 * (rng.random(60) < 0.5)
    X = np.column_stack([informative, noise, noise, noise])
    fc = FeatureClusterer(n_clusters=2, random_state=0).fit(X)
    assert abs(np.corrcoef(fc.labels_, truth)[0, 1]) == pytest.approx(1.0)
    assert (fc.scale_[1:] == 1.0).all()


def test_kshape_equals_tslearns_kshape_and_assigns_new_series():
    """Same algorithm and random start as tslearn's KShape: same labels, iterations and
    inertia on a real labelled set (GunPoint) for several seeds."""
    import warnings

    from sktime.datasets import load_gunpoint

    from segmenter.clustering.clusterers import KShapeClusterer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tslearn.clustering import KShape

        X, _ = load_gunpoint(return_type="numpy3D")
    X = X[:80, 0, :].astype(float)
    X = ((X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True))[:, :, None]
    for seed in (0, 1, 2):
        ref = KShape(n_clusters=3, random_state=seed).fit(X)
        ours = KShapeClusterer(3, random_state=seed).fit(X)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        assert ours.n_iter_ == ref.n_iter_
        assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
        np.testing.assert_allclose(
            ours.cluster_centers_, ref.cluster_centers_, atol=1e-8
        )
    # new series: shifted copies keep their segment; predict is transform's argmin
    shifted = np.roll(X[:10], 3, axis=1)
    np.testing.assert_array_equal(ours.predict(shifted), ours.labels_[:10])
    d = ours.transform(X[:10])
    np.testing.assert_allclose(
        ours.center_distances(X[:10], ours.labels_[:10]),
        d[np.arange(10), ours.labels_[:10]],
    )
    with pytest.raises(sg.DataValidationError, match="one length"):
        ours.fit([np.zeros(10), np.ones(12)])
    with pytest.raises(ValueError, match="length 150"):
        ours.predict(X[:2, :100])
    with pytest.raises(ValueError, match="1 value column"):
        ours.predict(np.concatenate([X[:2], X[:2]], axis=2))


def test_kshape_flat_clusters_small_blocks_and_multivariate_equal_tslearn(monkeypatch):
    """Flat members (a cluster whose Gram matrix is 0), blocks of one series, and two
    value columns: still tslearn's labels and centroids."""
    import warnings

    import segmenter.clustering.clusterers.kshape as C

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tslearn.clustering import KShape
    rng = np.random.default_rng(5)
    t = np.linspace(0, 6, 30)
    X = np.stack(
        [np.sin(t + rng.uniform(0, 1)) + rng.normal(0, 0.1, 30) for _ in range(11)]
        + [np.zeros(30)] * 4
    )[:, :, None]
    monkeypatch.setattr(C, "KSHAPE_BLOCK_BYTES", 1)
    for data in (X, np.concatenate([X, X[::-1]], axis=2)):
        for seed in range(6):
            ref = KShape(n_clusters=3, random_state=seed).fit(data)
            ours = C.KShapeClusterer(3, random_state=seed).fit(data)
            np.testing.assert_array_equal(ours.labels_, ref.labels_)
            np.testing.assert_allclose(
                ours.cluster_centers_, ref.cluster_centers_, atol=1e-8
            )


def test_velocity_statistic_constant_up_to_rounding_is_one_bin():
    """The std of z-normalised series is 1 +- 1e-16: binning that rounding noise into
    k quantile bins would invent segments; it must count as one value, recorded."""
    rng = np.random.default_rng(0)
    x = 1.0 + rng.choice([-2.2e-16, 0.0, 2.2e-16], size=40)
    v = VelocityClusterer(n_clusters=4).fit(x[:, None])
    assert v.n_nonempty_ == 1 and len(v.empty_clusters_) == 3
    assert len(set(v.predict(x[:, None]).tolist())) == 1
    # new series a few rounding steps off still land in the one bin
    assert set(v.predict((1.0 + np.array([-4.4e-16, 0.0, 4.4e-16]))[:, None])) == {3}
    assert (
        v.predict(np.array([[5.0]]))[0] == 3 and v.predict(np.array([[-5.0]]))[0] == 0
    )
    # a real spread is binned as before
    assert (
        VelocityClusterer(n_clusters=4).fit(np.arange(40.0)[:, None]).n_nonempty_ == 4
    )
