"""A pooled forecasting model: one scikit-learn regressor over all series of a group.

Features for the value at step t of a series (all divided by the series' scale, the
mean absolute value of its last ``max(m, 4)`` training values, so series of different
sizes share one model): the previous ``n_lags`` values (``max(2m, 8)`` by default,
missing ones NaN), the mean of the previous ``m`` values, and the position of t in the
season (the calendar: month of year for monthly data, quarter for quarterly) as a
categorical feature.  The target is the scaled value.

The regressor runs single-threaded (threadpoolctl): the runner parallelises across
segments with processes, and OpenMP threads competing with them slow gradient boosting
down many times over.

Forecasting is **recursive**: one model predicts one step ahead, and each prediction
becomes a lag for the next step, for all series of the group at once.  Because the
model is fitted once per group, it also forecasts series it never saw (new series
assigned to the segment).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from segmenter.forecasting.base import ForecastBlueprint, SeriesGroup

__all__ = ["PooledRegressor"]


class PooledRegressor(ForecastBlueprint):
    """Pooled recursive forecaster on lag, rolling and calendar features.

    Parameters
    ----------
    regressor : sklearn regressor or None
        Default ``HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05)``
        (handles missing lags natively); others get NaN lags filled with the rolling mean.
    n_lags : int or None
        None: ``max(2m, 8)``.
    max_rows_per_series : int, default 200
        Only the most recent rows of each series train the model (bounds the cost).
    random_state : int, default 0
    """

    name = "pooled_gbm"
    kind = "pooled"
    steps = ("pooled {regressor} over the group's series on scaled lags, rolling mean and "
             "season position; recursive forecasts")

    def __init__(self, regressor=None, n_lags=None, max_rows_per_series=200, random_state=0):
        params = {}
        if n_lags is not None:
            params["n_lags"] = n_lags
        if max_rows_per_series != 200:
            params["max_rows_per_series"] = max_rows_per_series
        super().__init__(**params)
        self.regressor = regressor
        self.n_lags = n_lags
        self.max_rows_per_series = max_rows_per_series
        self.random_state = random_state

    def describe(self) -> str:
        reg = type(self.regressor).__name__ if self.regressor is not None else \
            "gradient boosting"
        return self.steps.format(regressor=reg)

    # ------------------------------------------------------------------ features
    def _lags(self, m: int) -> int:
        return int(self.n_lags) if self.n_lags else max(2 * m, 8)

    @staticmethod
    def _scale(y: np.ndarray, m: int) -> float:
        tail = np.abs(y[-max(m, 4):])
        s = float(tail.mean()) if len(tail) else 1.0
        return s if s > 0 else 1.0

    @staticmethod
    def _features(lag_block: np.ndarray, phase: np.ndarray, m: int) -> np.ndarray:
        """lag_block (rows, L) with lag 1 first; returns (rows, L + 2)."""
        with np.errstate(all="ignore"):
            roll = np.nanmean(lag_block[:, :max(m, 1)], axis=1)
        return np.column_stack([lag_block, roll, phase])

    def _make_regressor(self, L):
        from sklearn.base import clone
        from sklearn.ensemble import HistGradientBoostingRegressor
        if self.regressor is not None:
            return clone(self.regressor)
        cat = np.zeros(L + 2, dtype=bool)
        cat[-1] = True
        return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05,
                                             categorical_features=cat,
                                             random_state=self.random_state)

    def _fillna(self, F):
        if self.regressor is None:
            return F
        roll = F[:, -2:-1]
        F = np.where(np.isnan(F), roll, F)
        return np.nan_to_num(F)

    def fit(self, group: SeriesGroup):
        m = group.season_length
        L = self._lags(m)
        rows, targets = [], []
        for y, end_phase in zip(group.values, group.end_phase):
            n = len(y)
            if n < 2:
                continue
            s = self._scale(y, m)
            x = y / s
            padded = np.r_[np.full(L, np.nan), x]
            win = sliding_window_view(padded, L)[1:n]      # rows for t = 1..n-1 (lags t-L..t-1)
            lag_block = win[:, ::-1]                         # lag 1 first
            t = np.arange(1, n)
            phase = (end_phase - n + t) % m if m > 1 else np.zeros(len(t))
            keep = slice(max(0, len(t) - self.max_rows_per_series), None)
            rows.append(self._features(lag_block[keep], phase[keep], m))
            targets.append(x[1:][keep])
        if not rows:
            raise ValueError("no series with at least 2 values to train the pooled model")
        X, yv = np.vstack(rows), np.concatenate(targets)
        reg = self._make_regressor(L)
        with threadpool_limits(limits=1):     # segments run in parallel processes instead
            reg.fit(self._fillna(X), yv)
        return {"regressor": reg, "L": L, "m": m}

    def predict(self, state, group: SeriesGroup, horizon: int):
        reg, L, m = state["regressor"], state["L"], group.season_length
        n = len(group)
        hist = np.full((n, L), np.nan)
        scale = np.ones(n)
        empty = np.zeros(n, dtype=bool)
        for i, y in enumerate(group.values):
            if len(y) == 0:
                empty[i] = True
                continue
            scale[i] = self._scale(y, m)
            tail = (y / scale[i])[-L:][::-1]
            hist[i, :len(tail)] = tail
        out = np.empty((n, horizon))
        for h in range(horizon):
            phase = (group.end_phase + h) % m if m > 1 else np.zeros(n)
            with threadpool_limits(limits=1):
                f = reg.predict(self._fillna(self._features(hist, phase, m)))
            out[:, h] = f
            hist = np.column_stack([f, hist[:, :-1]])
        out *= scale[:, None]
        out[empty] = np.nan
        return out, []
