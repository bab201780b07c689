import numpy as np
import pytest
from tslearn.metrics import cdist_dtw, dtw as tslearn_dtw
from tslearn.utils import to_time_series_dataset

import segmenter as sg
from segmenter.dtw import as_series_set, band_radius
from segmenter.errors import DataValidationError


def _walks(rng, n, lo, hi, d):
    return [np.cumsum(rng.normal(size=(int(rng.integers(lo, hi)), d)), axis=0) for _ in range(n)]


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("radius", [None, 0, 1, 4, 15])
def test_equals_tslearn_cdist_unequal_lengths(d, radius):
    rng = np.random.default_rng(d * 100 + (radius or 99))
    X = _walks(rng, 12, 3, 40, d)
    Y = _walks(rng, 6, 2, 45, d)
    kw = {} if radius is None else dict(global_constraint="sakoe_chiba", sakoe_chiba_radius=radius)
    ref_xy = cdist_dtw(to_time_series_dataset(X), to_time_series_dataset(Y), **kw)
    ref_xx = cdist_dtw(to_time_series_dataset(X), **kw)
    np.testing.assert_allclose(sg.dtw_pairwise(X, Y, band=radius), ref_xy, rtol=0, atol=1e-9)
    np.testing.assert_allclose(sg.dtw_pairwise(X, band=radius), ref_xx, rtol=0, atol=1e-9)
    for a, b in [(X[0], Y[0]), (Y[1], X[2])]:
        ref = tslearn_dtw(a, b, **kw)
        assert abs(sg.dtw_distance(a, b, band=radius) - ref) < 1e-9


def test_fraction_band_is_ceil_of_longest():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 50))
    ref = cdist_dtw(X[:, :, None], global_constraint="sakoe_chiba", sakoe_chiba_radius=5)
    np.testing.assert_allclose(sg.dtw_pairwise(X, band=0.1), ref, atol=1e-9)
    assert band_radius(0.101, 50) == 6 and band_radius(1.0, 50) == 50


def test_squared_option_and_symmetry():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(7, 20))
    D = sg.dtw_pairwise(X)
    np.testing.assert_allclose(D, D.T)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(sg.dtw_pairwise(X, squared=True), D ** 2, atol=1e-9)


def test_inputs_3d_array_and_padding():
    rng = np.random.default_rng(3)
    X = _walks(rng, 5, 5, 20, 2)
    padded = to_time_series_dataset(X)  # NaN-padded 3-D array, as tslearn makes
    np.testing.assert_allclose(sg.dtw_pairwise(padded), sg.dtw_pairwise(X), atol=1e-12)
    assert as_series_set(padded).lengths.tolist() == [len(x) for x in X]


@pytest.mark.parametrize("bad,kind", [
    ([np.array([1.0, np.nan, 2.0]), np.ones(3)], "non_finite"),
    ([np.ones((3, 2)), np.ones((3, 1))], "mixed_dims"),
    ([np.ones(3), np.array([])], "empty_series"),
])
def test_bad_series_named(bad, kind):
    with pytest.raises(DataValidationError) as exc:
        sg.dtw_pairwise(bad)
    assert kind in exc.value.kinds()


@pytest.mark.parametrize("band", [-1, 1.5, "wide", True])
def test_bad_band(band):
    with pytest.raises(DataValidationError, match="band"):
        sg.dtw_distance([1.0, 2.0], [1.0], band=band)
