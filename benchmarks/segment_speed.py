"""DTW k-means at scale: segmenter's ``dtw_kmeans`` blueprint against tslearn.

On ``--sizes`` (default 2,000 and 10,000) planted-cluster series of length 200
(:func:`segmenter.datasets.make_planted`, 4 shapes, time warping, noise), both fit
k-means under DTW with DBA barycenters at equal settings: k = 4, Sakoe-Chiba radius
20 (10%) for assignments, unconstrained DBA (tslearn's DBA ignores the band it is
given; ours does the same with ``dba_band=None``), ``max_iter=20`` and 5 DBA steps per
iteration (tslearn ``max_iter_barycenter=5``; its default is 100), one init, z-normalised
series.  Each stops on its own convergence rule (ours: no label changed; tslearn: inertia
change below ``tol``), so ``n_iter`` differs and ``s_per_iter`` is shown too.  Each fit runs in a fresh process after a small warm-up fit (compilation
excluded), which resets its peak-RSS counter first, so ``peak_mb`` is the fit's own peak
and ``extra_mb`` what it added to the process.  ARI is against the planted labels.

Usage::

    .venv/bin/python benchmarks/segment_speed.py [--sizes 2000 10000] [--seeds 1]
        [--skip-tslearn]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp

import numpy as np
import pandas as pd
from _measure import peak_mb

K_CLUSTERS = 4
LENGTH = 200
RADIUS = 20


def _run(method: str, n: int, seed: int, queue) -> None:
    import time

    from sklearn.metrics import adjusted_rand_score

    from segmenter.datasets import make_planted

    df, truth = make_planted(n, LENGTH, K_CLUSTERS, random_state=seed)
    X = df["y"].to_numpy().reshape(n, LENGTH)
    if method == "segmenter":
        import segmenter as sg
        from segmenter.clustering.blueprints import make_blueprint

        bp = make_blueprint("dtw_kmeans", band=RADIUS, max_iter=20, dba_iter=5)
        panel = sg.read_panel(df)
        bp.fit(panel.subset(np.arange(60)), K_CLUSTERS, random_state=0)  # warm-up

        def fit():
            model = bp.fit(panel, K_CLUSTERS, random_state=seed)
            est = model.estimator
            return model.labels_, est.n_iter_, est.pruning_["pruned_share"]
    else:
        from tslearn.clustering import TimeSeriesKMeans
        from tslearn.preprocessing import TimeSeriesScalerMeanVariance

        def make(k, s):
            return TimeSeriesKMeans(
                n_clusters=k,
                metric="dtw",
                max_iter=20,
                max_iter_barycenter=5,
                n_init=1,
                random_state=s,
                metric_params={
                    "global_constraint": "sakoe_chiba",
                    "sakoe_chiba_radius": RADIUS,
                },
            )

        Z = TimeSeriesScalerMeanVariance().fit_transform(X[:60, :, None])
        make(2, 0).fit(Z)  # warm-up

        def fit():
            Z = TimeSeriesScalerMeanVariance().fit_transform(X[:, :, None])
            model = make(K_CLUSTERS, seed).fit(Z)
            return model.labels_, model.n_iter_, float("nan")

    before = peak_mb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM
            fh.write("5")
    except OSError:
        pass
    t = time.perf_counter()
    labels, n_iter, pruned = fit()
    secs = time.perf_counter() - t
    peak = peak_mb("VmHWM")
    queue.put(
        dict(
            method=method,
            n_series=n,
            seed=seed,
            seconds=secs,
            n_iter=int(n_iter),
            s_per_iter=secs / max(int(n_iter), 1),
            ari=adjusted_rand_score(truth, labels),
            peak_mb=peak,
            extra_mb=peak - before,
            pruned_share=pruned,
        )
    )


def measure(method, n, seed):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_run, args=(method, n, seed, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--skip-tslearn", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        for seed in range(args.seeds):
            for method in ["segmenter"] + ([] if args.skip_tslearn else ["tslearn"]):
                r = measure(method, n, seed)
                rows.append(r)
                print(json.dumps(r), flush=True)
    t = pd.DataFrame(rows).groupby(["n_series", "method"]).median(numeric_only=True)
    t = t.drop(columns="seed").reset_index()
    print(
        f"\nDTW k-means, k={K_CLUSTERS}, length {LENGTH}, radius {RADIUS}, max_iter 20, "
        "5 DBA steps, 2 cores (medians over seeds; same run)"
    )
    print(t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not args.skip_tslearn:
        for n, g in t.groupby("n_series"):
            g = g.set_index("method")
            a, b = g.loc["segmenter"], g.loc["tslearn"]
            print(
                f"n={n}: segmenter {a.seconds:.1f}s vs tslearn {b.seconds:.1f}s "
                f"(x{b.seconds / a.seconds:.1f} faster; x{b.s_per_iter / a.s_per_iter:.1f} "
                f"per iteration), ARI {a.ari:.3f} vs {b.ari:.3f}, "
                f"peak RSS {a.peak_mb:.0f} vs {b.peak_mb:.0f} MB"
            )
    return t


if __name__ == "__main__":
    main()
