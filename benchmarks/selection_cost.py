"""What choosing the segmentation by forecast error costs: one segmented fit against a
selection among 10 or more segmentations plus the baselines, local candidates only.

The local candidates' backtest errors do not depend on the segmentation, so they are
computed once per series and window and every candidate segmentation is scored from
them; only pooled models would need refitting per segmentation.  Target (issue 16):
with local candidates only, the selection costs less than 2x one segmented fit.

On fpp3 tourism (304 quarterly series, horizon 8, the default windows: 4), AutoETS and
AutoTheta (``--candidates``), median of ``--repeats`` runs, same process:

* one segmented fit: a fitted Segmenter's mapping, no baselines (``compare=False``);
* selection: ``select="forecast"`` over ``--n-candidates`` leaderboard rows plus one
  global model, 3 random partitions per k, a model per series, the ensembles of
  segmentations and (with a pooled candidate) the forecast-driven segments, chosen by
  the rule of :mod:`segmenter.forecasting.choice`.

Run: ``python benchmarks/selection_cost.py [--n-candidates 12] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import segmenter as sg
from segmenter.datasets import load_tourism


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-candidates", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=-1)
    ap.add_argument(
        "--candidates",
        nargs="+",
        default=["ets", "theta"],
        help="with a pooled one (lgbm) the selection also refits it per "
        "segmentation and builds the forecast-driven segments",
    )
    ap.add_argument(
        "--no-forecast-driven",
        action="store_true",
        help="leave the forecast-driven segments out of the selection",
    )
    args = ap.parse_args(argv)
    panel = sg.read_panel(
        load_tourism(),
        id_col=["Region", "State", "Purpose"],
        time_col="Quarter",
        target_col="Trips",
    )
    seg = sg.Segmenter(
        n_clusters=[2, 3, 4, 5, 6, 8], blueprints="quick", progress=False
    )
    seg.fit(panel)
    kw = dict(
        horizon=8,
        candidates=args.candidates,
        intermittent=False,
        n_jobs=args.jobs,
        progress=False,
    )
    one, sel, n_rows = [], [], 0
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        sg.SegmentedForecaster(compare=False, **kw).fit(panel, mapping=seg.mapping_)
        one.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fc = sg.SegmentedForecaster(
            select="forecast",
            n_candidates=args.n_candidates,
            forecast_driven=not args.no_forecast_driven,
            **kw,
        )
        fc.fit(panel, segmenter=seg)
        sel.append(time.perf_counter() - t0)
        n_rows = len(fc.selection_)
        kinds = fc.selection_["kind"].value_counts().to_dict()
    a, b = statistics.median(one), statistics.median(sel)
    print(
        f"one segmented fit: median {a:.1f}s over {args.repeats} ({[round(x, 1) for x in one]})"
    )
    print(
        f"selection among {n_rows} segmentations {kinds}: median {b:.1f}s "
        f"({[round(x, 1) for x in sel]})"
    )
    print(f"ratio selection / one fit: {b / a:.2f} (target < 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
