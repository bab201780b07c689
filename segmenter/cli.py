"""The ``segmenter`` command line.

Run ``segmenter --help`` or ``segmenter check --help``.  Exit codes: 0 success,
2 the data cannot be clustered under the constraints, 3 the input breaks the data
contract (the message lists every problem), 1 anything else.
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
"""


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="CSV or Parquet file (or folder of Parquet files), long format")
    p.add_argument("--id", nargs="+", default=["unique_id"], metavar="COL",
                   help="series-id column(s); several columns form a composite key "
                        "(default: unique_id)")
    p.add_argument("--time", default="ds", metavar="COL",
                   help="time column: dates or integer steps (default: ds)")
    p.add_argument("--target", default="y", metavar="COL",
                   help="numeric target column to cluster on (default: y)")
    p.add_argument("--values", nargs="*", default=[], metavar="COL",
                   help="extra numeric columns used as additional clustering variables")
    p.add_argument("--static", nargs="*", default=[], metavar="COL",
                   help="columns constant within each series (checked and kept)")
    p.add_argument("--freq", default=None,
                   help="frequency alias such as D, W-SUN, MS, QS (inferred when omitted); "
                        "an integer step for integer times")
    p.add_argument("--missing", default="keep", choices=["keep", "interpolate", "zero"],
                   help="policy for missing targets and gap steps (default: keep as missing)")


def _freq(value):
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _load_panel(args):
    from .panel import read_panel
    return read_panel(args.data, id_col=args.id if len(args.id) > 1 else args.id[0],
                      time_col=args.time, target_col=args.target, value_cols=args.values,
                      static_cols=args.static, freq=_freq(args.freq), missing=args.missing)


def _cmd_check(args) -> int:
    from .constraints import ClusteringConstraints
    panel = _load_panel(args)
    print(panel.summary_text())
    report = ClusteringConstraints().check(panel, args.k)
    print()
    print(report)
    return EXIT_OK if report.ok else EXIT_CONSTRAINTS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segmenter", description=_DESCRIPTION, epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"segmenter {__version__}")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
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
