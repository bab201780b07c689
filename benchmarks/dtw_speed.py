"""Pairwise DTW speed: segmenter against aeon, dtaidistance and tslearn, same run.

All-pairs DTW matrix of ``--n`` seeded random walks of length ``--length`` (default
1000 x 200), unconstrained and with a 10% Sakoe-Chiba band (radius ceil(0.1 L)), each
library with both cores:

* segmenter ``dtw_pairwise`` (numba, 32 pairs per SIMD lane group, prange over rows);
* aeon ``dtw_pairwise_distance(window=r/L, n_jobs=-1)`` (returns squared DTW);
* dtaidistance ``dtw.distance_matrix_fast(window=r+1, parallel=True)`` (C, OpenMP);
* tslearn ``cdist_dtw(sakoe_chiba_radius=r, n_jobs=-1)``.

aeon and dtaidistance run in ``benchmarks/.venv-aeon`` (see ``_peers.py``).  Every
library gets one warm-up call on a small input first (numba compilation excluded for
everyone).  Seconds are the median of ``--repeats`` runs; ns/cell is wall time per
dynamic-programming cell actually inside the band, over all n(n-1)/2 pairs; ``x`` is
the peer's time over ours; ``max |diff|`` compares each peer's distances with ours.

Usage::

    .venv/bin/python benchmarks/dtw_speed.py [--n 1000] [--length 200] [--repeats 3]
        [--peer-repeats 1] [--skip tslearn ...]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd
from _peers import run_peer

import segmenter as sg

PEER_CODE = """
import sys, json, time, numpy as np
X = np.load(sys.argv[1] + "/X.npy"); r = int(sys.argv[2]); reps = int(sys.argv[3])
skip = json.loads(sys.argv[4])
n, L = X.shape
out = {}
def timed(f):
    f(X[:20])                                            # warm-up / compile
    secs = []
    for _ in range(reps):
        t = time.perf_counter(); D = f(X); secs.append(time.perf_counter() - t)
    return float(np.median(secs)), D
if "aeon" not in skip:
    from aeon.distances import dtw_pairwise_distance
    w = None if r < 0 else r / L
    s, D = timed(lambda A: dtw_pairwise_distance(A[:, None, :], window=w, n_jobs=-1))
    out["aeon"] = [s, np.sqrt(D).tolist()]
if "dtaidistance" not in skip:
    from dtaidistance import dtw
    kw = {} if r < 0 else {"window": r + 1}
    def dt(A):
        D = dtw.distance_matrix_fast(np.ascontiguousarray(A), parallel=True, **kw)
        D = np.where(np.isinf(D), D.T, D)                # only one triangle is filled
        np.fill_diagonal(D, 0.0)
        return D
    s, D = timed(dt)
    out["dtaidistance"] = [s, D.tolist()]
print(json.dumps(out))
"""


def band_cells(n: int, m: int, r: int) -> int:
    """Cells inside the band of one (n x m) DTW (all cells when r < 0)."""
    if r < 0:
        return n * m
    i = np.arange(n)
    lo = np.maximum(0, i - r - max(0, n - m))
    hi = np.minimum(m - 1, i + r + max(0, m - n))
    return int((hi - lo + 1).sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="runs of ours (median)")
    ap.add_argument(
        "--peer-repeats", type=int, default=1, help="runs of each peer (median)"
    )
    ap.add_argument(
        "--skip", nargs="*", default=[], choices=["aeon", "dtaidistance", "tslearn"]
    )
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.standard_normal((args.n, args.length)), axis=1)
    n, L = X.shape
    rows = []
    for band_name, r in (("none", -1), ("10%", math.ceil(0.1 * L))):
        band = None if r < 0 else r
        cells = n * (n - 1) / 2 * band_cells(L, L, r)
        sg.dtw_pairwise(X[:40], band=band)  # warm-up (cached compile)
        secs = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            ours = sg.dtw_pairwise(X, band=band)
            secs.append(time.perf_counter() - t)
        t_ours = float(np.median(secs))
        rows.append(
            dict(
                band=band_name,
                library="segmenter",
                seconds=t_ours,
                ns_per_cell=t_ours / cells * 1e9,
                x=1.0,
                max_diff=0.0,
            )
        )
        print(f"band {band_name}: segmenter {t_ours:.2f}s", flush=True)
        peers = {}
        if "tslearn" not in args.skip:
            from tslearn.metrics import cdist_dtw

            kw = (
                {}
                if r < 0
                else dict(global_constraint="sakoe_chiba", sakoe_chiba_radius=r)
            )
            cdist_dtw(X[:20, :, None], n_jobs=-1, **kw)
            ts = []
            for _ in range(args.peer_repeats):
                t = time.perf_counter()
                D = cdist_dtw(X[:, :, None], n_jobs=-1, **kw)
                ts.append(time.perf_counter() - t)
            peers["tslearn"] = (float(np.median(ts)), D)
            print(f"band {band_name}: tslearn {peers['tslearn'][0]:.2f}s", flush=True)
        other = run_peer(
            PEER_CODE, {"X": X}, r, args.peer_repeats, json.dumps(args.skip)
        )
        for name, (s, D) in (other or {}).items():
            peers[name] = (s, np.asarray(D))
            print(f"band {band_name}: {name} {s:.2f}s", flush=True)
        for name, (s, D) in peers.items():
            rows.append(
                dict(
                    band=band_name,
                    library=name,
                    seconds=s,
                    ns_per_cell=s / cells * 1e9,
                    x=s / t_ours,
                    max_diff=float(np.abs(D - ours).max()),
                )
            )
    table = pd.DataFrame(rows)
    print(
        f"\nPairwise DTW, {n} random walks x {L} steps, {n * (n - 1) // 2} pairs, 2 cores; "
        "x = seconds / segmenter's seconds (same run)"
    )
    print(
        table.to_string(
            index=False,
            formatters={
                "seconds": "{:.2f}".format,
                "ns_per_cell": "{:.3f}".format,
                "x": "{:.1f}".format,
                "max_diff": "{:.1e}".format,
            },
        )
    )
    for band_name in table.band.unique():
        t = table[(table.band == band_name) & (table.library != "segmenter")]
        if len(t):
            best = t.loc[t.seconds.idxmin()]
            print(
                f"band {band_name}: fastest peer {best.library} {best.seconds:.2f}s; "
                f"segmenter is {best.x:.1f}x faster"
            )
    return table


if __name__ == "__main__":
    main()
