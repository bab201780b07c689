"""The shape representation: per-series arrays for DTW and k-Shape clustering."""

from __future__ import annotations

import numpy as np

from ..data.series import SeriesSet, interpolate_gaps

__all__ = ["shape_series"]


def shape_series(
    panel, normalize: str | None = "z", length: int | str | None = None, columns=None
) -> SeriesSet:
    """Per-series arrays for shape clustering.

    Each series: leading/trailing missing steps dropped, interior gaps interpolated
    linearly, each value column z-normalised (a constant column becomes zeros),
    optionally resampled to a common length.

    Parameters
    ----------
    panel : Panel
    normalize : {"z", None}, default "z"
    length : None, int or "median"
        None keeps each series' length (DTW handles unequal lengths); an int or
        ``"median"`` resamples every series linearly to that many steps (needed by
        k-Shape and soft-DTW k-means).
    columns : list of int, optional
        Value columns to use (default: all, i.e. target plus extra value columns).

    Series with no value at all become a single zero frame (they are flagged by the
    panel and the constraint report).
    """
    cols = list(range(panel.values.shape[1])) if columns is None else list(columns)
    target_len = None
    if length == "median":
        target_len = (
            int(np.median(panel.n_observed[panel.n_observed > 0]))
            if (panel.n_observed > 0).any()
            else 1
        )
        target_len = max(target_len, 2)
    elif length is not None:
        target_len = int(length)
    parts = []
    for i in range(panel.n_series):
        block = panel.values[panel.offsets[i] : panel.offsets[i + 1]][:, cols].astype(
            np.float64
        )
        ok = ~np.isnan(block).all(axis=1)
        if not ok.any():
            parts.append(np.zeros((target_len or 1, len(cols))))
            continue
        nz = np.flatnonzero(ok)
        block = block[nz[0] : nz[-1] + 1]
        for j in range(block.shape[1]):
            col = block[:, j]
            if np.isnan(col).all():
                block[:, j] = 0.0
            else:
                block[:, j] = interpolate_gaps(col)
        if normalize == "z":
            mu = block.mean(axis=0)
            sd = block.std(axis=0)
            block = (block - mu) / np.where(sd > 0, sd, 1.0)
            block[:, sd == 0] = 0.0
        if target_len is not None and len(block) != target_len:
            src = np.linspace(0.0, 1.0, len(block)) if len(block) > 1 else np.zeros(1)
            dst = np.linspace(0.0, 1.0, target_len)
            block = np.column_stack(
                [
                    np.interp(dst, src, block[:, j])
                    if len(block) > 1
                    else np.full(target_len, block[0, j])
                    for j in range(block.shape[1])
                ]
            )
        parts.append(block)
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    off = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    return SeriesSet(np.concatenate(parts, axis=0), off)
