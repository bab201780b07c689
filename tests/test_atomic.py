"""Outputs are written atomically: a process killed mid-write leaves the previous file
or none, never a truncated one (mapping, model, report all go through atomic_write)."""

import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

import segmenter as sg

WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np, pandas as pd
    import segmenter as sg
    import segmenter.persistence as P
    path, what, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "hold":                 # every byte written, about to rename: stop here
        real = os.fsync
        def fsync_then_hang(fd):
            real(fd)
            print("written", flush=True)
            time.sleep(120)
        P.os.fsync = fsync_then_hang
    print("start", flush=True)
    m = sg.SegmentMapping(pd.DataFrame({"id": np.arange(n), "segment": np.arange(n) % 3}), "id")
    if path.endswith(".seg"):
        sg.persistence.save({"big": np.random.default_rng(0).random((n, 50)), "m": m}, path)
    else:
        m.write(path)
    print("done", flush=True)
""")


def _run_and_kill(tmp_path, path, what, n, after=None):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), what, str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if after is None:
            assert proc.stdout.readline().strip() == "start"
            assert proc.stdout.readline().strip() == "written"
        else:
            assert proc.stdout.readline().strip() == "start"
            time.sleep(after)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc


def test_a_mapping_write_killed_before_the_rename_leaves_the_old_file(tmp_path):
    path = tmp_path / "mapping.csv"
    old = sg.SegmentMapping(pd.DataFrame({"id": [1, 2, 3], "segment": [0, 1, 1]}), "id")
    old.write(path)
    before = path.read_bytes()
    _run_and_kill(tmp_path, path, "hold", 200_000)
    assert path.read_bytes() == before
    assert sg.read_mapping(path) == old
    # a first write killed the same way leaves no file at all under the name
    fresh = tmp_path / "fresh.csv"
    _run_and_kill(tmp_path, fresh, "hold", 1000)
    assert not fresh.exists()


@pytest.mark.parametrize("after", [0.05, 0.3, 0.8])
def test_a_model_save_killed_at_any_moment_is_old_or_new_never_truncated(
    tmp_path, after
):
    path = tmp_path / "model.seg"
    sg.persistence.save({"old": True}, path)
    proc = _run_and_kill(tmp_path, path, "anytime", 400_000, after=after)
    got = sg.load(path)  # raises IncompatibleVersionError when truncated
    assert got == {"old": True} or got["big"].shape == (400_000, 50), proc.returncode
