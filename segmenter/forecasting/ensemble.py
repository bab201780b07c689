"""Ensembles of segmentations: the average of the forecasts of several segmented models.

Godahewa, Bandara, Webb, Smyl & Bergmeir (2021, "Ensembles of localised models for time
series forecasting", Knowledge-Based Systems 233) average models trained on many
clusterings and found it significantly more accurate than one global model.  The
forecaster's selection already fits every segment's champion of every segmentation it
compares, so the backtest forecasts of such an ensemble are already paid for: an
ensemble is scored from them, with nothing refitted.

* ``"top-m"``: one global model and the ``m`` clustering (or user) segmentations with
  the least validation error;
* ``"all"``: one global model and every clustering (or user) segmentation compared.

Random partitions and the per-series baseline are never members.  On each selection
window a member contributes the forecasts of the champions chosen on the windows older
than it; on the final window, those chosen on every other window, as for any
segmentation.  The ensemble then takes part in the choice like any candidate
(:mod:`.choice`), ``kind="ensemble"`` in ``selection_``.  Its segments, as reported in
the forecast frame and the mapping, are those of its best clustering member; its
intervals are conformal, from its own backtest residuals per segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem
from .backtest import materialize
from .champions import pool_residuals, segment_model, with_intervals
from .evaluation import Backtests, Evaluation, from_forecasts, groups
from .segmentations import Segmentation

__all__ = [
    "ensemble_candidates",
    "combine_forecasts",
    "parse_ensemble",
    "MEMBER_KINDS",
    "EnsembleMember",
    "produce_ensemble",
    "forecast_members",
    "ensemble_results",
    "assemble",
]

#: The kinds of segmentation an ensemble takes members from (beside the global model).
MEMBER_KINDS = ("clustering", "user")


def parse_ensemble(spec: str) -> int | None:
    """``"top-3"`` -> 3, ``"all"`` -> None; anything else is a typed error."""
    m = re.fullmatch(r"top-(\d+)", str(spec).strip())
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    if str(spec).strip() == "all":
        return None
    raise DataValidationError(
        [
            Problem(
                "bad_parameter",
                "ensembles",
                f"{spec!r} is not an ensemble: use 'top-<m>' (the m "
                "segmentations with the least validation error, with the global model) or 'all'",
            )
        ]
    )


def combine_forecasts(parts: list, method: str = "mean") -> np.ndarray:
    """The mean (or median) of the members' forecasts, ignoring a member's NaN where
    another member has a value.

    >>> combine_forecasts([np.array([1.0, np.nan]), np.array([3.0, 2.0])]).tolist()
    [2.0, 2.0]
    """
    stack = np.stack(parts)
    ok = np.isfinite(stack)
    with np.errstate(all="ignore"):
        if method == "median":
            out = (
                np.nanmedian(np.where(ok, stack, np.nan), axis=0)
                if ok.any()
                else np.full(stack.shape[1:], np.nan)
            )
        else:
            cnt = ok.sum(axis=0)
            out = np.where(
                cnt > 0,
                np.where(ok, stack, 0.0).sum(axis=0) / np.maximum(cnt, 1),
                np.nan,
            )
    return out


def ensemble_candidates(
    backtests: Backtests, segs: list, evals: list, specs, method: str = "mean"
) -> list[tuple[Segmentation, Evaluation]]:
    """The ensembles ``specs`` (e.g. ``("top-3", "all")``) of ``segs``, each with its
    evaluation; an ensemble with fewer than two members, or equal to an earlier one, is
    left out."""
    glob = next((i for i, s in enumerate(segs) if s.kind == "global"), None)
    pool = [
        i
        for i, s in enumerate(segs)
        if s.kind in MEMBER_KINDS and np.isfinite(evals[i].valid_error)
    ]
    pool.sort(key=lambda i: evals[i].valid_error)
    if glob is None or not pool:
        return []
    out, seen = [], set()
    for spec in specs or ():
        m = parse_ensemble(spec)
        chosen = pool if m is None else pool[:m]
        members = tuple([glob] + chosen)
        if len(members) < 2 or members in seen:
            continue
        seen.add(members)
        name = f"ensemble({spec}{', median' if method == 'median' else ''})"
        valid = combine_forecasts([evals[i].valid_forecasts for i in members], method)
        final = combine_forecasts([evals[i].final_forecasts for i in members], method)
        lead = segs[chosen[0]]
        seg = Segmentation(
            name,
            "ensemble",
            lead.labels,
            row=lead.row,
            meta={
                "members": [segs[i].name for i in members],
                "method": method,
                "lead": lead.name,
            },
        )
        out.append((seg, from_forecasts(backtests, lead.labels, valid, final, name)))
    return out


# ----------------------------------------------------------------------------- serving
@dataclass
class EnsembleMember:
    """One segmentation of a chosen ensemble, as served: its segments' models."""

    name: str
    kind: str  # global | clustering | user
    labels: np.ndarray  # a segment per series of the fit (fit order)
    models: dict  # segment -> SegmentModel
    champions: dict  # segment -> spec
    assigner: object = None  # the clustering model that assigns unseen series


def assemble(results: dict, n: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """{segment: (idx, out)} -> forecasts (n, h) and fallbacks (n,) in series order."""
    forecasts = np.full((n, h), np.nan)
    fb = np.zeros(n, dtype=bool)
    for idx, out in results.values():
        forecasts[idx], fb[idx] = out["forecast"], out["fallback"]
    return forecasts, fb


def ensemble_results(
    models: dict,
    labels,
    mean: np.ndarray,
    fallback: np.ndarray,
    histories,
    season_length: int,
    levels,
) -> dict:
    """The ensemble's forecasts ``mean`` (n, h) per segment of ``labels``, with the
    conformal intervals of each segment's model: {segment: (idx, out)};
    ``histories(idx)`` gives the series' values."""
    out = {}
    for g, idx in groups(labels).items():
        lo, hi, method = with_intervals(
            models[g],
            histories(idx),
            season_length,
            mean[idx],
            None,
            fallback[idx],
            levels,
        )
        out[g] = (
            idx,
            {
                "forecast": mean[idx],
                "fallback": fallback[idx],
                "lo": lo,
                "hi": hi,
                "method": method,
            },
        )
    return out


def produce_ensemble(
    job,
    backtests: Backtests,
    segs: list,
    evals: list,
    pooled_results: list,
    at: int,
    combos: list,
    levels,
    sample=None,
):
    """The ensemble ``segs[at]`` fitted and served: each member's champions fitted on
    whole histories (:meth:`FitJob.production`), their forecasts combined, and the
    ensemble's conformal intervals from its own backtest residuals.  Returns
    (leaderboard with a ``member`` column, members, the ensemble's segment models,
    final results {segment: (idx, out)}).  ``sample``: the panel positions the
    backtests ran on (``forecast_sample=``; ``segs`` then label every series)."""
    ens, ev = segs[at], evals[at]
    by_name = {s.name: i for i, s in enumerate(segs)}
    n, h = len(ens.labels), job.horizon
    in_sample = np.arange(n)
    if sample is not None:
        in_sample = np.full(n, -1)
        in_sample[sample] = np.arange(len(sample))
    frames, members, parts, fbs = [], [], [], []
    for name in ens.meta["members"]:
        i = by_name[name]
        s = segs[i]
        lb, champs, models, final = job.production(
            backtests,
            s.labels,
            pooled_results[i],
            combos,
            levels,
            name=f"{s.name} in {ens.name}",
            sample=sample,
        )
        lb.insert(0, "member", name)
        frames.append(lb)
        members.append(
            EnsembleMember(name, s.kind, s.labels, models, champs, s.meta.get("model"))
        )
        forecasts, fb = assemble(final, n, h)
        parts.append(forecasts)
        fbs.append(fb)
    mean = combine_forecasts(parts, ens.meta["method"])
    fallback = np.logical_or.reduce(fbs)
    models = {
        g: segment_model(
            backtests,
            g,
            in_sample[idx][in_sample[idx] >= 0],
            ens.name,
            [m.name for m in members],
            ev.final_forecasts[:, in_sample[idx][in_sample[idx] >= 0]],
            levels,
            job.native,
        )
        for g, idx in groups(ens.labels).items()
    }
    pool_residuals(models, levels)

    def histories(idx):
        return materialize(
            job.source(idx, f"{ens.name} histories"), job.data_spec, keys=idx
        ).values

    final = ensemble_results(
        models,
        ens.labels,
        mean,
        fallback,
        histories,
        job.data_spec.season_length,
        levels,
    )
    return pd.concat(frames, ignore_index=True), members, models, final


def forecast_members(
    members: list, known: dict, n: int, horizon: int, forecast, assign, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Every member's forecasts of ``n`` series, combined: (mean (n, h), fallback (n,)).
    ``known``: id -> fit position of the series seen in fit (others are assigned by
    ``assign(member, positions)``); ``forecast(member, segment, idx)`` returns a
    segment's forecast output."""
    parts, fbs = [], []
    for mem in members:
        labels = np.empty(n, dtype=object)
        unknown = []
        for i, pos in enumerate(known["positions"]):
            if pos is None:
                unknown.append(i)
            else:
                labels[i] = mem.labels[pos]
        if unknown:
            labels[unknown] = assign(mem, unknown)
        forecasts = np.full((n, horizon), np.nan)
        fb = np.zeros(n, dtype=bool)
        for g, idx in groups(labels).items():
            if g not in mem.models:
                raise DataValidationError(
                    [
                        Problem(
                            "unknown_segment",
                            "segment",
                            f"series were assigned to segment {g!r} "
                            f"of ensemble member {mem.name}, which had no series in fit",
                            ids=[known["ids"][i] for i in idx],
                        )
                    ]
                )
            out = forecast(mem, g, idx)
            forecasts[idx], fb[idx] = out["forecast"], out["fallback"]
        parts.append(forecasts)
        fbs.append(fb)
    return combine_forecasts(parts, method), np.logical_or.reduce(fbs)
