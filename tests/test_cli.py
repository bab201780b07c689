import subprocess
import sys

import pandas as pd

from segmenter.cli import main

from conftest import make_long


def test_check_ok(tmp_path, capsys):
    path = tmp_path / "d.csv"
    make_long(12, 40).rename(columns={"unique_id": "store", "ds": "date", "y": "sales"}).to_csv(path, index=False)
    code = main(["check", str(path), "--id", "store", "--time", "date", "--target", "sales", "--k", "2", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "series                          12" in out and "can be clustered" in out


def test_check_constraint_failure_exit_code(tmp_path, capsys):
    path = tmp_path / "d.csv"
    make_long(5, 10).to_csv(path, index=False)
    assert main(["check", str(path)]) == 2
    assert "FAIL" in capsys.readouterr().out


def test_check_bad_data_exit_code(tmp_path, capsys):
    path = tmp_path / "d.csv"
    df = make_long(3, 5)
    df = pd.concat([df, df.iloc[[0]]])
    df.to_csv(path, index=False)
    assert main(["check", str(path)]) == 3
    err = capsys.readouterr().err
    assert "duplicate" in err and "s000" in err


def test_console_script_help():
    res = subprocess.run([sys.executable, "-m", "segmenter", "check", "--help"],
                         capture_output=True, text=True, check=True)
    assert "--target" in res.stdout and "examples:" in res.stdout
