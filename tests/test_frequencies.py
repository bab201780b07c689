"""The panels teams hold: weekly, daily, hourly, short and mostly-zero ones get
backtested, forecast and a verdict with numbers, or a plain "could not compare"."""

import pytest

import segmenter as sg
from segmenter.cli import main
from segmenter.datasets import make_retail


def panel(freq: str, periods: int, n: int = 12, zeros: float = 0.0, seed: int = 0):
    return make_retail(freq, periods, n, zeros, n_segments=2, random_state=seed)


def fit(df, horizon, **kw):
    fc = sg.SegmentedForecaster(
        horizon=horizon,
        candidates=kw.pop("candidates", ["ets", "theta"]),
        n_jobs=1,
        progress=False,
        **kw,
    )
    return fc.fit(df, segment_col="seg")


def check_scored(fc, df, horizon):
    n = df["unique_id"].nunique()
    lb = fc.leaderboard_
    ok = lb[lb["status"] == "ok"]
    assert (ok["series_scored"] > 0).all(), ok[
        ["segment", "blueprint", "series_scored"]
    ]
    comp = fc.comparison_
    assert comp[fc.metric].notna().all() and (comp["series_scored"] > 0).all()
    assert "nan" not in fc.comparison_text_.lower()
    assert not fc.comparison_text_.startswith("Could not compare")
    pred = fc.predict()
    assert len(pred) == n * horizon and pred["forecast"].notna().all()


def test_two_years_of_weekly_sales_are_backtested():
    df = panel("W-MON", 104, n=40)
    fc = fit(df, 8)
    assert fc.season_length_ == 52
    check_scored(fc, df, 8)
    lb = fc.leaderboard_
    ets = lb[lb["blueprint"] == "ets"]
    assert (ets["status"] == "ok").all()


def test_three_years_weekly_and_thirty_months_and_mostly_zeros():
    for df, h in (
        (panel("W-MON", 156), 8),
        (panel("MS", 30), 6),
        (panel("W-MON", 104, zeros=0.7), 8),
    ):
        fc = fit(df, h, candidates=["ets", "theta", "lgbm"])
        check_scored(fc, df, h)


def test_mostly_zero_panel_goes_to_the_intermittent_methods():
    df = panel("W-MON", 104, zeros=0.7)
    fc = fit(df, 8)
    assert set(fc.champions_.values()) <= {
        "croston",
        "tsb",
        "adida",
        "imapa",
        "seasonal_naive",
    }


@pytest.mark.slow
def test_daily_and_hourly_data_use_two_seasons():
    daily = panel("D", 730, n=8)
    fc = fit(daily, 14)
    assert fc.seasons_ == (7, 365) and "mstl" in fc.candidates_
    check_scored(fc, daily, 14)
    hourly = panel("h", 24 * 7 * 8, n=6)
    fc = fit(hourly, 24)
    assert fc.seasons_ == (24, 168) and "mstl" in fc.candidates_
    check_scored(fc, hourly, 24)


def test_a_panel_too_short_for_any_backtest_says_so(tmp_path, capsys):
    df = panel("MS", 7, n=12)
    fc = fit(df, 6)
    text = fc.comparison_text_
    assert text.startswith("Could not compare") and "0 of 12 series" in text
    assert "nan" not in text.lower()
    assert fc.predict()["forecast"].notna().all()  # still forecast, by the baseline
    assert set(fc.champions_.values()) == {"seasonal_naive"}
    path = tmp_path / "short.csv"
    df.to_csv(path, index=False)
    code = main(
        [
            "forecast",
            str(path),
            "--segment-col",
            "seg",
            "--horizon",
            "6",
            "--candidates",
            "theta",
            "--jobs",
            "1",
            "-o",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    out = capsys.readouterr()
    assert code == 4 and "Could not compare" in out.out, (code, out.err[-500:])


def test_requested_origins_that_do_not_fit_are_explained():
    df = panel("W-MON", 40, n=10)
    fc = fit(df, 8, n_origins=5)
    notes = " ".join(fc.plan_.notes)
    assert "do not fit" in notes and "n_origins='auto'" in notes
    auto = fit(df, 8, n_origins="auto")
    assert auto.plan_.n_windows >= 3 and (auto.plan_.cutoffs >= 0).all()
    check_scored(auto, df, 8)
