"""What a forecaster reads before it backtests: the table with its covariates, the
segments it is given, the seasons, and the candidates."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from .._spec import resolve_specs
from ..data.calendar import season_length_for
from ..data.chunks import load_chunks, parquet_parts
from ..data.panel import Panel
from ..data.reading import is_dask_collection, read_panel, reading_args
from ..errors import DataValidationError, Problem
from .base import ForecastBlueprint
from .catalogue import INTERMITTENT, MODES, make_forecaster
from .covariates import check_covariate_columns
from .segmentations import Segmentation

__all__ = [
    "read_fit_data",
    "base_segmentation",
    "for_segmenter",
    "mostly_zero",
    "seasons_of",
    "candidates_of",
    "segments_from",
    "INTERMITTENT_SHARE",
]

log = logging.getLogger(__name__)

#: A series with at least this share of zeros (among its observed values) is
#: intermittent: with ``intermittent="auto"``, a segment of mostly intermittent series
#: chooses its champion among the intermittent-demand methods.
INTERMITTENT_SHARE = 0.5


def read_fit_data(
    data,
    engine,
    id_col,
    time_col,
    target_col,
    segment_col,
    static_cols,
    future_cols,
    freq,
    missing,
    reading=None,
):
    """The fit data as a Panel (a ChunkedPanel on the workers of a distributed engine),
    the covariate columns checked; a static column that varies gets a hint."""
    kw = dict(
        value_cols=future_cols or None,
        static_cols=static_cols or None,
        freq=freq,
        missing=missing,
        **(reading or {}),
    )
    if isinstance(data, Panel):
        return data
    if engine.distributed and (
        is_dask_collection(data) or parquet_parts(data) is not None
    ):
        if segment_col is not None:
            raise DataValidationError(
                [
                    Problem(
                        "segment_col_on_workers",
                        "segment_col",
                        "segment_col= is not read from "
                        "data that stay on the workers (a Parquet folder or a dask DataFrame); "
                        "give mapping= or segmenter=, or pass a pandas frame",
                    )
                ]
            )
        return load_chunks(engine, data, id_col, time_col, target_col, **kw)
    if isinstance(data, pd.DataFrame) and (static_cols or future_cols):
        problems = check_covariate_columns(
            data.columns,
            static_cols or [],
            future_cols or [],
            [id_col] if isinstance(id_col, str) else list(id_col),
            time_col,
            target_col,
        )
        if problems:
            raise DataValidationError(problems)
    try:
        return read_panel(
            data,
            id_col=id_col,
            time_col=time_col,
            target_col=target_col,
            segment_col=segment_col,
            **kw,
        )
    except DataValidationError as exc:
        if static_cols and "static_conflict" in exc.kinds():
            exc.add_note(
                "a static column must be constant within a series; a column "
                "that varies over time and is known in advance belongs in "
                "future_cols="
            )
        raise


def base_segmentation(panel, mapping, segmenter, ids) -> Segmentation | None:
    """The segments the fit is given: a segment column, a mapping, or a segmenter's
    mapping (series it has not seen assigned by its ``predict``); None when none."""
    if panel.segments is not None and mapping is None and segmenter is None:
        return Segmentation(
            "user column", "user", np.asarray(panel.segments, dtype=object)
        )
    if mapping is None and segmenter is not None:
        mapping = segmenter.mapping_
    if mapping is None:
        return None
    try:
        labels = mapping.segments_of(ids)
    except DataValidationError:
        if segmenter is None:
            raise
        known = set(mapping.ids())
        unknown = [i for i, sid in enumerate(ids) if sid not in known]
        labels = np.empty(len(ids), dtype=object)
        kn = [i for i in range(len(ids)) if i not in set(unknown)]
        labels[kn] = mapping.segments_of([ids[i] for i in kn])
        labels[unknown] = (
            segmenter.predict(for_segmenter(segmenter, panel, unknown))
            .to_frame()["segment"]
            .to_numpy()
        )
        log.info(
            "%d series not in the mapping were assigned by the segmenter", len(unknown)
        )
    meta = mapping.metadata or {}
    by_segmenter = "blueprint" in meta
    name = f"{meta['blueprint']} k={meta.get('n_clusters')}" if by_segmenter else "user"
    return Segmentation(
        name,
        "clustering" if by_segmenter else "user",
        np.array(
            [v.item() if isinstance(v, np.generic) else v for v in labels], dtype=object
        ),
        float(meta.get("score") or math.nan),
        meta.get("leaderboard_row"),
        mapping,
    )


def for_segmenter(segmenter, panel, positions) -> Panel:
    """The series at ``positions`` as the segmenter reads data: its own value and
    static columns, not the forecaster's covariates.  A view of the panel when both
    were read alike (the usual case: the forecaster fitted the segmenter on its panel);
    otherwise the series are read again with the segmenter's reading arguments."""
    sub = (
        panel.subset(positions)
        if isinstance(panel, Panel)
        else panel.engine.result(
            panel.gather(np.asarray(positions), label="gather series")
        )
    )
    args = getattr(segmenter, "data_args_", None)
    if args is None:  # not fitted yet: it reads the target
        return sub.select_columns()
    same = reading_args(sub)
    alike = all(
        same.get(k) == args.get(k)
        for k in ("id_col", "time_col", "target_col", "freq", "missing")
    )
    if alike and set(args["value_cols"]) <= set(sub.value_cols[1:]):
        if set(args["static_cols"]) <= set(sub.static_cols):
            return sub.select_columns(args["value_cols"], args["static_cols"])
    return read_panel(sub.to_frame(), **args)


def mostly_zero(panel) -> bool:
    """Whether some series has at least :data:`INTERMITTENT_SHARE` zeros."""
    with np.errstate(all="ignore"):
        v = panel.values[:, 0]
        ok = ~np.isnan(v)
        z = np.add.reduceat((v == 0) & ok, panel.offsets[:-1]) / np.maximum(
            np.add.reduceat(ok, panel.offsets[:-1]), 1
        )
    return bool((z >= INTERMITTENT_SHARE).any())


def seasons_of(panel, season_length) -> tuple:
    """The season lengths: given, or from the frequency (daily data 7 and 365, hourly
    24 and 168, when the data span two of the longer one)."""
    if season_length is not None:
        s = season_length
        return tuple(int(v) for v in (s if isinstance(s, (list, tuple)) else [s]))
    m = season_length_for(panel.freq)
    if panel.time_kind == "int":
        log.warning(
            "integer time steps carry no calendar: no season is assumed "
            "(season_length=1); pass season_length= (e.g. 12 for monthly data)"
        )
        return (1,)
    extra = {7: (7, 365), 24: (24, 168)}.get(m or 1)
    if extra and panel.span >= 2 * extra[1]:
        return extra
    return (int(m or 1),)


def named_candidates(candidates) -> list[ForecastBlueprint]:
    """The blueprints ``candidates=`` names (a mode, a spec or blueprint, or a list of
    them), each checked against its parameter constraints."""
    bps, _ = resolve_specs(
        candidates,
        MODES,
        make_forecaster,
        ForecastBlueprint,
        "candidate",
        "candidates",
        "ets(damped=False)",
    )
    return bps


def candidate_problems(name: str, value) -> list:
    """The problems of ``candidates=`` (a :class:`~segmenter.base.Check`), so that a fit
    reports them before it reads any data."""
    try:
        named_candidates(value)
    except DataValidationError as exc:
        return exc.problems
    return []


def candidates_of(
    candidates, intermittent, seasons, has_zeros
) -> list[ForecastBlueprint]:
    """The candidate blueprints: the given ones, the seasonal naive baseline, the
    intermittent methods and MSTL when the data call for them."""
    bps = named_candidates(candidates)
    specs = [b.spec for b in bps]
    if "seasonal_naive" not in specs:
        bps.insert(0, make_forecaster("seasonal_naive"))
    extra = []
    if intermittent is True or (intermittent == "auto" and has_zeros):
        extra += INTERMITTENT
    if len(seasons) > 1:
        extra.append("mstl")
    for name in extra:
        if name not in [b.name for b in bps]:
            bps.insert(
                len([b for b in bps if b.kind == "local"]), make_forecaster(name)
            )
    return bps


def segments_from(segmenter, model, panel, pos):
    """The segments a segmenter's leaderboard ``model`` gives the series at ``pos``."""
    return model.predict_features(model.featurize(for_segmenter(segmenter, panel, pos)))
