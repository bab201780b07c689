"""The segmentations a forecaster compares: candidates and baselines, each a label per
series.

* ``clustering`` -- rows of a Segmenter's leaderboard (``select="forecast"``:
  ``n_candidates`` rows, each blueprint's best first, each refitted on the series; else
  its chosen row);
* ``user`` -- a segment column of the data, or a mapping not made by a segmenter;
* ``global`` -- one segment holding every series (k = 1: the global model);
* ``random`` -- for each k of the candidates, ``n_random`` seeded random partitions
  with exactly the segment sizes of that k's best candidate (a permutation of its
  labels), so only *which* series go together differs;
* ``per-series`` -- every series its own segment, local candidates only (a model chosen
  per series).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem

__all__ = [
    "Segmentation",
    "baselines",
    "from_segmenter",
    "random_peers",
    "stratified_sample",
    "restricted_to",
    "MIN_SAMPLED",
]


@dataclass
class Segmentation:
    """One way to cut the series into segments."""

    name: str
    kind: str  # clustering | user | global | random | per-series
    # | ensemble
    labels: np.ndarray  # a segment per series (panel order)
    silhouette: float = float("nan")
    row: int | None = None  # the segmenter's leaderboard row (clustering)
    mapping: object = None  # the SegmentMapping it came from, when one
    meta: dict = field(default_factory=dict)

    @property
    def n_segments(self) -> int:
        return int(len(np.unique(self.labels.astype(str))))


def baselines(
    candidates: list[Segmentation],
    n: int,
    n_random: int,
    random_state,
    with_per_series: bool = True,
) -> list[Segmentation]:
    """The global, random and per-series baselines for ``candidates`` (module docstring)."""
    out = [Segmentation("global", "global", np.zeros(n, dtype=np.int64))]
    by_k: dict = {}
    for c in candidates:
        k = c.n_segments
        if 1 < k < n:
            best = by_k.get(k)
            if best is None or (
                np.isfinite(c.silhouette)
                and not (
                    np.isfinite(best.silhouette) and best.silhouette >= c.silhouette
                )
            ):
                by_k[k] = c
    for k, c in sorted(by_k.items()):
        codes = np.unique(c.labels.astype(str), return_inverse=True)[1].astype(np.int64)
        for seed in range(n_random):
            rng = np.random.default_rng([int(random_state or 0), k, seed])
            out.append(
                Segmentation(
                    f"random(k={k}, seed={seed})",
                    "random",
                    rng.permutation(codes),
                    meta={"k": k, "seed": seed},
                )
            )
    if with_per_series:
        out.append(
            Segmentation("per-series", "per-series", np.arange(n, dtype=np.int64))
        )
    return out


def random_peers(segs: list[Segmentation], k: int) -> list[int]:
    """Positions in ``segs`` of the random partitions with ``k`` segments (the peers the
    chosen segmentation is compared with)."""
    return [
        i for i, s in enumerate(segs) if s.kind == "random" and s.meta.get("k") == k
    ]


def from_segmenter(
    segmenter, ids: list, n_candidates: int, assign
) -> list[Segmentation]:
    """``n_candidates`` ok rows of a fitted segmenter's leaderboard, each refitted and
    applied to every series (``ids`` in panel order; ``assign(model, missing_positions)``
    labels series the segmenter did not see).  The best row of each blueprint comes
    first (in rank order), then the other rows by rank: one statistic binned into
    quantiles scores a high silhouette by construction, so ranking by silhouette alone
    would fill the list with velocity rows."""
    search = getattr(segmenter, "_search", None)
    if search is None:
        raise DataValidationError(
            [
                Problem(
                    "segmenter_without_data",
                    "select",
                    "select='forecast' refits the rows of the "
                    "segmenter's leaderboard, which needs a segmenter fitted in this session (a "
                    "loaded one keeps no training data); pass an unfitted Segmenter to fit here, "
                    "or use select='silhouette'",
                )
            ]
        )
    lb = segmenter.leaderboard_
    ok = lb[lb["rank"].notna()].sort_values("rank")
    firsts = ok.drop_duplicates("blueprint")[
        "row"
    ].tolist()  # each blueprint's best row
    rows = (firsts + [r for r in ok["row"].tolist() if r not in set(firsts)])[
        :n_candidates
    ]
    panel_ids = search.panel.id_labels()
    out = []
    for row in rows:
        choice = search.choose(int(row))
        known = dict(zip(panel_ids, choice.labels.tolist()))
        labels = np.array([known.get(i, -1) for i in ids], dtype=np.int64)
        missing = np.flatnonzero(labels < 0)
        if len(missing):
            labels[missing] = assign(choice.model, missing)
        r = lb.loc[lb["row"] == row].iloc[0]
        k = r.get("n_clusters")
        name = f"{r['blueprint']} k={int(k)}" if pd.notna(k) else r["blueprint"]
        out.append(
            Segmentation(
                name,
                "clustering",
                labels,
                float(r.get(segmenter.metric, np.nan)),
                int(row),
                meta={"model": choice.model},
            )
        )
    return out


#: With ``forecast_sample=``, each segment of each candidate segmentation keeps at
#: least this many of its series in the sample (all of them when it has fewer).
MIN_SAMPLED = 5


def stratified_sample(
    segs: list[Segmentation], n: int, size: int, random_state
) -> tuple[np.ndarray, str]:
    """A seeded sample of about ``size`` of ``n`` series for selection
    (``forecast_sample=``), and what it is stratified by: allocated to the segments of
    the first candidate segmentation in proportion to their sizes, and holding at
    least :data:`MIN_SAMPLED` series of every segment of every candidate (clustering
    or user segments), so that each can be ranked on its own series.  Sorted panel
    positions."""
    rng = np.random.default_rng([int(random_state or 0), 26])
    cands = [s for s in segs if s.kind in ("clustering", "user")]
    keep = np.zeros(n, dtype=bool)
    for s in cands:
        for idx in _groups(s.labels):
            keep[rng.permutation(idx)[:MIN_SAMPLED]] = True
    strata = _groups(cands[0].labels) if cands else [np.arange(n)]
    left = size - int(keep.sum())
    if left > 0:
        free = [idx[~keep[idx]] for idx in strata]
        n_free = sum(len(f) for f in free)
        if n_free:
            quota = [len(f) * min(left, n_free) / n_free for f in free]
            take = np.floor(quota).astype(int)
            # the largest remainders get the series the floors left
            for j in np.argsort([t - q for t, q in zip(take, quota)])[
                : min(left, n_free) - int(take.sum())
            ]:
                take[j] += 1
            for f, t in zip(free, take):
                keep[rng.permutation(f)[:t]] = True
    by = cands[0].name if cands else "nothing (no candidate segments)"
    return np.flatnonzero(keep), by


def _groups(labels) -> list[np.ndarray]:
    codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)[1]
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, cuts)


def restricted_to(segs: list, sample: np.ndarray) -> list:
    """``segs`` on the sampled series only; a model per series stays a baseline (it
    cannot be chosen: the other series have no backtests)."""
    return [
        replace(
            s,
            labels=np.asarray(s.labels)[sample],
            meta={**s.meta, "eligible": False} if s.kind == "per-series" else s.meta,
        )
        for s in segs
    ]
