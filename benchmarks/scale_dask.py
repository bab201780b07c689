"""The quick leaderboard on a 100k-series Parquet dataset: Dask LocalCluster vs local.

The data: ``--n`` planted-cluster series of length 200
(:func:`segmenter.datasets.make_planted`, 4 shapes), written once as a folder of
Parquet files of ``--per-file`` series each (cached under ``--cache``).

Each engine runs in a fresh process: ``Segmenter(blueprints="quick").fit(folder)``
with the default k rule, ``fit_sample`` and ``silhouette_sample``.

* local: the process reads the folder with pandas and does everything itself;
* dask: the process starts a ``LocalCluster`` (2 worker processes, 1 thread each) and
  passes ``engine=client``; the workers read the files, build the chunks, fit the
  candidates and map the chunks.

Reported: wall time of ``fit`` (reading included), the peak resident memory of the
process that called ``fit`` (VmHWM: for dask the client, with the scheduler inside it,
as a LocalCluster runs it), its growth during ``fit`` over its peak before (imports,
the compile warm-up and, for dask, the cluster's start: ``client_base_mb``) and that
growth as a share of the data's size, the workers' peak memory, and whether the two runs gave the
same leaderboard and mapping (compared in this script).  The data size is the long
frame's size in memory (what the local engine has to load) and the Parquet files' size
on disk.  These machines have 2 cores, so the Dask run has no more compute than the
local one: what it shows is that the client does not hold the data, not a speed-up.

Usage::

    .venv/bin/python benchmarks/scale_dask.py [--n 100000] [--per-file 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from _measure import peak_mb as _peak_mb

LENGTH = 200


def make_dataset(n: int, per_file: int, cache: Path) -> tuple[Path, float]:
    """The Parquet folder (written once) and the long frame's size in memory (MB)."""
    from segmenter.datasets import make_planted

    folder = cache / f"planted-{n}x{LENGTH}-{per_file}"
    size_file = folder / "_frame_mb.json"
    if not size_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        df, _ = make_planted(n, LENGTH, 4, random_state=0)
        mb = df.memory_usage(deep=True).sum() / 2**20
        for j, lo in enumerate(range(0, n, per_file)):
            part = df[(df["unique_id"] >= lo) & (df["unique_id"] < lo + per_file)]
            part.to_parquet(folder / f"part-{j:04d}.parquet", index=False)
        size_file.write_text(json.dumps({"frame_mb": mb}))
    return folder, json.loads(size_file.read_text())["frame_mb"]


def _run(engine_kind: str, folder: str, out: str, queue) -> None:
    import segmenter as sg
    from segmenter.datasets import make_planted

    sg.Segmenter(blueprints="quick", n_clusters=[2], progress=False).fit(
        make_planted(200, 60, random_state=1)[0]
    )  # warm-up (compile)
    res = {"engine": engine_kind}
    if engine_kind == "local":
        res["client_base_mb"] = _peak_mb()
        t = time.perf_counter()
        seg = sg.Segmenter(blueprints="quick", progress=False).fit(folder)
        res["fit_s"] = time.perf_counter() - t
        res["workers_peak_mb"] = float("nan")
    else:
        from dask.distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit="10GiB",
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("segmenter"))  # workers import
            res["client_base_mb"] = _peak_mb()
            t = time.perf_counter()
            seg = sg.Segmenter(blueprints="quick", progress=False, engine=client).fit(
                folder
            )
            res["fit_s"] = time.perf_counter() - t
            res["workers_peak_mb"] = max(client.run(_peak_mb).values())
    res["client_peak_mb"] = _peak_mb()
    res["client_growth_mb"] = res["client_peak_mb"] - res["client_base_mb"]
    lb = seg.leaderboard_
    res["candidates"] = int((lb["status"] == "ok").sum())
    res["chosen"] = f"{lb.iloc[0]['blueprint']} k={lb.iloc[0]['n_clusters']}"
    seg.mapping_.write(Path(out) / f"mapping-{engine_kind}.csv")
    lb[["blueprint", "n_clusters", "silhouette", "silhouette_train"]].to_csv(
        Path(out) / f"leaderboard-{engine_kind}.csv", index=False
    )
    res["mapped"] = len(seg.mapping_)
    queue.put(res)


def _digest(path: Path) -> str:
    lines = path.read_text().splitlines()
    body = "\n".join(lines[1:] if lines[0].startswith("#") else lines)
    return hashlib.sha256(body.encode()).hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--per-file", type=int, default=5000)
    ap.add_argument(
        "--cache", default=os.path.join(tempfile.gettempdir(), "segmenter-bench")
    )
    ap.add_argument("--engines", nargs="+", default=["local", "dask"])
    args = ap.parse_args(argv)
    folder, frame_mb = make_dataset(args.n, args.per_file, Path(args.cache))
    disk_mb = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 2**20
    out = Path(tempfile.mkdtemp(prefix="scale_dask-"))
    ctx = mp.get_context("spawn")
    rows = []
    for kind in args.engines:
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(kind, str(folder), str(out), q))
        p.start()
        r = q.get()
        p.join()
        r["client_growth_vs_frame"] = r["client_growth_mb"] / frame_mb
        rows.append(r)
        print(json.dumps(r), flush=True)
    t = pd.DataFrame(rows)
    print(
        f"\nQuick leaderboard on {args.n} planted series x {LENGTH} steps in "
        f"{len(list(folder.glob('*.parquet')))} Parquet files ({disk_mb:.0f} MB on disk; "
        f"{frame_mb:.0f} MB as a long frame in memory); 2 cores, same run"
    )
    print(t.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if set(args.engines) >= {"local", "dask"}:
        same_map = _digest(out / "mapping-local.csv") == _digest(
            out / "mapping-dask.csv"
        )
        a = pd.read_csv(out / "leaderboard-local.csv")
        b = pd.read_csv(out / "leaderboard-dask.csv")
        print(f"same mapping: {same_map}; same leaderboard: {a.equals(b)}")
        r = t.set_index("engine")
        print(
            f"dask / local: wall time {r.fit_s['dask'] / r.fit_s['local']:.2f}, "
            f"client peak memory {r.client_peak_mb['dask'] / r.client_peak_mb['local']:.2f}"
        )
    return t


if __name__ == "__main__":
    main()
