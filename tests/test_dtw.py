import numpy as np
import pytest
from tslearn.metrics import cdist_dtw
from tslearn.metrics import dtw as tslearn_dtw
from tslearn.utils import to_time_series_dataset

import segmenter as sg
from segmenter.distances.dtw import as_series_set, band_radius
from segmenter.errors import DataValidationError


def _walks(rng, n, lo, hi, d):
    return [
        np.cumsum(rng.normal(size=(int(rng.integers(lo, hi)), d)), axis=0)
        for _ in range(n)
    ]


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("radius", [None, 0, 1, 4, 15])
def test_equals_tslearn_cdist_unequal_lengths(d, radius):
    rng = np.random.default_rng(d * 100 + (radius or 99))
    X = _walks(rng, 12, 3, 40, d)
    Y = _walks(rng, 6, 2, 45, d)
    kw = (
        {}
        if radius is None
        else dict(global_constraint="sakoe_chiba", sakoe_chiba_radius=radius)
    )
    ref_xy = cdist_dtw(to_time_series_dataset(X), to_time_series_dataset(Y), **kw)
    ref_xx = cdist_dtw(to_time_series_dataset(X), **kw)
    np.testing.assert_allclose(
        sg.dtw_pairwise(X, Y, band=radius), ref_xy, rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        sg.dtw_pairwise(X, band=radius), ref_xx, rtol=0, atol=1e-9
    )
    for a, b in [(X[0], Y[0]), (Y[1], X[2])]:
        ref = tslearn_dtw(a, b, **kw)
        assert abs(sg.dtw_distance(a, b, band=radius) - ref) < 1e-9


def test_fraction_band_is_ceil_of_longest():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 50))
    ref = cdist_dtw(
        X[:, :, None], global_constraint="sakoe_chiba", sakoe_chiba_radius=5
    )
    np.testing.assert_allclose(sg.dtw_pairwise(X, band=0.1), ref, atol=1e-9)
    assert band_radius(0.101, 50) == 6 and band_radius(1.0, 50) == 50


def test_squared_option_and_symmetry():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(7, 20))
    D = sg.dtw_pairwise(X)
    np.testing.assert_allclose(D, D.T)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(sg.dtw_pairwise(X, squared=True), D**2, atol=1e-9)


def test_inputs_3d_array_and_padding():
    rng = np.random.default_rng(3)
    X = _walks(rng, 5, 5, 20, 2)
    padded = to_time_series_dataset(X)  # NaN-padded 3-D array, as tslearn makes
    np.testing.assert_allclose(sg.dtw_pairwise(padded), sg.dtw_pairwise(X), atol=1e-12)
    assert as_series_set(padded).lengths.tolist() == [len(x) for x in X]


@pytest.mark.parametrize(
    "bad,kind",
    [
        ([np.array([1.0, np.nan, 2.0]), np.ones(3)], "non_finite"),
        ([np.ones((3, 2)), np.ones((3, 1))], "mixed_dims"),
        ([np.ones(3), np.array([])], "empty_series"),
    ],
)
def test_bad_series_named(bad, kind):
    with pytest.raises(DataValidationError) as exc:
        sg.dtw_pairwise(bad)
    assert kind in exc.value.kinds()


@pytest.mark.parametrize("band", [-1, 1.5, "wide", True])
def test_bad_band(band):
    with pytest.raises(DataValidationError, match="band"):
        sg.dtw_distance([1.0, 2.0], [1.0], band=band)


# ---------------------------------------------------------------- fast paths vs plain
from segmenter.distances import _dtw_kernels as K  # noqa: E402


def _plain_matrix(xs, ys, r):
    """The scalar kernel, pair by pair: the reference for every fast path."""
    buf = np.empty(2 * (int(ys.lengths.max()) + 1))
    return np.array(
        [
            [K.dtw_sq(xs[i], ys[j], r, buf) for j in range(len(ys))]
            for i in range(len(xs))
        ]
    )


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("radius", [-1, 0, 3, 12])
def test_lane_kernels_bitwise_equal_scalar(d, radius):
    # 70 series in a few lengths: full 32-lane blocks, partial blocks and the scalar
    # fallback for small blocks all occur
    rng = np.random.default_rng(10 + d)
    lengths = rng.choice([25, 26, 40, 41, 55], size=70, p=[0.45, 0.05, 0.3, 0.05, 0.15])
    xs = as_series_set(
        [np.cumsum(rng.standard_normal((n, d)), axis=0) for n in lengths]
    )
    ref = _plain_matrix(xs, xs, radius)
    np.testing.assert_array_equal(K.pairwise_sq(xs.data, xs.offsets, radius), ref)
    few = xs.take([0, 5, 9])
    np.testing.assert_array_equal(
        K.cross_sq(xs.data, xs.offsets, few.data, few.offsets, radius),
        ref[:, [0, 5, 9]],
    )
    np.testing.assert_array_equal(
        K.cross_sq(few.data, few.offsets, xs.data, xs.offsets, radius), ref[[0, 5, 9]]
    )


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("radius", [-1, 0, 4, 20])
def test_pruned_nearest_equals_brute_force(d, radius):
    rng = np.random.default_rng(20 + d)
    lengths = rng.choice([30, 44, 60], size=200)
    seqs = [np.cumsum(rng.standard_normal((n, d)), axis=0) for n in lengths]
    seqs += seqs[:6]  # exact ties between centers
    xs = as_series_set(seqs)
    centers = xs.take([0, 3, 7, 11, 0, 19, 3, 40])  # duplicated centers: ties
    ref = _plain_matrix(xs, centers, radius)
    for hint in (
        np.full(len(xs), -1),
        rng.integers(-1, len(centers), len(xs)),
        ref.argmin(axis=1),
    ):
        lab, sq, stats = K.nearest_sq(
            xs.data,
            xs.offsets,
            centers.data,
            centers.offsets,
            radius,
            np.ascontiguousarray(hint, dtype=np.int64),
        )
        np.testing.assert_array_equal(lab, ref.argmin(axis=1))
        np.testing.assert_array_equal(sq, ref.min(axis=1))
        assert (stats.sum(axis=1) == len(centers)).all()  # every pair accounted for
    # with the right hint and few lanes left the bounds must prune something
    assert stats[:, :3].sum() > 0


def test_lower_bounds_never_exceed_dtw():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n, m = rng.integers(1, 30, size=2)
        d = int(rng.integers(1, 3))
        r = int(rng.integers(-1, 6))
        x = np.cumsum(rng.standard_normal((n, d)), axis=0)
        c = np.cumsum(rng.standard_normal((m, d)), axis=0)
        true = K.dtw_sq(x, c, r, np.empty(2 * (m + 1)))
        up, lo = np.empty((n, d)), np.empty((n, d))
        K.envelope(c, n, r, up, lo, np.empty(2 * m, dtype=np.int64))
        assert K.lb_keogh_sq(x, up, lo, np.inf) <= true * (1 + 1e-12)
        assert K.lb_kim_sq(x, c) <= true * (1 + 1e-12)
        # early abandoning: never wrong, inf only when the cost exceeds the cutoff
        cut = true * rng.uniform(0.5, 1.5)
        v = K.dtw_sq(x, c, r, np.empty(2 * (m + 1)), cut)
        assert v == true or (v == np.inf and true > cut)


@pytest.mark.parametrize("radius", [None, 5])
def test_lane_path_equals_tslearn(radius):
    # 80 equal-length series: the 32-lane kernel computes nearly every pair
    rng = np.random.default_rng(7)
    X = np.cumsum(rng.standard_normal((80, 50)), axis=1)
    kw = (
        {}
        if radius is None
        else dict(global_constraint="sakoe_chiba", sakoe_chiba_radius=radius)
    )
    ref = cdist_dtw(X[:, :, None], **kw)
    np.testing.assert_allclose(sg.dtw_pairwise(X, band=radius), ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        sg.dtw_pairwise(X, X[:7], band=radius), ref[:, :7], rtol=0, atol=1e-9
    )


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("radius", [-1, 0, 5])
def test_lane_dba_step_equals_path_by_path_reference(d, radius):
    rng = np.random.default_rng(30 + d)
    lengths = rng.choice([30, 31, 45], size=120, p=[0.6, 0.05, 0.35])
    xs = as_series_set(
        [np.cumsum(rng.standard_normal((n, d)), axis=0) for n in lengths]
    )
    members = np.arange(0, 120, 1, dtype=np.int64)
    center = xs[7].copy()
    tot, cnt, cost = np.zeros_like(center), np.zeros(len(center)), 0.0
    for s in members:
        pi, pj, c = K.dtw_path(center, xs[s], radius)
        cost += c
        np.add.at(cnt, pi, 1.0)
        np.add.at(tot, pi, xs[s][pj])
    new, total = K.dba_update(xs.data, xs.offsets, members, center, radius)
    np.testing.assert_allclose(new, tot / cnt[:, None], rtol=0, atol=1e-12)
    assert total == pytest.approx(cost, rel=1e-12)


def test_small_blocks_are_not_packed():
    # 40 series of 40 distinct lengths: every block holds one series and takes the scalar
    # kernel, so nothing is packed (packing would cost 32x the data)
    rng = np.random.default_rng(4)
    xs = as_series_set([rng.standard_normal(n) for n in range(10, 50)])
    order = np.argsort(xs.lengths, kind="mergesort")
    packed, boff, bstart, bcount = K.pack_lanes(xs.data, xs.offsets, order)
    assert packed.shape[0] == 0 and (bcount == 1).all()
    ref = _plain_matrix(xs, xs, 3)
    np.testing.assert_array_equal(K.pairwise_sq(xs.data, xs.offsets, 3), ref)
    lab, sq, _ = K.nearest_sq(
        xs.data,
        xs.offsets,
        xs.take([0, 7]).data,
        xs.take([0, 7]).offsets,
        3,
        np.full(40, -1),
    )
    np.testing.assert_array_equal(lab, ref[:, [0, 7]].argmin(axis=1))


def test_overflowing_costs_label_like_argmin():
    big = [np.full(5, 1e200), np.full(5, -1e200)]
    xs = as_series_set(big * 4)
    c = as_series_set([np.full(5, -1e200), np.full(5, 1e200)])
    lab, sq, _ = K.nearest_sq(
        xs.data, xs.offsets, c.data, c.offsets, -1, np.full(8, -1)
    )
    ref = K.cross_sq(xs.data, xs.offsets, c.data, c.offsets, -1)
    np.testing.assert_array_equal(lab, ref.argmin(axis=1))
