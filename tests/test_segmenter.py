import numpy as np
import pandas as pd
import pytest
from conftest import make_long, planted_frame
from sklearn.metrics import adjusted_rand_score

import segmenter as sg
from segmenter import persistence
from segmenter._spec import resolve_specs
from segmenter.clustering.blueprints import Blueprint, make_blueprint
from segmenter.clustering.search import default_k
from segmenter.errors import (
    ConstraintViolationError,
    DataValidationError,
    IncompatibleVersionError,
    NotFittedError,
)
from segmenter.segmenter import _MODES
from segmenter.selection.folds import make_folds
from segmenter.selection.scoring import silhouette_against


@pytest.fixture(scope="module")
def planted102():
    return planted_frame(n_per=34, length=40, seed=1)


@pytest.fixture(scope="module")
def fitted(planted102):
    df, _ = planted102
    seg = sg.Segmenter(
        n_clusters=[2, 3, 4],
        progress=False,
        blueprints=["dtw_kmedoids", "features_kmeans", "velocity_std"],
    )
    return seg.fit(df)


def test_leaderboard_is_ranked_by_validation_silhouette(fitted):
    lb = fitted.leaderboard_
    assert len(lb) == 9 and set(lb["status"]) == {"ok"}
    assert (lb["validation"] == "20 held-out series").all()  # 102 series: holdout of 20
    ranked = lb[lb["rank"].notna() & (lb["demoted"] == "")]
    assert ranked["silhouette"].is_monotonic_decreasing
    assert lb["rank"].iloc[0] == 1 and fitted.chosen_row_ == lb["row"].iloc[0]
    meta = fitted.mapping_.metadata
    assert meta["score"] == pytest.approx(lb["silhouette"].iloc[0])
    assert meta["leaderboard_row"] == fitted.chosen_row_
    assert lb["steps"].str.contains("→").all()
    for col in (
        "silhouette_train",
        "calinski_harabasz",
        "davies_bouldin",
        "sizes",
        "empty_clusters",
        "fit_seconds",
        "score_seconds",
    ):
        assert col in lb.columns
    # three planted shapes: splitting one of them (k=4) scores clearly worse than k=3
    dtw = lb[lb["blueprint"] == "dtw_kmedoids"].set_index("n_clusters")["silhouette"]
    assert dtw[3] > dtw[4] + 0.1


def test_choose_refits_a_row_on_all_series(fitted, planted102):
    df, truth = planted102
    lb = fitted.leaderboard_
    row = int(
        lb[(lb.blueprint == "dtw_kmedoids") & (lb.n_clusters == 3)]["row"].iloc[0]
    )
    best = fitted.chosen_row_
    try:
        m = fitted.choose(row)
        f = m.to_frame()
        assert len(f) == 102 and f["unique_id"].is_unique
        assert f["unique_id"].tolist() == list(pd.unique(df["unique_id"]))
        assert adjusted_rand_score(truth, f["segment"]) == 1.0
        assert (f["assigned_by"] == "fit").all() and (f["distance"] >= 0).all()
        assert (
            m.metadata["blueprint"] == "dtw_kmedoids" and m.metadata["n_clusters"] == 3
        )
        assert m.metadata["data_fingerprint"] == sg.read_panel(df).fingerprint()
    finally:
        fitted.choose(best)


def test_skipped_k_is_shown_with_its_reason():
    long = make_long(3, 40, seed=1, int_time=True)
    short = make_long(9, 10, seed=2, int_time=True, ids=[f"t{i}" for i in range(9)])
    df = pd.concat([long, short])
    seg = sg.Segmenter(
        n_clusters=[2, 3, 4], blueprints=["velocity_mean"], progress=False
    )
    seg.fit(df)
    lb = seg.leaderboard_.set_index("n_clusters")
    assert lb.loc[4, "status"] == "skipped"
    assert lb.loc[4, "reason"].startswith(
        "C2: k=4 needs 4 series with >= 20 non-missing steps"
    )
    # 3 long series in all, but a fold that holds one out trains on 2: k=3 cannot run
    assert lb.loc[3, "status"] == "skipped"
    assert lb.loc[3, "reason"].startswith("C2: k=3 needs 3 training series")
    assert lb.loc[2, "status"] == "ok"
    short_flags = seg.mapping_.to_frame().set_index("unique_id")["short_history"]
    assert (
        short_flags[[f"t{i}" for i in range(9)]].all()
        and not short_flags[["s000"]].any()
    )


def test_c4_and_bad_parameters_raise_before_fitting(planted102):
    df, _ = planted102
    with pytest.raises(ConstraintViolationError, match="C4"):
        sg.Segmenter(n_clusters=[1, 3]).fit(df)
    with pytest.raises(ConstraintViolationError, match="at most 10"):
        sg.Segmenter(n_clusters=list(range(2, 14))).fit(df)
    with pytest.raises(DataValidationError, match="metric='ari'"):
        sg.Segmenter(metric="ari").fit(df)
    with pytest.raises(DataValidationError, match="validation_size=1.5"):
        sg.Segmenter(validation_size=1.5).fit(df)
    with pytest.raises(DataValidationError, match="not a blueprint spec"):
        sg.Segmenter(blueprints=["dtw_kmeanz"]).fit(df)


def test_rerun_reuses_features_and_distance_matrices(fitted, monkeypatch):
    before = fitted.cache_stats_
    n_rows = len(fitted.leaderboard_)

    def boom(*a, **k):
        raise AssertionError("featurization must not run again")

    monkeypatch.setattr(Blueprint, "featurize", boom)
    monkeypatch.setattr("segmenter.clustering.workspace.K.pairwise_sq", boom)
    new = fitted.rerun(n_clusters=[5, 6])
    assert (
        len(new) == 6
        and set(new["n_clusters"]) == {5, 6}
        and set(new["status"]) == {"ok"}
    )
    row = int(fitted.leaderboard_.query("blueprint == 'dtw_kmedoids'")["row"].iloc[0])
    one = fitted.rerun(row, n_clusters=7)
    assert one["blueprint"].tolist() == ["dtw_kmedoids"] and one[
        "n_clusters"
    ].tolist() == [7]
    assert fitted.cache_stats_ == before
    assert len(fitted.leaderboard_) == n_rows + 7
    assert fitted.leaderboard_["rank"].dropna().is_monotonic_increasing


def test_small_validation_switches_to_series_cross_validation():
    df, truth = planted_frame(n_per=8, length=40, seed=3)  # 24 series: 5 held out < 20
    seg = sg.Segmenter(
        n_clusters=[3, 5], blueprints=["dtw_kmedoids"], progress=False
    ).fit(df)
    assert [f.kind for f in seg.folds_] == ["cv"] * 5
    assert sorted(np.concatenate([f.valid for f in seg.folds_]).tolist()) == list(
        range(24)
    )
    lb = seg.leaderboard_.set_index("n_clusters")
    assert (lb["validation"] == "cross-validated over series folds").all()
    assert lb.loc[3, "silhouette"] > lb.loc[5, "silhouette"] + 0.1


def test_silhouette_against_reference_series():
    # two reference clusters at 0 and 10; a series at 1 labelled 0 and one at 9 labelled 0
    ref = np.array([0.0, 0.0, 10.0, 10.0])
    ref_labels = np.array([0, 0, 1, 1])
    x = np.array([1.0, 9.0])
    C = np.abs(x[:, None] - ref[None, :])
    s = silhouette_against(C, np.array([0, 0]), ref_labels)
    assert s == pytest.approx([(9 - 1) / 9, (1 - 9) / 9])


def test_default_k_rule_and_blueprints_that_choose_k():
    assert default_k(304, sg.ClusteringConstraints(), 304) == [2, 3, 4, 5, 6, 8, 10, 12]
    assert default_k(24, sg.ClusteringConstraints(), 2) == [2]
    df, _ = planted_frame(n_per=8, length=40, seed=3)
    seg = sg.Segmenter(blueprints=["velocity_mean", "dtw_hdbscan"], progress=False).fit(
        df
    )
    lb = seg.leaderboard_
    assert sorted(lb.loc[lb.blueprint == "velocity_mean", "n_clusters"]) == [2, 3]
    hd = lb[lb.blueprint == "dtw_hdbscan"]
    assert len(hd) == 1 and hd["n_clusters"].isna().all()
    bps, named = resolve_specs(
        "default", _MODES, make_blueprint, Blueprint, "blueprint", "blueprints", "x"
    )
    assert (
        "dtw_hdbscan" in [b.name for b in bps] and named == set()
    )  # resolved, but ...
    seg2 = sg.Segmenter(
        n_clusters=[3], blueprints=["velocity_mean", "velocity_std"], progress=False
    ).fit(df)
    assert set(seg2.leaderboard_["blueprint"]) == {"velocity_mean", "velocity_std"}


def test_explicit_k_runs_only_named_k_choosing_blueprints():
    df, _ = planted_frame(n_per=8, length=40, seed=3)
    seg = sg.Segmenter(
        n_clusters=[3], blueprints=["velocity_mean", "features_hdbscan"], progress=False
    ).fit(df)
    assert "features_hdbscan" in set(seg.leaderboard_["blueprint"])
    seg = sg.Segmenter(n_clusters=[3], blueprints="default", progress=False).fit(df)
    assert not {"features_hdbscan", "dtw_hdbscan"} & set(seg.leaderboard_["blueprint"])


def test_predict_unseen_series_and_save_load_round_trip(planted102, tmp_path):
    df, truth = planted102
    ids = pd.unique(df["unique_id"])
    held = set(ids[::5])
    mask = df["unique_id"].isin(held)
    seg = sg.Segmenter(n_clusters=3, blueprints=["dtw_kmedoids"], progress=False).fit(
        df[~mask]
    )
    pred = seg.predict(df[mask])
    p = pred.to_frame()
    assert p["unique_id"].tolist() == [i for i in ids if i in held]
    assert (p["assigned_by"] == "predict").all()
    # same planted shape -> same segment as the fitted series of that shape
    fitted_seg = seg.mapping_.to_frame().set_index("unique_id")["segment"]

    def shape_of(s):
        return s.rstrip("0123456789")

    by_shape = {shape_of(i): fitted_seg[i] for i in fitted_seg.index}
    assert all(by_shape[shape_of(i)] == s for i, s in zip(p["unique_id"], p["segment"]))
    path = seg.save(tmp_path / "m.segmenter")
    back = sg.load(path)
    pd.testing.assert_frame_equal(back.predict(df[mask]).to_frame(), p)
    pd.testing.assert_frame_equal(back.leaderboard_, seg.leaderboard_)
    assert back.mapping_ == seg.mapping_
    with pytest.raises(NotFittedError, match="not saved with the model"):
        back.rerun(n_clusters=4)


def test_mapping_keeps_integer_and_composite_ids():
    df = make_long(12, 40, seed=4, ids=[100 + 7 * i for i in range(12)], int_time=True)
    seg = sg.Segmenter(n_clusters=2, blueprints=["velocity_mean"], progress=False).fit(
        df
    )
    f = seg.mapping_.to_frame()
    assert f["unique_id"].dtype == df["unique_id"].dtype
    assert f["unique_id"].tolist() == list(pd.unique(df["unique_id"]))
    df2 = df.assign(region=df["unique_id"] % 2, item=df["unique_id"].astype(str))
    seg2 = sg.Segmenter(n_clusters=2, blueprints=["velocity_mean"], progress=False)
    f2 = seg2.fit(df2, id_col=["region", "item"]).mapping_.to_frame()
    assert list(f2.columns[:2]) == ["region", "item"] and len(f2) == 12
    assert f2.drop_duplicates(["region", "item"]).shape[0] == 12


def test_load_refuses_foreign_other_version_and_truncated_files(tmp_path, fitted):
    bad = tmp_path / "x.segmenter"
    bad.write_bytes(b"not a model")
    with pytest.raises(IncompatibleVersionError, match="not a segmenter model file"):
        sg.load(bad)
    good = fitted.save(tmp_path / "good.segmenter")
    raw = good.read_bytes()
    head_end = raw.index(b"\n", len(persistence.MAGIC)) + 1
    import json

    header = json.loads(raw[len(persistence.MAGIC) : head_end])
    header["segmenter"] = "9.9.0"
    other = tmp_path / "other.segmenter"
    other.write_bytes(
        persistence.MAGIC + json.dumps(header).encode() + b"\n" + raw[head_end:]
    )
    with pytest.raises(IncompatibleVersionError, match="written by segmenter 9.9.0"):
        sg.load(other)
    cut = tmp_path / "cut.segmenter"
    cut.write_bytes(raw[: head_end + (len(raw) - head_end) // 2])
    with pytest.raises(IncompatibleVersionError, match="truncated"):
        sg.load(cut)
    with pytest.raises(IncompatibleVersionError, match="not a Panel"):
        persistence.load(good, expected=sg.Panel)


def test_unfitted_segmenter_errors():
    seg = sg.Segmenter()
    for call in (
        lambda: seg.predict(make_long()),
        lambda: seg.save("x"),
        lambda: seg.rerun(n_clusters=3),
        lambda: seg.choose(),
    ):
        with pytest.raises(NotFittedError):
            call()


def test_make_folds_is_seeded_and_partitions_the_series():
    a = make_folds(100, 0.2, 20, 5, 2000, 0)[0]
    b = make_folds(100, 0.2, 20, 5, 2000, 0)[0]
    assert np.array_equal(a.valid, b.valid) and len(a.valid) == 20
    assert sorted(np.r_[a.train, a.valid].tolist()) == list(range(100))
    s = make_folds(100, 0.2, 20, 5, 30, 0)[0]
    assert len(s.train_sample) == 30 and set(s.train_sample) <= set(s.train)


@pytest.mark.slow
def test_tourism_default_leaderboard(tmp_path):
    """The issue's show case: fpp3 tourism, default blueprints, k = 4, 6, 8."""
    from segmenter.datasets import load_tourism

    df = load_tourism()
    ids = ["Region", "State", "Purpose"]
    seg = sg.Segmenter(n_clusters=[4, 6, 8], progress=False)
    seg.fit(df, id_col=ids, time_col="Quarter", target_col="Trips")
    lb = seg.leaderboard_
    families = {b.split("_")[0] for b in lb["blueprint"]}
    assert {"dtw", "kshape", "features", "velocity"} <= families
    assert set(lb["n_clusters"].dropna()) == {4, 6, 8}
    f = seg.mapping_.to_frame()
    assert len(f) == 304 and not f.duplicated(ids).any()
    expected = df[ids].drop_duplicates().reset_index(drop=True)
    pd.testing.assert_frame_equal(f[ids], expected)
    back = sg.load(seg.save(tmp_path / "t.segmenter"))
    pd.testing.assert_frame_equal(
        back.predict(df, id_col=ids).to_frame().drop(columns="assigned_by"),
        seg.predict(df, id_col=ids).to_frame().drop(columns="assigned_by"),
    )


def test_reserved_id_names_and_bad_blueprint_parameters_fail_before_fitting():
    df = make_long(12, 40, seed=6).rename(columns={"unique_id": "segment"})
    with pytest.raises(DataValidationError, match="rename them"):
        sg.Segmenter(n_clusters=2, blueprints="quick").fit(df, id_col="segment")
    df = make_long(12, 40, seed=6)
    with pytest.raises(DataValidationError, match="bandd"):
        sg.Segmenter(n_clusters=2, blueprints=["dtw_kmeans(bandd=0.2)"]).fit(df)
    with pytest.raises(DataValidationError, match="windo"):
        sg.Segmenter(n_clusters=2, blueprints=["velocity_mean(windo=8)"]).fit(df)


def test_cv_scoring_of_single_segment_models_is_undefined_not_zero():
    C = np.ones((2, 3))
    assert np.isnan(silhouette_against(C, np.array([0, 0]), np.array([0, 0, 0]))).all()


def test_cv_demotion_counts_every_fold():
    # zero shares tie (0.5 for 10 series, 0 for 5): quantile bins collapse in the folds
    rng = np.random.default_rng(7)
    rows = []
    for i in range(15):
        y = rng.uniform(1, 5, 40)
        if i < 10:
            y[::2] = 0.0
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(40), "y": y}))
    df = pd.concat(rows)
    seg = sg.Segmenter(
        n_clusters=[3],
        blueprints=["velocity_zero_share", "velocity_mean"],
        progress=False,
    ).fit(df)
    lb = seg.leaderboard_.set_index("blueprint")
    assert "empty" in lb.loc["velocity_zero_share", "demoted"]
    assert seg.mapping_.metadata["n_clusters"] == seg.mapping_.n_segments


# ---------------------------------------------------------------- fit sampling (scale)
def test_fit_sample_covering_all_series_equals_no_sampling(planted102):
    df, _ = planted102
    kw = dict(
        n_clusters=[2, 3],
        blueprints=["dtw_kmeans", "dtw_kmedoids", "features_kmeans"],
        progress=False,
    )
    a = sg.Segmenter(fit_sample=None, **kw).fit(df)
    b = sg.Segmenter(fit_sample=102, **kw).fit(df)
    cols = ["blueprint", "n_clusters", "silhouette", "silhouette_train", "rank"]
    pd.testing.assert_frame_equal(a.leaderboard_[cols], b.leaderboard_[cols])
    pd.testing.assert_frame_equal(a.mapping_.to_frame(), b.mapping_.to_frame())
    assert (
        b.assignment_["n_assigned"] == 0
        and (b.mapping_.to_frame()["assigned_by"] == "fit").all()
    )


def test_fit_sample_fits_on_a_sample_and_assigns_every_other_series(
    planted102, monkeypatch
):
    from segmenter.distances import _dtw_kernels as K

    df, truth = planted102
    sizes = []
    real = K.pairwise_sq

    def spy(data, offsets, radius):
        sizes.append(len(offsets) - 1)
        return real(data, offsets, radius)

    monkeypatch.setattr(K, "pairwise_sq", spy)
    seg = sg.Segmenter(
        n_clusters=[3],
        blueprints=["dtw_kmedoids", "dtw_kmeans"],
        fit_sample=30,
        silhouette_sample=15,
        progress=False,
    ).fit(df)
    assert sizes and max(sizes) <= 30  # no matrix over all 102 (or 82) series
    assert all(len(f.fit) == 30 for f in seg.folds_)
    m = seg.mapping_.to_frame()
    assert len(m) == 102 and m["unique_id"].is_unique
    assert (m["assigned_by"] == "fit").sum() == 30 and (
        m["assigned_by"] == "predict"
    ).sum() == 72
    assert seg.assignment_["n_fit"] == 30 and seg.assignment_["n_assigned"] == 72
    # the assigned series got exactly what predict gives them
    again = seg.predict(df)
    np.testing.assert_array_equal(again.to_frame()["segment"], m["segment"])
    if "full" in seg.assignment_:  # a DTW row was chosen
        total = sum(
            seg.assignment_[k] for k in ("lb_kim", "lb_keogh", "abandoned", "full")
        )
        assert total == 72 * 3
    assert adjusted_rand_score(truth, m["segment"]) > 0.8
