"""``predict(future=...)`` on a weekly panel with a promotion covariate and the default
candidates: seconds before and after the forecasting-at-scale work, beside the fit's.

A seeded weekly panel (:func:`make_weekly`: 156 weeks, a yearly season, a promotion
flag known in advance that lifts sales) is fitted with ``SegmentedForecaster(
horizon=13, future_cols=["promo"])`` and the default candidates (seasonal naive,
AutoETS, AutoTheta, AutoARIMA, LightGBM, combination) on two given segments, then
``predict(future=...)`` forecasts the next 13 weeks.

* **after**: the current code: AutoARIMA without a seasonal part past season 24 (the
  plan says so), ``predict`` in tasks of at most 400 series on the engine
  (``n_jobs=-1``), and with ``--sample`` selection on a sample whose local champions'
  forms are reused.
* **before**, emulated in the same process on the same fit: AutoARIMA searching with
  season 52 again (``ARIMACandidate.max_season`` lifted) and ``predict`` in one
  process (``n_jobs=1``), which is what the code before did.  Only the segments whose
  champion includes AutoARIMA differ; their per-series cost is what blew up.  It runs
  on ``--before-series`` series only (each costs seconds) and is reported per series
  and scaled to the panel.

Usage::

    .venv/bin/python benchmarks/predict_weekly.py [--series 1000] [--sample 200]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

H = 13


def make_weekly(n: int, weeks: int = 156, seed: int = 0):
    """(history, future): ``n`` weekly series with a yearly season and a promotion."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks + H)
    dates = pd.date_range("2021-01-03", periods=weeks + H, freq="W-SUN")
    rows = []
    for i in range(n):
        base = rng.lognormal(3, 0.5) * (
            1 + 0.3 * np.sin(2 * np.pi * (t + rng.integers(52)) / 52)
        )
        promo = (rng.random(weeks + H) < 0.1).astype(float)
        y = base * (1 + 0.5 * promo) + rng.normal(0, 0.05, weeks + H) * base
        rows.append(
            pd.DataFrame(
                {"unique_id": f"s{i:05d}", "ds": dates, "y": y, "promo": promo}
            )
        )
    df = pd.concat(rows, ignore_index=True)
    last = df.groupby("unique_id").cumcount(ascending=False) < H
    return df[~last].reset_index(drop=True), df[last].drop(columns="y")


def main(argv=None) -> int:
    import segmenter as sg
    from segmenter.adapters.statsforecast_bridge import ARIMACandidate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--before-series", type=int, default=20)
    args = ap.parse_args(argv)
    history, future = make_weekly(args.series)
    ids = pd.unique(history["unique_id"])
    mapping = sg.SegmentMapping(
        pd.DataFrame({"unique_id": ids, "segment": np.arange(len(ids)) % 2}),
        "unique_id",
    )
    fc = sg.SegmentedForecaster(
        horizon=H, forecast_sample=args.sample, compare=False, progress=False
    )
    t = time.perf_counter()
    fc.fit(history, mapping=mapping, future_cols=["promo"])
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    after = fc.predict(history, future=future)
    after_s = time.perf_counter() - t
    assert after["unique_id"].nunique() == args.series
    # before, emulated: seasonal AutoARIMA search, one process, on a few series
    few = ids[: args.before_series]
    h_few = history[history["unique_id"].isin(few)]
    f_few = future[future["unique_id"].isin(few)]
    t = time.perf_counter()
    fc.predict(h_few, future=f_few)
    after_few_s = time.perf_counter() - t
    fc.n_jobs = 1
    ARIMACandidate.max_season = 10**6
    try:
        t = time.perf_counter()
        fc.predict(h_few, future=f_few)
        before_few_s = time.perf_counter() - t
    finally:
        ARIMACandidate.max_season = 24
    row = {
        "series": args.series,
        "forecast_sample": args.sample,
        "champions": fc.champions_,
        "fit_s": round(fit_s, 1),
        "predict_after_s": round(after_s, 1),
        "before_series": len(few),
        "predict_before_s_on_those": round(before_few_s, 1),
        "predict_after_s_on_those": round(after_few_s, 1),
        "predict_before_s_scaled_to_panel": round(
            before_few_s * args.series / len(few), 0
        ),
        "notes": fc.plan_.notes,
    }
    print(json.dumps(row, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
