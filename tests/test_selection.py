"""Choosing the segmentation by the forecasts it leads to (issue: selection by forecast
error, honest baselines, a protocol that keeps the final window unseen)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import segmenter as sg


def regimes(n_per=12, length=60, seed=0):
    """Two planted regimes that need different models: noisy seasonal series (the
    seasonal naive forecast is right) and random walks (the naive one is).  The noise
    makes a choice per series unreliable on one window: pooling a segment's series
    is what finds the right model."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    t = np.arange(length)
    for i in range(2 * n_per):
        level = rng.uniform(20, 200)
        if i % 2 == 0:
            y = (
                level
                + level * 0.3 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6))
                + rng.normal(0, level * 0.2, length)
            )
        else:
            y = level + np.cumsum(rng.normal(0, level * 0.05, length))
        rows.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": t + 1, "y": y}))
        truth.append(i % 2)
    return pd.concat(rows, ignore_index=True), np.array(truth)


FC = dict(
    horizon=6,
    n_origins=4,  # two selection windows: the rule asks for a gain on both
    candidates=["naive"],
    season_length=12,
    n_jobs=1,
    progress=False,
    select="forecast",
)


@pytest.fixture(scope="module")
def planted():
    df, truth = regimes()
    seg = sg.Segmenter(
        n_clusters=[2], blueprints=["features_kmeans", "velocity_mean"], progress=False
    )
    fc = sg.SegmentedForecaster(**FC).fit(df, segmenter=seg)
    return df, truth, seg, fc


def test_forecast_selection_finds_the_planted_partition_and_beats_random(planted):
    df, truth, seg, fc = planted
    sel = fc.selection_
    chosen = sel[sel["chosen"]].iloc[0]
    assert (
        chosen["candidate"] == "features_kmeans k=2" and chosen["kind"] == "clustering"
    )
    rand = sel[sel["kind"] == "random"]
    assert len(rand) >= 3 and chosen["valid_error"] < rand["valid_error"].min()
    assert chosen["final_error"] < rand["final_error"].mean()
    assert (
        chosen["final_error"] < sel.loc[sel["kind"] == "global", "final_error"].item()
    )
    # the forecaster's segmenter (a clone of seg) follows the choice: its mapping is
    # the planted partition; the caller's seg is left as it was given (unfitted)
    assert fc.segmenter_ is not seg and not hasattr(seg, "mapping_")
    assert fc.segmenter_.chosen_row_ == chosen["row"]
    ids = [f"s{i:02d}" for i in range(len(truth))]
    labels = fc.segmenter_.mapping_.segments_of(ids)
    assert adjusted_rand_score(truth, labels) > 0.9
    assert fc.segmentation_ == "features_kmeans k=2"
    # each planted segment got its own model
    assert set(fc.champions_.values()) == {"naive", "seasonal_naive"}
    imp, lo, hi = fc.improvement_["random"]
    assert lo > 0 and "These segments beat random partitions" in fc.comparison_text_


def test_fit_with_a_fitted_segmenter_leaves_it_unchanged(planted):
    """scikit-learn's searches refit a clone: the forecaster follows its choice on its
    own copy (``segmenter_``) and the caller's fitted Segmenter keeps its mapping."""
    df, truth, _, first = planted
    seg = sg.Segmenter(
        n_clusters=[2], blueprints=["velocity_mean", "features_kmeans"], progress=False
    ).fit(df)
    before = (seg.mapping_, seg.chosen_row_, seg.model_, dict(vars(seg)).keys())
    frame = seg.mapping_.to_frame()
    fc = sg.SegmentedForecaster(**FC).fit(df, segmenter=seg)
    assert fc.segmentation_ == first.segmentation_ == "features_kmeans k=2"
    chosen = fc.selection_.loc[fc.selection_["chosen"], "row"].item()
    assert fc.segmenter_.chosen_row_ == chosen != before[1]  # the copy followed
    assert (seg.mapping_, seg.chosen_row_, seg.model_) == before[:3]  # seg did not
    assert dict(vars(seg)).keys() == before[3]
    pd.testing.assert_frame_equal(seg.mapping_.to_frame(), frame)


def test_selection_table_has_every_candidate_and_baseline(planted):
    _, _, _, fc = planted
    sel = fc.selection_
    assert list(sel.columns[:9]) == [
        "candidate",
        "kind",
        "row",
        "n_segments",
        "silhouette",
        "valid_error",
        "final_error",
        "chosen",
        "seconds",
    ]
    assert set(sel["kind"]) == {
        "clustering",
        "global",
        "random",
        "per-series",
        "ensemble",
    }
    assert sel["chosen"].sum() == 1
    assert sel.loc[sel["kind"] == "global", "n_segments"].item() == 1
    assert sel.loc[sel["kind"] == "per-series", "n_segments"].item() == 24
    assert sel.loc[sel["kind"] != "clustering", "silhouette"].isna().all()
    assert set(fc.comparison_["strategy"]) == {
        "segmented",
        "global",
        "random",
        "per-series",
    }


def test_no_information_in_the_segments_gives_an_interval_containing_zero():
    rng = np.random.default_rng(3)
    df = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i:02d}",
                    "ds": np.arange(1, 61),
                    "y": 100 + rng.normal(0, 5, 60),
                }
            )
            for i in range(30)
        ],
        ignore_index=True,
    )
    seg = sg.Segmenter(n_clusters=[3], blueprints=["features_kmeans"], progress=False)
    fc = sg.SegmentedForecaster(**{**FC, "candidates": ["naive", "theta"]}).fit(
        df, segmenter=seg
    )
    imp, lo, hi = fc.improvement_["global"]
    assert lo <= 0 <= hi, (imp, lo, hi)
    assert "no evidence that" in fc.comparison_text_
    # and it says what its intervals cover
    assert "The intervals resample series and" in fc.comparison_text_


@pytest.mark.parametrize("n_origins,length", [(3, 60), (4, 72)])
def test_choices_never_see_the_final_window(n_origins, length):
    """Cut the arrays: changing the values of the final window (the last horizon steps
    of every series) changes its scores, never a choice, with one selection window or
    two."""
    df, _ = regimes(n_per=8, length=length)
    h = FC["horizon"]
    last = df.groupby("unique_id")["ds"].transform("max")
    other = df.copy()
    other.loc[df["ds"] > last - h, "y"] *= 3.0
    fits = []
    for data in (df, other):
        seg = sg.Segmenter(
            n_clusters=[2],
            blueprints=["features_kmeans", "velocity_mean"],
            progress=False,
        ).fit(data.loc[df["ds"] <= last - h])
        fits.append(
            sg.SegmentedForecaster(**{**FC, "n_origins": n_origins}).fit(
                data, segmenter=seg
            )
        )
    a, b = (f.selection_ for f in fits)
    cols = [
        c
        for c in a.columns
        if c.startswith("valid_") or c in ("gain", "gain_lo", "chosen")
    ]
    assert len(cols) >= 3 + n_origins - 2
    for col in cols:
        pd.testing.assert_series_equal(a[col], b[col])
    assert not np.allclose(a["final_error"], b["final_error"])


def test_reused_local_errors_equal_a_direct_refit():
    from segmenter.forecasting.base import clip_nonnegative
    from segmenter.forecasting.catalogue import make_forecaster

    df, _ = regimes(n_per=4)
    fc = sg.SegmentedForecaster(
        **{**FC, "candidates": ["theta", "ets"], "select": "silhouette"}
    )
    fc.fit(
        df,
        segment_col=None,
        mapping=sg.SegmentMapping(
            pd.DataFrame({"unique_id": pd.unique(df["unique_id"]), "segment": 0}),
            "unique_id",
        ),
    )
    panel, data, backtests = fc._fit_data
    for spec in ("theta", "ets"):
        bp = make_forecaster(spec)
        for w in range(fc.plan_.n_windows):
            group, pos = data.history(fc.plan_.cutoffs[w], fc.horizon)
            direct = clip_nonnegative(bp.predict(None, group, fc.horizon), group).mean
            np.testing.assert_array_equal(backtests.local[spec][w, pos], direct)


def test_forecast_with_another_row_or_one_champion_everywhere(planted):
    _, _, _, fc = planted
    pd.testing.assert_frame_equal(fc.forecast_with(fc.segmentation_), fc.predict())
    glob = fc.forecast_with("global")
    assert glob["segment"].nunique() == 1 and glob["champion"].nunique() == 1
    every = fc.forecast_with("global", champion="seasonal_naive", level=[80])
    assert (every["champion"] == "seasonal_naive").all() and "lo-80" in every.columns
    with pytest.raises(sg.DataValidationError, match="not a row of selection_"):
        fc.forecast_with("nope")


def test_a_refit_without_comparison_keeps_no_stale_comparison():
    df, truth = regimes(n_per=4, length=40)
    df["seg"] = np.repeat(truth, 40)
    fc = sg.SegmentedForecaster(
        horizon=6, candidates=["naive"], season_length=12, n_jobs=1, progress=False
    )
    fc.fit(df, segment_col="seg")
    assert "comparison_text_" in fc.__dict__
    fc.set_params(compare=False).fit(df, segment_col="seg")
    assert not any(
        hasattr(fc, a)
        for a in (
            "comparison_",
            "comparison_text_",
            "improvement_",
            "comparison_per_series_",
        )
    )
    assert list(fc.selection_["candidate"]) == ["user column"]
