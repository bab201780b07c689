"""The HTML report at 1k, 10k and 100k series: time to write it, its size, and the
time a browser takes to open it and draw every chart.

For each ``--sizes`` value, a fresh process generates planted-cluster series of length
200 (:func:`segmenter.datasets.make_planted`, 4 shapes), fits
``Segmenter(blueprints="quick", n_clusters=[4, 8])`` and writes the report
(``seg.report``).  ``insights_s`` is the time of ``seg.insights()`` (the insight
features of every series, the impact on a sample of 2,000, the associations);
``write_s`` is the time of ``seg.report(..., insights=ins)`` (the charts' seeded
samples and aggregates, the tables, the page); ``mb`` is the file's size.
``open_s`` is the wall time of headless Chromium (every host name unresolvable, so
nothing comes from the network) from launch to the DOM dump after every chart has
rendered, median of ``--repeat`` runs; ``browser_start_s`` is the same for an empty
page, so ``open_s - browser_start_s`` is what the report itself costs.  Targets:
under 5 s to open and under 10 MB at 100k series.  There is no peer to run beside it
(no open tool writes a report of a segmentation); the tourism demo's report (304
series) is measured as the reference.

Usage::

    .venv/bin/python benchmarks/report_scale.py [--sizes 1000 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

LENGTH = 200


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("no chromium: `make browser` installs it")


def open_seconds(path: Path, repeat: int) -> tuple[float, dict]:
    """Median wall seconds to launch headless Chromium, open ``path`` and dump the
    DOM once the page's charts have rendered; and the page's own record."""
    cmd = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=60000",
        "--window-size=1280,800",
        "--dump-dom",
        path.resolve().as_uri(),
    ]
    times, dom = [], ""
    for _ in range(repeat):
        t = time.perf_counter()
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
        times.append(time.perf_counter() - t)
    m = re.search(r"<body([^>]*)>", dom)
    body = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1))) if m else {}
    return statistics.median(times), body


def _run(n: int, out: str, queue) -> None:
    import segmenter as sg
    from segmenter.datasets import make_planted

    df, _ = make_planted(n, LENGTH, 4, random_state=0)
    t = time.perf_counter()
    seg = sg.Segmenter(blueprints="quick", n_clusters=[4, 8], progress=False).fit(df)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    ins = seg.insights()
    insights_s = time.perf_counter() - t
    t = time.perf_counter()
    path = seg.report(Path(out) / f"report_{n}.html", insights=ins)
    write_s = time.perf_counter() - t
    queue.put(
        {
            "n_series": n,
            "fit_s": round(fit_s, 1),
            "insights_s": round(insights_s, 1),
            "write_s": round(write_s, 1),
            "mb": round(path.stat().st_size / 1e6, 2),
            "path": str(path),
        }
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    out = tempfile.mkdtemp(prefix="report_scale_")
    empty = Path(out) / "empty.html"
    empty.write_text("<!doctype html><html><body>empty</body></html>")
    start, _ = open_seconds(empty, args.repeat)
    print(f"browser start (empty page), median of {args.repeat}: {start:.2f} s")
    ctx = mp.get_context("spawn")
    rows = []
    for n in args.sizes:
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(n, out, q))
        p.start()
        row = q.get()
        p.join()
        row["open_s"], body = open_seconds(Path(row.pop("path")), args.repeat)
        row["open_s"] = round(row["open_s"], 2)
        row["browser_start_s"] = round(start, 2)
        row["charts"] = f"{body.get('charts-rendered')}/{body.get('charts-total')}"
        row["open_under_5s"] = row["open_s"] < 5
        row["under_10mb"] = row["mb"] < 10
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
