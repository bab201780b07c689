"""Silhouettes of clusterings: on a precomputed distance matrix, or against reference
series (the cross-validated score of small validation sets)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import silhouette_score

__all__ = ["silhouette", "silhouette_against"]


def silhouette(D: np.ndarray, labels: np.ndarray) -> tuple[float, str]:
    """scikit-learn's silhouette of ``labels`` from the distance matrix ``D``, with a
    note; NaN (and the reason) when it is undefined (one segment, or as many segments
    as series).

    >>> D = np.array([[0., 1, 5, 5], [1, 0, 5, 5], [5, 5, 0, 1], [5, 5, 1, 0]])
    >>> silhouette(D, np.array([0, 0, 1, 1]))[0]
    0.8
    >>> silhouette(D, np.zeros(4, dtype=int))
    (nan, 'silhouette undefined: 4 series in 1 segment(s)')
    """
    n_lab = len(np.unique(labels))
    if not 2 <= n_lab <= len(labels) - 1:
        return math.nan, (
            f"silhouette undefined: {len(labels)} series in {n_lab} segment(s)"
        )
    return float(silhouette_score(D, labels, metric="precomputed")), ""


def silhouette_against(
    C: np.ndarray, labels: np.ndarray, ref_labels: np.ndarray
) -> np.ndarray:
    """Silhouette of series (rows of ``C``) against reference series (columns).

    ``C[i, j]`` is the distance from series i to reference series j; ``labels`` are the
    series' segments, ``ref_labels`` the reference series' segments.  Per series:
    ``(b - a) / max(a, b)`` with ``a`` the mean distance to the reference members of its
    segment and ``b`` the smallest mean distance to another segment's members; 0 when
    its segment has no reference member; NaN when there is no other segment.
    """
    segs = np.unique(ref_labels)
    if len(segs) < 2:
        return np.full(len(labels), np.nan)
    means = np.column_stack([C[:, ref_labels == s].mean(axis=1) for s in segs])
    out = np.zeros(len(labels))
    for i, lab in enumerate(labels):
        own = np.flatnonzero(segs == lab)
        if not len(own):
            continue
        a = means[i, own[0]]
        b = np.delete(means[i], own[0]).min()
        denom = max(a, b)
        out[i] = (b - a) / denom if denom > 0 else 0.0
    return out
