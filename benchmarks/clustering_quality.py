"""Clustering quality on labelled UCR sets shipped offline, against peer libraries.

For GunPoint and ArrowHead (sktime.datasets, train+test) and Trace (tslearn's
CachedDatasets, train+test), with k = number of classes, every default blueprint of
segmenter is fitted side by side with its peer counterpart, in the same run:

=====================  =====================================================
our blueprint family   peer counterpart
=====================  =====================================================
dtw_kmeans             tslearn TimeSeriesKMeans(metric="dtw") configured as users
                       do (global_constraint="sakoe_chiba", same radius, max_iter
                       20); its DBA receives the constraint as a string and
                       ignores it, so its barycenters are unbanded (ours too since
                       DTWKMeans(dba_band=None))
kshape                 tslearn KShape
dtw_* (others)         aeon TimeSeriesKMeans(distance="dtw", window 10%, DBA
                       averaging, max_iter=20) (``--aeon dtw``, the default)
features_*, catch22_*  aeon's default k-means, TimeSeriesKMeans() (MSM distance
velocity_*             and barycentres, n_init=10, 300 iterations; ``--aeon
                       default``: minutes per fit), and the plain-vector baseline
                       tslearn TimeSeriesKMeans(metric="euclidean") on the
                       z-normalised series
=====================  =====================================================

ARI and NMI are the median over ``--seeds`` random states (tslearn's ARI swings by
0.2 between seeds: use 10 or more); fit seconds are the median
(after one warm-up fit per method, so numba compile time is excluded for everyone).
aeon pins numba < 0.64, so it runs in its own venv (``benchmarks/.venv-aeon``, created
on first use with pip) in a subprocess on the same arrays.

Usage::

    .venv/bin/python benchmarks/clustering_quality.py [--seeds 3] [--datasets GunPoint ...]
        [--blueprints dtw_kmeans kshape ...] [--no-aeon]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np
import pandas as pd
from _measure import to_panel, znorm
from _peers import run_peer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from segmenter.clustering.blueprints import DEFAULT, make_blueprint

warnings.filterwarnings("ignore")
BAND = 0.1


def load(name):
    if name == "GunPoint":
        from sktime.datasets import load_gunpoint

        X, y = load_gunpoint(return_type="numpy3D")
    elif name == "ArrowHead":
        from sktime.datasets import load_arrow_head

        X, y = load_arrow_head(return_type="numpy3D")
    elif name == "Trace":
        from tslearn.datasets import CachedDatasets

        a, ya, b, yb = CachedDatasets().load_dataset("Trace")
        X = np.concatenate([a, b])[:, :, 0][:, None, :]
        y = np.concatenate([ya, yb])
    else:
        raise SystemExit(f"unknown dataset {name}")
    X = X[:, 0, :].astype(float)
    return znorm(X), np.asarray(y).astype(str)


AEON_KW = {
    "dtw": 'dict(distance="dtw", distance_params={"window": 0.1}, averaging_method="ba", '
    "max_iter=20)",
    "default": "dict()",
}
AEON_NAME = {"dtw": "aeon TimeSeriesKMeans(dtw)", "default": "aeon TimeSeriesKMeans()"}


def run_aeon(X, k, seeds, mode):
    code = (
        """
import sys, json, time, numpy as np
from aeon.clustering import TimeSeriesKMeans
X = np.load(sys.argv[1] + "/X.npy"); k = int(sys.argv[2]); seeds = json.loads(sys.argv[3])
kw = """
        + AEON_KW[mode]
        + """
TimeSeriesKMeans(n_clusters=2, random_state=0, **kw).fit(X[:10, None, :])   # warm-up (compile)
out = []
for s in seeds:
    t = time.perf_counter(); m = TimeSeriesKMeans(n_clusters=k, random_state=s, **kw).fit(X[:, None, :])
    out.append({"labels": m.labels_.tolist(), "seconds": time.perf_counter() - t})
print(json.dumps(out))
"""
    )
    return run_peer(code, {"X": X}, k, json.dumps(seeds))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--datasets", nargs="+", default=["GunPoint", "ArrowHead", "Trace"])
    ap.add_argument(
        "--blueprints",
        nargs="+",
        default=list(DEFAULT),
        help="blueprints to fit (default: the DEFAULT catalogue, without soft-DTW)",
    )
    ap.add_argument(
        "--no-aeon",
        action="store_true",
        help="skip aeon (its DBA k-means takes minutes per fit here)",
    )
    ap.add_argument(
        "--aeon",
        nargs="+",
        choices=list(AEON_KW),
        default=["dtw"],
        help="which aeon k-means to run: 'dtw' (window 10%%, DBA, 20 iterations) "
        "and/or 'default' (aeon's own defaults: MSM distance, MSM barycentres, "
        "n_init=10, 300 iterations; several minutes per fit)",
    )
    ap.add_argument(
        "--aeon-seeds", type=int, default=None, help="seeds for aeon (default: --seeds)"
    )
    ap.add_argument(
        "--only-aeon",
        action="store_true",
        help="run aeon alone (its default k-means takes many minutes per fit)",
    )
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds))
    aeon_seeds = list(range(args.aeon_seeds or args.seeds))
    from tslearn.clustering import KShape, TimeSeriesKMeans

    rows = []
    for ds in args.datasets:
        X, y = load(ds)
        k = len(np.unique(y))
        n, L = X.shape
        r = math.ceil(BAND * L)
        panel = to_panel(X)
        X3 = X[:, :, None]
        print(
            f"\n{ds}: {n} series x {L} steps, k={k}, band={BAND:.0%} (radius {r})",
            flush=True,
        )

        def record(method, family, fit):
            fit(0, warm=True)
            aris, nmis, secs = [], [], []
            for s in seeds:
                t = time.perf_counter()
                labels = fit(s)
                secs.append(time.perf_counter() - t)
                aris.append(adjusted_rand_score(y, labels))
                nmis.append(normalized_mutual_info_score(y, labels))
            rows.append(
                dict(
                    dataset=ds,
                    method=method,
                    family=family,
                    ari=np.median(aris),
                    nmi=np.median(nmis),
                    fit_s=float(np.median(secs)),
                )
            )
            print(
                f"  {method:32s} ARI {np.median(aris):.3f}  NMI {np.median(nmis):.3f}  "
                f"fit {np.median(secs):7.2f}s",
                flush=True,
            )

        for name in [] if args.only_aeon else args.blueprints:
            bp = make_blueprint(name)
            if bp.name == "dtw_kmeans":
                bp = bp.with_params(max_iter=20)

            def fit(s, warm=False, bp=bp):
                p = panel.subset(np.arange(12)) if warm else panel
                return bp.fit(p, min(k, 2) if warm else k, random_state=s).labels_

            record(f"segmenter {name}", bp.family, fit)

        def tsl_dtw(s, warm=False):
            data = X3[:12] if warm else X3
            return (
                TimeSeriesKMeans(
                    n_clusters=2 if warm else k,
                    metric="dtw",
                    max_iter=20,
                    metric_params={
                        "global_constraint": "sakoe_chiba",
                        "sakoe_chiba_radius": r,
                    },
                    random_state=s,
                )
                .fit(data)
                .labels_
            )

        if not args.only_aeon:
            record("tslearn TimeSeriesKMeans(dtw)", "dtw", tsl_dtw)

        def tsl_kshape(s, warm=False):
            data = X3[:12] if warm else X3
            return KShape(n_clusters=2 if warm else k, random_state=s).fit(data).labels_

        if not args.only_aeon:
            record("tslearn KShape", "kshape", tsl_kshape)

        def tsl_euc(s, warm=False):
            data = X3[:12] if warm else X3
            return (
                TimeSeriesKMeans(
                    n_clusters=2 if warm else k, metric="euclidean", random_state=s
                )
                .fit(data)
                .labels_
            )

        if not args.only_aeon:
            record("tslearn TimeSeriesKMeans(euclid)", "features", tsl_euc)

        for mode in [] if args.no_aeon else args.aeon:
            res = run_aeon(X, k, aeon_seeds, mode)
            if res is None:
                continue
            aris = [adjusted_rand_score(y, o["labels"]) for o in res]
            nmis = [normalized_mutual_info_score(y, o["labels"]) for o in res]
            secs = [o["seconds"] for o in res]
            rows.append(
                dict(
                    dataset=ds,
                    method=AEON_NAME[mode],
                    family="aeon",
                    ari=np.median(aris),
                    nmi=np.median(nmis),
                    fit_s=float(np.median(secs)),
                )
            )
            print(
                f"  {AEON_NAME[mode]:32s} ARI {np.median(aris):.3f}  NMI "
                f"{np.median(nmis):.3f}  fit {np.median(secs):7.2f}s  "
                f"(ARI per seed {', '.join(f'{a:.3f}' for a in aris)})",
                flush=True,
            )

    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print("\nAll results (ARI/NMI and fit seconds: medians over seeds)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nOur blueprints against their peer counterpart (same run):")

    def peers_of(name):
        if name == "dtw_kmeans":
            return ["tslearn TimeSeriesKMeans(dtw)"]
        if name.startswith("dtw_"):
            return [AEON_NAME["dtw"]]
        if name == "kshape":
            return ["tslearn KShape"]
        return [AEON_NAME["default"], "tslearn TimeSeriesKMeans(euclid)"]

    for ds in table.dataset.unique():
        t = table[table.dataset == ds].set_index("method")
        for ours in [m for m in t.index if m.startswith("segmenter ")]:
            for peer in peers_of(ours.split(" ", 1)[1]):
                if peer not in t.index:
                    continue
                a, b = t.loc[ours], t.loc[peer]
                print(
                    f"  {ds:10s} {ours[10:]:18s} ARI {a.ari:.3f} vs {b.ari:.3f} "
                    f"(diff {a.ari - b.ari:+.3f})  fit {a.fit_s:.3f}s vs {b.fit_s:.3f}s "
                    f"(x{b.fit_s / max(a.fit_s, 1e-9):.1f} faster)  [{peer}]"
                )
    return table


if __name__ == "__main__":
    main()
