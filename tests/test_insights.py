import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import segmenter as sg
from segmenter.errors import DataValidationError
from segmenter.reporting.insights import feature_associations


def planted_levels(seed=0, n_per=20, length=40):
    """Three segments of flat series that differ only in their level (10, 100, 200, with
    a small per-series jitter), so every other summary feature is exactly constant and
    the level alone defines the segments.  (With noisy series a level also moves cv2 =
    (std/mean)^2, and k-means on standardised features picks up the noise dimensions,
    so "the" defining feature would be ambiguous.)  Static columns hold a planted
    redundant numeric pair (price, price_eur) and categorical pair (region, code)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for c, level in enumerate([10.0, 100.0, 200.0]):
        for i in range(n_per):
            sid = f"s{c}_{i}"
            price = rng.uniform(1, 100)
            region = rng.choice(["north", "south", "east"])
            rows.append(
                pd.DataFrame(
                    {
                        "unique_id": sid,
                        "ds": np.arange(length),
                        "y": np.full(length, level + rng.uniform(-1, 1)),
                        "price": price,
                        "price_eur": price * 0.92,
                        "region": region,
                        "region_code": {"north": "N", "south": "S", "east": "E"}[
                            region
                        ],
                    }
                )
            )
            truth.append(c)
    return pd.concat(rows, ignore_index=True), np.array(truth)


STATICS = ["price", "price_eur", "region", "region_code"]


@pytest.fixture(scope="module")
def fitted_levels():
    df, truth = planted_levels()
    seg = sg.Segmenter(n_clusters=[3], blueprints=["features_kmeans"], progress=False)
    return seg.fit(df, static_cols=STATICS), df, truth


def test_feature_defining_planted_segments_ranks_first(fitted_levels):
    seg, df, truth = fitted_levels
    ins = seg.insights()
    assert ins.impact_method == "permutation"
    assert adjusted_rand_score(truth, seg.mapping_.to_frame()["segment"]) == 1.0
    assert ins.impact.index[0] == "level" and ins.impact.iloc[0] == 1.0
    # the velocity statistics are not inputs of a summary-feature model
    assert ins.impact.drop("level").eq(0).all()
    assert ins.impact.between(0, 1).all()
    # features the model does not read have no impact
    assert ins.impact[["price", "region", "velocity_mean"]].eq(0).all()
    # seeded: same result twice
    pd.testing.assert_series_equal(ins.impact, seg.insights().impact)


def test_cluster_insights_sizes_summaries_order_and_names(fitted_levels, tmp_path):
    seg, df, truth = fitted_levels
    ins = seg.insights(names={0: "first"})
    sizes = ins.sizes
    assert sizes["n_series"].sum() == 60 and sizes["n_rows"].sum() == len(df)
    assert sizes["n_series"].is_monotonic_decreasing
    assert sizes["share_rows"].sum() == pytest.approx(1.0)
    assert sizes.set_index("segment").loc[0, "name"] == "first"
    # the representative is the member closest to its segment's center
    m = seg.mapping_.to_frame().set_index("unique_id")
    for r in sizes.itertuples():
        assert m.loc[r.representative, "segment"] == r.segment
        members = m[m["segment"] == r.segment]
        assert r.representative_distance == members["distance"].min()
    feat = ins.features
    assert feat["feature"].iloc[0] == "level"  # ordered by impact
    rest = [f for f in dict.fromkeys(feat["feature"]) if ins.impact[f] == 0]
    assert rest == sorted(rest)  # then alphabetically
    lv = feat[feat["feature"] == "level"].set_index("segment")
    seg_of_short = seg.mapping_.to_frame().set_index("unique_id").loc["s0_0", "segment"]
    assert lv.loc[seg_of_short, "mean"] == pytest.approx(10.0, abs=1.0)
    assert (
        lv.loc[seg_of_short, "q25"]
        <= lv.loc[seg_of_short, "median"]
        <= lv.loc[seg_of_short, "q75"]
    )
    assert (
        feat.set_index(["feature", "segment"]).loc[("length", seg_of_short), "mean"]
        == 40
    )
    reg = feat[feat["feature"] == "region"]
    assert (reg["kind"] == "categorical").all() and reg["top_values"].str.contains(
        "%"
    ).all()
    paths = ins.to_csv(tmp_path)
    assert {p.name for p in paths} == {
        "sizes.csv",
        "insights.csv",
        "impact.csv",
        "associations.csv",
    }
    assert len(pd.read_csv(tmp_path / "insights.csv")) == len(feat)
    with pytest.raises(DataValidationError, match="segment 7 does not exist"):
        ins.rename({7: "x"})
    with pytest.raises(DataValidationError, match="names must be unique"):
        ins.rename({0: "same", 1: "same"})


def test_associations_find_planted_redundant_pairs(fitted_levels):
    seg, _, _ = fitted_levels
    ins = seg.insights()
    a = ins.associations
    assert a.loc["price", "price_eur"] == pytest.approx(1.0)
    assert a.loc["region", "region_code"] == pytest.approx(1.0)  # Cramér's V
    assert a.loc["price", "region"] < 0.6  # unrelated
    pairs = {(r.a, r.b) for r in ins.top_pairs(20).itertuples()}
    assert ("price", "price_eur") in pairs and ("region", "region_code") in pairs
    assert list(a.index) == sorted(a.index)


def test_associations_limit_and_measures():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"f{i:02d}": rng.normal(size=50) for i in range(60)})
    assert feature_associations(df).shape == (50, 50)  # default 50
    assert list(feature_associations(df, max_features=5).index) == [
        "f00",
        "f01",
        "f02",
        "f03",
        "f04",
    ]
    x = rng.normal(size=200)
    cat = np.where(x > 0, "hi", "lo")
    m = feature_associations(
        pd.DataFrame({"x": x, "c": cat, "noise": rng.normal(size=200)})
    )
    assert m.loc["x", "c"] > 0.7 and m.loc["noise", "c"] < 0.3  # correlation ratio


def test_velocity_and_shape_blueprints_get_impact():
    from conftest import planted_frame

    pf, _ = planted_frame(n_per=10, length=40, seed=3)
    seg = sg.Segmenter(n_clusters=[3], blueprints=["velocity_std"], progress=False).fit(
        pf
    )
    imp = seg.insights().impact
    assert imp.index[0] == "velocity_std" and imp.iloc[1:].eq(0).all()
    seg = sg.Segmenter(n_clusters=[3], blueprints=["dtw_kmeans"], progress=False).fit(
        pf
    )
    ins = seg.insights()
    assert ins.impact_method == "surrogate random forest"
    est = seg.model_.estimator
    assert sorted(ins.centers) == list(range(3))
    np.testing.assert_array_equal(
        ins.centers[1], est.cluster_centers_[1]
    )  # the barycenter
    assert 0 <= ins.surrogate_accuracy <= 1 and ins.impact.iloc[0] == 1.0


def test_insights_after_load_need_data(fitted_levels, tmp_path):
    seg, df, _ = fitted_levels
    seg.save(tmp_path / "m.segmenter")
    back = sg.load(tmp_path / "m.segmenter")
    with pytest.raises(DataValidationError, match="pass data"):
        back.insights()
    assert back.insights(data=df).impact.index[0] == "level"


def test_identifier_like_categoricals_get_no_association():
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "name": [f"item{i}" for i in range(40)],
            "x": rng.normal(size=40),
            "kind": rng.choice(["a", "b"], 40),
        }
    )
    m = feature_associations(df)
    assert m.loc["name", ["x", "kind"]].isna().all() and m.loc["name", "name"] == 1.0
    assert np.isfinite(m.loc["x", "kind"])


def test_insight_table_uses_the_model_featurizer_parameters():
    from conftest import planted_frame

    pf, _ = planted_frame(n_per=10, length=40, seed=3)
    seg = sg.Segmenter(
        n_clusters=[3], blueprints=["velocity_mean(window=5)"], progress=False
    ).fit(pf)
    ins = seg.insights()
    last5 = pf.groupby("unique_id", sort=False)["y"].apply(lambda s: s.iloc[-5:].mean())
    np.testing.assert_allclose(ins.table["velocity_mean"], last5.to_numpy())
    assert ins.impact.index[0] == "velocity_mean"


def test_segment_names_say_what_planted_segments_are():
    """Three planted segments: high level with a strong season, low level and flat,
    middle level with long runs of zeros.  Their names name those traits; two segments
    drawn alike get distinct names; the sample is stratified (every segment named)."""
    from segmenter.features.naming import describe_segments

    rng = np.random.default_rng(0)
    t = np.arange(48)
    ds = pd.date_range("2020-01-01", periods=48, freq="MS")  # monthly: season 12
    rows, labels = [], []
    for i in range(30):
        y = 500 + 200 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, 48)
        rows.append(pd.DataFrame({"unique_id": f"a{i}", "ds": ds, "y": y}))
        labels.append(0)
    for i in range(30):
        y = 5 + rng.normal(0, 0.05, 48)
        rows.append(pd.DataFrame({"unique_id": f"b{i}", "ds": ds, "y": y}))
        labels.append(1)
    for i in range(30):
        y = np.where(rng.uniform(size=48) < 0.6, 0.0, 50 + rng.normal(0, 20, 48))
        rows.append(pd.DataFrame({"unique_id": f"c{i}", "ds": ds, "y": y}))
        labels.append(2)
    panel = sg.read_panel(pd.concat(rows))
    labels = np.array(labels)
    names = describe_segments(panel, labels)
    assert "high level" in names[0] and "strong season" in names[0]
    assert "low level" in names[1] and "season" not in names[1].replace("weak", "")
    assert "intermittent" in names[2]
    assert describe_segments(panel, labels, sample=9).keys() == names.keys()
    twins = describe_segments(panel, np.r_[np.zeros(15), np.ones(15), labels[30:] + 1])
    assert len(set(twins.values())) == 4  # unique, even for look-alike segments
