import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter.features import (
    SUMMARY_FEATURES,
    VELOCITY_STATS,
    season_length_for,
    shape_series,
    summary_features,
    velocity_features,
)


def edge_panel():
    """Constant, all-zero, very short, gappy, all-missing, intermittent and seasonal series."""
    n = 48
    t = np.arange(n)
    series = {
        "constant": np.full(n, 5.0),
        "zeros": np.zeros(n),
        "short1": np.array([3.0]),
        "short3": np.array([1.0, 2.0, 3.0]),
        "gappy": np.where(t % 5 == 0, np.nan, np.sin(t / 3.0) + 10),
        "missing": np.full(n, np.nan),
        "intermittent": np.where(t % 4 == 0, 2.0, 0.0),
        "seasonal": 10 + np.sin(2 * np.pi * t / 12),
    }
    rows = [
        pd.DataFrame({"unique_id": k, "ds": np.arange(len(v)), "y": v})
        for k, v in series.items()
    ]
    return sg.read_panel(pd.concat(rows, ignore_index=True)), list(series)


def test_summary_features_edge_cases_never_crash_and_are_defined():
    p, names = edge_panel()
    f = summary_features(p, season_length=12).set_index(pd.Index(names))
    assert list(f.columns) == list(SUMMARY_FEATURES)
    assert f.loc["constant", "scale"] == 0 and f.loc["constant", "acf1"] == 0
    assert f.loc["constant", "trend_strength"] == 0
    assert f.loc["zeros", "zero_share"] == 1.0 and np.isnan(f.loc["zeros", "adi"])
    assert f.loc["short1", "length"] == 1 and np.isnan(f.loc["short1", "acf1"])
    assert f.loc["gappy", "missing_share"] == pytest.approx(10 / 48)
    assert (
        np.isnan(f.loc["missing", "level"]) and f.loc["missing", "missing_share"] == 1.0
    )
    assert f.loc["intermittent", "adi"] == pytest.approx(4.0)
    assert f.loc["intermittent", "cv2"] == pytest.approx(0.0)
    assert f.loc["seasonal", "seasonal_strength"] > 0.9
    assert f.loc["seasonal", "seasonal_acf"] == pytest.approx(
        36 / 48, abs=0.01
    )  # biased ACF of a sine
    assert f.loc["seasonal", "seasonal_strength"] > f.loc["gappy", "seasonal_strength"]


def test_velocity_features_and_window():
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 6 + ["b"] * 6,
            "ds": list(range(6)) * 2,
            "y": [0, 0, 0, 10, 10, 10, 1, 1, 1, 1, 1, 1.0],
        }
    )
    p = sg.read_panel(df)
    full = velocity_features(p)
    assert list(full.columns) == list(VELOCITY_STATS)
    assert full.loc[0, "mean"] == 5 and full.loc[0, "zero_share"] == 0.5
    recent = velocity_features(p, window=3)
    assert recent.loc[0, "mean"] == 10 and recent.loc[0, "zero_share"] == 0
    assert full.loc[1, "cv"] == 0 and full.loc[1, "std"] == 0
    with pytest.raises(sg.DataValidationError, match="window"):
        velocity_features(p, window=0)


def test_shape_series_znorm_constant_and_resample():
    p, names = edge_panel()
    s = shape_series(p)
    assert np.allclose(s[names.index("constant")], 0)
    seas = s[names.index("seasonal")][:, 0]
    assert abs(seas.mean()) < 1e-12 and abs(seas.std() - 1) < 1e-12
    assert np.isfinite(s.data).all()  # gaps interpolated, missing -> zeros
    r = shape_series(p, length=20)
    assert set(r.lengths.tolist()) == {20}


def test_shape_series_multivariate_columns():
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 5,
            "ds": range(5),
            "y": [1.0, 2, 3, 4, 5],
            "price": [5.0, 4, 3, 2, 1],
        }
    )
    s = shape_series(sg.read_panel(df, value_cols=["price"]))
    assert s.n_dims == 2
    np.testing.assert_allclose(s[0][:, 0], -s[0][:, 1])


def test_season_length():
    assert season_length_for("MS") == 12 and season_length_for("QS-OCT") == 4
    assert season_length_for("W-SUN") == 52 and season_length_for("D") == 7
    assert season_length_for(1) is None and season_length_for("3h") is None


def test_summary_features_in_process_chunks_equal_one_pass(monkeypatch):
    import segmenter.features.statistics as F

    p, _ = edge_panel()
    one = summary_features(p, season_length=12)
    monkeypatch.setattr(F, "FEATURE_CHUNK", 3)  # 8 series -> 3 chunks, 2 processes
    chunked = summary_features(p, season_length=12, n_jobs=2)
    pd.testing.assert_frame_equal(one, chunked)


def test_catch22_features_edge_cases_and_shape_sense():
    from segmenter.features import CATCH22_MIN_LENGTH, catch22_features

    t = np.arange(60.0)
    series = {
        "ramp": t,
        "flat": np.zeros(60),
        "missing": np.full(60, np.nan),
        "short": np.arange(CATCH22_MIN_LENGTH - 1.0),
        "sine": np.sin(t / 3),
        "gappy": np.r_[np.sin(t[:30] / 3), [np.nan] * 3, np.sin(t[33:] / 3)],
        "sine_scaled": 100 + 7 * np.sin(t / 3),
    }
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": k, "ds": np.arange(len(v)), "y": v})
            for k, v in series.items()
        ],
        ignore_index=True,
    )
    panel = sg.read_panel(df)
    f = catch22_features(panel)
    f.index = panel.id_labels()
    assert f.shape == (7, 22) and "periodicity" in f.columns
    assert f.loc["short"].isna().all() and f.loc["missing"].isna().all()
    assert f.loc[["ramp", "sine", "gappy"]].notna().sum(axis=1).min() >= 18
    # z-normalised first: level and scale do not change the shape features
    np.testing.assert_allclose(
        f.loc["sine"], f.loc["sine_scaled"], rtol=1e-6, atol=1e-9
    )
    assert not np.allclose(f.loc["sine"].fillna(0), f.loc["ramp"].fillna(0))


def test_catch22_values_equal_sktimes_transformer():
    import warnings

    from sktime.transformations.catch22 import Catch22

    from segmenter.features import catch22_features

    rng = np.random.default_rng(3)
    series = [
        rng.normal(size=n).cumsum() * rng.uniform(0.1, 50) + rng.uniform(-9, 9)
        for n in [40, 40, 40, 77, 77, 150]
    ] + [np.sin(np.arange(64) / 4.0)]
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": i, "ds": np.arange(len(v)), "y": v})
            for i, v in enumerate(series)
        ],
        ignore_index=True,
    )
    ours = catch22_features(sg.read_panel(df)).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, v in enumerate(series):
            z = (v - v.mean()) / v.std()
            ref = np.asarray(
                Catch22(catch24=False).fit_transform(z[None, None, :]), float
            )[0]
            # sktime's transformer stores an exact 0.0 as NaN; ours keeps the zero
            # batched FFTs and means may differ from one-row ones in the last bit
            np.testing.assert_allclose(
                ours[i],
                np.where(np.isnan(ref), 0.0, ref),
                rtol=1e-12,
                atol=1e-14,
                err_msg=f"series {i}",
            )
            assert (ours[i][np.isnan(ref)] == 0).all()


def test_fast_outlier_include_equals_sktimes_kernel():
    from sktime.transformations import _catch22_numba as K

    from segmenter.features._catch22_kernels import _outlier_include

    rng = np.random.default_rng(0)
    for trial in range(400):
        n = int(rng.integers(10, 300))
        x = [
            rng.normal(size=n).cumsum(),
            rng.standard_t(2, size=n),
            np.round(rng.normal(size=n) * 3),  # ties
            np.sin(np.arange(n) / 5.0) + (rng.random(n) < 0.05) * 8,
        ][trial % 4]
        x = (x - x.mean()) / x.std()
        for s in (x, -x):
            assert _outlier_include(s) == K._outlier_include(s), (trial, n)


def test_catch22_blueprint_separates_planted_shapes():
    from sklearn.metrics import adjusted_rand_score

    from segmenter.clustering.blueprints import make_blueprint
    from segmenter.datasets import make_planted

    df, truth = make_planted(200, 100, 4, random_state=2)
    panel = sg.read_panel(df)
    fitted = make_blueprint("catch22_kmeans").fit(panel, 4, random_state=0)
    assert adjusted_rand_score(truth, fitted.labels_) > 0.7
    np.testing.assert_array_equal(
        fitted.predict(panel.subset(range(50))), fitted.labels_[:50]
    )


def test_a_mean_within_rounding_of_zero_is_zero_not_a_divisor():
    """z-normalised series have means of about 1e-17: level must be 0 and cv / cv2
    undefined, not (std / 1e-17) ** 2 = 1e34 (which wrecked feature clustering)."""
    from segmenter.features import summary_features, velocity_features

    rng = np.random.default_rng(1)
    z = [
        (lambda v: (v - v.mean()) / v.std())(rng.normal(size=120).cumsum())
        for _ in range(5)
    ]
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": i, "ds": np.arange(120), "y": v})
            for i, v in enumerate(z + [np.full(120, 4.0) + rng.normal(size=120)])
        ],
        ignore_index=True,
    )
    panel = sg.read_panel(df)
    s = summary_features(panel)
    v = velocity_features(panel)
    assert (
        (s.level[:5] == 0).all() and s.cv2[:5].isna().all() and v["cv"][:5].isna().all()
    )
    assert (v["mean"][:5] == 0).all()
    # a real mean is untouched
    assert s.level[5] == pytest.approx(df.y[df.unique_id == 5].mean())
    assert 0 < s.cv2[5] < 1 and 0 < v["cv"][5] < 1
    # normalised upstream and written with 6 decimals (UCR files): mean ~1e-8, still 0
    df6 = df[df.unique_id < 5].assign(y=lambda d: d.y.round(6))
    s6 = summary_features(sg.read_panel(df6))
    assert (s6.level == 0).all() and s6.cv2.isna().all()


def test_catch22_in_small_blocks_equals_one_block(monkeypatch):
    import segmenter.features.catch22 as F

    rng = np.random.default_rng(2)
    df = pd.concat(
        [
            pd.DataFrame(
                {"unique_id": i, "ds": np.arange(n), "y": rng.normal(size=n).cumsum()}
            )
            for i, n in enumerate([50] * 7 + [80] * 3)
        ],
        ignore_index=True,
    )
    panel = sg.read_panel(df)
    whole = F.catch22_features(panel)
    monkeypatch.setattr(F, "CATCH22_BLOCK_VALUES", 120)
    pd.testing.assert_frame_equal(F.catch22_features(panel), whole, rtol=1e-12)
