"""The main job on real data shipped offline: segment the fpp3 tourism panel (304 series).

Run with ``make demo`` (or ``python examples/demo.py``).  It validates the panel, prints
the data summary and the clustering constraint report, ranks the default blueprints at
k = 4, 6, 8 on a leaderboard (fit on 80% of the series, scored on the held-out 20%),
refits the best on all series, writes the leaderboard, the segment mapping and the
model to ``out/demo/`` (or ``$SEGMENTER_DEMO_OUT``), reloads the model and assigns
series with it as a new user would, and ends with segmented modeling: one forecasting
champion per segment chosen on rolling-origin backtests (horizon 8 quarters), the
combined forecasts, and the comparison of segmented vs one global model vs per-series
model choice.  Last it prints the feature impact and the most associated features and
writes one self-contained HTML report (``report.html``) with the leaderboard, segment
insights, plots and forecasts, and prints its path.
"""

import os
import time
from pathlib import Path

import pandas as pd

import segmenter as sg
from segmenter.datasets import load_tourism

IDS = ["Region", "State", "Purpose"]


def main() -> int:
    out = Path(os.environ.get("SEGMENTER_DEMO_OUT", "out/demo"))
    df = load_tourism()
    panel = sg.read_panel(df, id_col=IDS, time_col="Quarter", target_col="Trips")
    print(panel.summary_text())
    print()
    report = sg.ClusteringConstraints().check(panel, n_clusters=[4, 6, 8])
    print(report)
    if not report.ok:
        return 2

    print("\nFitting the default blueprints × k = 4, 6, 8 ...")
    t0 = time.perf_counter()
    seg = sg.Segmenter(n_clusters=[4, 6, 8], blueprints="default", random_state=0)
    seg.fit(panel)
    seconds = time.perf_counter() - t0
    lb = seg.leaderboard_
    cols = ["rank", "row", "blueprint", "n_clusters", "silhouette", "silhouette_train",
            "davies_bouldin", "fit_seconds"]
    with pd.option_context("display.width", 160):
        print(f"\nLeaderboard: {len(lb)} rows, {lb['blueprint'].nunique()} blueprints, "
              f"{seconds:.1f}s in all (top 12; validation silhouette of the held-out series, "
              "each blueprint in its own geometry)")
        print(lb[cols].head(12).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        best_per = lb[lb["rank"].notna()].groupby("blueprint", sort=False).head(1)
        print("\nBest row of each blueprint:")
        print(best_per[cols + ["steps"]].to_string(index=False,
                                                   float_format=lambda v: f"{v:.3f}"))
    per_family = lb.assign(family=lb["blueprint"].str.split("_").str[0]) \
        .groupby("family")["fit_seconds"].sum().round(2)
    print("\nFit seconds by family:", per_family.to_dict())

    m = seg.mapping_
    print(f"\nChosen: row {seg.chosen_row_}: {m.metadata['steps']}")
    print(f"Mapping: {len(m)} series, each once, in {m.n_segments} segments "
          f"{m.sizes().to_dict()}")
    out.mkdir(parents=True, exist_ok=True)
    lb.to_csv(out / "leaderboard.csv", index=False)
    m.write(out / "mapping.csv")
    model = seg.save(out / "model.segmenter")
    print(f"Wrote {out / 'leaderboard.csv'}, {out / 'mapping.csv'}, {model}")

    # A new user reloads the model and assigns series with it.
    loaded = sg.load(model)
    some = df[df["Region"].isin(["Sydney", "Melbourne"])]
    assigned = loaded.predict(some).to_frame()
    print("\nReloaded model assigns the Sydney and Melbourne series:")
    print(assigned[IDS + ["segment", "distance"]].to_string(index=False,
                                                            float_format=lambda v: f"{v:.2f}"))
    same = (assigned["segment"].to_numpy() ==
            m.segments_of(list(assigned[IDS].itertuples(index=False, name=None)))).all()
    print(f"Same segments as in the fit: {bool(same)}")
    if not same:
        return 1

    print("\nSegmented modeling: forecasting leaderboards per segment (horizon 8, 3 origins) ...")
    t0 = time.perf_counter()
    fc = sg.SegmentedForecaster(horizon=8, n_origins=3, candidates="quick")
    fc.fit(panel, segmenter=seg)
    print(f"done in {time.perf_counter() - t0:.1f}s; champions by segment: {fc.champions_}")
    forecasts = fc.predict()
    forecasts.to_csv(out / "forecasts.csv", index=False)
    print(f"Forecasts: {len(forecasts)} rows = {panel.n_series} series × 8 quarters "
          f"-> {out / 'forecasts.csv'}")
    with pd.option_context("display.width", 160):
        print(fc.comparison_.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(fc.comparison_text_)

    ins = seg.insights()
    print(f"\nFeature impact ({ins.impact_method}): "
          + ", ".join(f"{f} {v:.2f}" for f, v in ins.impact.head(5).items()))
    pairs = ins.top_pairs(3)
    print("Most associated features: " + "; ".join(
        f"{r.a} ~ {r.b} {r.association:.2f}" for r in pairs.itertuples()))
    ins.to_csv(out)
    report_path = seg.report(out / "report.html", forecaster=fc, insights=ins)
    print(f"Report: {report_path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
