"""Running candidates on backtest windows: the series as arrays, the tasks, the errors.

:class:`ForecastData` holds the fit's series the way models need them: values on the
grid (NaN at gaps), start positions, calendar, static and future covariates.  Its
:meth:`ForecastData.group` cuts every series at a cutoff and cleans the history
(:func:`segmenter.data.series.clean_history`), cutting the covariates alike, so a
model never sees a value at or after the cutoff.

Tasks (run by an engine, :mod:`segmenter.engine`):

* :func:`backtest_local` -- the local candidates on a chunk of series, every window.  Their
  forecasts do not depend on the segmentation: they are computed once per series and
  window and reused for every candidate segmentation;
* :func:`backtest_pooled` -- the pooled candidates on one segment of one segmentation, every
  window (a pooled model is refitted for each segmentation).

The chosen champions are fitted on whole histories by
:func:`segmenter.forecasting.champions.forecast_segment`.

:func:`errors_of` turns forecasts into per-series, per-window errors (MASE, sMAPE,
RMSE) against the actuals the local task read, with each window's MASE scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..data.series import clean_history
from ..selection.metrics import mase_scale, metric_names
from .base import Forecast, ForecastBlueprint, SeriesGroup, clip_nonnegative, failures

__all__ = [
    "ForecastData",
    "DataSpec",
    "backtest_local",
    "backtest_pooled",
    "errors_of",
    "LocalResult",
    "materialize",
]

FORECAST_METRICS = metric_names("forecast")


@dataclass
class DataSpec:
    """How to build :class:`ForecastData` from a panel (also on a worker)."""

    season_length: int
    seasons: tuple
    calendar: object = None
    static_cols: list = field(default_factory=list)
    future_cols: list = field(default_factory=list)
    id_as_static: bool = False


class ForecastData:
    """The series of a panel as arrays for forecasting (see the module docstring)."""

    def __init__(
        self,
        values: list,
        starts: np.ndarray,
        data_spec: DataSpec,
        keys: np.ndarray | None = None,
        statics: pd.DataFrame | None = None,
        future: dict | None = None,
    ):
        self.values = values
        self.starts = np.asarray(starts, dtype=np.int64)
        self.data_spec = data_spec
        self.keys = np.arange(len(values)) if keys is None else np.asarray(keys)
        self.statics = statics
        self.future = future or {}

    @classmethod
    def from_panel(cls, panel, data_spec: DataSpec, keys=None) -> ForecastData:
        """The panel's series as read-only views of its value array (no copy); a
        :meth:`subset` is a view too."""
        n = panel.n_series
        cols = list(panel.value_cols)
        arr = np.asarray(panel.values, dtype=np.float64)  # a copy only when float32
        arr = arr.view()
        arr.flags.writeable = False
        off = panel.offsets

        def column(c: int) -> list:
            return [arr[off[i] : off[i + 1], c] for i in range(n)]

        values = column(0)
        future = {c: column(cols.index(c)) for c in data_spec.future_cols}
        parts = []
        if data_spec.id_as_static:
            parts.append(panel.ids.reset_index(drop=True))
        if data_spec.static_cols:
            parts.append(
                panel.statics[list(data_spec.static_cols)].reset_index(drop=True)
            )
        statics = pd.concat(parts, axis=1) if parts else None
        return cls(values, panel.start, data_spec, keys, statics, future)

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, idx) -> ForecastData:
        idx = np.asarray(idx, dtype=np.int64)
        return ForecastData(
            [self.values[i] for i in idx],
            self.starts[idx],
            self.data_spec,
            self.keys[idx],
            None
            if self.statics is None
            else self.statics.iloc[idx].reset_index(drop=True),
            {k: [v[i] for i in idx] for k, v in self.future.items()},
        )

    def group(self, cutoffs=None, horizon: int = 0) -> tuple[SeriesGroup, np.ndarray]:
        """Clean histories up to each cutoff (whole series when None), and the positions
        of the series kept (cutoff -1 leaves a series out).  In a backtest the future
        covariates of the ``horizon`` steps after the cutoff come from the data."""
        data_spec = self.data_spec
        m = data_spec.season_length
        vals, phases, ends, pos = [], [], [], []
        fut = {k: [] for k in self.future}
        fut_h = {k: [] for k in self.future}
        for i, y in enumerate(self.values):
            cut = len(y) if cutoffs is None else int(cutoffs[i])
            if cut < 0:
                continue
            x, first = clean_history(y[:cut])
            vals.append(x)
            end = int(self.starts[i] + cut)
            ends.append(end)
            phases.append(end % m if m > 1 else 0)
            pos.append(i)
            for k, v in self.future.items():
                fut[k].append(v[i][first:cut])
                fut_h[k].append(_pad(v[i][cut : cut + horizon], horizon))
        pos = np.asarray(pos, dtype=np.int64)
        group = SeriesGroup(
            vals,
            np.asarray(phases, dtype=np.int64),
            m,
            data_spec.seasons,
            ends=np.asarray(ends, dtype=np.int64),
            keys=self.keys[pos],
            calendar=data_spec.calendar,
            statics=None
            if self.statics is None
            else self.statics.iloc[pos].reset_index(drop=True),
            future=fut or None,
            future_h={
                k: np.array(v).reshape(len(pos), horizon) for k, v in fut_h.items()
            }
            if fut_h and cutoffs is not None
            else None,
        )
        return group, pos

    def actuals(self, cutoffs, horizon: int) -> np.ndarray:
        """(n, horizon) values after each cutoff (NaN past a series' end or unscored)."""
        out = np.full((len(self), horizon), np.nan)
        for i, y in enumerate(self.values):
            c = int(cutoffs[i])
            if c >= 0:
                out[i] = _pad(y[c : c + horizon], horizon)
        return out

    def scales(self, cutoffs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each series' MASE scale at its cutoff, the lag it used (m, 1 or 0), and
        whether its history up to the cutoff has no negative value."""
        m = self.data_spec.season_length
        s, lag = np.full(len(self), np.nan), np.zeros(len(self), dtype=np.int64)
        nonneg = np.zeros(len(self), dtype=bool)
        for i, y in enumerate(self.values):
            c = int(cutoffs[i])
            if c >= 0:
                x = clean_history(y[:c])[0]
                s[i], lag[i] = mase_scale(x, m)
                nonneg[i] = len(x) > 0 and x.min() >= 0
        return s, lag, nonneg


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[: len(a)] = a[:n]
    return out


def materialize(source, data_spec: DataSpec, keys=None) -> ForecastData:
    """A task's data: ForecastData as is, or built from a panel (a gathered panel on a
    distributed engine's worker)."""
    if isinstance(source, ForecastData):
        return source
    return ForecastData.from_panel(source, data_spec, keys)


@dataclass
class LocalResult:
    """What :func:`backtest_local` returns for its chunk of series (positions ``idx``)."""

    idx: np.ndarray
    actuals: np.ndarray  # (W, n, h)
    scales: np.ndarray  # (W, n)
    scale_lags: np.ndarray  # (W, n)
    nonnegative: np.ndarray  # (W, n) history without negative values
    zero_share: np.ndarray  # (n,) share of zeros among observed values
    forecasts: dict  # spec -> (W, n, h)
    intervals: dict  # spec -> {level: (lo, hi)} of (W, n, h)
    fallbacks: dict  # spec -> [(w, position in chunk, reason)]
    failed: dict  # spec -> bool (n,): failed in some window
    usable: dict  # spec -> bool (n,): long enough somewhere
    seconds: dict  # spec -> seconds

    @classmethod
    def empty(cls, idx, n_windows: int, horizon: int, specs) -> LocalResult:
        """A result for the series ``idx`` with nothing computed yet (NaN forecasts)."""
        n_windows, n, h = n_windows, len(idx), horizon
        return cls(
            np.asarray(idx),
            np.full((n_windows, n, h), np.nan),
            np.full((n_windows, n), np.nan),
            np.zeros((n_windows, n), dtype=np.int64),
            np.zeros((n_windows, n), dtype=bool),
            np.zeros(n),
            {s: np.full((n_windows, n, h), np.nan) for s in specs},
            {s: {} for s in specs},
            {s: [] for s in specs},
            {s: np.zeros(n, dtype=bool) for s in specs},
            {s: np.zeros(n, dtype=bool) for s in specs},
            {s: 0.0 for s in specs},
        )

    @classmethod
    def merge(
        cls, parts: list, n: int, n_windows: int, horizon: int, specs
    ) -> LocalResult:
        """The results of chunks of series, placed at their positions among ``n``
        series (fallbacks renumbered from chunk positions to panel positions)."""
        out = cls.empty(np.arange(n), n_windows, horizon, specs)
        shape = (n_windows, n, horizon)
        for r in parts:
            idx = r.idx
            out.actuals[:, idx], out.scales[:, idx] = r.actuals, r.scales
            out.scale_lags[:, idx], out.nonnegative[:, idx] = (
                r.scale_lags,
                r.nonnegative,
            )
            out.zero_share[idx] = r.zero_share
            for s in specs:
                out.forecasts[s][:, idx] = r.forecasts[s]
                for lv, (lo, hi) in r.intervals[s].items():
                    store = out.intervals[s]
                    if lv not in store:
                        store[lv] = (np.full(shape, np.nan), np.full(shape, np.nan))
                    store[lv][0][:, idx], store[lv][1][:, idx] = lo, hi
                out.fallbacks[s] += [
                    (w, int(idx[i]), why) for w, i, why in r.fallbacks[s]
                ]
                out.failed[s][idx] = r.failed[s]
                out.usable[s][idx] = r.usable[s]
                out.seconds[s] += r.seconds[s]
        return out


def backtest_local(
    source,
    data_spec: DataSpec,
    idx,
    cutoffs: np.ndarray,
    horizon: int,
    candidates: list[ForecastBlueprint],
    levels,
) -> LocalResult:
    """The local candidates on the series ``idx`` in every window (a task)."""
    data = materialize(source, data_spec, keys=idx)
    n_windows, n = cutoffs.shape[0], len(data)
    res = LocalResult.empty(idx, n_windows, horizon, [bp.spec for bp in candidates])
    actuals, scales, lags, nonneg = (
        res.actuals,
        res.scales,
        res.scale_lags,
        res.nonnegative,
    )
    forecasts, intervals, fallbacks = res.forecasts, res.intervals, res.fallbacks
    secs = res.seconds
    failed, usable = res.failed, res.usable
    m = data_spec.season_length
    with threadpool_limits(limits=1):
        for w in range(n_windows):
            actuals[w] = data.actuals(cutoffs[w], horizon)
            scales[w], lags[w], nonneg[w] = data.scales(cutoffs[w])
            group, pos = data.group(cutoffs[w], horizon)
            if not len(pos):
                continue
            for bp in candidates:
                t0 = time.perf_counter()
                fc = clip_nonnegative(
                    bp.predict(None, group, horizon, levels, strict=False), group
                )
                secs[bp.spec] += time.perf_counter() - t0
                forecasts[bp.spec][w, pos] = fc.mean
                _store_intervals(
                    intervals[bp.spec], fc, w, pos, (n_windows, n, horizon)
                )
                need = bp.min_history(m, horizon)
                fails, _ = failures(group, fc.fallbacks, need)
                for j, reason in fc.fallbacks:
                    fallbacks[bp.spec].append((w, int(pos[j]), reason))
                    if len(group.values[j]) >= need:
                        failed[bp.spec][pos[j]] = True
                usable[bp.spec][pos[[len(v) >= need for v in group.values]]] = True
    res.zero_share[:] = [
        np.mean(v[~np.isnan(v)] == 0) if np.isfinite(v).any() else 0.0
        for v in data.values
    ]
    return res


def _store_intervals(store: dict, fc: Forecast, w: int, pos, shape) -> None:
    if not fc.intervals:
        return
    for lv, (lo, hi) in fc.intervals.items():
        if lv not in store:
            store[lv] = (np.full(shape, np.nan), np.full(shape, np.nan))
        store[lv][0][w, pos], store[lv][1][w, pos] = lo, hi


def backtest_pooled(
    source,
    data_spec: DataSpec,
    idx,
    cutoffs: np.ndarray,
    horizon: int,
    candidates: list[ForecastBlueprint],
) -> dict:
    """The pooled candidates on one segment's series ``idx``, every window (a task).

    Returns per candidate its forecasts (W, n, h), fallbacks, seconds, and the error
    message when it failed on the segment (then no forecasts)."""
    data = materialize(source, data_spec, keys=idx)
    n_windows, n = cutoffs.shape[0], len(data)
    out = {}
    with threadpool_limits(limits=1):
        for bp in candidates:
            forecasts = np.full((n_windows, n, horizon), np.nan)
            fb, error = [], ""
            t0 = time.perf_counter()
            try:
                for w in range(n_windows):
                    group, pos = data.group(cutoffs[w], horizon)
                    if not len(pos):
                        continue
                    fc = clip_nonnegative(
                        bp.predict(bp.fit(group), group, horizon), group
                    )
                    forecasts[w, pos] = fc.mean
                    fb += [(w, int(pos[j]), r) for j, r in fc.fallbacks]
            except Exception as exc:  # noqa: BLE001 - recorded as a failure on the segment
                error = f"{type(exc).__name__}: {exc}"
                forecasts[:] = np.nan
            out[bp.spec] = {
                "forecasts": forecasts,
                "fallbacks": fb,
                "error": error,
                "seconds": time.perf_counter() - t0,
            }
    return out


def errors_of(forecasts: np.ndarray, actuals: np.ndarray, scales: np.ndarray) -> dict:
    """Per-series, per-window errors of forecasts ``F`` against actuals ``A`` (both
    (W, n, h), NaN where absent) with MASE scales ``S`` (W, n): {metric: (W, n)}."""
    with np.errstate(all="ignore"):
        ok = ~np.isnan(actuals) & ~np.isnan(forecasts)
        cnt = ok.sum(axis=2)
        diff = np.where(ok, np.abs(actuals - forecasts), 0.0)
        mae = np.where(cnt > 0, diff.sum(axis=2) / np.maximum(cnt, 1), np.nan)
        den = np.abs(actuals) + np.abs(forecasts)
        sm = np.where(ok & (den > 0), 200.0 * diff / np.where(den > 0, den, 1.0), 0.0)
        smape = np.where(cnt > 0, sm.sum(axis=2) / np.maximum(cnt, 1), np.nan)
        rmse = np.where(
            cnt > 0, np.sqrt((diff**2).sum(axis=2) / np.maximum(cnt, 1)), np.nan
        )
        return {"mase": mae / scales, "smape": smape, "rmse": rmse}
