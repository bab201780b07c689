"""The main job on real data shipped offline: the fpp3 tourism panel (304 series).

Run with ``make demo`` (or ``python examples/demo.py``).  For now it validates the
panel and prints the data summary and the clustering constraint report.
"""

import segmenter as sg
from segmenter.datasets import load_tourism


def main() -> int:
    df = load_tourism()
    panel = sg.read_panel(df, id_col=["Region", "State", "Purpose"], time_col="Quarter",
                          target_col="Trips")
    print(panel.summary_text())
    print()
    report = sg.ClusteringConstraints().check(panel, n_clusters=[4, 6, 8])
    print(report)
    return 0 if report.ok else 2


if __name__ == "__main__":
    raise SystemExit(main())
