"""Does ``Segmenter.predict`` give held-back series the segments they get when included in fit?

For each blueprint (default: the "default" catalogue) at one k, on the fpp3 tourism panel
(304 series):

1. fit on all series -> segments A;
2. hold back a seeded 20% of the series, fit on the other 80% -> model B; assign the
   held-back series with ``B.predict``;
3. match B's segment labels to A's by the series both fits saw (Hungarian assignment on
   the contingency table), then report the share of held-back series whose predicted
   segment equals their segment in A, and the ARI between A and B on the shared series
   (how stable the clustering itself is when 20% of the series go);
4. ``predict_equals_fit``: the share of B's own fitted series that ``B.predict`` puts
   back in the segment the fit gave them (1.0 for nearest-center clusterers).

Run: ``python benchmarks/predict_agreement.py [--k 4] [--seeds 0 1 2] [--blueprints ...]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

import segmenter as sg
from segmenter.clustering.blueprints import DEFAULT
from segmenter.datasets import load_tourism

IDS = ["Region", "State", "Purpose"]


def matched(a: np.ndarray, b: np.ndarray) -> dict:
    """Map labels of b onto labels of a maximising agreement (Hungarian)."""
    la, lb = np.unique(a), np.unique(b)
    table = np.array([[np.sum((b == j) & (a == i)) for i in la] for j in lb])
    rows, cols = linear_sum_assignment(-table)
    return {lb[r]: la[c] for r, c in zip(rows, cols)}


def agreement(df, spec, k, seed) -> dict:
    kw = dict(id_col=IDS, time_col="Quarter", target_col="Trips")
    ids = df[IDS].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    held = ids.iloc[
        np.sort(rng.choice(len(ids), size=round(0.2 * len(ids)), replace=False))
    ]
    mark = (
        df.merge(held.assign(_held=True), on=IDS, how="left")["_held"]
        .fillna(False)
        .astype(bool)
        .to_numpy()
    )
    t0 = time.perf_counter()
    full = sg.Segmenter(
        n_clusters=k, blueprints=[spec], random_state=seed, progress=False
    ).fit(df, **kw)
    part = sg.Segmenter(
        n_clusters=k, blueprints=[spec], random_state=seed, progress=False
    ).fit(df[~mark], **kw)
    secs = time.perf_counter() - t0
    a = full.mapping_.to_frame().set_index(IDS)["segment"]
    b_fit = part.mapping_.to_frame().set_index(IDS)["segment"]
    pred = part.predict(df[mark]).to_frame().set_index(IDS)["segment"]
    m = matched(a.loc[b_fit.index].to_numpy(), b_fit.to_numpy())
    agree = np.mean([m.get(v, -1) == a.loc[i] for i, v in pred.items()])
    ari = adjusted_rand_score(a.loc[b_fit.index].to_numpy(), b_fit.to_numpy())
    again = part.predict(df[~mark]).to_frame().set_index(IDS)["segment"]
    self_consistent = float(
        np.mean(again.to_numpy() == b_fit.loc[again.index].to_numpy())
    )
    return {
        "blueprint": spec,
        "k": k,
        "seed": seed,
        "held_back": len(pred),
        "agreement": agree,
        "ari_shared": ari,
        "predict_equals_fit": self_consistent,
        "seconds": secs,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument(
        "--blueprints",
        nargs="+",
        default=[b for b in DEFAULT if b not in ("dtw_hdbscan", "features_hdbscan")],
    )
    args = ap.parse_args(argv)
    df = load_tourism()
    rows = [
        agreement(df, spec, args.k, s) for spec in args.blueprints for s in args.seeds
    ]
    res = pd.DataFrame(rows)
    table = res.groupby("blueprint", sort=False).agg(
        agreement_median=("agreement", "median"),
        agreement_min=("agreement", "min"),
        ari_shared_median=("ari_shared", "median"),
        predict_equals_fit=("predict_equals_fit", "median"),
        seconds=("seconds", "median"),
    )
    print(f"tourism, k={args.k}, seeds {args.seeds}, 61 held-back series per seed")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
