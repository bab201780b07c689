"""Resumable long runs: a fit killed with SIGKILL and started again with the same data and
arguments resumes from its checkpoint folder, recomputes nothing it had finished, and
gives the result of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import segmenter as sg

TESTS = Path(__file__).parent

SEGMENT = """
import sys
import segmenter as sg
from conftest import planted_frame
from _slow import SlowKMeans
from segmenter.clustering.blueprints import Blueprint

def run(folder=None):
    df, _ = planted_frame(n_per=8, length=40)
    seg = sg.Segmenter(n_clusters=[2, 3, 4, 5], blueprints=["features_kmeans",
                       Blueprint.from_estimator("slow", SlowKMeans())], progress=False)
    return seg.fit(df, checkpoint=folder)

if __name__ == "__main__":
    run(sys.argv[1])
"""

FORECAST = """
import sys
import pandas as pd
import segmenter as sg
from _slow import SlowNaive
from test_forecasting import seasonal_frame

def run(folder=None):
    df = seasonal_frame(n=40, length=48)
    ids = pd.unique(df["unique_id"])
    mapping = sg.SegmentMapping(pd.DataFrame({"unique_id": ids,
                                              "segment": [i % 4 for i in range(len(ids))]}),
                                "unique_id")
    fc = sg.SegmentedForecaster(horizon=6, n_origins=3, candidates=[SlowNaive(), "theta"],
                                season_length=12, n_jobs=1, progress=False)
    return fc.fit(df, mapping=mapping, checkpoint=folder)

if __name__ == "__main__":
    run(sys.argv[1])
"""


def _kill_after(script: Path, folder: Path, n_files: int, timeout: float = 120) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    t0 = time.time()
    try:
        while time.time() - t0 < timeout:
            done = len(list(folder.glob("*.task"))) if folder.exists() else 0
            if done >= n_files:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return len(list(folder.glob("*.task")))
            if proc.poll() is not None:
                raise AssertionError(
                    "the run finished before it could be killed: "
                    + proc.stderr.read().decode()[-2000:]
                )
            time.sleep(0.02)
        raise AssertionError("the run did not write its checkpoint in time")
    finally:
        if proc.poll() is None:
            proc.kill()


def _module(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        return path, importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_a_killed_leaderboard_resumes_without_refitting_finished_rows(tmp_path):
    script, mod = _module(tmp_path, "ckpt_segment", SEGMENT)
    folder = tmp_path / "ckpt"
    finished = _kill_after(script, folder, n_files=3)
    assert 3 <= finished < 8  # 8 rows in all: killed midway
    resumed = mod.run(folder)
    assert resumed.checkpoint_ == {"loaded": finished, "computed": 8 - finished}
    whole = mod.run(None)
    cols = [
        c
        for c in whole.leaderboard_.columns
        if c not in ("fit_seconds", "score_seconds")
    ]
    pd.testing.assert_frame_equal(resumed.leaderboard_[cols], whole.leaderboard_[cols])
    assert resumed.mapping_ == whole.mapping_ or resumed.mapping_.to_frame().equals(
        whole.mapping_.to_frame()
    )
    again = mod.run(folder)  # a third run loads every row
    assert again.checkpoint_ == {"loaded": 8}


def test_a_killed_forecast_resumes_without_recomputing_finished_tasks(tmp_path):
    script, mod = _module(tmp_path, "ckpt_forecast", FORECAST)
    folder = tmp_path / "ckpt"
    finished = _kill_after(script, folder, n_files=2)
    assert finished >= 2
    resumed = mod.run(folder)
    assert resumed.checkpoint_["loaded"] == finished
    total = resumed.checkpoint_["loaded"] + resumed.checkpoint_["computed"]
    whole = mod.run(None)
    pd.testing.assert_frame_equal(
        resumed.predict(level=[80]), whole.predict(level=[80])
    )
    pd.testing.assert_frame_equal(
        resumed.selection_.drop(columns="seconds"),
        whole.selection_.drop(columns="seconds"),
    )
    assert mod.run(folder).checkpoint_ == {"loaded": total}


def test_a_checkpoint_of_other_data_is_refused(tmp_path):
    from conftest import make_long

    sg.Segmenter(n_clusters=[2], blueprints=["features_kmeans"], progress=False).fit(
        make_long(12, 40, seed=1), checkpoint=tmp_path
    )
    with pytest.raises(sg.DataValidationError, match="checkpoint of another run"):
        sg.Segmenter(
            n_clusters=[2], blueprints=["features_kmeans"], progress=False
        ).fit(make_long(12, 40, seed=2), checkpoint=tmp_path)
