import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter.errors import (
    ConstraintViolationError,
    DataValidationError,
    NotFittedError,
)
from segmenter.forecasting import (
    LocalForecaster,
    SeriesGroup,
    backtest_cutoffs,
    make_forecaster,
    mase,
    rmse,
    smape,
)
from segmenter.forecasting.backtest import DataSpec, backtest_local


def seasonal_frame(n=16, length=48, seed=0, groups=2):
    """Monthly-like integer-time series in two behaviours (seasonal vs trending)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        t = np.arange(length)
        if i % groups == 0:
            y = 100 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, length)
        else:
            y = 50 + 1.5 * t + rng.normal(0, 2, length)
        rows.append(
            pd.DataFrame({"unique_id": f"s{i:02d}", "ds": t + 1, "y": y * (1 + i / 10)})
        )
    return pd.concat(rows, ignore_index=True)


def mapping_for(df, groups=2):
    ids = pd.unique(df["unique_id"])
    return sg.SegmentMapping(
        pd.DataFrame({"unique_id": ids, "segment": [int(s[1:]) % groups for s in ids]}),
        "unique_id",
    )


# ---------------------------------------------------------------------------- metrics
def test_metrics_by_hand():
    assert mase([2.0, 4.0], [3.0, 4.0], [0.0, 1.0, 3.0, 4.0], 1) == pytest.approx(
        0.5 / (4 / 3)
    )
    assert mase([1.0], [1.0], [5.0, 5.0, 5.0], 1) != mase(
        [1.0], [1.0], [5.0, 5.0, 5.0], 1
    )  # NaN
    assert smape([0.0, 10.0], [0.0, 30.0]) == pytest.approx((0 + 200 * 20 / 40) / 2)
    assert rmse([1.0, np.nan, 3.0], [2.0, 0.0, 5.0]) == pytest.approx(
        np.sqrt((1 + 4) / 2)
    )


def test_backtest_cutoffs_are_relative_to_each_series_end():
    cut = backtest_cutoffs(
        np.array([48, 30, 10]), horizon=6, n_windows=3, step=6, min_train=8
    )
    assert cut.tolist() == [[42, 24, -1], [36, 18, -1], [30, 12, -1]]


def test_auto_plan_prefers_two_selection_windows_to_a_full_champion_window():
    from segmenter.forecasting.plan import plan_backtests

    # M1-monthly-like lengths: 4 windows of step 9 score 77% in the oldest window
    lengths = np.r_[np.full(77, 60), np.full(15, 48), np.full(8, 30)]
    plan = plan_backtests(lengths, 18, "auto", None)
    assert (plan.n_windows, plan.step, plan.selection_windows) == (4, 9, [1, 2])
    assert (plan.cutoffs[:3] >= 0).all(axis=0).mean() >= 0.8
    assert (plan.cutoffs[3] >= 0).mean() == pytest.approx(0.77)
    assert any("second selection window" in n for n in plan.notes)
    # when even the newer windows do not fit, it falls back to 3
    short = plan_backtests(np.r_[np.full(70, 48), np.full(30, 30)], 18, "auto", None)
    assert short.n_windows == 3


# ---------------------------------------------------------------------------- leakage
class Spy(LocalForecaster):
    """Records every history it is given; forecasts its last value."""

    name = "spy"
    min_length = 1

    def __init__(self):
        super().__init__()
        self.seen = []

    def _forecast(self, y, horizon, m):
        self.seen.append(y.copy())
        return np.full(horizon, y[-1])


def test_backtest_windows_never_show_future_values():
    # value = position in the series: anything >= the cutoff would be a leak
    values = [np.arange(40, dtype=float), np.arange(25, dtype=float)]
    data_spec = DataSpec(1, (1,))
    ends = np.array([0, 15]) + [len(v) for v in values]  # starts 0 and 15
    data = SeriesGroup(values, np.zeros(2, dtype=int), 1, ends=ends)
    cut = backtest_cutoffs(
        np.array([40, 25]), horizon=5, n_windows=3, step=5, min_train=4
    )
    spy = Spy()
    res = backtest_local(data, data_spec, np.arange(2), cut, 5, [spy], None)
    assert len(spy.seen) == 6
    for w in range(3):
        for seen, c in zip(spy.seen[2 * w : 2 * w + 2], cut[w]):
            assert seen.max() < c and len(seen) == c  # exactly the past, no more
    # the errors use the held-out values: forecast = last seen value = c - 1
    from segmenter.forecasting.backtest import errors_of

    E = errors_of(res.forecasts["spy"], res.actuals, res.scales)
    assert E["rmse"][0, 0] == pytest.approx(np.sqrt(np.mean(np.arange(1, 6) ** 2)))


def test_history_of_a_group_built_by_hand():
    """Without grid ends the season positions move back from end_phase, and without
    keys the histories are keyed by their positions: nothing needs the grid."""
    group = SeriesGroup([np.arange(12.0), np.arange(9.0)], [0, 3], 12)
    hist, pos = group.history(np.array([10, -1]))
    np.testing.assert_array_equal(pos, [0])
    assert hist.ends is None and hist.end_phase.tolist() == [10]  # 0 - 2 steps
    assert hist.keys.tolist() == [0] and hist.values[0].tolist() == list(range(10))
    whole, _ = group.history()
    assert whole.end_phase.tolist() == [0, 3]


def test_forecast_data_is_a_read_only_view_of_the_panel():
    """The forecasting half reads the panel's value array itself: no copy of the
    values, a subset is a view, and nothing downstream can write into the panel."""
    panel = sg.Panel.from_frame(
        seasonal_frame(n=6).assign(price=lambda d: d["y"] * 2.0),
        id_col="unique_id",
        time_col="ds",
        target_col="y",
        value_cols=["price"],
    )
    data = SeriesGroup.from_panel(panel, DataSpec(12, (12,), future_cols=["price"]))
    sub = data.subset([4, 1])
    for i, y in [(4, sub.values[0]), (1, sub.values[1])]:
        assert np.shares_memory(y, panel.values)
        np.testing.assert_array_equal(y, panel.series(i))
    assert np.shares_memory(sub.future["price"][0], panel.values)
    with pytest.raises(ValueError, match="read-only"):
        data.values[0][0] = 0.0
    assert panel.values.flags.writeable  # the panel itself is untouched


# ---------------------------------------------------------------------------- the runner
@pytest.fixture(scope="module")
def fitted():
    df = seasonal_frame()
    fc = sg.SegmentedForecaster(
        horizon=6,
        n_origins=3,
        candidates=["ets", "theta", "pooled_gbm"],
        season_length=12,
        n_jobs=1,
        progress=False,
    )
    return df, fc.fit(df, mapping=mapping_for(df))


def test_combined_forecasts_cover_every_series_and_step_once(fitted):
    df, fc = fitted
    out = fc.predict()
    assert len(out) == 16 * 6 and not out.duplicated(["unique_id", "ds"]).any()
    assert out["unique_id"].tolist() == list(np.repeat(pd.unique(df["unique_id"]), 6))
    assert (
        out.groupby("unique_id")["ds"]
        .apply(list)
        .map(lambda v: v == list(range(49, 55)))
        .all()
    )
    assert out["forecast"].notna().all()
    assert set(out["champion"]) <= {"ets", "theta", "pooled_gbm", "seasonal_naive"}
    assert out.groupby("segment")["champion"].nunique().eq(1).all()
    assert set(fc.champions_) == {0, 1}


def test_leaderboards_and_comparison(fitted):
    _, fc = fitted
    lb = fc.leaderboard_
    assert set(lb["segment"]) == {0, 1}
    assert set(lb["blueprint"]) == {"seasonal_naive", "ets", "theta", "pooled_gbm"}
    for s, g in lb.groupby("segment"):
        assert g["mase"].is_monotonic_increasing and g["rank"].iloc[0] == 1
        assert fc.champions_[s] == g["blueprint"].iloc[0]
    comp = fc.comparison_
    assert set(comp["strategy"]) == {"segmented", "global", "per-series", "random"}
    assert comp["mase"].is_monotonic_increasing and (comp["series_scored"] == 16).all()
    assert (
        "champions chosen on window(s) 2, the segmentation on window(s) 1"
        in fc.comparison_text_
    )
    sel = fc.selection_
    assert set(sel["kind"]) == {"user", "global", "random", "per-series"}
    assert sel["chosen"].sum() == 1 and sel.loc[sel["chosen"], "kind"].item() == "user"
    assert (sel["kind"] == "random").sum() == 3
    per = fc.comparison_per_series_
    assert len(per) == 16 and per["segmented mase"].notna().all()
    # the seasonal group is forecast much better by anything seasonal than by a trend
    assert (
        lb[(lb.segment == 0) & (lb.blueprint == "seasonal_naive")]["mase"].iloc[0] < 2
    )


class Broken(LocalForecaster):
    name = "broken"

    def _forecast(self, y, horizon, m):
        raise RuntimeError("does not converge")


def test_a_failing_candidate_is_recorded_and_the_baseline_stands_in():
    df = seasonal_frame(n=6)
    fc = sg.SegmentedForecaster(
        horizon=4,
        n_origins=2,
        candidates=[Broken()],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(df, mapping=mapping_for(df))
    lb = fc.leaderboard_
    bad = lb[lb.blueprint == "broken"]
    assert (bad["status"] == "failed").all()
    assert (
        bad["reason"].str.contains("RuntimeError: broken failed on 3 of 3 series").all()
    )
    assert set(fc.champions_.values()) == {"seasonal_naive"}
    assert fc.predict()["forecast"].notna().all()


def test_short_series_fall_back_per_series_and_all_missing_series_are_kept():
    df = seasonal_frame(n=6)
    short = pd.DataFrame({"unique_id": "tiny", "ds": [1, 2], "y": [5.0, 6.0]})
    empty = pd.DataFrame({"unique_id": "void", "ds": [1, 2, 3], "y": [np.nan] * 3})
    df = pd.concat([df, short, empty], ignore_index=True)
    m = sg.SegmentMapping(
        pd.DataFrame({"unique_id": pd.unique(df["unique_id"]), "segment": 0}),
        "unique_id",
    )
    fc = sg.SegmentedForecaster(
        horizon=3,
        n_origins=1,
        candidates=["theta"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    ).fit(df, mapping=m)
    out = fc.predict().set_index("unique_id")
    assert len(out.loc["tiny"]) == 3 and len(out.loc["void"]) == 3
    assert out.loc["void", "forecast"].isna().all()
    if fc.champions_[0] == "theta":
        assert out.loc["tiny", "fallback"].all()
        assert out.loc["tiny", "forecast"].tolist() == [6.0, 6.0, 6.0]


def test_user_segment_column_c7_and_c5():
    df = seasonal_frame(n=6)
    df["seg"] = df["unique_id"].map(lambda s: int(s[1:]) % 2)
    fc = sg.SegmentedForecaster(
        horizon=3,
        n_origins=1,
        candidates="quick",
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(df, segment_col="seg")
    assert fc.segment_source_ == "user column" and set(fc.champions_) == {0, 1}
    bad = df.copy()
    bad.loc[bad.index[0], "seg"] = 5
    with pytest.raises(DataValidationError, match="C7"):
        fc.fit(bad, segment_col="seg")
    many = df.assign(seg=df["unique_id"])
    with pytest.raises(ConstraintViolationError, match="C5"):
        sg.SegmentedForecaster(horizon=3, max_segments=3).fit(many, segment_col="seg")
    with pytest.raises(DataValidationError, match="give mapping="):
        fc.fit(df)


def test_new_series_through_the_segmenter_and_save_load(tmp_path):
    df = seasonal_frame(n=24, seed=2)
    ids = pd.unique(df["unique_id"])
    new_ids = set(ids[::6])
    old = df[~df["unique_id"].isin(new_ids)]
    seg = sg.Segmenter(
        n_clusters=2, blueprints=["features_kmeans"], progress=False
    ).fit(old)
    fc = sg.SegmentedForecaster(
        horizon=4,
        n_origins=2,
        candidates=["theta", "pooled_gbm"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(old, segmenter=seg)
    new = df[df["unique_id"].isin(new_ids)]
    pred = fc.predict(new)
    assert (
        sorted(pd.unique(pred["unique_id"])) == sorted(new_ids) and len(pred) == 4 * 4
    )
    expected = seg.predict(new).to_frame().set_index("unique_id")["segment"]
    assert (pred.groupby("unique_id")["segment"].first() == expected).all()
    back = sg.load(fc.save(tmp_path / "fc.segmenter"))
    pd.testing.assert_frame_equal(back.predict(), fc.predict())
    pd.testing.assert_frame_equal(back.predict(new), pred)
    with pytest.raises(DataValidationError, match="not in the mapping"):
        sg.SegmentedForecaster(
            horizon=2, candidates=["theta"], n_jobs=1, progress=False, compare=False
        ).fit(old, mapping=seg.mapping_).predict(new)


def test_parallel_equals_serial():
    df = seasonal_frame(n=8)
    kw = dict(
        horizon=4,
        n_origins=2,
        candidates=["theta", "pooled_gbm"],
        season_length=12,
        progress=False,
    )
    a = sg.SegmentedForecaster(n_jobs=1, **kw).fit(df, mapping=mapping_for(df))
    b = sg.SegmentedForecaster(n_jobs=2, **kw).fit(df, mapping=mapping_for(df))
    pd.testing.assert_frame_equal(a.predict(), b.predict())
    pd.testing.assert_frame_equal(
        a.comparison_,
        b.comparison_.assign(backtest_seconds=a.comparison_["backtest_seconds"]),
    )


def test_fit_stages_return_what_they_find_and_fit_sets_it_in_one_place():
    """The stages of fit write no attribute: ``_prepare`` (seasons, candidates, plan)
    and ``_choose`` return what they find, and ``fit`` sets every fitted attribute."""
    df = seasonal_frame(n=8)
    fc = sg.SegmentedForecaster(
        horizon=3,
        n_origins=2,
        candidates=["seasonal_naive", "ets"],
        season_length=12,
        progress=False,
    )
    before = dict(vars(fc))
    panel = sg.Panel.from_frame(df)
    prep = fc._prepare(fc._engine(), panel, [], [])
    assert vars(fc) == before
    assert prep.seasons[0] == 12 and list(prep.blueprints) == ["seasonal_naive", "ets"]
    assert prep.plan.n_windows == 2 and prep.job.plan is prep.plan
    fc.fit(df, mapping=mapping_for(df))
    assert fc.candidates_ == ["seasonal_naive", "ets"] and fc.plan_.n_windows == 2
    assert fc.season_length_ == 12 and fc.step_ == fc.plan_.step
    assert set(fc.champions_) == {0, 1} and not fc.forecasts_.empty


def test_bad_parameters_and_unfitted():
    with pytest.raises(DataValidationError, match="horizon=0"):
        sg.SegmentedForecaster(horizon=0).fit(seasonal_frame(n=4), segment_col="x")
    with pytest.raises(DataValidationError, match="not a forecaster spec"):
        make_forecaster("prophet")
    with pytest.raises(NotFittedError):
        sg.SegmentedForecaster(horizon=3).predict()


def test_pooled_model_forecasts_series_it_never_saw():
    rng = np.random.default_rng(0)
    t = np.arange(60)
    vals = [
        a * (10 + np.sin(2 * np.pi * t / 12)) + rng.normal(0, 0.05, 60)
        for a in rng.uniform(1, 5, 30)
    ]
    f = make_forecaster("pooled_gbm")
    state = f.fit(SeriesGroup(vals[:20], np.zeros(20, dtype=int), 12))
    new = SeriesGroup(vals[20:], np.zeros(10, dtype=int), 12)
    out, _ = f.predict(state, new, 12)
    truth = np.array(
        [
            np.mean(v[-12:]) / 10 * (10 + np.sin(2 * np.pi * np.arange(60, 72) / 12))
            for v in vals[20:]
        ]
    )
    assert np.mean(np.abs(out - truth) / truth) < 0.05


@pytest.mark.slow
def test_sktime_check_estimator():
    from sktime.utils.estimator_checks import check_estimator

    from segmenter.adapters.sktime_bridge import SegmentedSktimeForecaster

    results = check_estimator(
        SegmentedSktimeForecaster, raise_exceptions=False, verbose=False
    )
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert not failed, failed
    assert len(results) > 100


def test_sktime_forecaster_as_a_candidate():
    from sktime.forecasting.naive import NaiveForecaster

    from segmenter.adapters.sktime_bridge import SktimeForecaster

    df = seasonal_frame(n=4)
    fc = sg.SegmentedForecaster(
        horizon=3,
        n_origins=1,
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
        candidates=[SktimeForecaster(NaiveForecaster(strategy="drift"))],
    )
    fc.fit(df, mapping=mapping_for(df))
    assert "sktime_NaiveForecaster" in set(fc.leaderboard_["blueprint"])
    assert (fc.leaderboard_["status"] == "ok").all()


def test_user_overrides_a_champion():
    df = seasonal_frame(n=6)
    fc = sg.SegmentedForecaster(
        horizon=3,
        n_origins=1,
        candidates=["theta"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(df, mapping=mapping_for(df))
    before = fc.predict()
    fc.set_champion(1, "seasonal_naive", data=df)
    after = fc.predict()
    assert fc.champions_[1] == "seasonal_naive"
    seg1 = after["segment"] == 1
    assert (after.loc[seg1, "champion"] == "seasonal_naive").all()
    pd.testing.assert_frame_equal(after[~seg1], before[~seg1])
    last = df[df["unique_id"] == "s01"]["y"].to_numpy()
    assert after[after.unique_id == "s01"]["forecast"].tolist() == pytest.approx(
        last[-12:-9]
    )
    with pytest.raises(DataValidationError, match="segment 7 is not one of"):
        fc.set_champion(7, "theta", data=df)


def test_series_too_short_for_any_backtest_get_the_baseline():
    df = seasonal_frame(n=4, length=7)
    fc = sg.SegmentedForecaster(
        horizon=4,
        n_origins=2,
        candidates=["theta"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(df, mapping=mapping_for(df))
    assert set(fc.champions_.values()) == {"seasonal_naive"}
    assert fc.leaderboard_["mase"].isna().all()
    out = fc.predict()
    assert len(out) == 16 and out["forecast"].notna().all()


# ---------------------------------------------------------------- forecast_sample
@pytest.fixture(scope="module")
def sampled():
    df = seasonal_frame(n=40, length=48)
    fc = sg.SegmentedForecaster(
        horizon=6,
        n_origins=3,
        candidates=["ets", "theta", "lgbm"],
        season_length=12,
        forecast_sample=12,
        n_jobs=1,
        progress=False,
    )
    return df, fc.fit(df, mapping=mapping_for(df))


def test_a_sampled_selection_forecasts_every_series_and_records_the_sample(sampled):
    df, fc = sampled
    rec = fc.forecast_sample_
    ids = sorted(pd.unique(df["unique_id"]))
    # the candidates compared, not the fixed forms production reused (below)
    assert fc.candidates_ == ["seasonal_naive", "ets", "theta", "lgbm"]
    # every series forecast once per step, none left to the baseline
    f = fc.forecasts_
    assert sorted(pd.unique(f["unique_id"])) == ids
    assert len(f) == len(ids) * 6
    assert f[["forecast", "lo-80", "hi-95"]].notna().all().all()
    # the sample: its size, its series, stratified by the given segments
    assert rec["n_series"] == 40 and rec["n_sampled"] == len(rec["ids"]) == 12
    assert set(rec["ids"]) < set(ids)
    assert rec["stratified_by"] == "user"
    assert rec["segments"] == {0: (6, 20), 1: (6, 20)}
    # selection and comparison ran on the sampled series only, and say so
    assert sorted(fc.comparison_per_series_["unique_id"]) == sorted(rec["ids"])
    assert "sample of 12 of 40 series" in fc.comparison_text_
    # the per-series baseline is scored but cannot be chosen
    assert "per-series" in set(fc.selection_["kind"])
    with pytest.raises(DataValidationError, match="selection sample"):
        fc.forecast_with("per-series")
    # a searching champion is served with the form its search chose on the sample
    reused = {g: m.forms for g, m in fc._models.items() if m.forms}
    for g, forms in reused.items():
        for spec, form in forms.items():
            assert fc._models[g].members != [spec]
            assert all(f"{k}=" in fc._models[g].members[0] for k in form)
    # predicting the fit data gives the fit's forecasts
    p = fc.predict(df)
    np.testing.assert_allclose(p["forecast"], f["forecast"])


def test_a_sample_as_large_as_the_panel_is_no_sample():
    df = seasonal_frame(n=8, length=40)
    kw = dict(horizon=6, n_origins=2, candidates=["theta"], n_jobs=1, progress=False)
    a = sg.SegmentedForecaster(**kw, forecast_sample=8).fit(df, mapping=mapping_for(df))
    b = sg.SegmentedForecaster(**kw).fit(df, mapping=mapping_for(df))
    assert a.forecast_sample_ is None
    pd.testing.assert_frame_equal(a.forecasts_, b.forecasts_)


def test_the_plan_caps_arima_on_a_long_season():
    from segmenter.adapters.statsforecast_bridge import ARIMACandidate

    df = seasonal_frame(n=4, length=40)
    fc = sg.SegmentedForecaster(
        horizon=4,
        n_origins=2,
        candidates=["arima"],
        season_length=52,
        compare=False,
        n_jobs=1,
        progress=False,
    ).fit(df, mapping=mapping_for(df))
    assert any("arima is fitted without a seasonal part" in x for x in fc.plan_.notes)
    y = np.arange(120.0)
    assert ARIMACandidate()._season(y, 52) == 1
    assert ARIMACandidate()._season(y, 12) == 12


def test_predict_in_chunks_on_the_engine_equals_one_process(monkeypatch):
    from segmenter.forecasting import predicting as module

    df = seasonal_frame(n=12, length=40)
    fc = sg.SegmentedForecaster(
        horizon=6, n_origins=2, candidates=["theta", "lgbm"], n_jobs=1, progress=False
    ).fit(df, mapping=mapping_for(df))
    whole = fc.predict(df, level=[80])
    monkeypatch.setattr(module, "SERIES_PER_TASK", 2)  # 6 tasks, 2 processes
    fc.n_jobs = 2
    chunked = fc.predict(df, level=[80])
    pd.testing.assert_frame_equal(whole, chunked)
    assert len(chunked) == 12 * 6 and chunked["lo-80"].notna().all()


def test_segments_too_small_for_their_own_residuals_take_the_pooled_ones():
    """A one-series segment has one residual per window and step, fewer than the 5 a
    conformal quantile needs: its intervals come from the strategy's residuals pooled
    over its segments, never missing (the per-series strategy is all such segments)."""
    from segmenter.forecasting.champions import SegmentModel, pool_residuals

    rng = np.random.default_rng(0)
    big = SegmentModel("a", "naive", ["naive"], residuals=rng.random((40, 3)) + 1.0)
    small = SegmentModel("b", "naive", ["naive"], residuals=rng.random((3, 3)))
    big.quantiles = {80: big.quantile(80)}
    small.quantiles = {80: small.quantile(80)}
    assert np.isnan(small.quantile(80)).all() and np.isfinite(big.quantile(80)).all()
    pool_residuals({"a": big, "b": small}, [80])
    pooled = np.concatenate([big.residuals, small.residuals])
    k = int(np.ceil((len(pooled) + 1) * 0.8))  # the finite-sample corrected rank
    np.testing.assert_allclose(small.quantile(80), np.sort(pooled, axis=0)[k - 1])
    np.testing.assert_array_equal(big.quantile(80), big.quantiles[80])  # its own
    assert np.isfinite(small.quantile(95)).all()  # a level asked after fit too

    df = seasonal_frame(n=10, length=48)
    naive = ["naive", "seasonal_naive"]  # no native intervals: conformal everywhere
    quiet = dict(season_length=12, n_jobs=1, progress=False)
    fc = sg.SegmentedForecaster(horizon=6, n_origins=3, candidates=naive, **quiet)
    fc.fit(df, mapping=mapping_for(df))
    p = fc.forecast_with("per-series", level=[80])
    assert (p["interval"] == "conformal").all()
    assert p[["lo-80", "hi-80"]].notna().all().all()
    assert (p["hi-80"] >= p["lo-80"]).all()
