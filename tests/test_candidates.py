"""The forecasting candidates: statsforecast's models as the engine gives them, LightGBM
through mlforecast without leaks, combinations, intermittent demand."""

import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter.forecasting import SeriesGroup, make_forecaster
from segmenter.forecasting.backtest import DataSpec, backtest_pooled
from segmenter.selection.folds import backtest_cutoffs


def _series(n=4, length=48, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return [
        50
        + 5 * i
        + 8 * np.sin(2 * np.pi * t / 12)
        + 0.3 * t
        + rng.normal(0, 1.5, length)
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "spec,engine_cls",
    [("ets", "AutoETS"), ("arima", "AutoARIMA"), ("theta", "AutoTheta")],
)
def test_statsforecast_models_equal_the_engines_own(spec, engine_cls):
    import statsforecast.models as M

    ys = _series()
    group = SeriesGroup(ys, np.zeros(len(ys), dtype=int), 12)
    fc = make_forecaster(spec).predict(None, group, 6, levels=[80, 95])
    for i, y in enumerate(ys):
        own = getattr(M, engine_cls)(season_length=12).forecast(y, 6, level=[80, 95])
        np.testing.assert_allclose(fc.mean[i], own["mean"], rtol=1e-12)
        np.testing.assert_allclose(fc.intervals[95][0][i], own["lo-95"], rtol=1e-12)
        np.testing.assert_allclose(fc.intervals[80][1][i], own["hi-80"], rtol=1e-12)
    assert not fc.fallbacks


def test_lightgbm_never_sees_values_after_the_cutoff(monkeypatch):
    from segmenter.adapters.mlforecast_bridge import LightGBMCandidate

    seen = []
    real = LightGBMCandidate._frame

    def spy(self, group, keys):
        df, dyn, st = real(self, group, keys)
        seen.append(
            (
                np.asarray(group.ends).copy(),
                df.groupby("unique_id")["ds"].max(),
                df.groupby("unique_id")["y"].max(),
            )
        )
        return df, dyn, st

    monkeypatch.setattr(LightGBMCandidate, "_frame", spy)
    # value = 1000 + position: anything >= 1000 + cutoff would be a leak
    values = [1000.0 + np.arange(60), 1000.0 + np.arange(50)]
    ends = np.array([0, 10]) + [len(v) for v in values]  # starts 0 and 10
    data = SeriesGroup(values, ends % 12, 12, ends=ends)
    cut = backtest_cutoffs(
        np.array([60, 50]), horizon=6, n_windows=3, step=6, min_train=4
    )
    out = backtest_pooled(
        data, DataSpec(12, (12,)), np.arange(2), cut, 6, [make_forecaster("lgbm")]
    )
    assert not out["lgbm"]["error"] and len(seen) == 6  # fit and predict, 3 windows
    for w in range(3):
        for ends, last_ds, max_y in seen[2 * w : 2 * w + 2]:
            starts = np.array([0, 10])
            np.testing.assert_array_equal(ends, starts + cut[w])
            assert (last_ds.to_numpy() < starts + cut[w]).all()
            assert (max_y.to_numpy() < 1000 + cut[w]).all()
    assert np.isfinite(out["lgbm"]["forecasts"]).all()


def test_lightgbm_direct_and_recursive_are_deterministic():
    ys = _series(n=12, length=60)
    group = SeriesGroup(
        ys, np.arange(12) % 12, 12, ends=np.full(12, 60), keys=np.arange(12)
    )
    for strategy in ("recursive", "direct"):
        bp = make_forecaster(f"lgbm(strategy='{strategy}')")
        a = bp.predict(bp.fit(group), group, 6).mean
        b = bp.predict(bp.fit(group), group, 6).mean
        np.testing.assert_array_equal(a, b)
        truth = np.array(
            [
                50
                + 5 * i
                + 8 * np.sin(2 * np.pi * np.arange(60, 66) / 12)
                + 0.3 * np.arange(60, 66)
                for i in range(12)
            ]
        )
        assert np.mean(np.abs(a - truth) / truth) < 0.06, strategy


def test_pooled_gbm_keeps_working_as_lightgbm():
    with pytest.warns(FutureWarning, match="'lgbm'"):
        bp = make_forecaster("pooled_gbm")
    assert bp.spec == "pooled_gbm" and bp.kind == "pooled"
    assert "LightGBM" in bp.describe()


def test_combination_is_the_mean_of_the_best_members():
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(1, 49), "y": y})
            for i, y in enumerate(_series(n=6))
        ],
        ignore_index=True,
    )
    fc = sg.SegmentedForecaster(
        horizon=6,
        candidates=["ets", "theta", "naive", "combo(k=2)"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(
        df,
        mapping=sg.SegmentMapping(
            pd.DataFrame({"unique_id": [f"s{i}" for i in range(6)], "segment": 0}),
            "unique_id",
        ),
    )
    lb = fc.leaderboard_
    row = lb[lb["blueprint"] == "combo(k=2)"].iloc[0]
    singles = lb[~lb["blueprint"].str.startswith("combo")].sort_values("mase")
    members = singles["blueprint"].head(2).tolist()
    assert row["steps"].endswith(", ".join(members))
    panel, data, backtests = fc._fit_data
    from segmenter.forecasting.backtest import errors_of

    F = (backtests.local[members[0]] + backtests.local[members[1]]) / 2
    E = errors_of(F, backtests.actuals, backtests.scales)["mase"]
    assert row["mase"] == pytest.approx(np.nanmean(E), rel=1e-9)


def test_intermittent_segment_chooses_an_intermittent_method():
    rng = np.random.default_rng(0)
    t = np.arange(60)
    rows = []
    for i in range(16):
        y = (
            np.where(rng.random(60) < 0.25, 1 + rng.poisson(4, 60), 0).astype(float)
            if i % 2 == 0
            else 50 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 60)
        )
        rows.append(
            pd.DataFrame({"unique_id": f"s{i:02d}", "ds": t + 1, "y": y, "seg": i % 2})
        )
    df = pd.concat(rows, ignore_index=True)
    fc = sg.SegmentedForecaster(
        horizon=6,
        candidates=["ets", "theta"],
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
    )
    fc.fit(df, segment_col="seg")
    intermittent = {"croston", "tsb", "adida", "imapa"}
    assert intermittent <= set(fc.candidates_)  # added on their own
    assert fc.champions_[0] in intermittent
    assert fc.champions_[1] not in intermittent
    lb = fc.leaderboard_
    assert set(lb[lb["segment"] == 0]["blueprint"]) <= intermittent | {"seasonal_naive"}
    assert not intermittent & set(lb[lb["segment"] == 1]["blueprint"])


@pytest.mark.filterwarnings("ignore:'pooled_gbm':FutureWarning")
@pytest.mark.parametrize("name", sorted(sg.forecasting.FORECASTERS))
def test_candidates_declare_their_parameters_in_init(name):
    """scikit-learn's contract: every parameter is an ``__init__`` argument with a
    default, stored unchanged; clone and the spec round-trip keep them; each has a
    declared constraint."""
    from sklearn.base import clone

    bp = make_forecaster(name)
    defaults = type(bp).param_defaults()
    assert bp.get_params(deep=False) == defaults
    assert bp.params == {} and bp.spec == name
    assert set(bp._parameter_constraints) == set(defaults)
    for key, value in defaults.items():
        assert getattr(bp, key) is value
    assert clone(bp).get_params(deep=False) == defaults
    changed = {
        k: v
        for k, v in {
            "k": 2,
            "how": "median",
            "damped": False,
            "model": "STM" if name == "theta" else "AAN",
            "stepwise": False,
            "strategy": "direct",
            "n_estimators": 7,
            "alpha_d": 0.3,
        }.items()
        if k in defaults
    }
    if changed:
        bp2 = make_forecaster(bp.set_params(**changed).spec)
        assert bp2.params == changed
        assert bp2.get_params(deep=False) == {**defaults, **changed}


@pytest.mark.parametrize(
    "spec,says",
    [
        ("combo(k=1)", "k=1 must be an int in the range [2, inf)"),
        ("combo(k=True)", "k=True is a boolean"),
        ("lgbm(strategy='sideways')", "strategy='sideways' must be a str among"),
        ("lgbm(learning_rate=0)", "learning_rate=0 must be"),
        ("ets(model='XYZ')", "must be three letters"),
        ("theta(model='ses')", "model='ses' must be a str among"),
        ("arima(max_p=-1)", "max_p=-1 must be an int"),
        ("tsb(alpha_d=2.0)", "alpha_d=2.0 must be a float in the range [0.0, 1.0]"),
        ("lgbm(trees=5)", "unexpected keyword argument 'trees'"),
    ],
)
def test_bad_candidate_parameters_are_typed_errors_naming_the_spec(spec, says):
    with pytest.raises(sg.DataValidationError) as err:
        make_forecaster(spec)
    (problem,) = err.value.problems
    assert problem.kind == "bad_forecaster_spec" and problem.column == "candidates"
    assert spec in problem.message and says in problem.message


def test_a_candidate_given_as_an_object_is_checked_like_a_spec():
    from segmenter.forecasting import Combination

    with pytest.raises(sg.DataValidationError, match="how='max' must be"):
        sg.SegmentedForecaster(horizon=3, candidates=[Combination(how="max")]).fit(
            pd.DataFrame(
                {"series_id": ["a"] * 30, "t": range(30), "y": np.arange(30.0)}
            ),
            id_col="series_id",
            time_col="t",
            target_col="y",
        )


def test_specs_read_back_for_numpy_values_and_equal_models_are_one_spec():
    from segmenter.forecasting import Combination

    assert Combination(k=np.int64(4)).spec == "combo(k=4)"
    assert make_forecaster(Combination(k=np.int64(4)).spec).k == 4
    assert Combination(k=np.int64(3)).spec == "combo"
    # a default written out is the same model, so the same spec
    assert make_forecaster("ets(model='ZZZ')").spec == "ets"
    with pytest.raises(sg.DataValidationError, match="twice"):
        sg.SegmentedForecaster(horizon=2, candidates=["ets", "ets(model='ZZZ')"]).fit(
            pd.DataFrame({"unique_id": ["a"] * 30, "ds": range(30), "y": 1.0}),
            segment_col="unique_id",
        )


def test_arima_passes_its_search_settings_to_statsforecast():
    from statsforecast.models import AutoARIMA

    bp = make_forecaster("arima(max_order=3, approximation=True, ic='bic', d=1)")
    model = bp._model(12)
    assert isinstance(model, AutoARIMA)
    assert (model.max_order, model.approximation, model.ic, model.d) == (
        3,
        True,
        "bic",
        1,
    )
    # unchanged defaults are statsforecast's own
    plain = make_forecaster("arima")._model(12)
    for name in ("max_p", "max_q", "max_P", "max_Q", "max_d", "max_D", "stepwise"):
        assert getattr(plain, name) == getattr(AutoARIMA(season_length=12), name)


def test_a_02_style_candidate_still_constructs_with_a_deprecation_warning():
    from segmenter.forecasting import LocalForecaster

    class Shrunk(LocalForecaster):
        name = "shrunk"

        def __init__(self, alpha=0.5):
            super().__init__(alpha=alpha)

        def _forecast(self, y, horizon, m):
            return np.full(horizon, self.alpha * y[-1])

    with pytest.warns(DeprecationWarning, match="declare them as its own __init__"):
        bp = Shrunk(alpha=0.2)
    assert bp.alpha == 0.2 and bp.spec == "shrunk(alpha=0.2)"
    fc = bp.predict(None, SeriesGroup([np.arange(1.0, 6.0)], [0], 1), 2)
    np.testing.assert_allclose(fc.mean, [[1.0, 1.0]])
