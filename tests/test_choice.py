"""Segments that earn their place: the choice rule keeps one global model unless the
evidence holds on every validation window; ensembles of segmentations are scored from
forecasts already made and served like any choice."""

import numpy as np
import pandas as pd
import pytest
from test_selection import regimes

import segmenter as sg
from segmenter.forecasting import choice as choice_mod
from segmenter.forecasting.choice import choose
from segmenter.forecasting.evaluation import Evaluation
from segmenter.forecasting.segmentations import Segmentation

FC4 = dict(
    horizon=6,
    n_origins=4,
    candidates=["naive"],
    season_length=12,
    n_jobs=1,
    progress=False,
    select="forecast",
)


def _ev(valid_windows):
    v = np.asarray(valid_windows, dtype=float)
    n = v.shape[1]
    return Evaluation(
        np.zeros(n),
        float(np.mean([w.mean() for w in v])),
        np.nan,
        v.mean(axis=0),
        {},
        np.empty(n, dtype=object),
        np.zeros((3, n, 1)),
        valid_windows=v,
    )


def test_a_gain_on_one_window_only_is_not_chosen_nor_called_consistent():
    rng = np.random.default_rng(0)
    g = 1.0 + 0.05 * rng.standard_normal((2, 200)) ** 2
    # 12% better on window 1, 4% worse on window 2: a better mean, not a consistent gain
    c = np.vstack([g[0] * 0.88, g[1] * 1.04])
    segs = [
        Segmentation("global", "global", np.zeros(200)),
        Segmentation("kmeans k=3", "clustering", np.arange(200) % 3),
    ]
    chosen, verdicts = choose(segs, [_ev(g), _ev(c)], np.random.default_rng(1))
    assert chosen == 0
    v = verdicts[1]
    assert v.gain > 0 and not v.consistent and not v.passed
    text = choice_mod.choice_text(
        segs, [_ev(g), _ev(c)], chosen, verdicts, 0.9, 0.0, True
    )
    assert "Kept one global model" in text and "changes sign between windows" in text
    # loosened, the same evidence is enough
    loose, _ = choose(
        segs,
        [_ev(g), _ev(c)],
        np.random.default_rng(1),
        confidence=None,
        require_consistent=False,
    )
    assert loose == 1


def test_one_selection_window_keeps_the_global_model_and_says_why():
    """A large, clear gain on the only selection window is not evidence that it holds
    on the next period: the global model is kept and the text says why."""
    rng = np.random.default_rng(0)
    g = 1.0 + 0.05 * rng.standard_normal((1, 200)) ** 2
    c = g * 0.85  # 15% better on every series of the one window
    segs = [
        Segmentation("global", "global", np.zeros(200)),
        Segmentation("per-series", "per-series", np.arange(200)),
    ]
    chosen, verdicts = choose(segs, [_ev(g), _ev(c)], np.random.default_rng(1))
    v = verdicts[1]
    assert chosen == 0 and not v.consistent and not v.passed
    assert v.gain == pytest.approx(0.15) and v.gain_lo > 0.1  # the interval is clear
    text = choice_mod.choice_text(
        segs, [_ev(g), _ev(c)], chosen, verdicts, 0.9, 0.0, True
    )
    assert "Kept one global model" in text and "one validation window" in text
    loose, _ = choose(
        segs, [_ev(g), _ev(c)], np.random.default_rng(1), require_consistent=False
    )
    assert loose == 1  # loosened, the window is enough


def test_the_correction_grows_with_the_number_of_candidates():
    rng = np.random.default_rng(2)
    g = 1.0 + 0.3 * rng.random((2, 60))
    c = g * (1 - 0.02) + 0.08 * rng.standard_normal((2, 60))  # a small, noisy gain
    segs = [
        Segmentation("global", "global", np.zeros(60)),
        Segmentation("c", "clustering", np.arange(60) % 2),
    ]
    one = choose(segs, [_ev(g), _ev(c)], np.random.default_rng(0))[1][1].gain_lo
    many = choose(
        segs
        + [Segmentation(f"x{i}", "clustering", np.arange(60) % 2) for i in range(20)],
        [_ev(g), _ev(c)] + [_ev(g * 1.1)] * 20,
        np.random.default_rng(0),
    )[1][1]
    assert many.gain_lo < one  # 21 candidates compared: a lower corrected bound


def test_random_partitions_are_never_chosen():
    g = np.ones((2, 50))
    segs = [
        Segmentation("global", "global", np.zeros(50)),
        Segmentation("random(k=2, seed=0)", "random", np.arange(50) % 2),
    ]
    chosen, verdicts = choose(segs, [_ev(g), _ev(g * 0.5)], np.random.default_rng(0))
    assert chosen == 0 and 1 not in verdicts


def test_iid_series_keep_the_global_model_and_say_there_is_no_evidence():
    rng = np.random.default_rng(3)
    df = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i:02d}",
                    "ds": np.arange(1, 73),
                    "y": 100 + rng.normal(0, 5, 72),
                }
            )
            for i in range(40)
        ],
        ignore_index=True,
    )
    seg = sg.Segmenter(
        n_clusters=[2, 3],
        blueprints=["features_kmeans", "velocity_mean"],
        progress=False,
    )
    fc = sg.SegmentedForecaster(**{**FC4, "candidates": ["naive", "theta"]}).fit(
        df, segmenter=seg
    )
    assert fc.segmentation_ == "global"
    assert fc.selection_.loc[fc.selection_["chosen"], "kind"].item() == "global"
    assert fc.choice_text_.startswith("Kept one global model")
    assert fc.comparison_text_.startswith("Kept one global model")
    assert {"valid_w1", "valid_w2", "gain", "gain_lo", "consistent"} <= set(
        fc.selection_
    )
    assert fc.comparison_.loc[fc.comparison_["chosen"], "strategy"].item() == "global"
    assert (fc.forecasts_["segment"] == 0).all()


def test_planted_dynamics_are_chosen_consistently_across_windows():
    df, truth = regimes(n_per=12, length=72)
    seg = sg.Segmenter(
        n_clusters=[2], blueprints=["features_kmeans", "velocity_mean"], progress=False
    )
    fc = sg.SegmentedForecaster(**{**FC4, "candidates": ["naive"]}).fit(
        df, segmenter=seg
    )
    assert fc.plan_.selection_windows == [1, 2]
    row = fc.selection_[fc.selection_["chosen"]].iloc[0]
    assert row["kind"] in ("clustering", "ensemble")
    assert row["consistent"] and row["gain_lo"] > 0
    assert (
        row["valid_w1"]
        < fc.selection_.loc[fc.selection_["kind"] == "global", "valid_w1"].item()
    )
    assert "Chose" in fc.choice_text_ and "consistent" in fc.comparison_text_


def regime_switch(n_per=12, length=72, switch=60, seed=0):
    """Two groups that need different models until ``switch``, then one that does not:
    A is seasonal noise throughout (the seasonal naive forecast is right); B is a
    random walk, then repeats its last year (the seasonal naive forecast is right for
    it too).  With 4 windows of 6 steps, selection window 2 ([54, 60)) favours the
    true segments and selection window 1 ([60, 66)) favours one global model."""
    rng = np.random.default_rng(seed)
    rows = []
    t = np.arange(length)
    for i in range(2 * n_per):
        level = rng.uniform(50, 200)
        if i % 2 == 0:
            phase = rng.uniform(0, 6)
            y = level + level * 0.4 * np.sin(2 * np.pi * t / 12 + phase)
            y = y + rng.normal(0, level * 0.1, length)
        else:
            y = level + np.cumsum(rng.normal(0, level * 0.05, length))
            for k in range(switch, length):
                y[k] = y[k - 12] + rng.normal(0, level * 0.01)
        group = "AB"[i % 2]
        rows.append(
            pd.DataFrame(
                {"unique_id": f"s{i:02d}", "ds": t + 1, "y": y, "group": group}
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_segments_that_win_one_window_and_lose_the_other_are_not_chosen():
    df = regime_switch()
    fc = sg.SegmentedForecaster(**FC4).fit(df, segment_col="group")
    assert fc.plan_.selection_windows == [1, 2]
    sel = fc.selection_.set_index("candidate")
    user, glob = sel.loc["user column"], sel.loc["global"]
    # the planted segments win window 2 and lose window 1
    assert user["valid_w2"] < 0.8 * glob["valid_w2"]
    assert user["valid_w1"] > 1.2 * glob["valid_w1"]
    assert sel["consistent"].eq(False).all() or not sel["consistent"].any()
    assert fc.segmentation_ == "global" and glob["chosen"]
    assert fc.choice_text_.startswith("Kept one global model")
    assert "changes sign between windows" in fc.choice_text_
    assert "consistent across windows" not in fc.comparison_text_
    # an average gain is there (the ensemble's): only the rule keeps global
    assert sel.loc[sel["kind"] != "global", "gain"].max() > 0
    loose = sg.SegmentedForecaster(
        **FC4, confidence=None, require_consistent=False
    ).fit(df, segment_col="group")
    assert loose.segmentation_ != "global"


@pytest.fixture(scope="module")
def ensemble_fit():
    """A fit whose choice is forced to the ensemble of every segmentation, to test how
    an ensemble is served (the rule itself is tested above)."""
    df, _ = regimes(n_per=8, length=72)
    seg = sg.Segmenter(
        n_clusters=[2, 3],
        blueprints=["features_kmeans", "velocity_mean"],
        progress=False,
    )
    mp = pytest.MonkeyPatch()
    from segmenter.forecasting import forecaster

    def forced(segs, evals, rng, *a, **k):
        i = next(i for i, s in enumerate(segs) if s.name == "ensemble(all)")
        return i, {}

    mp.setattr(forecaster, "choose", forced)
    try:
        fc = sg.SegmentedForecaster(**{**FC4, "candidates": ["naive", "theta", "lgbm"]})
        fc.fit(df, segmenter=seg)
    finally:
        mp.undo()
    return df, fc


def test_the_ensemble_forecast_is_the_mean_of_its_members(ensemble_fit):
    df, fc = ensemble_fit
    assert fc.segmentation_ == "ensemble(all)"
    ens = fc._segmentations["ensemble(all)"]
    members = ens.meta["members"]
    assert members[0] == "global" and len(members) >= 3
    got = fc.predict()
    parts = [fc.forecast_with(m)["forecast"].to_numpy() for m in members]
    np.testing.assert_allclose(got["forecast"].to_numpy(), np.mean(parts, axis=0))
    pd.testing.assert_frame_equal(fc.forecast_with("ensemble(all)"), got)
    # its backtests too: the mean of the members' on every window
    ev = fc._evals
    np.testing.assert_allclose(
        ev["ensemble(all)"].final_forecasts,
        np.mean([ev[m].final_forecasts for m in members], axis=0),
    )
    assert (got["champion"] == "ensemble(all)").all()
    assert set(fc.leaderboard_["member"]) == set(members)


def test_the_ensemble_is_served_after_save_and_load(ensemble_fit, tmp_path):
    df, fc = ensemble_fit
    lv = fc.predict(level=[80, 95])
    assert (lv["lo-80"] <= lv["forecast"]).all() and (lv["hi-95"] >= lv["hi-80"]).all()
    back = sg.load(fc.save(tmp_path / "ens.segmenter"))
    a = fc.predict(df, level=[80])
    b = back.predict(df, level=[80])
    pd.testing.assert_frame_equal(a, b)
    # series never seen: every member assigns them (the global model puts them in 0)
    new = df[df["unique_id"].isin(["s00", "s01"])].assign(
        unique_id=lambda d: "new-" + d["unique_id"]
    )
    out = back.predict(new)
    assert len(out) == 2 * fc.horizon and out["forecast"].notna().all()
    with pytest.raises(sg.DataValidationError, match="ensemble"):
        fc.set_champion(0, "naive")


def lag_dynamics(n_per=12, length=120, seed=0):
    """Two groups with the same level, scale and marginal shape, told apart only by
    their dynamics: an autoregression at lag 3 or at lag 5."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for i in range(2 * n_per):
        lag = 3 if i % 2 == 0 else 5
        y = np.zeros(length + 50)
        e = rng.normal(0, 1, length + 50)
        for t in range(6, length + 50):
            y[t] = 0.9 * y[t - lag] + e[t]
        y = 100 + 10 * (y[50:] - y[50:].mean()) / y[50:].std()
        rows.append(
            pd.DataFrame(
                {"unique_id": f"s{i:02d}", "ds": np.arange(1, length + 1), "y": y}
            )
        )
        truth.append(i % 2)
    return pd.concat(rows, ignore_index=True), np.array(truth)


def test_forecast_driven_segments_recover_dynamics_shape_and_features_cannot_see():
    from sklearn.metrics import adjusted_rand_score as ari

    from segmenter.forecasting.forecast_driven import refine

    df, truth = lag_dynamics()
    ids = [f"s{i:02d}" for i in range(len(truth))]
    # shape (DTW) and feature clustering do not see the planted partition
    for bp in ("features_kmeans", "dtw_kmeans"):
        seg = sg.Segmenter(
            n_clusters=[2], blueprints=[bp], min_validation=4, progress=False
        ).fit(df)
        seen = seg.mapping_.to_frame().set_index("unique_id").loc[ids, "segment"]
        assert ari(truth, seen.to_numpy()) < 0.3, bp
    fc = sg.SegmentedForecaster(
        horizon=6,
        n_origins=4,
        candidates=["lgbm"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(
        df,
        mapping=sg.SegmentMapping(
            pd.DataFrame({"unique_id": ids, "segment": truth}), "unique_id"
        ),
    )
    panel, data, backtests = fc._fit_data
    job = fc._fit_job(fc._engine(), panel, data)
    # the planted partition is a fixed point: each series is best forecast by its own
    # group's model
    labels, moved = refine(job, backtests, truth, "test")
    assert ari(truth, labels) == 1.0 and moved == [0.0]
    # from random starts, the moves find it
    for seed in range(3):
        start = np.random.default_rng(seed).integers(0, 2, len(truth))
        labels, moved = refine(job, backtests, start, "test")
        assert ari(truth, labels) == 1.0 and moved[0] > 0, (seed, ari(truth, start))


def test_forecast_driven_candidates_take_part_in_the_selection():
    df, _ = lag_dynamics(n_per=8, length=96)
    seg = sg.Segmenter(n_clusters=[2], blueprints=["features_kmeans"], progress=False)
    fc = sg.SegmentedForecaster(**{**FC4, "candidates": ["lgbm"]}).fit(
        df, segmenter=seg
    )
    sel = fc.selection_
    row = sel[sel["kind"] == "forecast-driven"]
    assert len(row) == 1 and row["candidate"].item().startswith("forecast-driven k=")
    assert np.isfinite(row["valid_error"].item()) and np.isfinite(row["gain"].item())
    assert "forecast-driven segments" in fc.timings_
    off = sg.SegmentedForecaster(
        **{**FC4, "candidates": ["lgbm"], "forecast_driven": False}
    )
    assert "forecast-driven" not in set(off.fit(df, segmenter=seg).selection_["kind"])


def test_chosen_forecast_driven_segments_are_a_real_mapping(tmp_path):
    from sklearn.metrics import adjusted_rand_score as ari

    df, truth = lag_dynamics(n_per=8, length=96)
    seg = sg.Segmenter(
        n_clusters=[2], blueprints=["features_kmeans"], min_validation=4, progress=False
    )
    # the least validation error decides here (the rule loosened), so that the
    # forecast-driven candidate, the best on validation for this panel, is the one used
    fc = sg.SegmentedForecaster(
        **{
            **FC4,
            "candidates": ["lgbm"],
            "confidence": None,
            "require_consistent": False,
            "ensembles": (),
        }
    )
    fc.fit(df, segmenter=seg)
    sel = fc.selection_.set_index("candidate")
    assert sel.loc[fc.segmentation_, "kind"] == "forecast-driven"
    m = fc.mapping_.to_frame().set_index("unique_id")
    ids = [f"s{i:02d}" for i in range(len(truth))]
    assert fc.mapping_.metadata["kind"] == "forecast-driven"
    assert ari(truth, m.loc[ids, "segment"].to_numpy()) == 1.0
    assert set(fc.forecasts_["segment"]) == set(m["segment"])
    from segmenter.reporting import Insights

    ins = Insights.from_mapping(fc._fit_data[0], fc.mapping_)
    assert list(ins.sizes["n_series"].sort_values()) == [8, 8]
    assert ins.impact_method == "surrogate random forest"
    page = fc.segmenter_.report(tmp_path / "r.html", forecaster=fc).read_text()
    assert "segments found by moving each series" in page
    # a series never seen in fit goes to the segment whose model forecasts it best
    new = df[df["unique_id"] == "s01"].assign(unique_id="new")
    out = fc.predict(new)
    assert out["segment"].iloc[0] == m.loc["s01", "segment"]
    # fresh series of each planted dynamic land in that dynamic's segment, as the
    # moves would place them (the same linear model decides)
    fresh, fresh_truth = lag_dynamics(n_per=8, length=96, seed=7)
    fresh["unique_id"] = "new-" + fresh["unique_id"]
    got = fc.predict(fresh).groupby("unique_id", sort=True)["segment"].first()
    assert ari(fresh_truth, got.to_numpy()) == 1.0
