import numpy as np
import pandas as pd
import pytest
from conftest import make_long
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmenter as sg
from segmenter.errors import DataValidationError, SegmenterError


def test_contiguous_layout_and_first_seen_order():
    df = pd.DataFrame(
        {
            "unique_id": ["z", "z", "a", "a", "a"],
            "ds": [2, 1, 1, 2, 3],
            "y": [2.0, 1.0, 5.0, 6.0, 7.0],
        }
    )
    p = sg.Panel.from_frame(df)
    assert p.id_labels() == ["z", "a"]  # first-seen order, not sorted
    assert p.offsets.tolist() == [0, 2, 5]
    assert p.values.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(p.series(0), [1.0, 2.0])  # sorted by time
    np.testing.assert_array_equal(p.series(1), [5.0, 6.0, 7.0])


def test_does_not_mutate_input():
    df = make_long(n_series=3, length=5).sample(frac=1, random_state=0)
    before = df.copy(deep=True)
    sg.Panel.from_frame(df)
    pd.testing.assert_frame_equal(df, before)


def test_gaps_kept_as_missing_steps_and_counted():
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 3 + ["b"] * 3,
            "ds": pd.to_datetime(
                [
                    "2020-01-01",
                    "2020-02-01",
                    "2020-05-01",
                    "2020-01-01",
                    "2020-02-01",
                    "2020-03-01",
                ]
            ),
            "y": [1.0, 2, 5, 1, 2, 3],
        }
    )
    p = sg.Panel.from_frame(df)
    assert p.freq == "MS"
    assert p.n_gap_steps == 2
    np.testing.assert_array_equal(
        np.isnan(p.series(0)), [False, False, True, True, False]
    )
    assert p.observed.sum() == 6
    filled = sg.Panel.from_frame(df, missing="interpolate")
    np.testing.assert_allclose(filled.series(0), [1, 2, 3, 4, 5])
    assert sg.Panel.from_frame(df, missing="zero").series(0)[2] == 0.0


def test_all_missing_series_reported_not_dropped():
    df = make_long(n_series=3, length=5)
    df.loc[df.unique_id == "s001", "y"] = np.nan
    p = sg.Panel.from_frame(df)
    assert p.n_series == 3
    assert p.all_missing_ids == ["s001"]
    assert "entirely missing" in p.summary_text()


def test_composite_ids_returned_as_given():
    df = pd.DataFrame(
        {
            "store": [1, 1, 2, 2],
            "item": ["x", "x", "x", "x"],
            "t": [0, 1, 0, 1],
            "v": [1.0, 2, 3, 4],
        }
    )
    p = sg.Panel.from_frame(df, id_col=["store", "item"], time_col="t", target_col="v")
    assert p.id_labels() == [(1, "x"), (2, "x")]
    assert p.ids.dtypes["store"] == df.dtypes["store"]
    out = p.to_frame()
    pd.testing.assert_frame_equal(out, df)


def test_integer_step_inferred_and_period_times():
    df = pd.DataFrame({"unique_id": ["a"] * 3, "ds": [10, 20, 40], "y": [1.0, 2, 4]})
    p = sg.Panel.from_frame(df)
    assert p.freq == 10 and p.lengths.tolist() == [4]
    per = pd.DataFrame(
        {
            "unique_id": ["a"] * 3,
            "ds": pd.period_range("2000Q1", periods=3, freq="Q"),
            "y": [1.0, 2, 3],
        }
    )
    pp = sg.Panel.from_frame(per)
    assert pp.time_kind == "period"
    assert list(pp.to_frame()["ds"]) == list(per["ds"])


def test_extra_value_columns_and_float32():
    df = make_long(n_series=2, length=4)
    df["price"] = np.arange(len(df), dtype=float)
    p = sg.Panel.from_frame(df, value_cols=["price"], dtype=np.float32)
    assert p.values.shape == (8, 2) and p.values.dtype == np.float32
    assert p.value_cols == ["y", "price"]


def test_read_csv_and_parquet(tmp_path):
    df = make_long(n_series=3, length=6)
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet", index=False)
    a = sg.read_panel(tmp_path / "d.csv")
    b = sg.read_panel(str(tmp_path / "d.parquet"))
    assert a.n_series == b.n_series == 3
    np.testing.assert_allclose(a.values, b.values)
    with pytest.raises(DataValidationError, match="does not exist"):
        sg.read_panel(tmp_path / "nope.csv")


# ----------------------------------------------------------------- bad input
def _problem(exc, kind):
    hits = [p for p in exc.value.problems if p.kind == kind]
    assert hits, f"no {kind!r} in {exc.value.kinds()}"
    return hits[0]


def test_missing_columns_named():
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(make_long(2, 3), id_col="store", target_col="sales")
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, SegmenterError)
    assert "'store'" in str(exc.value) and "'sales'" in str(exc.value)


def test_empty_frame():
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(pd.DataFrame({"unique_id": [], "ds": [], "y": []}))
    _problem(exc, "empty")


def test_every_problem_collected_with_ids_and_rows():
    df = pd.DataFrame(
        {
            "unique_id": [None, "a", "a", "b", "b", "c", "c"],
            "ds": [1, 1, 1, 2, 3, 1, 2],
            "y": ["1", 2, 3, np.inf, "foo", 4, 5],
            "region": ["n", "n", "n", "s", "s", "e", "w"],
        }
    )
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df, static_cols=["region"])
    kinds = exc.value.kinds()
    assert {
        "null_ids",
        "duplicate_rows",
        "non_numeric",
        "infinite",
        "static_conflict",
    } <= set(kinds)
    assert _problem(exc, "null_ids").rows == [0]
    assert _problem(exc, "duplicate_rows").ids == ["a"] and _problem(
        exc, "duplicate_rows"
    ).rows == [1, 2]
    assert _problem(exc, "non_numeric").ids == ["b"] and "'b'" in str(exc.value)
    assert _problem(exc, "infinite").rows == [3]
    assert _problem(exc, "static_conflict").ids == ["c"]


def test_unparseable_times_named():
    df = make_long(2, 4)
    df["ds"] = df["ds"].astype(str)
    df.loc[5, "ds"] = "not a date"
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df)
    p = _problem(exc, "unparseable_times")
    assert p.ids == ["s001"] and p.rows == [5]


def test_mixed_timezones():
    df = pd.DataFrame(
        {
            "unique_id": ["a", "a", "b"],
            "y": [1.0, 2, 3],
            "ds": ["2020-01-01T00:00+01:00", "2020-01-02T00:00+05:00", "2020-01-01"],
        }
    )
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df)
    _problem(exc, "mixed_timezones")


def test_off_grid_times_named():
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 4 + ["b"] * 4,
            "y": np.arange(8.0),
            "ds": pd.to_datetime(
                ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"] * 2
            ),
        }
    )
    df.loc[6, "ds"] = pd.Timestamp("2020-01-03 12:00")
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df, freq="D")
    assert _problem(exc, "off_grid").ids == ["b"]


def test_segment_column_rules():
    df = make_long(3, 4)
    df["seg"] = "x"
    df.loc[df.index[-1], "seg"] = "y"
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df, segment_col="seg")
    assert _problem(exc, "segment_not_constant").ids == ["s002"]
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df, segment_col="unique_id")
    _problem(exc, "segment_is_id")
    df["seg"] = df["unique_id"].str[-1]
    assert list(sg.Panel.from_frame(df, segment_col="seg").segments) == ["0", "1", "2"]


def test_boolean_target_is_c8():
    df = make_long(2, 3)
    df["y"] = df["y"] > 10
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df)
    assert "C8" in str(_problem(exc, "boolean_target"))


# ----------------------------------------------------------------- round trip property
_ids = st.one_of(st.integers(-5, 50), st.text("abcxyz", min_size=1, max_size=3))


@st.composite
def long_frames(draw):
    id_kind = draw(st.sampled_from(["int", "str"]))
    n = draw(st.integers(1, 6))
    pool = list(range(n)) if id_kind == "int" else [f"id{i}" for i in range(n)]
    pool = draw(st.permutations(pool))
    rows = []
    for sid in pool:
        steps = draw(st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True))
        for t in steps:
            v = draw(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan)))
            rows.append((sid, t, v))
    rows = draw(st.permutations(rows))
    time_kind = draw(st.sampled_from(["int", "datetime"]))
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    if time_kind == "datetime":
        df["ds"] = pd.Timestamp("2021-01-04") + pd.to_timedelta(df["ds"] * 7, unit="D")
    return df


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_frames())
def test_round_trip_loses_nothing(df):
    freq = 1 if pd.api.types.is_integer_dtype(df["ds"]) else "W-MON"
    p = sg.Panel.from_frame(df, freq=freq)
    out = p.to_frame()
    assert len(out) == len(df)
    assert p.n_series == df["unique_id"].nunique()
    assert p.id_labels() == list(pd.unique(df["unique_id"]))
    expected = (
        df.assign(
            _o=pd.Categorical(df["unique_id"], categories=pd.unique(df["unique_id"]))
        )
        .sort_values(["_o", "ds"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=True)


def test_duplicated_column_names_are_named_not_a_type_error():
    """Found by the fuzz test (tests/test_fuzz.py): a frame with two 'y' columns."""
    df = pd.DataFrame({"unique_id": ["a", "a"], "ds": [1, 2], "y": [1.0, 2.0]})
    df = pd.concat([df, df[["y"]]], axis=1)
    with pytest.raises(DataValidationError) as exc:
        sg.Panel.from_frame(df)
    assert exc.value.kinds() == ["duplicate_columns"] and "['y']" in str(exc.value)


@pytest.mark.parametrize(
    "loader,subset,n,h",
    [
        ("load_m1", "monthly", 617, 18),
        ("load_m1", "quarterly", 203, 8),
        ("load_m3", "monthly", 1428, 18),
    ],
)
def test_m_competition_loaders_give_the_official_split(loader, subset, n, h):
    from segmenter import datasets

    load = getattr(datasets, loader)
    train, test = load(subset, "train"), load(subset, "test")
    full = load(subset, "full")
    assert train["unique_id"].nunique() == test["unique_id"].nunique() == n
    assert (test.groupby("unique_id").size() == h).all() and (
        test["horizon"] == h
    ).all()
    # the test steps continue the train steps, and full is the two together
    last = train.groupby("unique_id")["ds"].max()
    first = test.groupby("unique_id")["ds"].min()
    assert (first == last + 1).all()
    assert len(full) == len(train) + len(test)
    with pytest.raises(ValueError, match="part="):
        load(subset, "holdout")
