"""Resource limits stated up front: a run that cannot fit in memory fails before it
starts, naming the knobs that shrink it.

The estimates count the large arrays a run holds at its peak (the panel, the sampled
DTW distance matrices, the features; for forecasting the backtest forecasts of every
candidate), with a margin for Python's own copies (:data:`MARGIN`).  They are compared
with the memory the operating system reports as available (``MemAvailable`` in
``/proc/meminfo``; no check where it is unknown).
"""

from __future__ import annotations

from ..errors import ResourceLimitError

__all__ = [
    "available_memory",
    "check_memory",
    "segmenter_bytes",
    "forecaster_bytes",
    "MARGIN",
    "POOLED_COLUMNS",
]

#: Multiplier on the counted arrays (temporary copies, Python objects).
MARGIN = 1.5


def available_memory() -> int | None:
    """Bytes of memory available to a new process, or None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_mb(field: str = "VmHWM") -> float:
    """This process's peak resident memory so far (``VmHWM``; or another
    ``/proc/self/status`` field such as ``VmRSS``), in MB; NaN off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _gb(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


def check_memory(
    parts: dict, what: str, knobs: str, available: int | None = None
) -> int:
    """Raise :class:`~segmenter.ResourceLimitError` when the estimated peak (the sum of
    ``parts``, bytes by name, times :data:`MARGIN`) exceeds the available memory; the
    message lists the parts and ``knobs``.  Returns the estimate."""
    need = int(sum(parts.values()) * MARGIN)
    avail = available_memory() if available is None else available
    if avail is not None and need > avail:
        detail = ", ".join(
            f"{k} {_gb(v)}"
            for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
            if v
        )
        raise ResourceLimitError(
            f"{what} would need about {_gb(need)} at its peak ({detail}; x{MARGIN} margin) "
            f"but {_gb(avail)} is available; {knobs}"
        )
    return need


def segmenter_bytes(panel, blueprints, folds, fit_sample, n_series_fit: int) -> dict:
    """The large arrays of a clustering leaderboard, by name (bytes)."""
    from ..base import get_tag

    n = panel.n_series
    lengths = getattr(panel, "lengths", None)
    steps = int(lengths.sum()) if lengths is not None else 0
    n_vals = len(getattr(panel, "value_cols", [None]))
    parts = {"panel": steps * n_vals * 8 * 2}
    feature_keys, dtw_keys = set(), set()
    for bp in blueprints:
        key = (bp.representation, repr(sorted(bp.featurizer_params().items())))
        if key in feature_keys:
            continue
        feature_keys.add(key)
        if bp.representation == "shape":
            parts["features"] = parts.get("features", 0) + steps * n_vals * 8
        else:
            parts["features"] = parts.get("features", 0) + n * 32 * 8
        if get_tag(bp, "geometry") == "dtw":
            dtw_keys.add(key)
    per_fold = 0
    for f in folds:
        per_fold += (
            (
                len(f.fit) ** 2
                if any(get_tag(bp, "requires:distance_matrix") for bp in blueprints)
                else 0
            )
            + len(f.train_sample) ** 2
            + len(f.valid_sample) ** 2
        )
    parts["DTW matrices"] = len(dtw_keys) * (per_fold + n_series_fit**2) * 8
    return parts


#: Columns of a pooled model's training frame per row (target, about 15 lags, the
#: rolling and expanding means, calendar): :func:`forecaster_bytes` counts it 3 times
#: (the frame, mlforecast's features, LightGBM's dataset).
POOLED_COLUMNS = 24


def forecaster_bytes(
    n_series: int,
    n_windows: int,
    horizon: int,
    n_local: int,
    n_pooled: int,
    n_levels: int,
    n_segmentations: int,
    n_selection: int | None = None,
    n_steps: int = 0,
    n_native_levels: int | None = None,
) -> dict:
    """The large arrays of a forecaster fit, by name (bytes): the backtests of the
    ``n_selection`` series selection runs on (all by default; fewer with
    ``forecast_sample``), the final forecasts of all ``n_series``, and the largest
    pooled model's training frame (the global model's: every one of the ``n_steps``
    values of the panel is a row).  ``n_native_levels``: the levels the local models
    compute intervals for themselves (``n_levels`` by default; 0 with conformal
    intervals), which their backtests and whole-history fits keep."""
    m = n_series if n_selection is None else min(n_series, n_selection)
    cell = n_windows * m * horizon * 8
    own = n_levels if n_native_levels is None else n_native_levels
    served = n_series * horizon * 8
    return {
        "actuals": cell,
        "local backtests": n_local * cell * (1 + 2 * own)
        + n_local * 3 * cell // horizon,
        "pooled backtests": n_pooled * cell * min(n_segmentations, 8),
        "evaluations": n_segmentations * cell,
        "final forecasts": n_local * served * (1 + 2 * own)
        + served * (1 + 2 * n_levels),
        "pooled training frame": (3 * n_steps * POOLED_COLUMNS * 8 if n_pooled else 0),
    }
