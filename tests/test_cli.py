import subprocess
import sys

import pandas as pd
from conftest import make_long

import segmenter as sg
from segmenter.cli import main


def test_check_ok(tmp_path, capsys):
    path = tmp_path / "d.csv"
    make_long(12, 40).rename(
        columns={"unique_id": "store", "ds": "date", "y": "sales"}
    ).to_csv(path, index=False)
    code = main(
        [
            "check",
            str(path),
            "--id",
            "store",
            "--time",
            "date",
            "--target",
            "sales",
            "--k",
            "2",
            "3",
        ]
    )
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


def test_console_script_help_lists_every_option_and_its_examples_parse():
    from segmenter.cli import _EXAMPLES, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        res = subprocess.run(
            [sys.executable, "-m", "segmenter", name, "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        for action in p._actions:
            for flag in action.option_strings:
                assert flag in res.stdout, (name, flag)
        assert "examples:" in res.stdout
    examples = [
        line.split()[1:]
        for line in _EXAMPLES.splitlines()
        if line.strip().startswith("segmenter ")
    ]
    assert {e[0] for e in examples} == set(sub.choices)  # one example per command
    for argv in examples:
        args = parser.parse_args(argv)  # each example is valid
        assert args.func.__name__ == f"_cmd_{argv[0]}"


def test_segment_then_assign_end_to_end(tmp_path, capsys):
    from conftest import planted_frame

    df, _ = planted_frame(n_per=8, length=40, seed=5)
    df = df.rename(columns={"unique_id": "store", "ds": "week", "y": "sales"})
    fit_ids = pd.unique(df["store"])[::2]
    data = tmp_path / "sales.csv"
    new = tmp_path / "new.csv"
    df[df["store"].isin(fit_ids)].to_csv(data, index=False)
    df[~df["store"].isin(fit_ids)].to_csv(new, index=False)
    out = tmp_path / "out"
    code = main(
        [
            "segment",
            str(data),
            "--id",
            "store",
            "--time",
            "week",
            "--target",
            "sales",
            "--k",
            "2",
            "3",
            "--blueprints",
            "dtw_kmedoids",
            "velocity_mean",
            "-o",
            str(out),
            "--format",
            "parquet",
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "leaderboard.csv",
        "mapping.parquet",
        "model.segmenter",
    }
    lb = pd.read_csv(out / "leaderboard.csv")
    assert len(lb) == 4 and lb["rank"].iloc[0] == 1
    assert (
        "Leaderboard (top 10 of 4 rows" in printed
        and lb["blueprint"].iloc[0] in printed
    )
    mapping = sg.read_mapping(out / "mapping.parquet").to_frame()
    assert sorted(mapping["store"]) == sorted(fit_ids)
    code = main(
        [
            "assign",
            str(out / "model.segmenter"),
            str(new),
            "-o",
            str(tmp_path / "a.csv"),
        ]
    )
    assert code == 0
    assigned = sg.read_mapping(tmp_path / "a.csv").to_frame()
    assert sorted(assigned["store"]) == sorted(set(df["store"]) - set(fit_ids))
    assert (assigned["assigned_by"] == "predict").all()
    # no -o: CSV on stdout
    capsys.readouterr()
    assert main(["assign", str(out / "model.segmenter"), str(new)]) == 0
    assert capsys.readouterr().out.startswith("store,segment,segment_name,distance")


def test_assign_with_a_file_that_is_not_a_model(tmp_path, capsys):
    bogus = tmp_path / "m.segmenter"
    bogus.write_text("hello")
    data = tmp_path / "d.csv"
    make_long(12, 40).to_csv(data, index=False)
    assert main(["assign", str(bogus), str(data)]) == 3
    assert "not a segmenter model file" in capsys.readouterr().err


def test_segment_infeasible_k_exit_code(tmp_path, capsys):
    data = tmp_path / "d.csv"
    make_long(12, 40).to_csv(data, index=False)
    assert (
        main(["segment", str(data), "--k", "1", "-o", str(tmp_path / "o"), "--quiet"])
        == 2
    )
    assert "C4" in capsys.readouterr().err


def test_csv_ids_stay_as_written_and_bad_choose_keeps_the_leaderboard(tmp_path, capsys):
    df = make_long(12, 40, seed=3, ids=[f"{i:03d}" for i in range(12)])
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "o"
    assert (
        main(
            [
                "segment",
                str(data),
                "--k",
                "2",
                "--blueprints",
                "velocity_mean",
                "-o",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    ids = sg.read_mapping(out / "mapping.csv").to_frame()["unique_id"].tolist()
    assert ids == [f"{i:03d}" for i in range(12)]
    out2 = tmp_path / "o2"
    assert (
        main(
            [
                "segment",
                str(data),
                "--k",
                "2",
                "--blueprints",
                "velocity_mean",
                "-o",
                str(out2),
                "--quiet",
                "--choose",
                "99",
            ]
        )
        == 3
    )
    assert "row 99 is not on the leaderboard" in capsys.readouterr().err
    assert (out2 / "leaderboard.csv").exists()


def test_forecast_end_to_end(tmp_path, capsys):
    from test_forecasting import seasonal_frame

    df = seasonal_frame(n=12, length=40)
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "o"
    assert (
        main(
            [
                "segment",
                str(data),
                "--k",
                "2",
                "--blueprints",
                "velocity_mean",
                "-o",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    code = main(
        [
            "forecast",
            str(data),
            "--mapping",
            str(out / "mapping.csv"),
            "--horizon",
            "4",
            "--origins",
            "2",
            "--candidates",
            "theta",
            "--season-length",
            "12",
            "--forecast-sample",
            "8",
            "--intervals",
            "native",
            "--jobs",
            "1",
            "-o",
            str(out),
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    fc = pd.read_csv(out / "forecasts.csv", dtype={"unique_id": str})
    assert len(fc) == 12 * 4 and set(fc.columns) >= {
        "unique_id",
        "ds",
        "forecast",
        "segment",
        "champion",
    }
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["strategy"]) == {"segmented", "global", "per-series", "random"}
    assert comp["strategy"].iloc[0] in printed and "segmenting" in printed
    loaded = sg.load(out / "forecaster.segmenter")
    assert loaded.intervals == loaded.intervals_ == "native"
    assert loaded.predict().shape[0] == 48  # every series, though 8 were sampled
    # 8 asked; each of the 2 segments keeps at least 5 of its series
    assert loaded.forecast_sample_["n_sampled"] == 10
    assert main(["forecast", str(data), "--horizon", "4", "-o", str(out)]) == 3
    assert "give exactly one of --mapping" in capsys.readouterr().err


def test_segment_report_flag_writes_report_and_insight_tables(tmp_path, capsys):
    from conftest import planted_frame

    df, _ = planted_frame(n_per=8, length=40, seed=6)
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "out"
    assert (
        main(
            [
                "segment",
                str(data),
                "--k",
                "3",
                "--blueprints",
                "features_kmeans",
                "-o",
                str(out),
                "--report",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {
        "report.html",
        "insights.csv",
        "impact.csv",
        "associations.csv",
        "sizes.csv",
    } <= names
    assert f"Report: {out / 'report.html'}" in printed
    page = (out / "report.html").read_text()
    assert page.count('data-chart="') == 9 and 'id="impact"' in page
