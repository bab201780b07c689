"""catch22 speed: segmenter against sktime, aeon and pycatch22 (the C reference), same run.

The 22 catch22 features of ``--n`` seeded random walks of length ``--length`` (default
2000 x 200), z-normalised first (as :func:`segmenter.features.catch22_features` does):

* segmenter ``catch22_features(panel)`` (sktime's numba kernels in one batched parallel
  loop, exact O(n log n) outlier features), both cores, z-normalisation included;
* sktime ``Catch22()`` transformer (one series at a time);
* aeon ``Catch22(n_jobs=-1)`` (numba, both cores);
* pycatch22 ``catch22_all`` (the authors' C code) in a Python loop, one core.

aeon and pycatch22 run in ``benchmarks/.venv-aeon`` (see ``_peers.py``).  Each library
gets a warm-up call on a few series first (numba compilation excluded for everyone).
Seconds are the median of ``--repeats`` runs for ours, one run per peer by default;
``x`` is the peer's time over ours.  Agreement: per feature (matched by name), whether
every series' value equals ours to 1e-6 (relative, NaN = NaN; sktime's transformer
reports an exact 0 as NaN, counted as equal to our 0).  Our values are sktime's port;
aeon's and the C reference's implementations differ on some features, listed.

Usage::

    .venv/bin/python benchmarks/catch22_speed.py [--n 2000] [--length 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _measure import to_panel, znorm
from _peers import run_peer

from segmenter.features import catch22_features

warnings.filterwarnings("ignore")

PEER_CODE = """
import sys, json, time, warnings, numpy as np
warnings.filterwarnings("ignore")
X = np.load(sys.argv[1] + "/X.npy"); reps = int(sys.argv[2])
out = {}
from aeon.transformations.collection.feature_based import Catch22
Catch22(n_jobs=-1).fit_transform(X[:4, None, :])
ts = []
for _ in range(reps):
    t = time.perf_counter(); v = Catch22(n_jobs=-1).fit_transform(X[:, None, :]); ts.append(time.perf_counter() - t)
from aeon.transformations.collection.feature_based._catch22 import feature_names
out["aeon Catch22(n_jobs=-1)"] = {"seconds": float(np.median(ts)), "names": list(feature_names),
                                  "values": np.asarray(v, float).tolist()}
import pycatch22
pycatch22.catch22_all(list(X[0]))
ts = []
for _ in range(reps):
    t = time.perf_counter(); v = [pycatch22.catch22_all(list(x)) for x in X]; ts.append(time.perf_counter() - t)
out["pycatch22 (C)"] = {"seconds": float(np.median(ts)), "names": v[0]["names"],
                        "values": [r["values"] for r in v]}
print(json.dumps(out))
"""


#: pycatch22 (catch22 v0.4) names of the features sktime keeps under their older names.
ALIASES = {
    "CO_FirstCrossing_acf_1e_pointOfCrossing": "CO_f1ecac",
    "SP_Summaries_fft_area_5_1": "SP_Summaries_welch_rect_area_5_1",
    "SP_Summaries_fft_wq_50": "SP_Summaries_welch_rect_centroid",
    "FC_LocalSimple_mean3_stde": "FC_LocalSimple_mean3_stderr",
    "FC_LocalSimple_mean1_taurat": "FC_LocalSimple_mean1_tauresrat",
    "MD_pNN_pnn40": "MD_hrv_classic_pnn40",
    "CO_HistogramAMI_even_5bin_ami2": "CO_HistogramAMI_even_2_5",
    "SB_TransitionMatrix_quantile_3_ac_sumdiagcov": "SB_TransitionMatrix_3ac_sumdiagcov",
}


def agreement(
    ours: np.ndarray, other: np.ndarray, names=None, zero_as_nan: bool = False
) -> tuple[int, list[str]]:
    """(number of features on which every series agrees to 1e-6 relative, the names of
    those that do not); ``names`` puts a peer's columns into sktime's order."""
    from sktime.transformations.catch22 import CATCH22_FEATURE_NAMES as ORDER

    if names is not None:
        pos = {ALIASES.get(n, n): i for i, n in enumerate(names)}
        other = np.column_stack(
            [
                other[:, pos[n]] if n in pos else np.full(len(other), np.inf)
                for n in ORDER
            ]
        )
    if zero_as_nan:
        other = np.where(np.isnan(other) & (ours == 0), 0.0, other)
    same = (
        np.isclose(ours, other, rtol=1e-6, atol=1e-9)
        | (np.isnan(ours) & np.isnan(other))
    ).all(axis=0)
    return int(same.sum()), [n for n, ok in zip(ORDER, same) if not ok]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peer-repeats", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n, args.length)).cumsum(axis=1)
    X = znorm(X)
    panel = to_panel(X)
    print(
        f"catch22 of {args.n} random walks x {args.length} steps, z-normalised",
        flush=True,
    )
    catch22_features(panel.subset(np.arange(4)))
    ts = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        ours = catch22_features(panel).to_numpy()
        ts.append(time.perf_counter() - t)
    rows = [
        dict(
            library="segmenter catch22_features",
            seconds=float(np.median(ts)),
            agree=(22, []),
        )
    ]

    from sktime.transformations.catch22 import Catch22

    Catch22().fit_transform(X[:4, None, :])
    t = time.perf_counter()
    sk = np.asarray(Catch22().fit_transform(X[:, None, :]), float)
    rows.append(
        dict(
            library="sktime Catch22()",
            seconds=time.perf_counter() - t,
            agree=agreement(ours, sk, zero_as_nan=True),
        )
    )
    peers = run_peer(PEER_CODE, {"X": X}, args.peer_repeats) or {}
    for name, res in peers.items():
        rows.append(
            dict(
                library=name,
                seconds=res["seconds"],
                agree=agreement(ours, np.asarray(res["values"], float), res["names"]),
            )
        )
    table = pd.DataFrame(rows)
    base = table.seconds.iloc[0]
    table["us_per_series"] = table.seconds / args.n * 1e6
    table["x_ours"] = table.seconds / base
    agree = table.pop("agree")
    table["features_equal_ours"] = [f"{a}/22" for a, _ in agree]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for lib, (_, differ) in zip(table.library, agree):
        if differ:
            print(f"  {lib}: differs from ours on {', '.join(differ)}")
    return table


if __name__ == "__main__":
    main()
