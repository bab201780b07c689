import numpy as np
import pytest
from conftest import make_long

import segmenter as sg
from segmenter.clustering.constraints import normalize_k
from segmenter.errors import ConstraintViolationError


def panel(n_series=12, length=40, **kw):
    return sg.read_panel(make_long(n_series, length, int_time=True, **kw))


def kinds(report):
    return {p.kind for p in report.problems}


@pytest.mark.parametrize("n,ok", [(9, False), (10, True)])
def test_c1_min_series_boundary(n, ok):
    rep = sg.ClusteringConstraints().check(panel(n_series=n))
    assert ("C1" not in kinds(rep)) is ok


@pytest.mark.parametrize("length,n_long", [(19, 0), (20, 12)])
def test_c2_history_boundary(length, n_long):
    p = sg.read_panel(
        make_long(12, 40, int_time=True).groupby("unique_id").head(length)
    )
    rep = sg.ClusteringConstraints(min_span=1).check(p, [2])
    assert rep.n_long_enough == n_long
    assert ("C2" in kinds(rep)) is (n_long == 0)
    assert len(rep.short_ids) == 12 - n_long


def test_c2_per_k_feasibility_and_reasons():
    df = make_long(12, 40, int_time=True)
    short = df["unique_id"].isin([f"s{i:03d}" for i in range(8)])
    df = df[~short | (df["ds"] <= 10)]  # 8 short series, 4 long
    rep = sg.ClusteringConstraints().check(sg.read_panel(df), [2, 4, 5])
    assert rep.feasible_k == [2, 4]
    assert 5 in rep.skipped_k and "C2" in rep.skipped_k[5]
    assert len(rep.short_ids) == 8 and rep.ok


@pytest.mark.parametrize("length,ok", [(34, False), (35, True)])
def test_c3_span_boundary(length, ok):
    rep = sg.ClusteringConstraints(min_history=5).check(panel(length=length))
    assert ("C3" not in kinds(rep)) is ok


@pytest.mark.parametrize("k,ok", [(1, False), (2, True), (100, True), (101, False)])
def test_c4_k_range(k, ok):
    c = sg.ClusteringConstraints()
    assert (not c.check_k(k)) is ok
    if not ok:
        with pytest.raises(ConstraintViolationError, match=str(k)):
            normalize_k(k, c)


@pytest.mark.parametrize("count,ok", [(10, True), (11, False)])
def test_c4_number_of_k_values(count, ok):
    ks = list(range(2, 2 + count))
    assert (not sg.ClusteringConstraints().check_k(ks)) is ok


def test_c4_rejects_non_integer_and_duplicates():
    probs = sg.ClusteringConstraints().check_k([2.5, 3, 3, True])
    assert {p.kind for p in probs} == {"k_out_of_range", "duplicate_k"}


def test_c5_segments():
    df = make_long(12, 40, int_time=True)
    df["seg"] = df["unique_id"]
    p = sg.read_panel(df, segment_col="seg")
    assert "C5" in kinds(sg.ClusteringConstraints(max_segments=11).check(p))
    assert "C5" not in kinds(sg.ClusteringConstraints(max_segments=12).check(p))


def test_every_violation_reported_at_once_and_raise():
    rep = sg.ClusteringConstraints().check(panel(n_series=5, length=10), [1, 3])
    assert {"C1", "C2", "C3", "k_out_of_range"} <= kinds(rep)
    assert not rep.ok
    with pytest.raises(ConstraintViolationError) as exc:
        rep.raise_if_violated()
    assert len(exc.value.problems) == len(rep.problems)
    text = str(rep)
    assert "C1" in text and "C3" in text and "cannot be clustered" in text


def test_relaxation_is_explicit_and_recorded():
    base = sg.ClusteringConstraints()
    rel = base.relax(min_series=5, reason="pilot")
    assert base.min_series == 10 and rel.min_series == 5
    rep = rel.check(panel(n_series=6))
    assert "C1" not in kinds(rep)
    assert "relaxed min_series: 10 -> 5 (pilot)" in str(rep)
    assert rel.as_dict()["relaxations"]["min_series"] == {
        "default": 10,
        "value": 5,
        "reason": "pilot",
    }
    assert rep.to_frame().set_index("constraint").loc["C1", "relaxed"] == "min_series"
    with pytest.raises(ConstraintViolationError, match="cannot relax"):
        base.relax(min_seriez=3)


def test_all_missing_series_flagged_in_report():
    df = make_long(12, 40, int_time=True)
    df.loc[df.unique_id == "s003", "y"] = np.nan
    rep = sg.ClusteringConstraints().check(sg.read_panel(df), [3])
    assert rep.all_missing_ids == ["s003"] and "s003" in rep.short_ids
