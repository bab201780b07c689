"""The main job on real data shipped offline: the fpp3 tourism panel (304 series).

Run with ``make demo`` (or ``python examples/demo.py``).  It validates the panel, prints
the data summary and the clustering constraint report, then fits the "quick" blueprints
(one per family) at k=4 and prints each one's recipe and cluster sizes.  The leaderboard
that ranks them comes with the Segmenter.
"""

import time

import numpy as np

import segmenter as sg
from segmenter.blueprints import QUICK, make_blueprint
from segmenter.datasets import load_tourism


def main() -> int:
    df = load_tourism()
    panel = sg.read_panel(df, id_col=["Region", "State", "Purpose"], time_col="Quarter",
                          target_col="Trips")
    print(panel.summary_text())
    print()
    report = sg.ClusteringConstraints().check(panel, n_clusters=[4, 6, 8])
    print(report)
    if not report.ok:
        return 2
    print("\nQuick blueprints at k=4 (sizes of the clusters):")
    for name in QUICK:
        t = time.perf_counter()
        fitted = make_blueprint(name).fit(panel, 4, random_state=0)
        sizes = np.bincount(fitted.labels_, minlength=4).tolist()
        print(f"  {name:16s} {time.perf_counter() - t:5.2f}s  sizes {sizes}  | {fitted.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
