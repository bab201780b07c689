import numpy as np
import pytest

from segmenter.errors import DataValidationError, NoCandidateError
from segmenter.selection.leaderboard import Leaderboard


class Shift:
    """Toy candidate: model = offset; score = -|offset - fold| (plus a weight)."""

    name = "shift"

    def __init__(self, fail_on=None, demote_over=None):
        self.fail_on = fail_on
        self.demote_over = demote_over
        self.fits = 0

    def describe(self, offset):
        return f"offset {offset}"

    def fit(self, fold, offset):
        self.fits += 1
        if offset == self.fail_on:
            raise RuntimeError("does not converge")
        return offset

    def score(self, model, fold, offset):
        demoted = (
            "too big"
            if self.demote_over is not None and offset > self.demote_over
            else ""
        )
        return {
            "err": abs(model - fold),
            "weight": 1.0 if fold < 10 else 3.0,
            "demoted": demoted,
            "label": f"f{fold}",
        }


def test_ranks_by_metric_lower_is_better_and_weights_folds():
    lb = Leaderboard(
        folds=[0, 10], metric="err", greater_is_better=False, progress=False
    )
    lb.score_candidates([(Shift(), {"offset": o}) for o in (0, 5, 9)])
    df = lb.to_frame()
    # weighted mean of |o-0| (w=1) and |o-10| (w=3)
    expected = {o: (abs(o) * 1 + abs(o - 10) * 3) / 4 for o in (0, 5, 9)}
    assert df["offset"].tolist() == [9, 5, 0]
    assert np.allclose(df["err"], [expected[9], expected[5], expected[0]])
    assert df["rank"].tolist() == [1, 2, 3]
    assert df["label"].tolist() == ["f0; f10"] * 3  # strings: distinct values joined
    assert df["steps"].iloc[0] == "offset 9"
    assert lb.best().settings == {"offset": 9}


def test_failed_and_skipped_rows_are_recorded_and_ranked_last():
    cand = Shift(fail_on=5)
    lb = Leaderboard(folds=[1], metric="err", greater_is_better=False, progress=False)
    lb.skip(cand, {"offset": 99}, "C2: not enough series")
    lb.score_candidates([(cand, {"offset": o}) for o in (3, 5, 1)])
    df = lb.to_frame()
    assert df["status"].tolist() == ["ok", "ok", "failed", "skipped"]
    assert df["offset"].tolist() == [1, 3, 5, 99]
    failed = df[df.status == "failed"].iloc[0]
    assert "RuntimeError: does not converge" == failed["reason"]
    assert df[df.status == "skipped"]["reason"].iloc[0] == "C2: not enough series"
    assert df["rank"].isna().tolist() == [False, False, True, True]


def test_demoted_rows_rank_below_the_others():
    lb = Leaderboard(folds=[0], metric="err", greater_is_better=False, progress=False)
    lb.score_candidates([(Shift(demote_over=2), {"offset": o}) for o in (4, 3, 1)])
    df = lb.to_frame()
    assert df["offset"].tolist() == [1, 3, 4]
    lb2 = Leaderboard(folds=[10], metric="err", greater_is_better=False, progress=False)
    lb2.score_candidates([(Shift(demote_over=2), {"offset": o}) for o in (9, 1)])
    # 9 scores better but is demoted: 1 is best
    assert lb2.to_frame()["offset"].tolist() == [1, 9]
    assert lb2.best().settings["offset"] == 1


def test_later_runs_add_rows_and_rerank():
    cand = Shift()
    lb = Leaderboard(folds=[4], metric="err", greater_is_better=False, progress=False)
    lb.score_candidates([(cand, {"offset": 0})])
    new = lb.score_candidates([(cand, {"offset": o}) for o in (4, 6)])
    assert [e.row for e in new] == [1, 2] and [e.settings["offset"] for e in new] == [
        4,
        6,
    ]
    assert len(lb.entries) == 3 and cand.fits == 3
    assert lb.best().settings["offset"] == 4
    assert lb.to_frame()["offset"].tolist() == [4, 6, 0]
    with pytest.raises(DataValidationError, match="row 7 is not on the leaderboard"):
        lb.entry(7)


def test_no_finite_score_is_a_clear_error():
    lb = Leaderboard(folds=[0], metric="missing_metric", progress=False)
    lb.score_candidates([(Shift(), {"offset": 1})])
    with pytest.raises(NoCandidateError, match="no candidate produced a finite"):
        lb.best()
    df = lb.to_frame()
    assert "missing_metric" not in df.columns and df["rank"].isna().all()
