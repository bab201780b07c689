"""The ``segmenter`` command line.

Run ``segmenter --help`` or ``segmenter COMMAND --help``.  Exit codes: 0 success,
2 the data cannot be clustered under the constraints, 3 bad input: the table breaks the
data contract or an argument is invalid (the message lists every problem), 1 anything
else (e.g. no leaderboard row could be scored; the leaderboard is still written).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ._version import __version__
from .errors import ConstraintViolationError, DataValidationError, SegmenterError

EXIT_OK, EXIT_ERROR, EXIT_CONSTRAINTS, EXIT_DATA = 0, 1, 2, 3

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
"""


def _add_data_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Column arguments; with ``defaults=False`` they default to None (taken from a model)."""
    d = (lambda v: v) if defaults else (lambda v: None)
    hint = "" if defaults else " (default: as in the model's fit)"
    p.add_argument("data", help="CSV or Parquet file (or folder of Parquet files), long format")
    p.add_argument("--id", nargs="+", default=d(["unique_id"]), metavar="COL",
                   help="series-id column(s); several columns form a composite key" +
                        (hint or " (default: unique_id)"))
    p.add_argument("--time", default=d("ds"), metavar="COL",
                   help="time column: dates or integer steps" + (hint or " (default: ds)"))
    p.add_argument("--target", default=d("y"), metavar="COL",
                   help="numeric target column to cluster on" + (hint or " (default: y)"))
    p.add_argument("--values", nargs="*", default=d([]), metavar="COL",
                   help="extra numeric columns used as additional clustering variables" + hint)
    p.add_argument("--static", nargs="*", default=d([]), metavar="COL",
                   help="columns constant within each series (checked and kept)" + hint)
    p.add_argument("--freq", default=None,
                   help="frequency alias such as D, W-SUN, MS, QS (inferred when omitted); "
                        "an integer step for integer times" + hint)
    p.add_argument("--missing", default=d("keep"), choices=["keep", "interpolate", "zero"],
                   help="policy for missing targets and gap steps" +
                        (hint or " (default: keep as missing)"))


def _add_dask_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--dask-address", default=None, metavar="ADDR",
                   help="run on a Dask cluster: the scheduler's address, e.g. "
                   f"tcp://10.0.0.5:8786 ({what}; needs the dask extra)")


def _freq(value):
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _load_panel(args):
    from .data.panel import read_panel
    return read_panel(args.data, id_col=args.id if len(args.id) > 1 else args.id[0],
                      time_col=args.time, target_col=args.target, value_cols=args.values,
                      static_cols=args.static, freq=_freq(args.freq), missing=args.missing)


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
    for key, attr in (("time_col", "time"), ("target_col", "target"), ("value_cols", "values"),
                      ("static_cols", "static"), ("missing", "missing")):
        if getattr(args, attr) is not None:
            out[key] = getattr(args, attr)
    if args.freq is not None:
        out["freq"] = _freq(args.freq)
    return out


_LEADERBOARD_COLUMNS = ["rank", "row", "blueprint", "n_clusters", "silhouette",
                        "silhouette_train", "n_clusters_found", "fit_seconds", "status"]


def _print_leaderboard(lb, top: int) -> None:
    import pandas as pd
    cols = [c for c in _LEADERBOARD_COLUMNS if c in lb.columns]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(lb[cols].head(top).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _blueprints(values):
    if values is None:
        return "default"
    if len(values) == 1 and values[0] in ("default", "quick", "all"):
        return values[0]
    return values


def _cmd_segment(args) -> int:
    from pathlib import Path

    from .clustering.segmenter import Segmenter
    from .persistence import atomic_write
    out = Path(args.out)
    seg = Segmenter(n_clusters=args.k, blueprints=_blueprints(args.blueprints),
                    validation_size=args.validation_size, random_state=args.seed,
                    fit_sample=args.fit_sample,
                    progress=False if args.quiet else None,
                    engine=args.dask_address or "local")
    if args.dask_address:       # the workers read the data; this process never loads it
        data = args.data
        print(f"Segmenting {args.data} on the Dask cluster at {args.dask_address}")
        fit_kw = _column_kwargs(args)
    else:
        data = _load_panel(args)
        print(data.summary_text())
        fit_kw = {}
    try:
        seg.fit(data, **fit_kw)
    finally:            # the leaderboard is written even when no row could be mapped
        if hasattr(seg, "leaderboard_"):
            with atomic_write(out / "leaderboard.csv", "w", encoding="utf-8",
                              newline="") as fh:
                seg.leaderboard_.to_csv(fh, index=False)
    if args.choose is not None:
        seg.choose(args.choose)
    lb = seg.leaderboard_
    mapping_path = seg.mapping_.write(out / f"mapping.{args.format}")
    model_path = seg.save(out / "model.segmenter")
    print(f"\nLeaderboard (top {args.top} of {len(lb)} rows; all in {out / 'leaderboard.csv'}):")
    _print_leaderboard(lb, args.top)
    m = seg.mapping_
    print(f"\nChosen: row {seg.chosen_row_}: {m.metadata['steps']}")
    print(f"Mapping: {len(m)} series in {m.n_segments} segments, sizes "
          f"{m.sizes().to_dict()} -> {mapping_path}")
    print(f"Model: {model_path}")
    if args.report:
        ins = seg.insights(data=_load_panel(args) if args.dask_address else None)
        ins.to_csv(out)
        path = seg.report(out / "report.html", insights=ins)
        print(f"Report: {path} (insights in {out / 'insights.csv'}, impact.csv, "
              "associations.csv, sizes.csv)")
    return EXIT_OK


def _cmd_assign(args) -> int:
    from .persistence import load
    from .clustering.segmenter import Segmenter
    seg = load(args.model, expected=Segmenter)
    mapping = seg.predict(args.data, **_column_kwargs(args))
    if args.out:
        path = mapping.write(args.out)
        print(f"{len(mapping)} series assigned to {mapping.n_segments} segments, sizes "
              f"{mapping.sizes().to_dict()} -> {path}")
    else:
        sys.stdout.write(mapping.to_frame().to_csv(index=False))
    return EXIT_OK


def _cmd_forecast(args) -> int:
    from pathlib import Path

    from .clustering.mapping import read_mapping
    from .persistence import atomic_write, load
    from .forecasting.runner import SegmentedForecaster
    from .clustering.segmenter import Segmenter
    given = [x for x in (args.mapping, args.model, args.segment_col) if x]
    if len(given) != 1:
        from .errors import DataValidationError, Problem
        raise DataValidationError([Problem(
            "segments", None, "give exactly one of --mapping FILE (from `segmenter segment`), "
            "--model FILE (a saved segmenter; it also assigns series it has not seen) or "
            "--segment-col COL (a column of the data)")])
    out = Path(args.out)
    cands = args.candidates if args.candidates else "default"
    if isinstance(cands, list) and len(cands) == 1 and cands[0] in ("default", "quick"):
        cands = cands[0]
    fc = SegmentedForecaster(horizon=args.horizon, n_origins=args.origins, step=args.step,
                             candidates=cands, metric=args.metric,
                             season_length=args.season_length, compare=not args.no_compare,
                             n_jobs=args.jobs, progress=False if args.quiet else None,
                             engine=args.dask_address or "local")
    kwargs = dict(_column_kwargs(args), segment_col=args.segment_col)
    mapping = read_mapping(args.mapping) if args.mapping else None
    segmenter = load(args.model, expected=Segmenter) if args.model else None
    if args.dask_address and not args.segment_col:     # the workers read the files
        fc.fit(args.data, mapping=mapping, segmenter=segmenter,
               **{k: v for k, v in kwargs.items()
                  if k in ("id_col", "time_col", "target_col", "freq", "missing")})
    else:
        from .data.panel import read_panel
        fc.fit(read_panel(args.data, **kwargs), mapping=mapping, segmenter=segmenter)
    for name, frame in (("forecasts.csv", fc.forecasts_),
                        ("forecast_leaderboard.csv", fc.leaderboard_)):
        with atomic_write(out / name, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False)
    if fc.compare:
        with atomic_write(out / "comparison.csv", "w", encoding="utf-8", newline="") as fh:
            fc.comparison_.to_csv(fh, index=False)
        with atomic_write(out / "comparison_per_series.csv", "w", encoding="utf-8",
                          newline="") as fh:
            fc.comparison_per_series_.to_csv(fh, index=False)
    model = fc.save(out / "forecaster.segmenter")
    print(f"Champions by segment: {fc.champions_}")
    if fc.compare:
        import pandas as pd
        with pd.option_context("display.width", 200):
            print(fc.comparison_.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print(fc.comparison_text_)
    print(f"Wrote {len(fc.forecasts_)} forecast rows to {out / 'forecasts.csv'}, the per-segment "
          f"leaderboards, the comparison and the model {model}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segmenter", description=_DESCRIPTION, epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"segmenter {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress (each leaderboard row) to standard error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "check", help="validate a table and report whether it can be clustered",
        description="Validate a long table, print a data summary and the clustering "
                    "constraint report (C1-C8). Exits 2 when the data cannot be clustered, "
                    "3 when the table breaks the data contract.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_args(p)
    p.add_argument("--k", nargs="+", type=int, default=None, metavar="K",
                   help="cluster counts to check for feasibility (2..100, at most 10)")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "segment", help="rank clustering blueprints × k and write the segment mapping",
        description="Validate the table, fit every blueprint × k on 80%% of the series, score "
                    "the held-out series' silhouette, rank them, refit the best on all series "
                    "and write OUT/leaderboard.csv, OUT/mapping.FORMAT and "
                    "OUT/model.segmenter (for `segmenter assign`).",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_args(p)
    p.add_argument("--k", nargs="+", type=int, default=None, metavar="K",
                   help="cluster counts to try (2..100, at most 10); default: chosen from the "
                        "number of series, plus the blueprints that choose k themselves")
    p.add_argument("--blueprints", nargs="+", default=None, metavar="SPEC",
                   help="'quick', 'default' (comprehensive), 'all', or blueprint specs such as "
                        "dtw_kmeans 'dtw_kmedoids(band=0.2)' features_kmeans velocity_mean")
    p.add_argument("-o", "--out", default="segmenter_out", metavar="DIR",
                   help="output folder (default: segmenter_out)")
    p.add_argument("--format", default="csv", choices=["csv", "parquet", "json"],
                   help="file format of the mapping (default: csv)")
    p.add_argument("--validation-size", type=float, default=0.2, metavar="FRACTION",
                   help="share of series held out for scoring (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--choose", type=int, default=None, metavar="ROW",
                   help="leaderboard row to map with instead of the best")
    p.add_argument("--top", type=int, default=10, help="leaderboard rows to print (default: 10)")
    p.add_argument("--report", action="store_true",
                   help="also write OUT/report.html (one self-contained page: leaderboard, "
                        "segment insights, feature impact and associations, plots) and the "
                        "insight tables as CSV")
    p.add_argument("--fit-sample", type=int, default=5000, metavar="N",
                   help="fit every candidate on at most N series and assign the others "
                        "(default: 5000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_dask_arg(p, "the workers read DATA (a Parquet folder is read file by file; "
                  "--report reads it here too), fit the candidates and map the chunks")
    p.set_defaults(func=_cmd_segment)

    p = sub.add_parser(
        "assign", help="map new series to the segments of a saved model",
        description="Assign the series of DATA to the segments of MODEL (written by "
                    "`segmenter segment`). Column options default to those used in the fit.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model file written by `segmenter segment` (model.segmenter)")
    _add_data_args(p, defaults=False)
    p.add_argument("-o", "--out", default=None, metavar="FILE",
                   help="write the mapping here (.csv, .parquet or .json); default: CSV on "
                        "standard output")
    p.set_defaults(func=_cmd_assign)

    p = sub.add_parser(
        "forecast", help="one forecasting champion per segment, and the comparison",
        description="Backtest the forecasting candidates per segment on rolling origins, keep "
                    "each segment's champion, forecast every series, and compare segmented vs "
                    "one global model vs per-series choices. Writes OUT/forecasts.csv, "
                    "OUT/forecast_leaderboard.csv, OUT/comparison.csv, "
                    "OUT/comparison_per_series.csv and OUT/forecaster.segmenter.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_args(p)
    p.add_argument("--mapping", default=None, metavar="FILE",
                   help="segment mapping written by `segmenter segment` (csv/parquet/json)")
    p.add_argument("--model", default=None, metavar="FILE",
                   help="segmenter model file instead of a mapping (assigns unseen series)")
    p.add_argument("--segment-col", default=None, metavar="COL",
                   help="user-defined segments: a column of the data")
    p.add_argument("--horizon", type=int, required=True, help="steps to forecast")
    p.add_argument("--origins", type=int, default=3, help="backtest windows (default: 3)")
    p.add_argument("--step", type=int, default=None,
                   help="steps between backtest origins (default: the horizon)")
    p.add_argument("--candidates", nargs="+", default=None, metavar="SPEC",
                   help="'default', 'quick' or forecaster specs: seasonal_naive ets theta "
                        "arima pooled_gbm 'ets(damped=False)'")
    p.add_argument("--metric", default="mase", choices=["mase", "smape", "rmse"])
    p.add_argument("--season-length", type=int, default=None,
                   help="season length (default: from the frequency)")
    p.add_argument("--no-compare", action="store_true",
                   help="skip the global and per-series comparison")
    p.add_argument("--jobs", type=int, default=-1, help="parallel processes (default: all cores)")
    p.add_argument("-o", "--out", default="segmenter_out", metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_dask_arg(p, "each segment's backtests run as a task on the cluster; a Parquet "
                  "folder is read by the workers unless --segment-col is given")
    p.set_defaults(func=_cmd_forecast)
    return parser


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
    except DataValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except ConstraintViolationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONSTRAINTS
    except SegmenterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
