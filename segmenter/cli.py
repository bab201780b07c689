"""The ``segmenter`` command line.

Run ``segmenter --help`` or ``segmenter COMMAND --help``.  Exit codes: 0 success,
2 the data cannot be clustered under the constraints, 3 bad input: the table breaks the
data contract or cannot be read, an argument is invalid, or a model file is damaged,
from another version or names untrusted types (the message lists every problem), 4 the
forecasts were written but too few series could be backtested to compare strategies,
5 and 6 from ``monitor``: refit the champions, segment again (0: keep), 1 anything else (e.g. no leaderboard row could be scored; the leaderboard is still
written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import __version__
from .errors import (
    ConstraintViolationError,
    DataValidationError,
    IncompatibleVersionError,
    InputTypeError,
    SegmenterError,
    UntrustedModelError,
)

EXIT_OK, EXIT_ERROR, EXIT_CONSTRAINTS, EXIT_DATA, EXIT_NOT_SCORED = 0, 1, 2, 3, 4
EXIT_REFIT, EXIT_RESEGMENT = 5, 6  # `monitor`: refit the champions, segment again

_DESCRIPTION = """\
segmenter groups many related time series into segments (by shape under dynamic time
warping and by summary statistics) as a first step to segmented forecasting.

The input is a long table: one row per (series id, time), as CSV or Parquet.
Note: "segmentation" here means grouping MANY series, not cutting one series at
change points as in sktime/aeon.
"""

_EXAMPLES = """\
examples:
  segmenter check sales.csv --id store --time date --target sales
  segmenter check tourism.csv --id Region State Purpose --time Quarter --target Trips --k 4 6 8
  segmenter segment sales.csv --id store --time date --target sales --k 4 6 8 -o out/
  segmenter assign out/model.segmenter new_sales.csv -o out/new_mapping.csv
  segmenter forecast sales.csv --id store --time date --target sales --mapping out/mapping.csv --horizon 8 -o out/
  segmenter forecast sales.csv --id store --time date --target sales --select forecast --horizon 8 --level 80 95 -o out/
  segmenter forecast --model out/forecaster.segmenter new_sales.csv --id store --time date --target sales --level 80 95 -o out/new/
  segmenter serve out/forecaster.segmenter --port 8000
  segmenter score out/forecaster.segmenter big_history.parquet --level 80 95 -o out/scored/
  segmenter monitor out/forecaster.segmenter this_week.parquet -o out/monitor/
"""


def _add_data_args(
    p: argparse.ArgumentParser,
    defaults: bool = True,
    hint: str = " (default: as in the model's fit)",
) -> None:
    """Column arguments; with ``defaults=False`` they default to None (taken from a model,
    ``hint`` says so)."""
    d = (lambda v: v) if defaults else (lambda v: None)
    hint = "" if defaults else hint
    p.add_argument(
        "data", help="CSV or Parquet file (or folder of Parquet files), long format"
    )
    p.add_argument(
        "--id",
        nargs="+",
        default=d(["unique_id"]),
        metavar="COL",
        help="series-id column(s); several columns form a composite key"
        + (hint or " (default: unique_id)"),
    )
    p.add_argument(
        "--time",
        default=d("ds"),
        metavar="COL",
        help="time column: dates or integer steps" + (hint or " (default: ds)"),
    )
    p.add_argument(
        "--target",
        default=d("y"),
        metavar="COL",
        help="numeric target column to cluster on" + (hint or " (default: y)"),
    )
    p.add_argument(
        "--values",
        nargs="*",
        default=d([]),
        metavar="COL",
        help="extra numeric columns used as additional clustering variables" + hint,
    )
    p.add_argument(
        "--static",
        nargs="*",
        default=d([]),
        metavar="COL",
        help="columns constant within each series (checked and kept)" + hint,
    )
    p.add_argument(
        "--freq",
        default=None,
        help="frequency alias such as D, W-SUN, MS, QS (inferred when omitted); "
        "an integer step for integer times" + hint,
    )
    p.add_argument(
        "--missing",
        default=d("keep"),
        choices=["keep", "interpolate", "zero"],
        help="policy for missing targets and gap steps"
        + (hint or " (default: keep as missing)"),
    )
    p.add_argument(
        "--date-format",
        default=None,
        metavar="FMT",
        help="strptime format of text times, e.g. %%d/%%m/%%Y (inferred from the "
        "whole column when omitted; a column that reads both day-first and "
        "month-first is refused)" + hint,
    )
    first = p.add_mutually_exclusive_group()
    first.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_const",
        const=True,
        default=None,
        help="text dates are day-first (01/02/2020 = 1 February)",
    )
    first.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_const",
        const=False,
        help="text dates are month-first (01/02/2020 = 2 January)",
    )
    p.add_argument(
        "--near-duplicate-ids",
        default=d("refuse"),
        choices=["refuse", "merge", "keep"],
        help="ids that differ only by surrounding spaces or case: refuse them, "
        "merge them into one series, or keep them apart"
        + (hint or " (default: refuse)"),
    )
    p.add_argument(
        "--encoding",
        default=None,
        help="text encoding of a CSV file (default: UTF-8), e.g. latin-1, cp1252",
    )


def _add_dask_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--dask-address",
        default=None,
        metavar="ADDR",
        help="run on a Dask cluster: the scheduler's address, e.g. "
        f"tcp://10.0.0.5:8786 ({what}; needs the dask extra)",
    )


def _freq(value):
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _load_panel(args):
    from .data.reading import read_panel

    return read_panel(
        args.data,
        id_col=args.id if len(args.id) > 1 else args.id[0],
        time_col=args.time,
        target_col=args.target,
        value_cols=args.values,
        static_cols=args.static,
        freq=_freq(args.freq),
        missing=args.missing,
        **_reading_kwargs(args),
    )


def _reading_kwargs(args) -> dict:
    """The reading options the user gave (None ones left out)."""
    return {
        k: getattr(args, k)
        for k in ("date_format", "dayfirst", "near_duplicate_ids", "encoding")
        if getattr(args, k, None) is not None
    }


def _cmd_check(args) -> int:
    from .clustering.constraints import ClusteringConstraints

    panel = _load_panel(args)
    print(panel.summary_text())
    report = ClusteringConstraints().check(panel, args.k)
    print()
    print(report)
    return EXIT_OK if report.ok else EXIT_CONSTRAINTS


def _column_kwargs(args) -> dict:
    """The data-column options the user gave (None ones left out)."""
    out = {}
    if args.id is not None:
        out["id_col"] = args.id if len(args.id) > 1 else args.id[0]
    for key, attr in (
        ("time_col", "time"),
        ("target_col", "target"),
        ("value_cols", "values"),
        ("static_cols", "static"),
        ("missing", "missing"),
    ):
        if getattr(args, attr) is not None:
            out[key] = getattr(args, attr)
    if args.freq is not None:
        out["freq"] = _freq(args.freq)
    return {**out, **_reading_kwargs(args)}


_LEADERBOARD_COLUMNS = [
    "rank",
    "row",
    "blueprint",
    "n_clusters",
    "silhouette",
    "silhouette_train",
    "forecast_error",
    "n_clusters_found",
    "fit_seconds",
    "status",
]


def _print_leaderboard(lb, top: int) -> None:
    import pandas as pd

    cols = [c for c in _LEADERBOARD_COLUMNS if c in lb.columns]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(
            lb[cols].head(top).to_string(index=False, float_format=lambda v: f"{v:.4f}")
        )


def _blueprints(values):
    if values is None:
        return "default"
    if len(values) == 1 and values[0] in ("default", "quick", "all"):
        return values[0]
    return values


def _cmd_segment(args) -> int:
    from pathlib import Path

    from .persistence import atomic_write
    from .segmenter import Segmenter

    out = Path(args.out)
    seg = Segmenter(
        n_clusters=args.k,
        blueprints=_blueprints(args.blueprints),
        validation_size=args.validation_size,
        random_state=args.seed,
        fit_sample=args.fit_sample,
        metric=args.metric,
        horizon=args.horizon,
        progress=False if args.quiet else None,
        engine=args.dask_address or "local",
    )
    if args.dask_address:  # the workers read the data; this process never loads it
        data = args.data
        print(f"Segmenting {args.data} on the Dask cluster at {args.dask_address}")
        fit_kw = _column_kwargs(args)
    else:
        data = _load_panel(args)
        print(data.summary_text())
        fit_kw = {}
    try:
        seg.fit(data, **fit_kw)
    finally:  # the leaderboard is written even when no row could be mapped
        if hasattr(seg, "leaderboard_"):
            with atomic_write(
                out / "leaderboard.csv", "w", encoding="utf-8", newline=""
            ) as fh:
                seg.leaderboard_.to_csv(fh, index=False)
    if args.choose is not None:
        seg.choose(args.choose)
    lb = seg.leaderboard_
    mapping_path = seg.mapping_.write(out / f"mapping.{args.format}")
    model_path = seg.save(out / "model.segmenter")
    print(
        f"\nLeaderboard (top {args.top} of {len(lb)} rows; all in {out / 'leaderboard.csv'}):"
    )
    _print_leaderboard(lb, args.top)
    m = seg.mapping_
    print(f"\nChosen: row {seg.chosen_row_}: {m.metadata['steps']}")
    if args.metric == "forecast":
        print(seg.forecaster_.comparison_text_)
    print(
        f"Mapping: {len(m)} series in {m.n_segments} segments, sizes "
        f"{m.sizes().to_dict()} -> {mapping_path}"
    )
    print(f"Model: {model_path}")
    if args.report:
        ins = seg.insights(data=_load_panel(args) if args.dask_address else None)
        ins.to_csv(out)
        path = seg.report(out / "report.html", insights=ins)
        print(
            f"Report: {path} (insights in {out / 'insights.csv'}, impact.csv, "
            "associations.csv, sizes.csv)"
        )
    return EXIT_OK


def _cmd_assign(args) -> int:
    from .persistence import load
    from .segmenter import Segmenter

    seg = load(args.model, expected=Segmenter, trusted=_trust(args))
    mapping = seg.predict(args.data, **_column_kwargs(args))
    if args.out:
        path = mapping.write(args.out)
        print(
            f"{len(mapping)} series assigned to {mapping.n_segments} segments, sizes "
            f"{mapping.sizes().to_dict()} -> {path}"
        )
    else:
        sys.stdout.write(mapping.to_frame().to_csv(index=False))
    return EXIT_OK


def _trust(args):
    """``--trust``: more trusted types for loading a model file (``ALL``: everything)."""
    values = getattr(args, "trust", None) or []
    return True if "ALL" in values else values


def _add_trust_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust",
        nargs="+",
        default=None,
        metavar="TYPE",
        help="trust these types when loading the model file (module.Qualname, as "
        "the refusal message lists them), or ALL for a file you made "
        "yourself; by default only segmenter's own and its libraries' types "
        "are built",
    )


def _write_csv(path, frame) -> None:
    from .persistence import atomic_write

    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)


def _forecast_with_saved(args, fc, out) -> int:
    """``forecast --model forecaster.segmenter``: forecast new history, no refit."""
    import pandas as pd

    from .data.reading import read_table

    ids = args.id or fc.data_args_["id_col"]
    ids = [ids] if isinstance(ids, str) else list(ids)
    data = read_table(args.data, text_cols=ids, encoding=args.encoding)
    future = (
        read_table(args.future, text_cols=ids, encoding=args.encoding)
        if args.future
        else None
    )
    pred = fc.predict(
        data,
        future=future,
        level=args.level or None,
        refit=args.refit,
        **_column_kwargs(args),
    )
    _write_csv(out / "forecasts.csv", pred)
    n = (
        pred.iloc[
            :,
            : len(fc.data_args_["id_col"])
            if isinstance(fc.data_args_["id_col"], list)
            else 1,
        ]
        .drop_duplicates()
        .shape[0]
    )
    with pd.option_context("display.width", 200):
        print(pred.head(10).to_string(index=False))
    print(
        f"Forecast {n} series x {fc.horizon} steps with the saved model (champions "
        f"{'refitted' if args.refit else 'reused'}) -> {out / 'forecasts.csv'}"
    )
    return EXIT_OK


def _cmd_forecast(args) -> int:
    from pathlib import Path

    from .clustering.mapping import read_mapping
    from .errors import DataValidationError, Problem
    from .forecasting.forecaster import SegmentedForecaster
    from .persistence import load
    from .segmenter import Segmenter

    out = Path(args.out)
    model = load(args.model, trusted=_trust(args)) if args.model else None
    if isinstance(model, SegmentedForecaster):
        return _forecast_with_saved(args, model, out)
    if model is not None and not isinstance(model, Segmenter):
        raise DataValidationError(
            [
                Problem(
                    "model",
                    "--model",
                    f"{args.model} holds a {type(model).__name__}; give a model "
                    "written by `segmenter segment` or `segmenter forecast`",
                )
            ]
        )
    given = [x for x in (args.mapping, args.model, args.segment_col) if x]
    if len(given) > 1 or (not given and args.select != "forecast"):
        raise DataValidationError(
            [
                Problem(
                    "segments",
                    None,
                    "give exactly one of --mapping FILE (from `segmenter segment`), "
                    "--model FILE (a saved segmenter; it also assigns series it has not seen) or "
                    "--segment-col COL (a column of the data); or --select forecast to segment here",
                )
            ]
        )
    if args.horizon is None:
        raise DataValidationError(
            [
                Problem(
                    "horizon", "--horizon", "--horizon is required to fit a forecaster"
                )
            ]
        )
    cands = args.candidates if args.candidates else "default"
    if isinstance(cands, list) and len(cands) == 1 and cands[0] in ("default", "quick"):
        cands = cands[0]
    origins = args.origins if args.origins == "auto" else int(args.origins)
    season = (
        args.season_length[0]
        if args.season_length and len(args.season_length) == 1
        else args.season_length
    )
    fc = SegmentedForecaster(
        horizon=args.horizon,
        n_origins=origins,
        step=args.step,
        candidates=cands,
        metric=args.metric,
        season_length=season,
        select=args.select,
        n_candidates=args.n_candidates,
        forecast_sample=args.forecast_sample,
        compare=not args.no_compare,
        holidays=args.holidays,
        intervals=args.intervals,
        n_jobs=args.jobs,
        progress=False if args.quiet else None,
        engine=args.dask_address or "local",
    )
    kwargs = {
        "id_col": "unique_id",
        "time_col": "ds",
        "target_col": "y",
        "missing": "keep",
        **_column_kwargs(args),
        "segment_col": args.segment_col,
    }
    mapping = read_mapping(args.mapping) if args.mapping else None
    segmenter = model
    if args.select == "forecast" and segmenter is None:
        segmenter = Segmenter(
            n_clusters=args.k,
            blueprints=_blueprints(args.blueprints),
            progress=False if args.quiet else None,
        )
    cov = dict(static_cols=args.static or None, future_cols=args.future_cols or None)
    if args.dask_address and not args.segment_col:  # the workers read the files
        fc.fit(
            args.data,
            mapping=mapping,
            segmenter=segmenter,
            **cov,
            **{
                k: v
                for k, v in kwargs.items()
                if k
                in (
                    "id_col",
                    "time_col",
                    "target_col",
                    "freq",
                    "missing",
                    "date_format",
                    "dayfirst",
                    "near_duplicate_ids",
                )
            },
        )
    else:
        from .data.reading import read_table

        text = kwargs.get("id_col", "unique_id")
        frame = read_table(
            args.data,
            text_cols=[text] if isinstance(text, str) else text,
            encoding=args.encoding,
        )
        fc.fit(
            frame,
            mapping=mapping,
            segmenter=segmenter,
            **cov,
            **{
                k: v
                for k, v in kwargs.items()
                if k not in ("value_cols", "static_cols")
            },
        )
    forecasts = fc.predict(level=args.level or None)
    _write_csv(out / "forecasts.csv", forecasts)
    _write_csv(out / "forecast_leaderboard.csv", fc.leaderboard_)
    if hasattr(fc, "comparison_"):
        _write_csv(out / "comparison.csv", fc.comparison_)
        _write_csv(out / "comparison_per_series.csv", fc.comparison_per_series_)
        _write_csv(out / "selection.csv", fc.selection_)
    saved = fc.save(out / "forecaster.segmenter")
    print(f"Backtests: {fc.plan_.describe()}")
    print(f"Segmentation: {fc.segmentation_}; champions by segment: {fc.champions_}")
    code = EXIT_OK
    if hasattr(fc, "comparison_"):
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(
                fc.selection_.to_string(index=False, float_format=lambda v: f"{v:.4f}")
            )
            print(
                fc.comparison_.to_string(index=False, float_format=lambda v: f"{v:.4f}")
            )
        print(fc.comparison_text_)
        if fc.comparison_text_.startswith("Could not compare"):
            code = EXIT_NOT_SCORED
    print(
        f"Wrote {len(forecasts)} forecast rows to {out / 'forecasts.csv'}, the per-segment "
        f"leaderboards, the selection, the comparison and the model {saved}"
    )
    return code


def _cmd_serve(args) -> int:
    from .serving.app import serve

    print(
        f"serving {args.model} on http://{args.host}:{args.port} (docs at /docs); "
        "Ctrl-C stops",
        flush=True,
    )
    serve(
        args.model,
        host=args.host,
        port=args.port,
        workers=args.workers,
        trusted=_trust(args),
        copies=args.threads,
        max_request_bytes=int(args.max_request_mb * 2**20),
        log_level="warning" if args.quiet else "info",
    )
    return EXIT_OK


def _cmd_score(args) -> int:
    from .serving.scoring import score

    res = score(
        args.model,
        args.data,
        args.out,
        future=args.future,
        level=args.level or None,
        horizon=args.horizon,
        refit=args.refit,
        series_per_chunk=args.series_per_chunk,
        engine=args.dask_address or "local",
        n_jobs=args.n_jobs,
        trusted=_trust(args),
        progress=False if args.quiet else None,
    )
    print(
        f"{res.kind}: {res.n_series} series in {res.n_chunks} chunks, "
        f"{res.n_rows_written} rows in {res.seconds:.1f}s"
        + (f"; {res.fallback_series} fell back" if res.fallback_series else "")
        + f" -> {res.out}/{res.kind}/ (summary in {res.out}/score.json)"
    )
    return EXIT_OK


def _cmd_monitor(args) -> int:
    from pathlib import Path

    from .serving.monitoring import Thresholds, monitor

    thr = Thresholds(
        **{
            k: getattr(args, k)
            for k in Thresholds.__dataclass_fields__
            if getattr(args, k, None) is not None
        }
    )
    res = monitor(
        args.model,
        args.data,
        thresholds=thr,
        trusted=_trust(args),
        forecasts=args.forecasts,
    )
    out = Path(args.out)
    res.to_json(out / "monitor.json")
    page = res.write_html(out / "monitor.html")
    print(f"recommendation: {res.recommendation} (exit code {res.exit_code})")
    for r in res.reasons:
        print(f"  - {r}")
    print(f"-> {out / 'monitor.json'}, {page}")
    return res.exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segmenter",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"segmenter {__version__}"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log progress (each leaderboard row) to standard error",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_check_command(sub)
    _add_segment_command(sub)
    _add_assign_command(sub)
    _add_forecast_command(sub)
    _add_serving_commands(sub)
    return parser


def _add_check_command(sub) -> None:
    """`segmenter check`: validate a table and report the constraints."""
    p = sub.add_parser(
        "check",
        help="validate a table and report whether it can be clustered",
        description="Validate a long table, print a data summary and the clustering "
        "constraint report (C1-C8). Exits 2 when the data cannot be clustered, "
        "3 when the table breaks the data contract.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(p)
    p.add_argument(
        "--k",
        nargs="+",
        type=int,
        default=None,
        metavar="K",
        help="cluster counts to check for feasibility (2..100, at most 10)",
    )
    p.set_defaults(func=_cmd_check)


def _add_segment_command(sub) -> None:
    """`segmenter segment`: rank blueprints × k and write the mapping."""
    p = sub.add_parser(
        "segment",
        help="rank clustering blueprints × k and write the segment mapping",
        description="Validate the table, fit every blueprint × k on 80%% of the series, score "
        "the held-out series' silhouette, rank them, refit the best on all series "
        "and write OUT/leaderboard.csv, OUT/mapping.FORMAT and "
        "OUT/model.segmenter (for `segmenter assign`).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(p)
    p.add_argument(
        "--k",
        nargs="+",
        type=int,
        default=None,
        metavar="K",
        help="cluster counts to try (2..100, at most 10); default: chosen from the "
        "number of series, plus the blueprints that choose k themselves",
    )
    p.add_argument(
        "--blueprints",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="'quick', 'default' (comprehensive), 'all', or blueprint specs such as "
        "dtw_kmeans 'dtw_kmedoids(band=0.2)' features_kmeans velocity_mean",
    )
    p.add_argument(
        "-o",
        "--out",
        default="segmenter_out",
        metavar="DIR",
        help="output folder (default: segmenter_out)",
    )
    p.add_argument(
        "--format",
        default="csv",
        choices=["csv", "parquet", "json"],
        help="file format of the mapping (default: csv)",
    )
    p.add_argument(
        "--validation-size",
        type=float,
        default=0.2,
        metavar="FRACTION",
        help="share of series held out for scoring (default: 0.2)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--choose",
        type=int,
        default=None,
        metavar="ROW",
        help="leaderboard row to map with instead of the best",
    )
    p.add_argument(
        "--top", type=int, default=10, help="leaderboard rows to print (default: 10)"
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="also write OUT/report.html (one self-contained page: leaderboard, "
        "segment insights, feature impact and associations, plots) and the "
        "insight tables as CSV",
    )
    p.add_argument(
        "--fit-sample",
        type=int,
        default=5000,
        metavar="N",
        help="fit every candidate on at most N series and assign the others "
        "(default: 5000)",
    )
    p.add_argument(
        "--metric",
        default="silhouette",
        choices=[
            "silhouette",
            "silhouette_train",
            "calinski_harabasz",
            "davies_bouldin",
            "forecast",
        ],
        help="what ranks the leaderboard; 'forecast': the backtest error of the "
        "forecasts each segmentation leads to (needs --horizon)",
    )
    p.add_argument(
        "--horizon",
        type=int,
        default=None,
        help="forecast horizon of --metric forecast",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_dask_arg(
        p,
        "the workers read DATA (a Parquet folder is read file by file; "
        "--report reads it here too), fit the candidates and map the chunks",
    )
    p.set_defaults(func=_cmd_segment)


def _add_assign_command(sub) -> None:
    """`segmenter assign`: map new series with a saved Segmenter."""
    p = sub.add_parser(
        "assign",
        help="map new series to the segments of a saved model",
        description="Assign the series of DATA to the segments of MODEL (written by "
        "`segmenter segment`). Column options default to those used in the fit.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "model", help="model file written by `segmenter segment` (model.segmenter)"
    )
    _add_data_args(p, defaults=False)
    p.add_argument(
        "-o",
        "--out",
        default=None,
        metavar="FILE",
        help="write the mapping here (.csv, .parquet or .json); default: CSV on "
        "standard output",
    )
    _add_trust_arg(p)
    p.set_defaults(func=_cmd_assign)


def _add_forecast_command(sub) -> None:
    """`segmenter forecast`: champions per segment, and the comparison."""
    p = sub.add_parser(
        "forecast",
        help="one forecasting champion per segment, and the comparison",
        description="Backtest the forecasting candidates on rolling origins, choose the "
        "segmentation (--select forecast: by the forecast error it leads to) and "
        "each segment's champion, forecast every series with intervals, and "
        "compare with one global model, random partitions of the same size and a "
        "model per series (bootstrap intervals). Writes OUT/forecasts.csv, "
        "OUT/forecast_leaderboard.csv, OUT/selection.csv, OUT/comparison.csv, "
        "OUT/comparison_per_series.csv and OUT/forecaster.segmenter. With --model "
        "a saved forecaster, forecasts DATA (new history) without refitting. Exit "
        "code 4 when no comparison was possible (too few series scored).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(
        p,
        defaults=False,
        hint=" (default: unique_id, ds, y; or as in the saved forecaster's fit)",
    )
    p.add_argument(
        "--mapping",
        default=None,
        metavar="FILE",
        help="segment mapping written by `segmenter segment` (csv/parquet/json)",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="FILE",
        help="a saved segmenter (instead of a mapping; assigns unseen series), or "
        "a saved forecaster: then DATA is new history to forecast",
    )
    p.add_argument(
        "--segment-col",
        default=None,
        metavar="COL",
        help="user-defined segments: a column of the data",
    )
    p.add_argument(
        "--select",
        default="silhouette",
        choices=["silhouette", "forecast"],
        help="how the segmentation is chosen: the segmenter's silhouette "
        "(default) or the backtest error of the forecasts it leads to "
        "(fits a segmenter here: --k, --blueprints)",
    )
    p.add_argument(
        "--k",
        nargs="+",
        type=int,
        default=None,
        metavar="K",
        help="with --select forecast: cluster counts the segmenter tries",
    )
    p.add_argument(
        "--blueprints",
        nargs="+",
        default=["quick"],
        metavar="SPEC",
        help="with --select forecast: the segmenter's blueprints (default quick)",
    )
    p.add_argument(
        "--n-candidates",
        type=int,
        default=8,
        metavar="N",
        help="with --select forecast: leaderboard rows compared (default 8)",
    )
    p.add_argument(
        "--forecast-sample",
        type=int,
        default=None,
        metavar="N",
        help="choose the segmentation and champions on a stratified sample of about "
        "N series (at least 5 of every segment), then forecast every series "
        "(default: all series)",
    )
    p.add_argument(
        "--horizon",
        type=int,
        default=None,
        help="steps to forecast (required unless --model is a saved forecaster)",
    )
    p.add_argument(
        "--origins", default="3", help="backtest windows, or 'auto' (default 3)"
    )
    p.add_argument(
        "--step",
        type=int,
        default=None,
        help="steps between backtest origins (default: the horizon)",
    )
    p.add_argument(
        "--candidates",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="'default', 'quick' or forecaster specs: seasonal_naive ets theta "
        "arima lgbm 'combo(k=3)' croston tsb adida imapa mstl",
    )
    p.add_argument("--metric", default="mase", choices=["mase", "smape", "rmse"])
    p.add_argument(
        "--season-length",
        nargs="+",
        type=int,
        default=None,
        metavar="M",
        help="season length(s) (default: from the frequency)",
    )
    p.add_argument(
        "--future-cols",
        nargs="*",
        default=[],
        metavar="COL",
        help="numeric columns known in advance (price, promotion); forecasting "
        "with a saved model then needs --future",
    )
    p.add_argument(
        "--future",
        default=None,
        metavar="FILE",
        help="with --model a saved forecaster: the future covariates for every "
        "series and horizon step",
    )
    p.add_argument(
        "--holidays",
        default=None,
        metavar="CC",
        help="country code for holiday calendar features (holidays package)",
    )
    p.add_argument(
        "--intervals",
        choices=["conformal", "native"],
        default="conformal",
        help="conformal intervals from the backtest residuals (default), or the "
        "models' own where statsforecast has them (native)",
    )
    p.add_argument(
        "--level",
        nargs="+",
        type=float,
        default=None,
        metavar="L",
        help="prediction interval levels, e.g. 80 95 (adds lo-L/hi-L columns)",
    )
    p.add_argument(
        "--refit",
        action="store_true",
        help="with a saved forecaster: refit the pooled champions on DATA",
    )
    _add_trust_arg(p)
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="skip the baselines and the comparison",
    )
    p.add_argument(
        "--jobs", type=int, default=-1, help="parallel processes (default: all cores)"
    )
    p.add_argument("-o", "--out", default="segmenter_out", metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_dask_arg(
        p,
        "each backtest runs as a task on the cluster; a Parquet folder is read "
        "by the workers unless --segment-col is given",
    )
    p.set_defaults(func=_cmd_forecast)


def _add_serving_commands(sub) -> None:
    """``serve``, ``score`` and ``monitor``: a saved model put to work."""
    p = sub.add_parser(
        "serve",
        help="serve a saved model over HTTP (forecasts, assignments)",
        description="Start an HTTP service (FastAPI on uvicorn; needs the serve "
        "extra: pip install 'segmenter-ts[serve]') for MODEL: POST /forecast, "
        "POST /assign, GET /health, GET /model; the API is described at /docs. The "
        "model file is loaded once, before the port is bound.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a saved SegmentedForecaster or Segmenter")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for "
        "every interface, e.g. in a container)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes, each loading the model once (default 1)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="requests computed at once per process, each on a private copy of "
        "the model (default: the CPUs, at most 4)",
    )
    p.add_argument(
        "--max-request-mb",
        type=float,
        default=64,
        help="largest request body in MiB (default 64; larger: 413, use "
        "`segmenter score`)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    _add_trust_arg(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser(
        "score",
        help="forecast every series of a large file with a saved model",
        description="Forecast (with a Segmenter file: assign) every series of DATA "
        "with MODEL, in chunks of whole series, to OUT/forecasts/part-*.parquet, "
        "with OUT/score.json accounting for every series. The file is streamed, "
        "never read whole.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a saved SegmentedForecaster or Segmenter")
    p.add_argument(
        "data", help="history: Parquet file, folder of Parquet files, or CSV"
    )
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--future",
        default=None,
        metavar="FILE",
        help="future covariates (a model fitted with future columns)",
    )
    p.add_argument(
        "--level", nargs="*", type=int, default=None, help="interval levels, e.g. 80 95"
    )
    p.add_argument(
        "--horizon", type=int, default=None, help="steps (default: the model's)"
    )
    p.add_argument(
        "--refit", action="store_true", help="refit pooled champions on DATA"
    )
    p.add_argument(
        "--series-per-chunk",
        type=int,
        default=1000,
        metavar="N",
        help="series per task (default 1000)",
    )
    p.add_argument(
        "--n-jobs", type=int, default=1, help="local processes (default 1; -1: all)"
    )
    _add_dask_arg(
        p,
        "the chunks run on the workers; DATA, MODEL and OUT must be "
        "on storage they all read",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_trust_arg(p)
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser(
        "monitor",
        help="check new data against a saved model: keep, refit or segment again",
        description="Compare DATA (recent history, and the actuals of the periods "
        "the model forecast when they have arrived) with what MODEL saw at fit: "
        "segment membership, distances to the segment centres, new and vanished "
        "series, accuracy against the seasonal naive and the backtests. Writes "
        "OUT/monitor.json and OUT/monitor.html. Exit code: 0 keep, 5 refit the "
        "champions, 6 segment again (3: bad input).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a saved SegmentedForecaster or Segmenter")
    p.add_argument("data", help="new data: CSV or Parquet, the model's columns")
    p.add_argument(
        "-o", "--out", default="monitor", metavar="DIR", help="output folder"
    )
    p.add_argument(
        "--forecasts",
        default=None,
        metavar="FILE",
        help="forecasts served since the fit (e.g. the forecasts/ folder `segmenter "
        "score` wrote), scored against the actuals of their periods (default: the "
        "forecasts made at fit)",
    )
    from .serving.monitoring import Thresholds

    for name, fld in Thresholds.__dataclass_fields__.items():
        p.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=int if fld.type in ("int", int) else float,
            default=None,
            help=f"threshold (default {fld.default}; see segmenter.serving.monitoring)",
        )
    _add_trust_arg(p)
    p.set_defaults(func=_cmd_monitor)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except (
        DataValidationError,
        InputTypeError,
        UntrustedModelError,
        IncompatibleVersionError,
    ) as exc:  # bad input: a table or a model file
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except ConstraintViolationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONSTRAINTS
    except SegmenterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # never a bare traceback on the command line
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (a bug: please report it "
            "with the command; -v prints the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
