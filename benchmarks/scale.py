"""The quick leaderboard at 1k, 10k and 100k series: time, memory, time per series.

For each ``--sizes`` value, a fresh process generates planted-cluster series of
length 200 (:func:`segmenter.datasets.make_planted`, 4 shapes) as a long DataFrame and
runs ``Segmenter(blueprints="quick").fit(df)`` with the default k rule (k = 2..20 at
these sizes: 4 blueprints x 10 k = 40 candidates, velocity blueprints twice), default
``fit_sample`` (5000) and ``silhouette_sample`` (2000).  ``fit_s`` is the wall time of
``fit`` (reading the frame into a panel, featurizing, the leaderboard, refitting the
chosen row and mapping every series); ``peak_rss_mb`` is the whole process's peak
resident memory (the input frame included); ``us_per_series`` is ``fit_s`` per series.
``dtw_fit_s`` sums the leaderboard's DTW k-means fits.  On planted shapes the
velocity rows win on silhouette (a 1-D statistic separates well by construction; see
the README on comparing families), so the script then also chooses the best DTW row
(``seg.choose``): ``dtw_choose_s`` is that refit on the fit sample plus the pruned
assignment of every other series (``dtw_assign_s``, ``dtw_pruned_share``), and
``dtw_ari`` its ARI against the planted labels.

Usage::

    .venv/bin/python benchmarks/scale.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp

import pandas as pd
from _measure import peak_mb as _peak_mb

LENGTH = 200


def _run(n: int, queue) -> None:
    import time

    from sklearn.metrics import adjusted_rand_score

    import segmenter as sg
    from segmenter.datasets import make_planted

    sg.Segmenter(blueprints="quick", n_clusters=[2], progress=False).fit(
        make_planted(200, 60, random_state=1)[0]
    )  # warm-up (compile)
    df, truth = make_planted(n, LENGTH, 4, random_state=0)
    t = time.perf_counter()
    seg = sg.Segmenter(blueprints="quick", progress=False).fit(df)
    secs = time.perf_counter() - t
    peak_fit = _peak_mb()
    lb = seg.leaderboard_
    best = lb.iloc[0]
    dtw_best = lb[lb["blueprint"].str.startswith("dtw_kmeans")].iloc[0]
    m = seg.mapping_.to_frame()
    # the best DTW row as the mapping: refit on the fit sample, pruned assignment of the rest
    t = time.perf_counter()
    seg.choose(int(dtw_best["row"]))
    dtw_choose = time.perf_counter() - t
    dtw_ari = adjusted_rand_score(truth, seg.mapping_.to_frame()["segment"])
    a = seg.assignment_
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(
        wait=True
    )  # else this process waits for idle workers
    queue.put(
        dict(
            n_series=n,
            fit_s=secs,
            us_per_series=secs / n * 1e6,
            peak_rss_mb=peak_fit,
            candidates=int((lb["status"] == "ok").sum()),
            dtw_fit_s=float(
                lb.loc[lb["blueprint"].str.startswith("dtw"), "fit_seconds"].sum()
            ),
            chosen=f"{best['blueprint']} k={best['n_clusters']}",
            chosen_ari=adjusted_rand_score(truth, m["segment"]),
            best_dtw=f"k={dtw_best['n_clusters']} sil={dtw_best['silhouette']:.3f}",
            mapped=len(m),
            assigned=int((m["assigned_by"] == "predict").sum()),
            dtw_choose_s=dtw_choose,
            dtw_assign_s=a["seconds"],
            dtw_pruned_share=a.get("pruned_share", float("nan")),
            dtw_ari=dtw_ari,
            peak_rss_after_choose_mb=_peak_mb(),
        )
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = ap.parse_args(argv)
    rows = []
    ctx = mp.get_context("spawn")
    for n in args.sizes:
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(n, q))
        p.start()
        r = q.get()
        p.join()
        rows.append(r)
        print(json.dumps(r), flush=True)
    t = pd.DataFrame(rows)
    print(f"\nQuick leaderboard, planted series of length {LENGTH}, 2 cores (same run)")
    print(t.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if len(t) > 1:
        a, b = t.iloc[-2], t.iloc[-1]
        print(
            f"time per series at {b.n_series} / at {a.n_series}: "
            f"{b.us_per_series / a.us_per_series:.2f}"
        )
    return t


if __name__ == "__main__":
    main()
