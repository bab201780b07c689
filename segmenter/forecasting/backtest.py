"""Running candidates on backtest windows: the series as arrays, the tasks, the errors.

:class:`~segmenter.forecasting.base.SeriesGroup` holds the fit's series the way models
need them: :meth:`~segmenter.forecasting.base.SeriesGroup.from_panel` gives the values
on the grid (NaN at gaps) as views of the Panel, with calendar, static and future
covariates; its :meth:`~segmenter.forecasting.base.SeriesGroup.history` cuts every
series at a cutoff and cleans the history, cutting the covariates alike, so a model
never sees a value at or after the cutoff.

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
import warnings
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from ..selection.metrics import metric_names
from .base import Forecast, ForecastBlueprint, SeriesGroup, clip_nonnegative, failures

__all__ = [
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
    """What the forecasting series carry besides their values (seasons, calendar, the
    covariates): how :meth:`SeriesGroup.from_panel` builds them from a panel, also on
    a worker."""

    season_length: int
    seasons: tuple
    calendar: object = None
    static_cols: list = field(default_factory=list)
    future_cols: list = field(default_factory=list)
    id_as_static: bool = False


def materialize(source, data_spec: DataSpec, keys=None) -> SeriesGroup:
    """A task's series: a :class:`SeriesGroup` as is, or the group of a panel (a panel
    gathered from a :class:`~segmenter.data.chunks.ChunkedPanel`, on the worker)."""
    if isinstance(source, SeriesGroup):
        return source
    return SeriesGroup.from_panel(source, data_spec, keys)


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
            group, pos = data.history(cutoffs[w], horizon)
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
                    group, pos = data.history(cutoffs[w], horizon)
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


class _ForecastData:
    """The 0.2 container, now a :class:`SeriesGroup` (until segmenter 0.4): called
    with 0.2's arguments ``(values, starts, data_spec, ...)``, or its ``from_panel``,
    it builds a SeriesGroup, whose ``group()`` is now ``history()``."""

    def __new__(cls, values, starts, data_spec, keys=None, statics=None, future=None):
        m = int(data_spec.season_length)
        ends = np.asarray(starts, dtype=np.int64) + [len(v) for v in values]
        return SeriesGroup(
            list(values),
            ends % m if m > 1 else np.zeros(len(values), dtype=np.int64),
            m,
            tuple(data_spec.seasons),
            ends=ends,
            keys=np.arange(len(values)) if keys is None else np.asarray(keys),
            calendar=data_spec.calendar,
            statics=statics,
            future=future or None,
        )

    from_panel = staticmethod(SeriesGroup.from_panel)


_OLD_NAME = "ForecastData"  # 0.2's name, served until segmenter 0.4


def __getattr__(name: str):
    if name == _OLD_NAME:
        warnings.warn(
            f"{__name__}.{_OLD_NAME} is now segmenter.forecasting.SeriesGroup "
            "(built by SeriesGroup.from_panel; its group() is history()); the old name "
            "works until segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        return _ForecastData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
