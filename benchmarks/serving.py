"""Serving: `segmenter serve` latency and throughput, and batch scoring with
`segmenter score`, beside the same forecasts made in-process with `predict`.

Two models are fitted on ``--fit-series`` generated monthly series (three dynamics: a
12-month season, a trend, a 24-month square wave; 60 months; horizon 6) with a
``Segmenter(blueprints="quick")``:

* ``pooled``: candidates seasonal naive and LightGBM pooled per segment (the global
  models a Nixtla user would serve);
* ``local``: the quick candidates (ETS, Theta, LightGBM, combinations), whose local
  champions are refitted on each series' history at every forecast.

For each model the script measures, in this run and on this machine:

* latency of one request with 1 series and with 1,000 series: `serve` over HTTP (JSON
  in and out, uvicorn, 2 threads) against `predict` in the same process on the same
  rows; medians and 99th percentiles over ``--repeats`` calls (the 1,000-series
  figures over fewer), and their ratio (the cost of HTTP, JSON and the service);
* throughput with 4 concurrent clients sending 100 series each, against `predict`
  run back to back on the same requests;
* batch scoring: `score` (``n_jobs=2``, chunks of 1,000 series, Parquet in and out)
  on ``--batch`` series for the pooled model and ``--local-batch`` for the local one,
  against one `predict` call on the whole frame, each in a fresh process: seconds
  and peak memory (the process, and the largest worker).

Every answer over HTTP is checked equal to `predict`'s before it is timed.  Peers:
statsforecast's experiments publish about 1.4 CPU-seconds per series for AutoARIMA
and 2.8 for seasonal AutoETS (the cost of refitting local models at scoring time);
none of statsforecast, mlforecast or sktime publishes a serving latency.

Usage::

    .venv/bin/python benchmarks/serving.py [--fit-series 1000] [--batch 100000]
        [--local-batch 10000] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _measure import peak_mb  # noqa: E402

KINDS = ("season", "trend", "square")
LENGTH, HORIZON = 60, 6


def panel(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` monthly series of the three dynamics (ids s0000000...)."""
    rng = np.random.default_rng(seed)
    t = np.arange(LENGTH)
    kind = np.arange(n) % 3
    amp = rng.uniform(2, 6, n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    slope = rng.uniform(0.2, 0.5, n)[:, None]
    season = amp * np.sin(2 * np.pi * t / 12 + phase)
    trend = slope * t
    square = amp * np.sign(np.sin(2 * np.pi * t / 24 + phase))
    base = np.where(
        kind[:, None] == 0, season, np.where(kind[:, None] == 1, trend, square)
    )
    y = 50 + base + rng.normal(0, 0.3, (n, LENGTH))
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:07d}" for i in range(n)], LENGTH),
            "ds": np.tile(pd.date_range("2015-01-01", periods=LENGTH, freq="MS"), n),
            "y": y.ravel(),
        }
    )


def fit(kind: str, n: int, path: Path) -> dict:
    import segmenter as sg

    cands = ["seasonal_naive", "lgbm"] if kind == "pooled" else "quick"
    t0 = time.perf_counter()
    fc = sg.SegmentedForecaster(
        horizon=HORIZON, candidates=cands, random_state=0, progress=False
    ).fit(
        panel(n),
        segmenter=sg.Segmenter(blueprints="quick", random_state=0, progress=False),
    )
    fc.save(path)
    return {
        "fit_s": round(time.perf_counter() - t0, 1),
        "champions": {str(k): v for k, v in fc.champions_.items()},
    }


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(path: Path):
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segmenter",
            "serve",
            str(path),
            "--port",
            str(port),
            "--threads",
            "2",
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def latency(path: Path, data: pd.DataFrame, repeats: int) -> list[dict]:
    import httpx

    import segmenter as sg
    from segmenter.serving.app import frame_records

    fc = sg.load(path)
    proc, url = start_server(path)
    ids = data["unique_id"].unique()
    rows = []
    try:
        client = httpx.Client(timeout=600)
        for size, reps in ((1, repeats), (1000, max(3, repeats // 10))):
            reqs = [
                data[data["unique_id"].isin(ids[k * size : (k + 1) * size])]
                for k in range(reps)
            ]
            bodies = [json.dumps({"data": frame_records(r)}) for r in reqs]
            head = {"content-type": "application/json"}
            # equal answers first (also warms both sides)
            want = fc.predict(reqs[0])
            got = pd.DataFrame(
                client.post(url + "/forecast", content=bodies[0], headers=head).json()[
                    "forecasts"
                ]
            )
            assert np.array_equal(
                got["forecast"].to_numpy(), want["forecast"].to_numpy()
            )
            t_http, t_local = [], []
            for r, b in zip(reqs, bodies):
                t0 = time.perf_counter()
                resp = client.post(url + "/forecast", content=b, headers=head)
                t_http.append(time.perf_counter() - t0)
                assert resp.status_code == 200
                t0 = time.perf_counter()
                fc.predict(r)
                t_local.append(time.perf_counter() - t0)
            rows.append(
                {
                    "series/request": size,
                    "calls": reps,
                    "http_p50_ms": pct(t_http, 50),
                    "http_p99_ms": pct(t_http, 99),
                    "predict_p50_ms": pct(t_local, 50),
                    "predict_p99_ms": pct(t_local, 99),
                    "ratio_p50": pct(t_http, 50) / pct(t_local, 50),
                }
            )
        # throughput: 4 clients x 100 series per request
        reqs = [
            data[data["unique_id"].isin(ids[k * 100 : (k + 1) * 100])]
            for k in range(16)
        ]
        bodies = [json.dumps({"data": frame_records(r)}) for r in reqs]

        def call(b):
            return httpx.post(
                url + "/forecast",
                content=b,
                timeout=600,
                headers={"content-type": "application/json"},
            ).status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            assert set(pool.map(call, bodies)) == {200}
        http_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for r in reqs:
            fc.predict(r)
        local_s = time.perf_counter() - t0
        rows.append(
            {
                "series/request": "100 x 16, 4 clients",
                "calls": 16,
                "http_series_per_s": 1600 / http_s,
                "predict_series_per_s": 1600 / local_s,
                "ratio_p50": local_s / http_s,
            }
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def _batch_child(mode, path, data_path, out, queue):
    import segmenter as sg
    from segmenter.serving.scoring import score

    t0 = time.perf_counter()
    worker = float("nan")
    if mode == "score":
        res = score(
            path, data_path, out, series_per_chunk=1000, n_jobs=2, progress=False
        )
        n, worker = res.n_series, res.worker_peak_mb
    else:
        fc = sg.load(path)
        pred = fc.predict(pd.read_parquet(data_path))
        n = pred["unique_id"].nunique()
    secs = time.perf_counter() - t0
    queue.put(
        {
            "mode": mode,
            "series": n,
            "seconds": round(secs, 1),
            "peak_mb": round(peak_mb(), 0),
            "largest_worker_mb": worker,
        }
    )


def batch(path: Path, n: int, folder: Path) -> list[dict]:
    data_path = folder / f"batch_{n}.parquet"
    if not data_path.exists():
        panel(n, seed=1).to_parquet(data_path, index=False)
    ctx = mp.get_context("spawn")
    rows = []
    for mode in ("score", "predict"):
        q = ctx.Queue()
        p = ctx.Process(
            target=_batch_child,
            args=(mode, str(path), str(data_path), str(folder / f"out_{n}"), q),
        )
        p.start()
        res = q.get()
        p.join()
        rows.append(res)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit-series", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--local-batch", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--models", nargs="+", default=["pooled", "local"])
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = panel(max(args.fit_series, 3000), seed=2)  # new history to forecast
        for kind in args.models:
            path = folder / f"{kind}.segmenter"
            info = fit(kind, args.fit_series, path)
            print(
                f"\n== {kind} model: fitted on {args.fit_series} series in "
                f"{info['fit_s']} s; champions {info['champions']}"
            )
            lat = pd.DataFrame(latency(path, data, args.repeats))
            print(lat.round(2).to_string(index=False))
            n = args.batch if kind == "pooled" else args.local_batch
            b = pd.DataFrame(batch(path, n, folder))
            b["series_per_s"] = b["series"] / b["seconds"]
            print(
                f"batch of {n} series (score: n_jobs=2, chunks of 1000; predict: "
                "one call):"
            )
            print(b.round(1).to_string(index=False))
            print(
                f"  score / predict time: {b.seconds[0] / b.seconds[1]:.2f}x; peak "
                f"memory of the scoring process {b.peak_mb[0]:.0f} MB vs "
                f"{b.peak_mb[1]:.0f} MB for predict"
            )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
