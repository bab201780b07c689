"""Which intervals should a forecast carry: statsforecast's own or conformal ones?

For each panel, AutoETS and AutoTheta forecast every series on the same rolling
backtest windows (``SegmentedForecaster(intervals="native")``, one segment).  On the
most recent backtest window, which scores and is never used to fit, the script puts
side by side, over the same series:

* **native**: the model's own 80% and 95% intervals (statsforecast: analytic for
  AutoETS, simulated paths for AutoTheta);
* **conformal**: the library's default, ``forecast ± q_h × scale``, where ``q_h`` is
  the finite-sample quantile of the absolute scaled residuals at step ``h`` on the
  older windows, pooled over the series (as the comparison scores it).

It prints the coverage (nominal: the level) and the MSIS (the mean scaled interval
score, lower is better) of each.  No hold-out value is read: the defaults of
``SegmentedForecaster(intervals=)`` were decided on these tables for the design panels
(prison, M1 quarterly, tourism, M1 monthly).

Run: ``python benchmarks/interval_methods.py [--datasets prison m1q tourism m1]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from forecast_value import DATA

import segmenter as sg
from segmenter.forecasting.evaluation import conformal_quantiles

LEVELS = (80, 95)


def interval_score(actual, lo, hi, scale, level) -> tuple[float, float]:
    """(coverage, MSIS) of intervals ``lo``-``hi`` (n, h) over finite cells."""
    ok = np.isfinite(actual) & np.isfinite(lo) & np.isfinite(hi)
    cover = float(((actual >= lo) & (actual <= hi))[ok].mean())
    alpha = 1 - level / 100
    with np.errstate(all="ignore"):
        score = (hi - lo) + 2 / alpha * (
            (lo - actual) * (actual < lo) + (actual - hi) * (actual > hi)
        )
        per_series = np.nanmean(np.where(ok, score, np.nan), axis=1) / scale
    return cover, float(np.nanmean(per_series))


def run(name: str, jobs: int) -> list[dict]:
    d = DATA[name]()
    ids = d["ids"] if len(d["ids"]) > 1 else d["ids"][0]
    panel = sg.read_panel(
        d["train"],
        id_col=ids,
        time_col=d["time"],
        target_col=d["target"],
        freq=d.get("freq"),
    )
    fc = sg.SegmentedForecaster(
        horizon=d["h"],
        candidates=["seasonal_naive", "ets", "theta"],
        season_length=d["m"],
        intervals="native",
        levels=LEVELS,
        n_jobs=jobs,
        progress=False,
        compare=False,
        random_state=0,
    )
    one = sg.SegmentMapping(panel.ids.assign(segment=0), panel.id_cols)
    fc.fit(panel, mapping=one)
    bt = fc._fit_data[2]  # the backtests: forecasts, native intervals, actuals
    w0 = bt.plan.final_window
    older = [w for w in range(bt.plan.n_windows) if w != w0]
    actual, scale = bt.actuals[w0], bt.scales[w0]
    rows = []
    for spec in ("ets", "theta"):
        f = bt.local[spec]
        for lv in LEVELS:
            q = conformal_quantiles(bt, f, np.arange(f.shape[1]), older, [lv])[lv]
            clo = f[w0] - q[None] * scale[:, None]
            chi = f[w0] + q[None] * scale[:, None]
            clo = np.where(bt.nonnegative[w0][:, None], np.maximum(clo, 0), clo)
            nlo, nhi = bt.local_iv[spec][lv]
            nlo, nhi = nlo[w0], nhi[w0]
            both = (
                np.isfinite(nlo).all(1)
                & np.isfinite(nhi).all(1)
                & np.isfinite(clo).all(1)
                & np.isfinite(scale)
            )
            a, s = actual[both], scale[both]
            n_cov, n_msis = interval_score(a, nlo[both], nhi[both], s, lv)
            c_cov, c_msis = interval_score(a, clo[both], chi[both], s, lv)
            rows.append(
                {
                    "panel": name,
                    "model": spec,
                    "level": lv,
                    "series": int(both.sum()),
                    "native coverage": n_cov,
                    "conformal coverage": c_cov,
                    "native MSIS": n_msis,
                    "conformal MSIS": c_msis,
                    "MSIS ratio": c_msis / n_msis,
                }
            )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["prison", "m1q", "tourism", "m1"])
    ap.add_argument("--jobs", type=int, default=-1)
    args = ap.parse_args(argv)
    rows = []
    for name in args.datasets:
        rows += run(name, args.jobs)
        print(f"{name} done", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    better = (table["MSIS ratio"] < 1).sum()
    print(
        f"\nconformal MSIS lower in {better} of {len(table)} cells; median ratio "
        f"conformal / native {table['MSIS ratio'].median():.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
