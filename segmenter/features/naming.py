"""Segment names that say what a segment is, built from its summary features.

:func:`describe_segments` names every segment by the one or two summary features on
which its typical member sits furthest from the panel's typical series, e.g. ``"high
level, strong season"``.  For each segment and feature it takes the median over the
segment's members and places it among all series' values (its percentile, ties
counted half); the words of the two most extreme features (percentile at least
:data:`NAME_THRESHOLD` away from the middle) make the name.  A segment that is
typical on every feature is ``"typical"``.  Names are unique: a clash takes the next
feature's word, then the segment's number.

The features are the summary statistics of :mod:`segmenter.features.statistics`
(level, trend and seasonal strength, volatility of the non-zero values, share of
zeros, history length), computed on a seeded sample of at most ``sample`` series
(stratified by segment; gathered from the workers on a distributed engine), so naming
100k series costs what naming 2,000 does.  Users rename segments with
``Segmenter.rename_segments`` / ``SegmentedForecaster.rename_segments``.
"""

from __future__ import annotations

import numpy as np

from .statistics import summary_features

__all__ = ["describe_segments", "percentile_of", "NAME_THRESHOLD", "DESCRIPTORS"]

#: (summary feature, word when the segment is high on it, word when low or None).
DESCRIPTORS = (
    ("level", "high level", "low level"),
    ("seasonal_strength", "strong season", "weak season"),
    ("trend_strength", "strong trend", "weak trend"),
    ("cv2", "volatile", "steady"),
    ("zero_share", "intermittent", None),
    ("length", "long history", "short history"),
)

#: How far from the middle (0.5) a segment's median percentile must be to name it.
NAME_THRESHOLD = 0.15


def percentile_of(values: np.ndarray, x: float) -> float:
    """Where ``x`` sits among the finite ``values``, in [0, 1] (ties count half);
    0.5 when undefined (no finite values, ``x`` not finite, or all values equal)."""
    v = values[np.isfinite(values)]
    if not len(v) or not np.isfinite(x) or np.ptp(v) == 0:
        return 0.5
    return float((v < x).mean() + 0.5 * (v == x).mean())


def describe_segments(
    panel, labels, sample: int = 2000, random_state=0
) -> dict[int, str]:
    """``{segment: name}`` for every segment in ``labels`` (one per series of
    ``panel``); see the module docstring."""
    labels = np.asarray(labels)
    segments = [int(s) for s in np.unique(labels)]
    rng = np.random.default_rng(random_state)
    idx = np.arange(len(labels))
    if len(idx) > sample:  # stratified: every segment keeps its share, at least 1
        parts = []
        for s in segments:
            members = idx[labels == s]
            take = max(1, int(round(sample * len(members) / len(labels))))
            parts.append(
                rng.choice(members, size=min(take, len(members)), replace=False)
            )
        idx = np.sort(np.concatenate(parts))
    if hasattr(panel, "subset"):
        sub = panel.subset(idx)
    else:  # a ChunkedPanel: the sample is gathered from the engine's workers
        sub = panel.engine.result(
            panel.gather(idx, label=f"gather {len(idx)} series to name the segments")
        )
    table = summary_features(sub)
    lab = labels[idx]
    words: dict[int, list[str]] = {}
    for s in segments:
        scored = []
        for feature, high, low in DESCRIPTORS:
            if feature not in table.columns:
                continue
            col = table[feature].to_numpy(dtype=float)
            member = col[lab == s]
            member = member[np.isfinite(member)]
            if not len(member):
                continue
            p = percentile_of(col, float(np.median(member)))
            word = high if p >= 0.5 else low
            if word is not None and abs(p - 0.5) >= NAME_THRESHOLD:
                scored.append((-abs(p - 0.5), word))
        words[s] = [w for _, w in sorted(scored)]
    names: dict[int, str] = {}
    for s in segments:
        w = words[s]
        name = ", ".join(w[:2]) if w else "typical"
        if name in names.values() and len(w) > 2:
            name = ", ".join(w[:3])
        if name in names.values():
            name = f"{name} ({s})"
        names[s] = name
    return names
