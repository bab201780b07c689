"""Covariates known in advance, prediction intervals, and forecasting new data with a
saved model."""

import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter.errors import DataValidationError


def promo_frame(n=16, length=80, horizon=8, seed=0):
    """Daily-like sales with a promotion flag known in advance: sales jump on promotion
    days.  Returns the history and the future frame (the promotion plan)."""
    rng = np.random.default_rng(seed)
    rows = []
    t = np.arange(length + horizon)
    for i in range(n):
        promo = (rng.random(length + horizon) < 0.2).astype(int)
        base = rng.uniform(50, 150)
        y = base + 0.1 * t + base * 0.6 * promo + rng.normal(0, base * 0.03, len(t))
        rows.append(
            pd.DataFrame(
                {
                    "store": f"s{i:02d}",
                    "day": t + 1,
                    "sales": y,
                    "promo": promo,
                    "size": ["big", "small"][i % 2],
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    hist = df[df["day"] <= length].reset_index(drop=True)
    future = df[df["day"] > length].reset_index(drop=True)
    return hist, future


COLS = dict(id_col="store", time_col="day", target_col="sales")
FC = dict(
    horizon=8,
    n_origins=3,
    candidates=["lgbm"],
    season_length=7,
    n_jobs=1,
    progress=False,
    compare=False,
)


def one_segment(df):
    return sg.SegmentMapping(
        pd.DataFrame({"store": pd.unique(df["store"]), "segment": 0}), "store"
    )


@pytest.fixture(scope="module")
def promo():
    hist, future = promo_frame()
    with_promo = sg.SegmentedForecaster(**FC).fit(
        hist,
        mapping=one_segment(hist),
        future_cols=["promo"],
        static_cols=["size"],
        **COLS,
    )
    without = sg.SegmentedForecaster(**FC).fit(hist, mapping=one_segment(hist), **COLS)
    return hist, future, with_promo, without


def test_a_known_promotion_cuts_the_error(promo):
    hist, future, with_promo, without = promo
    actual = future.set_index(["store", "day"])["sales"]

    def mae(pred):
        p = pred.set_index(["store", "day"])["forecast"]
        return float(np.mean(np.abs(p - actual.loc[p.index])))

    a = with_promo.predict(hist, future=future[["store", "day", "promo"]])
    b = without.predict(hist)
    assert a["champion"].eq("lgbm").all() and len(a) == 16 * 8
    assert mae(a) < 0.5 * mae(b), (mae(a), mae(b))
    lb = with_promo.leaderboard_
    assert lb.loc[lb["blueprint"] == "lgbm", "status"].eq("ok").all()


def test_future_frame_must_cover_every_series_and_step(promo):
    hist, future, fc, _ = promo
    plan = future[["store", "day", "promo"]]
    with pytest.raises(DataValidationError) as exc:
        fc.predict(hist, future=plan.iloc[3:])  # s00 misses days 81-83
    assert exc.value.kinds() == ["future_incomplete"] and "'s00'" in str(exc.value)
    assert "steps [1, 2, 3]" in str(exc.value)
    with pytest.raises(DataValidationError, match="lacks columns \\['promo'\\]"):
        fc.predict(hist, future=plan.drop(columns="promo"))
    with pytest.raises(
        DataValidationError, match="columns \\['price'\\] the model was not"
    ):
        fc.predict(hist, future=plan.assign(price=1.0))
    with pytest.raises(DataValidationError, match="lag it .* or drop it"):
        fc.predict(hist)  # no future values at all


def test_forecasts_of_the_fit_say_why_a_covariate_champion_fell_back(promo, caplog):
    """The fit has no future covariate values for the horizon: its own forecasts fall
    back to the seasonal naive, flagged, and the warning says why and what to call."""
    hist, future, fc, _ = promo
    assert fc.forecasts_["fallback"].all()
    assert fc.forecasts_.attrs["fallback_series"] == 16
    with caplog.at_level("WARNING", logger="segmenter"):
        fc.set_champion(0, "lgbm")
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert "16 of 16 series fell back" in msg
    why = "16 of them are in segments whose champion reads the future covariates"
    assert f"{why} ['promo']" in msg and "predict(future=...)" in msg
    pred = fc.predict(hist, future=future[["store", "day", "promo"]])
    assert not pred["fallback"].any()


def test_static_column_that_varies_is_refused_with_a_hint():
    hist, _ = promo_frame(n=4)
    with pytest.raises(DataValidationError) as exc:
        sg.SegmentedForecaster(**FC).fit(
            hist, mapping=one_segment(hist), static_cols=["promo"], **COLS
        )
    assert "static_conflict" in exc.value.kinds()
    assert "future_cols" in "\n".join(exc.value.__notes__)
    with pytest.raises(DataValidationError, match="both static_cols and future_cols"):
        sg.SegmentedForecaster(**FC).fit(
            hist,
            mapping=one_segment(hist),
            static_cols=["promo"],
            future_cols=["promo"],
            **COLS,
        )
    with pytest.raises(DataValidationError, match="\\['nope'\\] are not in the data"):
        sg.SegmentedForecaster(**FC).fit(
            hist, mapping=one_segment(hist), future_cols=["nope"], **COLS
        )


def test_saved_model_forecasts_new_history_as_in_memory(tmp_path, promo):
    hist, future, fc, _ = promo
    more = pd.concat([hist, future.iloc[:0]])
    new = hist[hist["day"] > 10]  # a later start: still fine
    back = sg.load(fc.save(tmp_path / "fc.segmenter"))
    plan = future[["store", "day", "promo"]]
    a = fc.predict(new, future=plan, level=[80])
    b = back.predict(new, future=plan, level=[80])
    pd.testing.assert_frame_equal(a, b)
    assert {"lo-80", "hi-80", "interval"} <= set(a.columns)
    assert (a["lo-80"] <= a["forecast"]).all() and (a["forecast"] <= a["hi-80"]).all()
    # histories that end at different times: each horizon starts after its own end
    short = more[~((more["store"] == "s00") & (more["day"] > 76))]
    plan2 = pd.concat(
        [plan, pd.DataFrame({"store": "s00", "day": [77, 78, 79, 80], "promo": 0})]
    )
    c = back.predict(short, future=plan2)
    assert c[c["store"] == "s00"]["day"].tolist() == list(range(77, 85))
    assert c[c["store"] == "s01"]["day"].tolist() == list(range(81, 89))


def test_conformal_intervals_reach_nominal_coverage():
    """Random walks with noise, forecast by the naive model (no intervals of its own):
    the served 80% and 95% intervals are conformal, from the backtest residuals, and
    cover the simulated futures at their levels (a wrong quantile, e.g. the median of
    the residuals, would cover about 50%)."""
    rng = np.random.default_rng(7)
    n, length, h = 120, 60, 4
    paths = 100 + np.cumsum(rng.normal(0, 1, (n, length + h)), axis=1)
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), length),
            "ds": np.tile(np.arange(length), n),
            "y": paths[:, :length].ravel(),
        }
    )
    fc = sg.SegmentedForecaster(
        horizon=h,
        n_origins=4,
        step=2,
        candidates=["naive"],
        season_length=1,
        n_jobs=1,
        progress=False,
        compare=False,
        intermittent=False,
    )
    fc.fit(
        df,
        mapping=sg.SegmentMapping(
            pd.DataFrame({"unique_id": np.arange(n), "segment": 0}), "unique_id"
        ),
    )
    fc.set_champion(0, "naive")
    pred = fc.predict(level=[80, 95])
    assert (pred["interval"] == "conformal").all()
    actual = paths[:, length:].ravel()
    for lv in (80, 95):
        cover = np.mean((actual >= pred[f"lo-{lv}"]) & (actual <= pred[f"hi-{lv}"]))
        assert abs(cover - lv / 100) < 0.06, (lv, cover)


def test_intervals_are_conformal_unless_native_is_asked(tmp_path):
    """AutoETS has intervals of its own: by default they are neither computed nor
    served (every row conformal, from the backtest residuals); ``intervals="native"``
    serves AutoETS's own, and a model saved before the option keeps them."""
    rng = np.random.default_rng(3)
    n, length = 10, 48
    t = np.arange(length)
    y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 1, (n, length))
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), length),
            "ds": np.tile(t, n),
            "y": y.ravel(),
        }
    )
    one = sg.SegmentMapping(
        pd.DataFrame({"unique_id": np.arange(n), "segment": 0}), "unique_id"
    )
    kw = {**FC, "horizon": 4, "n_origins": 4, "candidates": ["ets"]}
    kw.update(season_length=4, intermittent=False)
    conformal = sg.SegmentedForecaster(**kw).fit(df, mapping=one)
    conformal.set_champion(0, "ets")
    native = sg.SegmentedForecaster(intervals="native", **kw).fit(df, mapping=one)
    native.set_champion(0, "ets")
    assert conformal.intervals == "conformal"
    assert not any(conformal._fit_data[2].local_iv.values())  # none computed
    assert native._fit_data[2].local_iv["ets"]  # AutoETS's own, on every window
    a, b = conformal.predict(level=[80]), native.predict(level=[80])
    assert (a["interval"] == "conformal").all() and (b["interval"] == "native").all()
    assert (conformal.predict(df, level=[80])["interval"] == "conformal").all()
    np.testing.assert_allclose(a["forecast"], b["forecast"])
    assert not np.allclose(a["lo-80"], b["lo-80"])
    # the fitted method holds after a parameter change, also in forecast_with
    conformal.set_params(intervals="native")
    other = conformal.forecast_with("user", champion="ets", level=[80])
    assert (other["interval"] == "conformal").all()
    # a model saved by 0.3 has none of the three: it keeps the native intervals, and
    # its parameters still read
    state = conformal.__getstate__()
    del state["intervals"], state["intervals_"]
    old = sg.SegmentedForecaster.__new__(sg.SegmentedForecaster)
    old.__setstate__(state)
    del old._models[0].__dict__["native_intervals"]
    assert old.get_params()["intervals"] == "native" and "native" in repr(old)
    assert (old.predict(df, level=[80])["interval"] == "native").all()
    with pytest.raises(DataValidationError, match="intervals"):
        sg.SegmentedForecaster(intervals="model", **kw).fit(df, mapping=one)


def test_only_segments_whose_champion_reads_covariates_are_called_blind():
    """The fallback warning names missing future values as the reason only for the
    segments whose model has a member reading future covariates."""
    from segmenter.forecasting.catalogue import make_forecaster
    from segmenter.forecasting.champions import SegmentModel
    from segmenter.forecasting.fit_job import future_blind

    bps = {s: make_forecaster(s) for s in ("ets", "lgbm", "arima", "combo")}
    models = {
        0: SegmentModel(0, "ets", ["ets"]),
        1: SegmentModel(1, "lgbm", ["lgbm"]),
        2: SegmentModel(2, "combo", ["ets", "arima"]),
    }
    assert future_blind(models, bps, ["promo"]) == (("promo",), (1, 2))
    assert future_blind(models, bps, []) == ((), ())
