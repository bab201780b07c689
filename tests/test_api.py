"""The public face: scikit-learn's estimator contract, capability tags, one NotFittedError,
and the module paths of 0.2 kept as aliases."""

import importlib
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone

import segmenter as sg
from segmenter._moved import MOVED
from segmenter.base import get_tag


@pytest.mark.parametrize(
    "est",
    [
        sg.Segmenter(n_clusters=[3, 4], blueprints="quick", random_state=7),
        sg.SegmentedForecaster(horizon=6, n_origins=2),
    ],
    ids=["segmenter", "forecaster"],
)
def test_get_params_set_params_clone_and_repr(est):
    params = est.get_params()
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    assert type(twin) is type(est)
    name = "random_state" if "random_state" in params else "n_origins"
    twin.set_params(**{name: 11})
    assert twin.get_params()[name] == 11 and est.get_params()[name] == params[name]
    text = repr(est)
    assert text.startswith(type(est).__name__ + "(")
    with sklearn.config_context(print_changed_only=False):
        full = repr(est)
    assert all(f"{p}=" in full for p in params)  # every parameter, not 2 of 12


def test_clone_keeps_a_live_engine_object_shared():
    engine = object()  # a client cannot be deep-copied
    seg = sg.Segmenter(engine=engine)
    assert clone(seg).engine is engine


def test_parameter_constraints_report_every_bad_parameter_at_once():
    df = __import__("conftest").make_long(12, 40)
    with pytest.raises(sg.DataValidationError) as exc:
        sg.Segmenter(metric="ari", validation_size=1.5, cv_folds=1, progress="yes").fit(
            df
        )
    kinds = exc.value.kinds()
    assert kinds == [
        "bad_metric",
        "bad_validation_size",
        "bad_cv_folds",
        "bad_progress",
    ]
    text = str(exc.value)
    assert (
        "metric='ari'" in text
        and "validation_size=1.5" in text
        and "cv_folds=1" in text
    )


def test_one_not_fitted_error_for_every_estimator():
    from segmenter.clustering.clusterers import (
        DTWKMeans,
        FeatureClusterer,
        KShapeClusterer,
    )

    X = np.random.default_rng(0).normal(size=(6, 5))
    for call in (
        lambda: FeatureClusterer().predict(X),
        lambda: DTWKMeans().predict(X),
        lambda: KShapeClusterer().predict(X),
        lambda: sg.Segmenter().predict(X),
        lambda: sg.SegmentedForecaster(horizon=2).predict(),
    ):
        with pytest.raises(sg.NotFittedError) as exc:
            call()
        assert isinstance(exc.value, sklearn.exceptions.NotFittedError)


def test_capability_tags():
    from segmenter.clustering.blueprints import make_blueprint

    assert get_tag(make_blueprint("dtw_kmedoids"), "requires:distance_matrix") is True
    assert get_tag(make_blueprint("dtw_kmeans"), "requires:distance_matrix") is False
    assert get_tag(make_blueprint("dtw_kmeans"), "geometry") == "dtw"
    assert get_tag(make_blueprint("kshape"), "capability:unequal_length") is False
    assert get_tag(make_blueprint("dtw_kmeans"), "capability:unequal_length") is True
    assert get_tag(make_blueprint("features_kmeans"), "input") == "matrix"
    assert get_tag(make_blueprint("velocity_mean"), "geometry") == "statistic"
    assert get_tag(make_blueprint("dtw_hdbscan"), "picks_k") is True
    assert get_tag(make_blueprint("features_kmeans"), "no_such_tag", "x") == "x"


@pytest.mark.parametrize("old,new", sorted(MOVED.items()))
def test_old_module_paths_are_the_new_modules(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
    assert mod.__spec__.name == new  # the real module is untouched
    assert any(
        issubclass(w.category, DeprecationWarning) and new in str(w.message)
        for w in caught
    )


def test_the_old_panel_module_keeps_its_names():
    """0.2's segmenter.panel held the container, the readers and the fingerprint; the
    three now live in data.panel and data.reading, and the old path reaches all."""
    from segmenter.data import panel, reading

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("segmenter.panel")
        assert (
            old.Panel is panel.Panel
            and old.combine_fingerprint is panel.combine_fingerprint
        )
        assert (
            old.read_panel is reading.read_panel
            and old.read_table is reading.read_table
        )
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = old.no_such_name


RENAMED = [
    ("segmenter.adapters.statsforecast_bridge", "AutoETS", "ETSCandidate"),
    ("segmenter.adapters.statsforecast_bridge", "AutoARIMA", "ARIMACandidate"),
    ("segmenter.adapters.statsforecast_bridge", "MSTL", "MSTLCandidate"),
    ("segmenter.adapters.mlforecast_bridge", "LightGBM", "LightGBMCandidate"),
    ("segmenter.data.chunks", "CHUNK_SERIES", "SERIES_PER_PARTITION"),
    ("segmenter.selection", "evaluate", "score_on_folds"),
    ("segmenter.selection.leaderboard", "evaluate", "score_on_folds"),
    ("segmenter.data.panel", "read_panel", "read_panel"),
    ("segmenter.clustering", "Segmenter", "Segmenter"),
    ("segmenter.data.reading", "build_panel", "from_frame"),
]
#: Where the new object of a RENAMED entry lives, when it moved.
NEW_HOME = {
    ("segmenter.data.panel", "read_panel"): "segmenter.data.reading",
    ("segmenter.clustering", "Segmenter"): "segmenter.segmenter",
    ("segmenter.data.reading", "build_panel"): "segmenter.data.panel.Panel",
}


@pytest.mark.parametrize("module,old,new", RENAMED)
def test_old_names_warn_and_give_the_new_object(module, old, new):
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match="segmenter 0.4"):
        got = getattr(mod, old)
    home = NEW_HOME.get((module, old))
    if home == "segmenter.data.panel.Panel":
        from segmenter.data.panel import Panel

        mod = Panel
    elif home:
        mod = importlib.import_module(home)
    assert got == getattr(mod, new)  # == : a classmethod is bound anew at each access


def test_the_0_2_forecast_data_builds_a_series_group():
    """0.2's ForecastData (values, starts, data_spec) and its group() still work, as
    a SeriesGroup and its history(), with a warning each."""
    from segmenter.forecasting import SeriesGroup, backtest

    values = [np.arange(10.0), np.r_[np.nan, np.arange(7.0)]]
    spec = backtest.DataSpec(4, (4,))
    with pytest.warns(DeprecationWarning, match="SeriesGroup"):
        old_class = backtest.ForecastData
    data = old_class(values, np.array([0, 3]), spec)
    assert isinstance(data, SeriesGroup)
    np.testing.assert_array_equal(data.starts, [0, 3])
    with pytest.warns(DeprecationWarning, match="history"):
        group, pos = data.group(np.array([6, 5]), 2)
    new, new_pos = data.history(np.array([6, 5]), 2)
    np.testing.assert_array_equal(pos, new_pos)
    np.testing.assert_array_equal(group.ends, [6, 8])  # start + cutoff
    np.testing.assert_array_equal(group.end_phase, [2, 0])
    np.testing.assert_array_equal(group.values[1], np.arange(4.0))  # leading gap off


def test_old_attribute_and_method_names_warn():
    from segmenter.clustering.clusterers import DTWKMeans, KShapeClusterer
    from segmenter.selection import Leaderboard

    X = np.random.default_rng(0).normal(size=(12, 20))
    est = DTWKMeans(n_clusters=2, random_state=0).fit(X)
    with pytest.warns(DeprecationWarning, match="cluster_centers_"):
        assert est.centers_ is est.cluster_centers_
    ks = KShapeClusterer(n_clusters=2, random_state=0).fit(X)
    with pytest.warns(DeprecationWarning, match="cluster_centers_"):
        old = ks.centers_
    assert np.allclose(old[1][:, 0], ks.cluster_centers_[1][:, 0])
    with pytest.raises(AttributeError):  # unfitted: no warning, the usual error
        _ = DTWKMeans(n_clusters=2).centers_
    from segmenter.forecasting import SeriesGroup

    group = SeriesGroup([np.arange(3.0), np.arange(4.0)], [0, 0], 1)
    with pytest.warns(DeprecationWarning, match="subset"):
        assert group.take([1]).values[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert callable(Leaderboard.score_candidates)
    with pytest.warns(DeprecationWarning, match="score_candidates"):
        Leaderboard(folds=[1], metric="err", progress=False).run([])


OLD_NAMES = re.compile(
    "|".join(
        [re.escape(old) + r"\b" for old in MOVED]
        + [r"_bridge import[^\n]*\b(AutoETS|AutoARIMA|AutoTheta|LightGBM)\b"]
        + [r"\.centers_\b", r"\bCHUNK_SERIES\b", r"import[^\n]*\bevaluate\b"]
        + [r"\bForecastData\b", r"\bgroup\.take\("]
        + [r"\b(lb|lb2|board|leaderboard)\.run\("]
        + [r"from segmenter\.forecasting import[^\n]*\b(runner|pipeline)\b"]
    )
)


def test_nothing_of_ours_uses_an_old_path_or_name():
    root = Path(__file__).resolve().parents[1]
    allowed = {"segmenter/_moved.py", "tests/test_api.py"}
    offenders = []
    for folder in ("segmenter", "adapters", "tests", "benchmarks", "examples", "docs"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".py", ".md") or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            if rel in allowed:
                continue
            for no, line in enumerate(path.read_text().splitlines(), 1):
                historical = any(
                    w in line for w in ("0.2", "0.4", "renamed(", "deprecated")
                )
                if OLD_NAMES.search(line) and not historical:
                    offenders.append(f"{rel}:{no}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_a_run_too_big_for_memory_fails_before_it_starts(monkeypatch):
    from conftest import make_long

    import segmenter.engine.resources as R

    monkeypatch.setattr(R, "available_memory", lambda: 10_000)
    df = make_long(12, 40)
    with pytest.raises(sg.ResourceLimitError) as exc:
        sg.Segmenter(n_clusters=[2], blueprints=["dtw_kmeans"], progress=False).fit(df)
    text = str(exc.value)
    assert "fit_sample" in text and "float32" in text and "engine=client" in text
    assert isinstance(exc.value, MemoryError)
    mapping = sg.SegmentMapping(
        pd.DataFrame({"unique_id": pd.unique(df["unique_id"]), "segment": 0}),
        "unique_id",
    )
    with pytest.raises(sg.ResourceLimitError, match="n_origins"):
        sg.SegmentedForecaster(
            horizon=2, candidates=["naive"], n_jobs=1, progress=False
        ).fit(df, mapping=mapping)


def test_memory_estimate_grows_with_the_samples():
    from conftest import make_long

    import segmenter.engine.resources as R
    from segmenter.clustering.blueprints import make_blueprint
    from segmenter.selection.folds import make_folds

    panel = sg.read_panel(make_long(300, 50))
    bps = [make_blueprint("dtw_kmedoids")]
    small = R.segmenter_bytes(
        panel, bps, make_folds(300, 0.2, 20, 5, 50, 0, 100), 100, 100
    )
    big = R.segmenter_bytes(
        panel, bps, make_folds(300, 0.2, 20, 5, 200, 0, 240), 240, 240
    )
    assert big["DTW matrices"] > 4 * small["DTW matrices"]


def test_parameters_are_checked_before_fit_runs_and_bad_data_types_are_typed():
    """fit is decorated with base.fit_context: parameters are checked from
    _parameter_constraints before any data is read (so the data here is never touched),
    with messages built from the constraints themselves."""
    with pytest.raises(sg.DataValidationError) as err:
        sg.SegmentedForecaster(horizon=0, select="nope").fit(None)
    text = str(err.value)
    assert "horizon=0 must be an int in the range [1, inf)" in text
    assert "select='nope' must be a str among" in text
    with pytest.raises(sg.DataValidationError, match="needs horizon="):
        sg.Segmenter(metric="forecast").fit(None)
    with pytest.raises(sg.InputTypeError, match="data is a NoneType"):
        sg.Segmenter().fit(None)
    with pytest.raises(sg.InputTypeError, match="data is a int"):
        sg.read_panel(42)


def test_the_forecaster_parses_the_table_once_for_itself_and_its_segmenter(monkeypatch):
    """statsforecast converts a table once on the way in: fc.fit(df, segmenter=seg)
    builds one Panel and fits its copy of seg on a view of it (0.3 parsed it twice)."""
    from segmenter.data import panel as panel_module

    calls = []
    real = panel_module.panel_parts

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(panel_module, "panel_parts", counted)
    rng = np.random.default_rng(0)
    t = np.arange(48)
    df = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i:02d}",
                    "ds": t,
                    "y": 10 + (i % 2) * np.sin(t) + rng.normal(0, 0.1, 48),
                    "promo": rng.integers(0, 2, 48).astype(float),
                }
            )
            for i in range(12)
        ]
    )
    seg = sg.Segmenter(n_clusters=[2], blueprints=["features_kmeans"], progress=False)
    fc = sg.SegmentedForecaster(
        horizon=4, candidates=["naive"], n_jobs=1, progress=False, compare=False
    )
    fc.fit(df.drop(columns="promo"), segmenter=seg)
    assert len(calls) == 1
    assert len(fc.segmenter_.mapping_) == 12 and not hasattr(seg, "mapping_")
    # the segmenter reads the target only, not the forecaster's covariates
    panel = sg.read_panel(df, value_cols=["promo"])
    assert fc.segmenter_.data_args_["value_cols"] == []
    view = panel.select_columns()
    assert view.value_cols == ["y"] and np.shares_memory(view.values, panel.values)
