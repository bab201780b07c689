"""The forecasting half at scale: 1k, 10k and 100k series segmented, selected and
forecast with 80/95% intervals, stage by stage.

Each size runs in a fresh process on a generated monthly panel (:func:`make_panel`,
seeded: lengths 60-120, five behaviours: seasonal, trending, damped trend, noisy
random walk and intermittent), with the last ``HORIZON`` steps of every series held
out.  The job is what a user runs:

* segmenting: ``Segmenter(blueprints="quick")`` (its ``fit_sample`` default, 5000);
* ``SegmentedForecaster(select="forecast", candidates="quick", n_candidates=4,
  forecast_sample=...)``: backtests (local candidates, then LightGBM per segment of
  every compared segmentation), selection (scoring, forecast-driven segments,
  ensembles, the choice rule) and the final forecasts of every series;

``seconds`` are wall times from the forecaster's ``timings_``; ``peak_gb`` is the peak
resident memory of the process and its worker processes together, sampled every
0.2 s.  ``holdout_mase`` scores the forecasts on the held-out steps (each series'
in-sample seasonal-naive scale), never seen by any choice.

``--compare`` also fits without ``forecast_sample`` on the same panel and segmenter
(the 10k target: the sampled hold-out MASE within 1% of the unsampled one), and
``--dask`` on a 2-worker ``LocalCluster`` with ``forecast_sample`` (the forecasts must
equal the local run's).

Usage::

    .venv/bin/python benchmarks/scale_forecast.py --sizes 1000 10000 100000 \\
        [--sample 2000] [--compare 10000] [--dask 10000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import threading
import time

import numpy as np
import pandas as pd

HORIZON = 12


def make_panel(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` monthly series of 60-120 steps in five seeded behaviours."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(60, 121, n)
    kind = rng.integers(0, 5, n)
    level = rng.lognormal(4, 1, n)
    parts, ids = [], []
    for i in range(n):
        L = int(lengths[i])
        t = np.arange(L)
        e = rng.normal(0, 1, L)
        k = kind[i]
        if k == 0:  # seasonal
            y = 1 + 0.3 * np.sin(2 * np.pi * (t + rng.integers(12)) / 12) + 0.05 * e
        elif k == 1:  # trending
            y = 1 + 0.01 * t + 0.05 * e
        elif k == 2:  # damped trend
            y = 1 + 0.5 * (1 - 0.97**t) + 0.04 * e
        elif k == 3:  # noisy random walk
            y = 1 + np.cumsum(0.03 * e)
            y = y - min(0, y.min()) + 0.1
        else:  # intermittent
            y = np.where(rng.random(L) < 0.4, rng.gamma(2, 0.5, L), 0.0)
        parts.append(np.maximum(y * level[i], 0))
        ids.append(np.full(L, i))
    starts = 120 - lengths  # every series ends at the same month
    return pd.DataFrame(
        {
            "unique_id": np.concatenate(ids),
            "ds": pd.DatetimeIndex(
                np.concatenate(
                    [
                        pd.date_range("2010-01-01", periods=120, freq="MS")[s:]
                        for s in starts
                    ]
                )
            ),
            "y": np.concatenate(parts),
        }
    )


def split(df: pd.DataFrame):
    """(history, hold-out): the last HORIZON steps of each series held out."""
    pos = df.groupby("unique_id").cumcount(ascending=False)
    return df[pos >= HORIZON].reset_index(drop=True), df[pos < HORIZON]


def holdout_mase(forecasts: pd.DataFrame, history, holdout, m: int = 12) -> float:
    """Mean over series of the MASE of the forecasts on the hold-out."""
    h = history.sort_values(["unique_id", "ds"])
    scale = h.groupby("unique_id")["y"].apply(
        lambda y: (
            np.nanmean(np.abs(y.to_numpy()[m:] - y.to_numpy()[:-m]))
            if len(y) > m
            else np.nan
        )
    )
    got = holdout.merge(
        forecasts[["unique_id", "ds", "forecast"]], on=["unique_id", "ds"]
    )
    err = (got["y"] - got["forecast"]).abs().groupby(got["unique_id"]).mean()
    r = (err / scale.reindex(err.index)).replace([np.inf, -np.inf], np.nan)
    return float(r.mean())


class TreePeak:
    """The peak resident memory of this process and its children (sampled)."""

    def __init__(self, every: float = 0.2):
        import psutil

        self.proc, self.every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()

    def _now(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001 - a child that just ended
                pass
        return total

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._now())
            time.sleep(self.every)

    def reset(self) -> None:
        self.peak = self._now()

    def gb(self) -> float:
        return round(self.peak / 2**30, 2)


def _forecaster(sample, engine="local"):
    import segmenter as sg

    return sg.SegmentedForecaster(
        horizon=HORIZON,
        select="forecast",
        candidates="quick",
        n_candidates=4,
        forecast_sample=sample,
        progress=False,
        engine=engine,
    )


def _run(n: int, sample, compare: bool, dask: bool, queue) -> None:
    import copy
    import logging

    import segmenter as sg

    logging.getLogger("segmenter").setLevel(logging.ERROR)
    peak = TreePeak()
    history, holdout = split(make_panel(n))
    row = {"n_series": n, "forecast_sample": sample}
    t = time.perf_counter()
    seg = sg.Segmenter(blueprints="quick", progress=False).fit(history)
    row["segmenting_s"] = round(time.perf_counter() - t, 1)
    row["segmenting_peak_gb"] = peak.gb()
    peak.reset()
    t = time.perf_counter()
    fc = _forecaster(sample).fit(history, segmenter=copy.copy(seg))
    row["forecaster_s"] = round(time.perf_counter() - t, 1)
    row["forecaster_peak_gb"] = peak.gb()
    tm = fc.timings_
    row["backtests_s"] = round(
        tm.get("local backtests", 0) + tm.get("pooled backtests", 0), 1
    )
    # "scoring segmentations" includes the forecast-driven segments
    row["selection_s"] = round(
        tm.get("scoring segmentations", 0) + tm.get("comparison", 0), 1
    )
    row["final_s"] = round(tm.get("champions", 0), 1)
    row["total_s"] = round(row["segmenting_s"] + row["forecaster_s"], 1)
    row["chosen"] = fc.segmentation_
    row["n_forecast_series"] = int(fc.forecasts_["unique_id"].nunique())
    row["n_sampled"] = (fc.forecast_sample_ or {}).get("n_sampled", n)
    row["holdout_mase"] = round(holdout_mase(fc.forecasts_, history, holdout), 4)
    if compare:
        peak.reset()
        t = time.perf_counter()
        full = _forecaster(None).fit(history, segmenter=copy.copy(seg))
        row["unsampled_s"] = round(time.perf_counter() - t, 1)
        row["unsampled_peak_gb"] = peak.gb()
        row["unsampled_chosen"] = full.segmentation_
        row["unsampled_holdout_mase"] = round(
            holdout_mase(full.forecasts_, history, holdout), 4
        )
        row["sampled_vs_unsampled"] = round(
            row["holdout_mase"] / row["unsampled_holdout_mase"] - 1, 4
        )
    if dask:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cl,
            Client(cl) as client,
        ):
            t = time.perf_counter()
            dk = _forecaster(sample, client).fit(history, segmenter=copy.copy(seg))
            row["dask_s"] = round(time.perf_counter() - t, 1)
        a, b = fc.forecasts_, dk.forecasts_
        row["dask_equal"] = bool(
            a.shape == b.shape
            and (a["unique_id"].to_numpy() == b["unique_id"].to_numpy()).all()
            and np.allclose(a["forecast"], b["forecast"], rtol=1e-9, equal_nan=True)
        )
    queue.put(row)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--compare", type=int, nargs="*", default=[10000])
    ap.add_argument("--dask", type=int, nargs="*", default=[10000])
    args = ap.parse_args(argv)
    rows = []
    ctx = mp.get_context("spawn")
    for n in args.sizes:
        q = ctx.Queue()
        p = ctx.Process(
            target=_run,
            args=(n, args.sample, n in args.compare, n in args.dask, q),
        )
        p.start()
        row = q.get()
        print(json.dumps(row), flush=True)
        p.join(timeout=10)  # idle joblib workers can hold the child's exit
        if p.is_alive():
            p.terminate()
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("n_series")
    if {10000, 100000} <= set(frame.index):
        per = frame["total_s"] / frame.index
        print(
            "cost per series, 10k -> 100k: "
            f"x{per.loc[100000] / per.loc[10000]:.2f} "
            "(1.00 = linear in the number of series)"
        )
    print(frame.T.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
