"""From a long table to the arrays of a :class:`~segmenter.data.panel.Panel`: every
check of the columns, ids, times and values, all problems collected before raising.
:meth:`Panel.from_frame` is the one caller; this module does not import the Panel, so
the two do not import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem
from .timegrid import MAX_GRID_STEPS, row_numbers, time_positions

__all__ = [
    "panel_parts",
    "as_list",
    "id_labels",
    "near_duplicates",
    "MAX_ABS_VALUE",
    "NEAR_DUPLICATE_POLICIES",
]

#: Values larger than this in magnitude are refused (``too_large``): squared and summed
#: in the features and cast to float32 by the models, they would overflow.  Rescale
#: such data (e.g. divide by 1e6) first.
MAX_ABS_VALUE = 1e15

#: What to do with ids that differ only by surrounding whitespace or case.
NEAR_DUPLICATE_POLICIES = ("refuse", "merge", "keep")


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def id_labels(frame: pd.DataFrame) -> list:
    """Series ids of an id frame as given: scalars for one id column, tuples for a
    composite key.

    >>> id_labels(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    [(1, 'x'), (2, 'y')]
    """
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].tolist()
    return list(frame.itertuples(index=False, name=None))


def panel_parts(
    df,
    id_col="unique_id",
    time_col="ds",
    target_col="y",
    value_cols=None,
    static_cols=None,
    segment_col=None,
    freq=None,
    missing="keep",
    dtype=np.float64,
    date_format=None,
    dayfirst=None,
    near_duplicate_ids="refuse",
) -> dict:
    """Validate a long frame and return the Panel's constructor arguments
    (:meth:`Panel.from_frame` documents the parameters); every problem is collected
    before raising."""
    _check_options(df, missing, near_duplicate_ids, dayfirst)
    id_cols = as_list(id_col)
    extra = as_list(value_cols)
    statics = as_list(static_cols)
    _check_columns(df, id_cols, time_col, target_col, extra, statics, segment_col)
    problems: list[Problem] = []
    ids = _series_ids(df, id_cols, near_duplicate_ids, problems)
    tpos, grid, time_dtype, tprobs = time_positions(
        df[time_col], ids.codes, freq, ids.labels_of, date_format, dayfirst
    )
    problems.extend(tprobs)
    vcols, vals = _value_columns(df, target_col, extra, ids, problems)
    _duplicate_rows(tpos, ids, time_col, problems)
    static_values = _per_series_columns(df, statics, segment_col, ids, problems)
    if problems:
        raise DataValidationError(problems)
    layout = _lay_on_grid(ids, tpos, vals, grid, time_col, dtype, missing)
    near = ids.near
    return dict(
        id_cols=id_cols,
        time_col=time_col,
        target_col=target_col,
        value_cols=vcols,
        static_cols=statics,
        ids=ids.frame,
        grid=grid,
        statics=pd.DataFrame(
            {c: static_values[c] for c in statics}, index=pd.RangeIndex(ids.n_series)
        ),
        segments=(
            static_values[segment_col].to_numpy() if segment_col is not None else None
        ),
        segment_col=segment_col,
        n_input_rows=len(df),
        missing_policy=missing,
        time_dtype=time_dtype,
        reading={
            "date_format": date_format,
            "dayfirst": dayfirst,
            "near_duplicate_ids": near_duplicate_ids,
        },
        merged_ids=near if near_duplicate_ids == "merge" else [],
        near_duplicate_ids=near if near_duplicate_ids == "keep" else [],
        **layout,
    )


def _check_options(df, missing, near_duplicate_ids, dayfirst) -> None:
    """The frame's type and the policies, refused before anything is read."""
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            [
                Problem(
                    "not_a_frame",
                    None,
                    f"expected a pandas DataFrame, got {type(df).__name__}; use read_panel() for "
                    "CSV/Parquet paths",
                )
            ]
        )
    if missing not in ("keep", "interpolate", "zero"):
        raise DataValidationError(
            [
                Problem(
                    "bad_parameter",
                    None,
                    f"missing={missing!r} is not a policy; use 'keep', 'interpolate' or 'zero'",
                )
            ]
        )
    if near_duplicate_ids not in NEAR_DUPLICATE_POLICIES:
        raise DataValidationError(
            [
                Problem(
                    "bad_parameter",
                    None,
                    f"near_duplicate_ids={near_duplicate_ids!r} is not a "
                    f"policy; use one of {list(NEAR_DUPLICATE_POLICIES)}",
                )
            ]
        )
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise DataValidationError(
            [
                Problem(
                    "bad_parameter",
                    None,
                    f"dayfirst={dayfirst!r} must be True, False or None",
                )
            ]
        )


def _check_columns(df, id_cols, time_col, target_col, extra, statics, segment_col):
    """Every named column present once, the segment column not the id, some rows."""
    problems: list[Problem] = []
    wanted = id_cols + [time_col, target_col] + extra + statics + as_list(segment_col)
    absent = [c for c in dict.fromkeys(wanted) if c not in df.columns]
    if absent:
        problems.append(
            Problem(
                "missing_columns",
                None,
                f"columns {absent} are not in the frame (it has {list(df.columns)[:20]}); "
                "pass the right names with id_col=, time_col=, target_col=...",
            )
        )
    if segment_col is not None and segment_col in id_cols:
        problems.append(
            Problem(
                "segment_is_id",
                segment_col,
                "the segment-id column is the series-id column (constraint C6); name a "
                "different column that holds the segment of each series",
            )
        )
    if len(df) == 0:
        problems.append(
            Problem("empty", None, "the frame has no rows; pass at least one series")
        )
    cols = pd.Index(df.columns)
    dup = sorted({str(c) for c in cols[cols.duplicated()] if c in set(wanted)})
    if dup:
        problems.append(
            Problem(
                "duplicate_columns",
                None,
                f"columns {dup} appear more than "
                "once in the frame; rename or drop the copies",
            )
        )
    if problems:
        raise DataValidationError(problems)


@dataclass
class _SeriesIds:
    """Each row's series (``codes``, -1 for a missing id), each series' first row and
    id frame, and the near-duplicate groups found."""

    codes: np.ndarray
    valid_row: np.ndarray
    n_series: int
    first_row: np.ndarray
    frame: pd.DataFrame
    near: list

    def labels_of(self, code_array: np.ndarray) -> list:
        """The ids of the series in ``code_array`` (for problem records)."""
        return id_labels(self.frame.iloc[np.unique(code_array[code_array >= 0])])


def _series_ids(df, id_cols, near_duplicate_ids, problems) -> _SeriesIds:
    n_rows = len(df)
    id_frame, near = near_duplicates(df[id_cols], near_duplicate_ids)
    if near and near_duplicate_ids == "refuse":
        problems.append(
            Problem(
                "near_duplicate_ids",
                ",".join(id_cols),
                f"{len(near)} groups of ids differ only by surrounding spaces or case (e.g. "
                f"{near[:3]!r}), so they would be separate series; clean them, or pass "
                "near_duplicate_ids='merge' (--near-duplicate-ids merge: one series under the "
                "first spelling) or 'keep' (they are different series)",
                ids=[i for group in near for i in group],
            )
        )
    null_id = id_frame.isna().any(axis=1).to_numpy()
    if null_id.any():
        problems.append(
            Problem(
                "null_ids",
                ",".join(id_cols),
                f"{int(null_id.sum())} rows have a missing series id; drop them or fill the id",
                rows=row_numbers(null_id),
            )
        )
    if len(id_cols) == 1:
        codes, _ = pd.factorize(id_frame.iloc[:, 0], sort=False, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
    else:
        codes = id_frame.groupby(id_cols, sort=False, dropna=True).ngroup().to_numpy()
        codes = np.where(null_id, -1, codes).astype(np.int64)
    valid_row = codes >= 0
    n_series = int(codes.max()) + 1 if valid_row.any() else 0
    first_row = np.full(n_series, n_rows, dtype=np.int64)
    np.minimum.at(first_row, codes[valid_row], np.flatnonzero(valid_row))
    frame = id_frame.iloc[first_row].reset_index(drop=True)
    return _SeriesIds(codes, valid_row, n_series, first_row, frame, near)


def _value_columns(df, target_col, extra, ids, problems) -> tuple[list, np.ndarray]:
    """The numeric value columns (target first) as one float array, with the rows that
    are not numbers, infinite or too large named."""
    n_rows = len(df)
    labels_of, codes = ids.labels_of, ids.codes
    vcols = [target_col] + [c for c in extra if c != target_col]
    vals = np.empty((n_rows, len(vcols)), dtype=np.float64)
    for j, c in enumerate(vcols):
        col = df[c]
        if pd.api.types.is_bool_dtype(col):
            problems.append(
                Problem(
                    "boolean_target",
                    c,
                    "the column is boolean; clustering and segmented forecasting need a numeric "
                    "regression target (constraint C8); cast it to numbers if that is meant",
                )
            )
            vals[:, j] = col.astype(float).to_numpy()
            continue
        num = pd.to_numeric(col, errors="coerce")
        bad = (num.isna() & col.notna()).to_numpy()
        if bad.any():
            problems.append(
                Problem(
                    "non_numeric",
                    c,
                    f"{int(bad.sum())} values are not numbers (e.g. {col[bad].iloc[:3].tolist()}); "
                    "clean or convert them with pd.to_numeric",
                    ids=labels_of(codes[bad]),
                    rows=row_numbers(bad),
                )
            )
        arr = num.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.isinf(arr)
        if inf.any():
            problems.append(
                Problem(
                    "infinite",
                    c,
                    f"{int(inf.sum())} values are infinite; replace them with NaN "
                    "(missing) or a finite value",
                    ids=labels_of(codes[inf]),
                    rows=row_numbers(inf),
                )
            )
        with np.errstate(invalid="ignore"):
            huge = np.isfinite(arr) & (np.abs(arr) > MAX_ABS_VALUE)
        if huge.any():
            problems.append(
                Problem(
                    "too_large",
                    c,
                    f"{int(huge.sum())} values are larger than {MAX_ABS_VALUE:g} "
                    "in magnitude (the features and models would overflow); rescale the column "
                    "(e.g. divide it by 1e6)",
                    ids=labels_of(codes[huge]),
                    rows=row_numbers(huge),
                )
            )
        vals[:, j] = arr
    return vcols, vals


def _duplicate_rows(tpos, ids, time_col, problems) -> None:
    """Rows that share a (series, time) with another row."""
    if tpos is None:
        return
    n_rows, codes, labels_of = len(ids.codes), ids.codes, ids.labels_of
    valid_row = ids.valid_row
    ok = valid_row & (tpos >= 0)
    key = pd.DataFrame({"c": codes[ok], "t": tpos[ok]})
    dup = np.zeros(n_rows, dtype=bool)
    dup[np.flatnonzero(ok)] = key.duplicated(keep=False).to_numpy()
    if dup.any():
        problems.append(
            Problem(
                "duplicate_rows",
                time_col,
                f"{int(dup.sum())} rows share a (series id, time) with another row; "
                "aggregate them (e.g. df.groupby([id, time]).sum()) or drop the duplicates",
                ids=labels_of(codes[dup]),
                rows=row_numbers(dup),
            )
        )


def _per_series_columns(df, statics, segment_col, ids, problems) -> dict:
    """Static and segment columns: one value per series (its first row's), with the
    series whose rows disagree named."""
    codes, valid_row, labels_of = ids.codes, ids.valid_row, ids.labels_of
    first_row = ids.first_row
    per_series_cols = statics + as_list(segment_col)
    static_values = {}
    for c in per_series_cols:
        col = df[c]
        sub = pd.DataFrame({"c": codes, "v": col}).loc[valid_row]
        nun = sub.groupby("c", sort=True)["v"].nunique(dropna=False)
        conflicted = nun.index[nun.to_numpy() > 1].to_numpy()
        if len(conflicted):
            kind = "segment_not_constant" if c == segment_col else "static_conflict"
            hint = (
                "every row of a series must belong to the same segment (constraint C7)"
                if c == segment_col
                else "a static column must hold one value per series"
            )
            problems.append(
                Problem(
                    kind,
                    c,
                    f"rows of the same series disagree; {hint}",
                    ids=labels_of(conflicted),
                )
            )
        static_values[c] = col.iloc[first_row].reset_index(drop=True)
    if segment_col is not None and segment_col in df.columns:
        null_seg = df[segment_col].isna().to_numpy() & valid_row
        if null_seg.any():
            problems.append(
                Problem(
                    "null_segment",
                    segment_col,
                    "rows have no segment id; give every series a segment",
                    ids=labels_of(codes[null_seg]),
                    rows=row_numbers(null_seg),
                )
            )
    return static_values


def _lay_on_grid(ids, tpos, vals, grid, time_col, dtype, missing) -> dict:
    """Each series' rows laid on its own stretch of the time grid: the value arrays,
    offsets and starts of the Panel, with the missing-value policy applied."""
    codes, n_series, n_rows = ids.codes, ids.n_series, len(ids.codes)
    order = np.lexsort((tpos, codes))
    codes_s, tpos_s = codes[order], tpos[order]
    counts = np.bincount(codes_s, minlength=n_series)
    row_off = np.zeros(n_series + 1, dtype=np.int64)
    np.cumsum(counts, out=row_off[1:])
    start = tpos_s[row_off[:-1]]
    end = tpos_s[row_off[1:] - 1]
    lengths = end - start + 1
    offsets = np.zeros(n_series + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total > MAX_GRID_STEPS and total > 20 * n_rows:
        raise DataValidationError(
            [
                Problem(
                    "grid_too_large",
                    time_col,
                    f"laying the series on the {grid.freq!r} grid would create {total} steps for "
                    f"{n_rows} rows; the frequency is probably too fine: pass freq= explicitly",
                )
            ]
        )
    dest = offsets[codes_s] + (tpos_s - start[codes_s])
    values = np.full((total, vals.shape[1]), np.nan, dtype=dtype)
    values[dest] = vals[order]
    observed = np.zeros(total, dtype=bool)
    observed[dest] = True
    has_value = ~np.isnan(values[:, 0])  # before any filling: real observations
    if missing != "keep":
        _fill_missing(values, offsets, missing)
    return dict(
        offsets=offsets,
        values=np.ascontiguousarray(values),
        observed=observed,
        start=start,
        has_value=has_value,
    )


def near_duplicates(ids: pd.DataFrame, policy: str) -> tuple[pd.DataFrame, list]:
    """The id frame (merged when ``policy`` is "merge": each id under the first spelling
    of its group) and the groups of ids that differ only by surrounding whitespace or
    case, as lists of the spellings found (first seen first)."""
    groups: list = []
    out = ids
    for c in ids.columns:
        col = ids[c]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            continue
        uniq = pd.unique(col.dropna())
        texts = [u for u in uniq if isinstance(u, str)]
        if not texts:
            continue
        keys = pd.Series(texts).str.strip().str.casefold()
        dup = keys.duplicated(keep=False).to_numpy()
        if not dup.any():
            continue
        by_key: dict = {}
        for t, k in zip(np.asarray(texts, dtype=object)[dup], keys[dup]):
            by_key.setdefault(k, []).append(t)
        groups.extend(by_key.values())
        if policy == "merge":
            first = {
                t: spellings[0] for spellings in by_key.values() for t in spellings
            }
            out = out.copy() if out is ids else out
            out[c] = col.map(
                lambda v, first=first: first.get(v, v) if isinstance(v, str) else v
            )
    return out, groups


def _fill_missing(values: np.ndarray, offsets: np.ndarray, how: str) -> None:
    if how == "zero":
        np.nan_to_num(values, copy=False, nan=0.0)
        return
    for j in range(values.shape[1]):
        for i in range(len(offsets) - 1):
            seg = values[offsets[i] : offsets[i + 1], j]
            nan = np.isnan(seg)
            if nan.any() and not nan.all():
                x = np.arange(len(seg))
                seg[nan] = np.interp(x[nan], x[~nan], seg[~nan])
