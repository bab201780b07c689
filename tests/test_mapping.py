import json

import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter.clustering.mapping import SegmentMapping, read_mapping
from segmenter.errors import ConstraintViolationError, DataValidationError
from segmenter.persistence import atomic_write


def frame(ids, segs, **extra):
    return pd.DataFrame({"store": ids, "segment": segs, **extra})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
@pytest.mark.parametrize(
    "ids",
    [
        [10, 3, 7, 1],  # integers, not sorted
        ["001", "NA", "a,b", "x y"],  # strings that look like numbers / NA
        [np.int32(5), np.int32(2), np.int32(9), np.int32(1)],
    ],
    ids=["int", "str", "int32"],
)
def test_round_trip_preserves_ids_dtypes_flags_metadata(tmp_path, fmt, ids):
    df = frame(
        pd.array(ids) if not isinstance(ids[0], np.integer) else np.array(ids),
        [0, 1, 0, 2],
        distance=[0.5, np.nan, 1.0, 2.0],
        short_history=[False, True, False, False],
        no_values=[False, False, False, True],
        assigned_by=["fit", "fit", "predict", "fit"],
    )
    meta = {
        "blueprint": "dtw_kmeans",
        "score": 0.25,
        "constraints": {"max_segments": 100},
    }
    m = SegmentMapping(df, "store", metadata=meta)
    path = m.write(tmp_path / f"m.{fmt}")
    back = read_mapping(path)
    pd.testing.assert_frame_equal(back.to_frame(), m.to_frame())
    assert back.metadata == meta and back == m


def test_composite_ids_and_lookup(tmp_path):
    df = pd.DataFrame(
        {"region": ["N", "N", "S"], "item": [1, 2, 1], "segment": [1, 0, 1]}
    )
    m = SegmentMapping(df, ["region", "item"])
    assert m.segments_of([("S", 1), ("N", 2)]).tolist() == [1, 0]
    assert m.ids() == [("N", 1), ("N", 2), ("S", 1)]
    back = read_mapping(m.write(tmp_path / "m.csv"))
    assert back.ids() == m.ids() and back.to_frame()["item"].dtype == np.int64
    with pytest.raises(DataValidationError, match="not in the mapping") as e:
        m.segments_of([("S", 9)])
    assert ("S", 9) in e.value.problems[0].ids


def test_each_series_once_c7():
    with pytest.raises(DataValidationError, match="C7") as e:
        SegmentMapping(frame(["a", "b", "a"], [0, 1, 1]), "store")
    assert e.value.problems[0].ids == ["a"]


def test_from_long_frame_checks_c7_and_keeps_one_row_per_series():
    long = pd.DataFrame(
        {
            "store": ["a", "a", "b", "b", "c"],
            "ds": [1, 2, 1, 2, 1],
            "seg": ["x", "x", "y", "y", "x"],
        }
    )
    m = SegmentMapping.from_frame(long, "store", "seg")
    assert m.to_frame()["store"].tolist() == ["a", "b", "c"]
    assert m.to_frame()["assigned_by"].unique().tolist() == ["user"]
    long.loc[3, "seg"] = "x"
    with pytest.raises(ConstraintViolationError, match="C7") as e:
        SegmentMapping.from_frame(long, "store", "seg")
    assert e.value.problems[0].ids == ["b"]


def test_c6_and_c5_and_null_segments():
    with pytest.raises(ConstraintViolationError, match="C6"):
        SegmentMapping.from_frame(frame(["a"], [0]), "store", "store")
    with pytest.raises(ConstraintViolationError, match="C5: 4 segments, at most 3"):
        SegmentMapping(frame(list("abcd"), [0, 1, 2, 3]), "store", max_segments=3)
    with pytest.raises(DataValidationError, match="no segment") as e:
        SegmentMapping(frame(["a", "b"], [0, None]), "store")
    assert e.value.problems[0].ids == ["b"]


def test_reading_a_file_that_is_not_a_mapping(tmp_path):
    p = tmp_path / "plain.csv"
    frame(["a"], [0]).to_csv(p, index=False)
    with pytest.raises(DataValidationError, match="not a segment mapping"):
        read_mapping(p)
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"rows": []}))
    with pytest.raises(DataValidationError, match="not a segment mapping"):
        read_mapping(p)


def test_atomic_write_keeps_the_old_file_when_a_write_fails(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old complete content")
    with pytest.raises(RuntimeError):
        with atomic_write(p, "w") as fh:
            fh.write("new partial")
            raise RuntimeError("crash mid-write")
    assert p.read_text() == "old complete content"
    assert [f.name for f in tmp_path.iterdir()] == ["out.txt"]  # no temp file left


def test_top_level_names_round_trip_every_format(tmp_path):
    m = sg.SegmentMapping(frame([7, 3, 5], [0, 1, 0]), "store", metadata={"k": 2})
    for fmt in ("csv", "parquet", "json"):
        back = sg.read_mapping(m.write(tmp_path / f"m.{fmt}"))
        assert back == m and back.metadata == {"k": 2}
        assert back.segments_of([5, 7]).tolist() == [0, 0]
        assert back.to_frame()["store"].dtype == m.to_frame()["store"].dtype


def test_csv_round_trip_is_exact_for_real_distances(tmp_path):
    rng = np.random.default_rng(0)
    m = SegmentMapping(
        frame(list("abcdef"), [0, 1, 0, 1, 2, 2], distance=rng.random(6) * np.pi),
        "store",
    )
    assert read_mapping(m.write(tmp_path / "m.csv")) == m


def test_written_files_get_normal_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
