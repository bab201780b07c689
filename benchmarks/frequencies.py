"""The panels teams hold, generated: weekly (104 and 156 weeks), daily (2 years), hourly
(8 weeks), monthly (30 months) and a panel with 70% zeros.  For each: the backtest plan,
how many series each candidate scored, the comparison's numbers and seconds, and the
forecasts for every series; error against the seasonal naive forecast on a held-back
horizon.

Run: ``python benchmarks/frequencies.py [--jobs -1]``.  (The real panels, fpp3
pedestrian, PBS and prison, are in ``forecast_value.py``.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import segmenter as sg
from segmenter.datasets import make_retail
from segmenter.selection.metrics import mase

PANELS = {  # name: (freq, periods, series, zero share, horizon)
    "weekly 104": ("W-MON", 104, 40, 0.0, 8),
    "weekly 156": ("W-MON", 156, 40, 0.0, 8),
    "daily 2 years": ("D", 730, 20, 0.0, 14),
    "hourly 8 weeks": ("h", 24 * 7 * 8, 10, 0.0, 24),
    "monthly 30": ("MS", 30, 40, 0.0, 6),
    "70% zeros (weekly)": ("W-MON", 104, 40, 0.7, 8),
}


def panel(freq, periods, n, zeros, seed=0):
    return make_retail(freq, periods, n, zeros, n_segments=4, random_state=seed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=-1)
    args = ap.parse_args(argv)
    rows = []
    for name, (freq, periods, n, zeros, h) in PANELS.items():
        df = panel(freq, periods, n, zeros)
        last = df.groupby("unique_id")["ds"].transform("max")
        cut = df["ds"] > last - pd.tseries.frequencies.to_offset(freq) * h
        train, test = df[~cut], df[cut]
        t0 = time.perf_counter()
        fc = sg.SegmentedForecaster(
            horizon=h, candidates="quick", n_jobs=args.jobs, progress=False
        ).fit(train, segment_col="seg")
        secs = time.perf_counter() - t0
        pred = fc.predict()
        lb = fc.leaderboard_
        scored = lb.groupby("blueprint")["series_scored"].sum().to_dict()
        joined = test.merge(pred, on=["unique_id", "ds"])
        hist = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id")}
        m = fc.season_length_
        ours = np.nanmean(
            [
                mase(g["y"], g["forecast"], hist[k], m)
                for k, g in joined.groupby("unique_id")
            ]
        )
        naive = np.nanmean(
            [
                mase(
                    g["y"],
                    np.resize(hist[k][-m:], len(g))
                    if m > 1
                    else np.full(len(g), hist[k][-1]),
                    hist[k],
                    m,
                )
                for k, g in joined.groupby("unique_id")
            ]
        )
        comp = fc.comparison_.set_index("strategy")[fc.metric].round(3).to_dict()
        print(
            f"\n=== {name}: {n} series, horizon {h}, seasons {fc.seasons_}, {secs:.1f}s"
        )
        print(f"plan: {fc.plan_.describe()}")
        for note in fc.plan_.notes:
            print(f"  note: {note}")
        print(f"series scored per candidate (summed over windows): {scored}")
        print(f"champions: {fc.champions_}")
        print(fc.comparison_text_)
        rows.append(
            {
                "panel": name,
                "seasons": str(fc.seasons_),
                "windows": fc.plan_.n_windows,
                "step": fc.plan_.step,
                "forecast rows": len(pred),
                "all series forecast": pred["forecast"]
                .notna()
                .groupby(pred["unique_id"])
                .all()
                .all(),
                "holdout MASE": ours,
                "seasonal naive MASE": naive,
                "backtest MASE (chosen / global / random / per-series)": " / ".join(
                    str(comp.get(k, "-"))
                    for k in ("segmented", "global", "random", "per-series")
                ),
                "seconds": round(secs, 1),
            }
        )
    print()
    with pd.option_context("display.width", 240, "display.max_colwidth", 60):
        print(
            pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
