"""The validated, in-memory multiseries table.

A :class:`Panel` is built from a long table (one row per series id and time step) and
holds it in the form the rest of the library computes on: series in first-seen order,
their values in one contiguous array with ``offsets`` marking where each series starts,
every series laid on a regular grid of time steps.

Policies (documented once, here):

* **Gaps** -- time steps missing from a series between its first and last observation
  are *kept* as missing steps on the regular grid: the panel inserts them with NaN values
  and counts them (``Panel.n_gap_steps``).  Nothing is interpolated at this stage; each
  featurizer states how it treats NaN.
* **Missing target values** -- NaN/None targets in the input are kept as NaN
  (``missing="keep"``, the default), or filled: ``"interpolate"`` (linear in time within
  the series, ends filled with the nearest value) or ``"zero"`` (e.g. for demand data
  where no row means no sale).  Filling applies to gap steps too.
* **Entirely missing series** -- a series whose target is missing at every step is kept
  in the panel and listed in ``Panel.all_missing_ids``; it is never dropped silently.
* **Off-grid timestamps** -- a timestamp that does not fall on the (inferred or given)
  frequency grid is an error naming the series; resample the data first, or pass the
  right ``freq``.

Word of caution: in sktime and aeon "segmentation" means cutting *one* series at change
points. In segmenter it always means grouping *many* series.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem

__all__ = ["Panel", "read_panel", "read_table", "combine_fingerprint", "id_labels",
           "reading_args"]

_MAX_GRID_STEPS = 50_000_000


def _as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _row_numbers(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask).tolist()


def id_labels(frame: pd.DataFrame) -> list:
    """Series ids of an id frame as given: scalars for one id column, tuples for a
    composite key.

    >>> id_labels(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    [(1, 'x'), (2, 'y')]
    """
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].tolist()
    return list(frame.itertuples(index=False, name=None))


def is_integer_times(col: pd.Series) -> bool:
    """Whether a time column holds integer steps (ints, or floats that are all whole)."""
    if pd.api.types.is_integer_dtype(col):
        return True
    return bool(pd.api.types.is_float_dtype(col) and col.notna().any()
                and np.all(np.mod(col.dropna().to_numpy(), 1) == 0))


def integer_step(rel: np.ndarray) -> int:
    """The gcd of the positive offsets ``rel`` from the first time (0 when none)."""
    rel = rel[rel > 0]
    return int(np.gcd.reduce(rel.astype(np.int64))) if len(rel) else 0


def naive_times(ts: pd.Series) -> tuple[pd.Series, str]:
    """Aware datetimes as naive ones, and how: all at local midnight (daily or coarser)
    keeps the wall time, so the calendar grid stays (``"wall"``); otherwise UTC, which
    has no daylight-saving jumps (``"utc"``).  Naive times are returned as they are."""
    if getattr(ts.dtype, "tz", None) is None:
        return ts, "wall"
    local = ts.dropna()
    if len(local) and bool((local.dt.normalize() == local).all()):
        return ts.dt.tz_localize(None), "wall"
    return ts.dt.tz_convert("UTC").dt.tz_localize(None), "utc"


@dataclass(frozen=True)
class _Grid:
    """Maps integer step positions to time labels.

    ``kind`` is ``"datetime"`` (``freq`` a pandas offset alias, ``origin`` a Timestamp),
    ``"period"`` (``origin`` a Period) or ``"int"`` (``origin`` an int, ``freq`` the step).
    """

    kind: str
    freq: Any
    origin: Any
    tz_mode: str = "wall"

    def labels(self, positions: np.ndarray):
        positions = np.asarray(positions, dtype=np.int64)
        if self.kind == "int":
            return self.origin + positions * int(self.freq)
        if self.kind == "period":
            return pd.PeriodIndex.from_ordinals(self.origin.ordinal + positions,
                                                freq=self.origin.freq)
        n = int(positions.max()) + 1 if positions.size else 0
        rng = pd.date_range(self.origin, periods=max(n, 1), freq=self.freq)
        return rng[positions]


class Panel:
    """A validated multiseries table: series ids, their times on a regular grid, values.

    Build it with :meth:`Panel.from_frame` or :func:`read_panel` (which also takes CSV and
    Parquet paths); the constructor is internal.

    Attributes
    ----------
    id_cols : list of str
        The series-id column(s); several columns form a composite key.
    time_col, target_col : str
        The time and target column names.
    value_cols : list of str
        Target first, then any extra numeric value columns (multi-feature clustering).
    static_cols : list of str
        Columns constant within a series (e.g. region, product family).
    ids : pandas.DataFrame
        One row per series, in first-seen order, holding the id column(s) with their
        original dtypes.  Row ``i`` is series ``i`` everywhere in the library.
    offsets : ndarray of int64, shape (n_series + 1,)
        Series ``i`` occupies rows ``offsets[i]:offsets[i+1]`` of ``values``.
    values : ndarray, shape (n_steps_total, n_value_cols)
        All values on the regular grid, C-contiguous, float64 (or float32 on request).
    observed : ndarray of bool, shape (n_steps_total,)
        True where a row existed in the input (False for inserted gap steps).
    start : ndarray of int64, shape (n_series,)
        Grid position of each series' first step.
    freq : str or int
        The frequency: a pandas offset alias, or the integer step for integer times.
    statics : pandas.DataFrame
        Static columns, one row per series (same order as ``ids``).
    segments : ndarray or None
        The user's segment id per series when ``segment_col`` was given.
    """

    def __init__(self, *, id_cols, time_col, target_col, value_cols, static_cols, ids,
                 offsets, values, observed, start, grid, statics, segments, segment_col,
                 n_input_rows, missing_policy, time_dtype, has_value=None):
        self.id_cols = id_cols
        self.time_col = time_col
        self.target_col = target_col
        self.value_cols = value_cols
        self.static_cols = static_cols
        self.ids = ids
        self.offsets = offsets
        self.values = values
        self.observed = observed
        self.start = start
        self._grid = grid
        self.statics = statics
        self.segments = segments
        self.segment_col = segment_col
        self.n_input_rows = n_input_rows
        self.missing_policy = missing_policy
        self._time_dtype = time_dtype
        self.has_value = ~np.isnan(values[:, 0]) if has_value is None else has_value

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        id_col: str | Sequence[str] = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        *,
        value_cols: Sequence[str] | None = None,
        static_cols: Sequence[str] | None = None,
        segment_col: str | None = None,
        freq: str | int | None = None,
        missing: str = "keep",
        dtype: Any = np.float64,
    ) -> "Panel":
        """Validate a long frame and build a panel from it.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per (series id, time).  It is never modified.
        id_col : str or list of str, default "unique_id"
            Series-id column, or several columns forming a composite key.
        time_col : str, default "ds"
            Datetimes, pandas Periods, strings parseable as datetimes, or integer steps.
        target_col : str, default "y"
            The numeric clustering / forecasting variable.
        value_cols : list of str, optional
            Extra numeric columns used as additional clustering variables.
        static_cols : list of str, optional
            Columns that must be constant within each series (kept per series).
        segment_col : str, optional
            A user-defined segment id per series; must differ from the id column and be
            constant within each series (constraints C6, C7).
        freq : str or int, optional
            Frequency alias (``"MS"``, ``"QS"``, ``"D"``...) or integer step. Inferred
            when omitted.
        missing : {"keep", "interpolate", "zero"}, default "keep"
            Policy for missing target values and gap steps (see the module docstring).
        dtype : numpy dtype, default float64
            Storage type of the values (``np.float32`` halves the memory).

        Raises
        ------
        DataValidationError
            Listing every problem found (columns, ids, rows), not only the first.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": [1, 2, 1, 3],
        ...                    "y": [1.0, 2.0, 5.0, 7.0]})
        >>> p = Panel.from_frame(df)
        >>> p.n_series, p.n_gap_steps, p.lengths.tolist()
        (2, 1, [2, 3])
        """
        return _build(df, id_col, time_col, target_col, value_cols, static_cols, segment_col,
                      freq, missing, dtype)

    # ------------------------------------------------------------------ properties
    @property
    def n_series(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Number of grid steps of each series (gaps included)."""
        return np.diff(self.offsets)

    @property
    def freq(self):
        return self._grid.freq

    @property
    def grid(self):
        """The time grid: maps integer step positions to time labels (``grid.labels``)."""
        return self._grid

    @property
    def time_kind(self) -> str:
        """``"datetime"``, ``"period"`` or ``"int"``."""
        return self._grid.kind

    @property
    def target(self) -> np.ndarray:
        """The target column of ``values`` (a view)."""
        return self.values[:, 0]

    @property
    def n_gap_steps(self) -> int:
        return int((~self.observed).sum())

    @property
    def n_observed(self) -> np.ndarray:
        """Observed (non-missing in the input, before any filling) target values per series."""
        ok = self.has_value
        return np.add.reduceat(ok.astype(np.int64), self.offsets[:-1]) if len(ok) else \
            np.zeros(self.n_series, dtype=np.int64)

    @property
    def all_missing_ids(self) -> list:
        """Ids of series whose target is missing at every step."""
        return self.id_labels(np.flatnonzero(self.n_observed == 0))

    @property
    def span(self) -> int:
        """Number of grid steps from the earliest start to the latest end over all series."""
        ends = self.start + self.lengths
        return int(ends.max() - self.start.min()) if self.n_series else 0

    # ------------------------------------------------------------------ access
    def id_labels(self, index: Iterable[int] | None = None) -> list:
        """Series ids as given by the user (scalars, or tuples for composite ids)."""
        frame = self.ids if index is None else self.ids.iloc[np.asarray(list(index), dtype=int)]
        return id_labels(frame)

    def series(self, i: int, column: int = 0) -> np.ndarray:
        """Values of series ``i`` (a view into ``values``)."""
        return self.values[self.offsets[i]:self.offsets[i + 1], column]

    def times(self, i: int):
        """Time labels of series ``i`` on the grid, in the input's time type."""
        pos = self.start[i] + np.arange(self.lengths[i])
        return self._grid.labels(pos)

    def subset(self, index: Sequence[int]) -> "Panel":
        """A new panel holding the series at positions ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        rows = _ranges(self.offsets[:-1][index], lengths)
        return Panel(
            id_cols=self.id_cols, time_col=self.time_col, target_col=self.target_col,
            value_cols=self.value_cols, static_cols=self.static_cols,
            ids=self.ids.iloc[index].reset_index(drop=True), offsets=offsets,
            values=np.ascontiguousarray(self.values[rows]), observed=self.observed[rows],
            start=self.start[index], grid=self._grid,
            statics=self.statics.iloc[index].reset_index(drop=True),
            segments=None if self.segments is None else self.segments[index],
            segment_col=self.segment_col, n_input_rows=int(self.observed[rows].sum()),
            missing_policy=self.missing_policy, time_dtype=self._time_dtype,
            has_value=self.has_value[rows])

    def to_frame(self, include_gaps: bool = False) -> pd.DataFrame:
        """Back to a long frame: ids as given, times in the input's type, values.

        Rows are grouped by series in first-seen order and sorted by time within each
        series.  Inserted gap steps are left out unless ``include_gaps=True``.
        """
        keep = slice(None) if include_gaps else self.observed
        series_of_row = np.repeat(np.arange(self.n_series), self.lengths)
        pos = self.start[series_of_row] + (np.arange(len(series_of_row)) -
                                           self.offsets[:-1][series_of_row])
        out = self.ids.iloc[series_of_row[keep]].reset_index(drop=True)
        out[self.time_col] = self.time_labels(pos[keep])
        for j, c in enumerate(self.value_cols):
            out[c] = self.values[keep, j]
        if self.segment_col is not None:
            out[self.segment_col] = self.segments[series_of_row[keep]]
        for c in self.static_cols:
            out[c] = self.statics[c].to_numpy()[series_of_row[keep]]
        return out

    def fingerprint(self) -> str:
        """SHA-256 of the ids, grid positions, frequency and values (hex).

        Equal for the same data however it was read (row order, file format, one frame
        or chunks on a cluster); any change of an id, a time or a value changes it.
        Built from per-series digests (:meth:`series_digests`), so chunks of series
        combine to the same fingerprint (:func:`combine_fingerprint`).
        """
        return combine_fingerprint(self.ids, self.start, self.series_digests(), self.freq,
                                   self.time_kind, self.value_cols, self._grid.origin)

    def series_digests(self) -> np.ndarray:
        """A 64-bit digest per series of its length, observed flags and values (in
        order); the same series gives the same digest in any panel."""
        if self.n_series == 0:
            return np.zeros(0, dtype=np.uint64)
        from pandas.util import hash_array
        vals = np.ascontiguousarray(self.values, dtype=np.float64)
        row = hash_array(self.observed.astype(np.uint64))
        for j in range(vals.shape[1]):
            row = hash_array(row ^ hash_array(vals[:, j].view(np.uint64)) ^
                             np.uint64(j + 1))
        series_of_row = np.repeat(np.arange(self.n_series), self.lengths)
        within = np.arange(len(row), dtype=np.uint64) - \
            self.offsets[:-1][series_of_row].astype(np.uint64)
        row = hash_array(row ^ (within * np.uint64(0x9E3779B97F4A7C15)))
        return np.add.reduceat(row, self.offsets[:-1]) ^ \
            hash_array(self.lengths.astype(np.uint64))

    # ------------------------------------------------------------------ chunks
    @classmethod
    def concat(cls, panels: Sequence["Panel"]) -> "Panel":
        """One panel holding the series of ``panels`` in order (same grid and columns;
        see :meth:`rebase`)."""
        first = panels[0]
        for p in panels[1:]:
            if p._grid != first._grid or p.value_cols != first.value_cols or \
                    p.id_cols != first.id_cols:
                raise DataValidationError([Problem(
                    "concat_mismatch", None, "panels to concatenate must share the time "
                    f"grid and columns; got {p._grid} / {p.value_cols} and {first._grid} / "
                    f"{first.value_cols} (rebase them onto one origin first)")])
        lengths = np.concatenate([p.lengths for p in panels])
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        segs = None if first.segments is None else np.concatenate([p.segments for p in panels])
        return Panel(
            id_cols=first.id_cols, time_col=first.time_col, target_col=first.target_col,
            value_cols=first.value_cols, static_cols=first.static_cols,
            ids=pd.concat([p.ids for p in panels], ignore_index=True), offsets=offsets,
            values=np.ascontiguousarray(np.concatenate([p.values for p in panels])),
            observed=np.concatenate([p.observed for p in panels]),
            start=np.concatenate([p.start for p in panels]), grid=first._grid,
            statics=pd.concat([p.statics for p in panels], ignore_index=True),
            segments=segs, segment_col=first.segment_col,
            n_input_rows=sum(p.n_input_rows for p in panels),
            missing_policy=first.missing_policy, time_dtype=first._time_dtype,
            has_value=np.concatenate([p.has_value for p in panels]))

    @property
    def origin(self):
        """Time of grid position 0 (the earliest time of the data it was built from)."""
        return self._grid.origin

    def steps_from(self, origin) -> int:
        """Grid steps from ``origin`` (an earlier time on this grid) to this panel's."""
        g = self._grid
        return grid_steps(g.kind, g.freq, origin, g.origin)

    def rebase(self, origin) -> "Panel":
        """The same series on a grid starting at ``origin`` (an earlier time on the
        grid): only ``start`` and the grid change."""
        shift = self.steps_from(origin)
        if shift == 0:
            return self
        import copy
        out = copy.copy(self)
        out.start = self.start + shift
        out._grid = _Grid(self._grid.kind, self._grid.freq, origin, self._grid.tz_mode)
        return out

    def end_positions(self) -> np.ndarray:
        """Grid position right after each series' last step (where forecasts start)."""
        return self.start + self.lengths

    def time_labels(self, positions):
        """Times of grid ``positions`` in the input's time type (dtype and time zone);
        positions past the data (forecast steps) are fine."""
        times = self._grid.labels(np.asarray(positions, dtype=np.int64))
        if self._grid.kind == "int":
            return pd.array(np.asarray(times), dtype=self._time_dtype)
        if self._grid.kind == "datetime":
            idx = pd.DatetimeIndex(times)
            tz = getattr(self._time_dtype, "tz", None)
            if tz is not None:
                idx = (idx.tz_localize("UTC").tz_convert(tz) if self._grid.tz_mode == "utc"
                       else idx.tz_localize(tz))
            if self._time_dtype is not None:
                idx = idx.astype(self._time_dtype)
            return idx
        return times

    # ------------------------------------------------------------------ reporting
    def summary(self) -> dict:
        """A plain-dict data summary: counts, lengths, frequency, span, missing values."""
        lengths = self.lengths
        nobs = self.n_observed
        return {
            "series": self.n_series,
            "input rows": self.n_input_rows,
            "frequency": self.freq,
            "time type": self.time_kind,
            "first time": str(self._grid.labels(np.array([self.start.min()]))[0]) if self.n_series else None,
            "last time": str(self._grid.labels(np.array([(self.start + lengths).max() - 1]))[0]) if self.n_series else None,
            "span (steps)": self.span,
            "length min/median/max": (int(lengths.min()), float(np.median(lengths)), int(lengths.max())) if self.n_series else None,
            "gap steps inserted": self.n_gap_steps,
            "missing target values": int((~self.has_value & self.observed).sum()),
            "missing policy": self.missing_policy,
            "series entirely missing": len(self.all_missing_ids),
            "observed values min/median/max": (int(nobs.min()), float(np.median(nobs)), int(nobs.max())) if self.n_series else None,
            "value columns": list(self.value_cols),
            "static columns": list(self.static_cols),
        }

    def summary_text(self) -> str:
        lines = ["Data summary"]
        for k, v in self.summary().items():
            lines.append(f"  {k:<32}{v}")
        if self.all_missing_ids:
            from ..errors import format_examples
            lines.append(f"  entirely missing: {format_examples(self.all_missing_ids)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Panel(n_series={self.n_series}, rows={len(self.values)}, freq={self.freq!r}, "
                f"value_cols={self.value_cols})")


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s+l)`` for each pair without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    reps = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total, dtype=np.int64) + reps


# ---------------------------------------------------------------------------- building
def _build(df, id_col, time_col, target_col, value_cols, static_cols, segment_col, freq,
           missing, dtype) -> Panel:
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError([Problem(
            "not_a_frame", None,
            f"expected a pandas DataFrame, got {type(df).__name__}; use read_panel() for "
            "CSV/Parquet paths")])
    if missing not in ("keep", "interpolate", "zero"):
        raise DataValidationError([Problem(
            "bad_parameter", None,
            f"missing={missing!r} is not a policy; use 'keep', 'interpolate' or 'zero'")])
    id_cols = _as_list(id_col)
    extra = _as_list(value_cols)
    statics = _as_list(static_cols)
    problems: list[Problem] = []

    # --- columns present? ---------------------------------------------------------
    wanted = id_cols + [time_col, target_col] + extra + statics + _as_list(segment_col)
    absent = [c for c in dict.fromkeys(wanted) if c not in df.columns]
    if absent:
        problems.append(Problem(
            "missing_columns", None,
            f"columns {absent} are not in the frame (it has {list(df.columns)[:20]}); "
            "pass the right names with id_col=, time_col=, target_col=..."))
    if segment_col is not None and segment_col in id_cols:
        problems.append(Problem(
            "segment_is_id", segment_col,
            "the segment-id column is the series-id column (constraint C6); name a "
            "different column that holds the segment of each series"))
    if len(df) == 0:
        problems.append(Problem("empty", None, "the frame has no rows; pass at least one "
                                "series"))
    cols = pd.Index(df.columns)
    dup = sorted({str(c) for c in cols[cols.duplicated()] if c in set(wanted)})
    if dup:
        problems.append(Problem("duplicate_columns", None, f"columns {dup} appear more than "
                                "once in the frame; rename or drop the copies"))
    if problems:
        raise DataValidationError(problems)

    n_rows = len(df)
    # --- ids ----------------------------------------------------------------------
    id_frame = df[id_cols]
    null_id = id_frame.isna().any(axis=1).to_numpy()
    if null_id.any():
        problems.append(Problem(
            "null_ids", ",".join(id_cols),
            f"{int(null_id.sum())} rows have a missing series id; drop them or fill the id",
            rows=_row_numbers(null_id)))
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
    ids = id_frame.iloc[first_row].reset_index(drop=True)

    def labels_of(code_array: np.ndarray) -> list:
        return id_labels(ids.iloc[np.unique(code_array[code_array >= 0])])

    # --- times --------------------------------------------------------------------
    tpos, grid, time_dtype, tprobs = _time_positions(df[time_col], codes, freq, labels_of)
    problems.extend(tprobs)

    # --- values -------------------------------------------------------------------
    vcols = [target_col] + [c for c in extra if c != target_col]
    vals = np.empty((n_rows, len(vcols)), dtype=np.float64)
    for j, c in enumerate(vcols):
        col = df[c]
        if pd.api.types.is_bool_dtype(col):
            problems.append(Problem(
                "boolean_target", c,
                "the column is boolean; clustering and segmented forecasting need a numeric "
                "regression target (constraint C8); cast it to numbers if that is meant"))
            vals[:, j] = col.astype(float).to_numpy()
            continue
        num = pd.to_numeric(col, errors="coerce")
        bad = (num.isna() & col.notna()).to_numpy()
        if bad.any():
            problems.append(Problem(
                "non_numeric", c,
                f"{int(bad.sum())} values are not numbers (e.g. {col[bad].iloc[:3].tolist()}); "
                "clean or convert them with pd.to_numeric", ids=labels_of(codes[bad]),
                rows=_row_numbers(bad)))
        arr = num.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.isinf(arr)
        if inf.any():
            problems.append(Problem(
                "infinite", c, f"{int(inf.sum())} values are infinite; replace them with NaN "
                "(missing) or a finite value", ids=labels_of(codes[inf]), rows=_row_numbers(inf)))
        vals[:, j] = arr

    # --- duplicates ---------------------------------------------------------------
    if tpos is not None:
        ok = valid_row & (tpos >= 0)
        key = pd.DataFrame({"c": codes[ok], "t": tpos[ok]})
        dup = np.zeros(n_rows, dtype=bool)
        dup[np.flatnonzero(ok)] = key.duplicated(keep=False).to_numpy()
        if dup.any():
            problems.append(Problem(
                "duplicate_rows", time_col,
                f"{int(dup.sum())} rows share a (series id, time) with another row; "
                "aggregate them (e.g. df.groupby([id, time]).sum()) or drop the duplicates",
                ids=labels_of(codes[dup]), rows=_row_numbers(dup)))

    # --- static and segment columns -------------------------------------------------
    per_series_cols = statics + _as_list(segment_col)
    static_values = {}
    for c in per_series_cols:
        col = df[c]
        sub = pd.DataFrame({"c": codes, "v": col}).loc[valid_row]
        nun = sub.groupby("c", sort=True)["v"].nunique(dropna=False)
        conflicted = nun.index[nun.to_numpy() > 1].to_numpy()
        if len(conflicted):
            kind = "segment_not_constant" if c == segment_col else "static_conflict"
            hint = ("every row of a series must belong to the same segment (constraint C7)"
                    if c == segment_col else "a static column must hold one value per series")
            problems.append(Problem(kind, c, f"rows of the same series disagree; {hint}",
                                    ids=labels_of(conflicted)))
        static_values[c] = col.iloc[first_row].reset_index(drop=True)
    if segment_col is not None and segment_col in df.columns:
        null_seg = df[segment_col].isna().to_numpy() & valid_row
        if null_seg.any():
            problems.append(Problem("null_segment", segment_col,
                                    "rows have no segment id; give every series a segment",
                                    ids=labels_of(codes[null_seg]), rows=_row_numbers(null_seg)))

    if problems:
        raise DataValidationError(problems)

    # --- lay series on the grid -------------------------------------------------------
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
    if total > _MAX_GRID_STEPS and total > 20 * n_rows:
        raise DataValidationError([Problem(
            "grid_too_large", time_col,
            f"laying the series on the {grid.freq!r} grid would create {total} steps for "
            f"{n_rows} rows; the frequency is probably too fine: pass freq= explicitly")])
    dest = offsets[codes_s] + (tpos_s - start[codes_s])
    values = np.full((total, len(vcols)), np.nan, dtype=dtype)
    values[dest] = vals[order]
    observed = np.zeros(total, dtype=bool)
    observed[dest] = True
    has_value = ~np.isnan(values[:, 0])      # before any filling: real observations
    if missing != "keep":
        _fill_missing(values, offsets, missing)

    statics_frame = pd.DataFrame({c: static_values[c] for c in statics}, index=pd.RangeIndex(n_series))
    segments = static_values[segment_col].to_numpy() if segment_col is not None else None
    return Panel(id_cols=id_cols, time_col=time_col, target_col=target_col, value_cols=vcols,
                 static_cols=statics, ids=ids, offsets=offsets,
                 values=np.ascontiguousarray(values), observed=observed, start=start,
                 grid=grid, statics=statics_frame, segments=segments, segment_col=segment_col,
                 n_input_rows=n_rows, missing_policy=missing, time_dtype=time_dtype,
                 has_value=has_value)


def _fill_missing(values: np.ndarray, offsets: np.ndarray, how: str) -> None:
    if how == "zero":
        np.nan_to_num(values, copy=False, nan=0.0)
        return
    for j in range(values.shape[1]):
        for i in range(len(offsets) - 1):
            seg = values[offsets[i]:offsets[i + 1], j]
            nan = np.isnan(seg)
            if nan.any() and not nan.all():
                x = np.arange(len(seg))
                seg[nan] = np.interp(x[nan], x[~nan], seg[~nan])


def _time_positions(col: pd.Series, codes: np.ndarray, freq, labels_of):
    """Map the time column to integer grid positions.

    Returns ``(positions or None, grid, time_dtype, problems)``.
    """
    problems: list[Problem] = []
    name = col.name
    valid = codes >= 0
    null_t = col.isna().to_numpy()
    if null_t.any():
        problems.append(Problem("null_times", name, f"{int(null_t.sum())} rows have no time; "
                                "drop or fill them", ids=labels_of(codes[null_t]),
                                rows=_row_numbers(null_t)))
    # numbers that are not whole: not a time axis we can lay on a grid
    if pd.api.types.is_float_dtype(col) and not null_t.all():
        frac = ~null_t & (np.mod(col.to_numpy(dtype=np.float64, na_value=0.0), 1) != 0)
        if frac.any():
            problems.append(Problem(
                "fractional_times", name, f"{int(frac.sum())} numeric times are not whole "
                "steps; use integer steps or datetimes", ids=labels_of(codes[frac]),
                rows=_row_numbers(frac)))
            return None, _Grid("int", 1, 0), None, problems
    # integer steps ------------------------------------------------------------------
    if is_integer_times(col):
        t = col.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = valid & ~null_t
        ti = np.where(ok, t, 0).astype(np.int64)
        origin = int(ti[ok].min()) if ok.any() else 0
        step = freq if isinstance(freq, (int, np.integer)) else _infer_int_step(ti[ok] - origin)
        rel = ti - origin
        off = ok & (rel % step != 0)
        if off.any():
            problems.append(Problem(
                "off_grid", name, f"{int(off.sum())} integer times are not multiples of the "
                f"step {step} from the first time {origin}; pass freq= with the right step",
                ids=labels_of(codes[off]), rows=_row_numbers(off)))
        pos = np.where(ok, rel // step, -1)
        dtype = col.dtype if pd.api.types.is_integer_dtype(col) else np.dtype("int64")
        return pos, _Grid("int", int(step), origin), dtype, problems
    # periods -------------------------------------------------------------------------
    if isinstance(col.dtype, pd.PeriodDtype):
        ords = col.array.asi8.copy()
        ok = valid & ~null_t
        origin_ord = int(ords[ok].min()) if ok.any() else 0
        pos = np.where(ok, ords - origin_ord, -1)
        return pos, _Grid("period", col.dtype.freq.freqstr,
                          pd.Period._from_ordinal(origin_ord, col.dtype.freq)), None, problems
    # datetimes (or strings) -------------------------------------------------------------
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col
    else:
        obj = col.astype(object)
        tzs = {getattr(v, "tzinfo", None) is not None for v in obj.dropna().iloc[:10000]
               if isinstance(v, pd.Timestamp) or hasattr(v, "tzinfo")}
        try:
            with warnings.catch_warnings():
                # pandas 2.x warns (and returns objects) where pandas 3 raises
                warnings.filterwarnings("error", ".*mixed time zones.*", FutureWarning)
                ts = pd.to_datetime(col, errors="coerce", format="mixed")
        except (ValueError, TypeError, FutureWarning) as exc:
            text = str(exc).lower()
            if "tz" in text or "offset" in text or "zone" in text or len(tzs) > 1:
                problems.append(Problem("mixed_timezones", name,
                                        "times mix time zones (or aware and naive values); "
                                        "convert them all to one zone, e.g. with "
                                        "pd.to_datetime(..., utc=True)"))
                return None, _Grid("datetime", freq, None), None, problems
            ts = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
            problems.append(Problem("bad_times", name, f"times could not be parsed ({exc})"))
        bad = (ts.isna() & col.notna()).to_numpy()
        if bad.any():
            problems.append(Problem(
                "unparseable_times", name, f"{int(bad.sum())} times could not be parsed as "
                f"dates (e.g. {col[bad].iloc[:3].tolist()}); fix them or pass integer steps",
                ids=labels_of(codes[bad]), rows=_row_numbers(bad)))
    tz = ts.dtype
    ts, tz_mode = naive_times(ts)
    ok = valid & ts.notna().to_numpy()
    if not ok.any():
        return None, _Grid("datetime", freq, None), tz, problems
    ns = ts.to_numpy(dtype="datetime64[ns]")
    if freq is None:
        freq = _infer_datetime_freq(ns[ok], codes[ok])
        if freq is None:
            problems.append(Problem(
                "unknown_frequency", name, "the frequency could not be inferred from the "
                "times (too few or irregular steps); pass freq= (e.g. 'D', 'W-SUN', 'MS', "
                "'QS', 'YS') or use integer time steps"))
            return None, _Grid("datetime", None, None), tz, problems
    tmin, tmax = ns[ok].min(), ns[ok].max()
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        problems.append(Problem("bad_frequency", name, f"freq={freq!r} is not a pandas "
                                "frequency alias"))
        return None, _Grid("datetime", freq, None), tz, problems
    origin = pd.Timestamp(tmin)
    if not offset.is_on_offset(origin):
        problems.append(Problem("off_grid", name, f"the first time {origin} is not on the "
                                f"frequency {freq!r}; pass the matching freq="))
        return None, _Grid("datetime", freq, origin), tz, problems
    n_steps_est = _estimate_steps(origin, pd.Timestamp(tmax), offset)
    if n_steps_est > _MAX_GRID_STEPS:
        problems.append(Problem("grid_too_large", name, f"the {freq!r} grid from {origin} to "
                                f"{pd.Timestamp(tmax)} has over {_MAX_GRID_STEPS} steps; pass "
                                "a coarser freq="))
        return None, _Grid("datetime", freq, origin), tz, problems
    grid_index = pd.date_range(origin, pd.Timestamp(tmax), freq=offset)
    gi = grid_index.asi8 if grid_index.dtype == "datetime64[ns]" else \
        grid_index.as_unit("ns").asi8
    t64 = ns.astype(np.int64)
    pos = np.searchsorted(gi, t64)
    pos_c = np.minimum(pos, len(gi) - 1)
    off = ok & (gi[pos_c] != t64)
    if off.any():
        problems.append(Problem(
            "off_grid", name, f"{int(off.sum())} times do not fall on the {freq!r} grid; "
            "resample the series to a regular frequency first or pass the right freq=",
            ids=labels_of(codes[off]), rows=_row_numbers(off)))
    pos = np.where(ok & ~off, pos, -1)
    return pos, _Grid("datetime", offset.freqstr, origin, tz_mode), tz, problems


def _estimate_steps(t0: pd.Timestamp, t1: pd.Timestamp, offset) -> int:
    try:
        nanos = pd.Timedelta(offset).value
    except (ValueError, TypeError):
        nanos = 28 * 86400 * 10**9  # calendar offsets: at least ~a month apart
    return int((t1 - t0).value // max(nanos, 1)) + 1


def _infer_int_step(rel: np.ndarray) -> int:
    """The largest step that puts every time (relative to the first) on the grid."""
    return integer_step(rel) or 1


def _infer_datetime_freq(ns: np.ndarray, codes: np.ndarray) -> str | None:
    """Infer a frequency alias from the longest few series, by majority."""
    votes = _freq_votes(ns, codes)
    if not votes:
        return _freq_of_all_times(ns)
    return votes.most_common(1)[0][0]


def grid_steps(kind: str, freq, origin, time) -> int:
    """Steps of ``freq`` from ``origin`` to ``time`` (an int, period or timestamp grid of
    kind ``kind``); ValueError when ``time`` is not on the grid starting at ``origin``."""
    if kind == "int":
        diff = int(time) - int(origin)
        if diff % int(freq):
            raise ValueError(f"{time} is not on the grid of step {freq} from {origin}")
        return diff // int(freq)
    if kind == "period":
        return int(time.ordinal - origin.ordinal)
    rng = pd.date_range(origin, time, freq=freq)
    if not len(rng) or rng[-1] != time:
        raise ValueError(f"{time} is not on the {freq!r} grid starting at {origin}")
    return len(rng) - 1


def _freq_of_all_times(ns: np.ndarray) -> str | None:
    """The fallback when no long series votes: pandas' frequency of all distinct times."""
    u = np.unique(ns)
    return pd.infer_freq(pd.DatetimeIndex(u)) if len(u) >= 3 else None


def _freq_votes(ns: np.ndarray, codes: np.ndarray) -> Counter:
    """Frequency votes of the five longest series (ties: first seen)."""
    counts = np.bincount(codes)
    longest = np.argsort(-counts, kind="stable")[:5]
    votes: Counter = Counter()
    for c in longest:
        if counts[c] < 3:
            continue
        t = np.unique(ns[codes == c])
        f = pd.infer_freq(pd.DatetimeIndex(t)) if len(t) >= 3 else None
        if f is None:
            # gaps: infer from the smallest step, if it divides every step
            d = np.diff(t.astype(np.int64))
            dmin = d.min() if len(d) else 0
            if dmin > 0 and np.all(d % dmin == 0):
                f = _alias_for_step(int(dmin), pd.Timestamp(t[0]))
        if f is not None:
            votes[f] += 1
    return votes


def _alias_for_step(nanos: int, first: pd.Timestamp) -> str:
    """A calendar-aware alias for a fixed step: weeks anchored on the first day, days."""
    day = 86400 * 10**9
    if nanos % (7 * day) == 0:
        n = nanos // (7 * day)
        return f"{n if n > 1 else ''}W-{first.day_name()[:3].upper()}"
    if nanos % day == 0:
        n = nanos // day
        return f"{n if n > 1 else ''}D"
    return pd.tseries.frequencies.to_offset(pd.Timedelta(nanos, "ns")).freqstr


def combine_fingerprint(ids: pd.DataFrame, start, digests, freq, time_kind,
                        value_cols, origin=None) -> str:
    """The fingerprint of a panel from its parts (:meth:`Panel.fingerprint`)."""
    import hashlib
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(ids, index=False).to_numpy().tobytes())
    h.update(str(list(ids.columns)).encode())
    h.update(np.ascontiguousarray(start, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(digests, dtype=np.uint64).tobytes())
    h.update(repr((freq, time_kind, list(value_cols), str(origin))).encode())
    return h.hexdigest()


def read_panel(data: "pd.DataFrame | str | os.PathLike", id_col="unique_id", time_col="ds",
               target_col="y", **kwargs) -> Panel:
    """Build a :class:`Panel` from a DataFrame, a CSV / Parquet path (a folder of Parquet
    files too), a list of Parquet files or a dask DataFrame (computed here).

    Parameters are those of :meth:`Panel.from_frame`.  CSV files are read with pandas'
    defaults; the time column is parsed by the panel (datetimes or integer steps).
    """
    if is_dask_collection(data):
        data = data.compute()
    elif isinstance(data, (list, tuple)):
        data = pd.concat([read_table(p, text_cols=_as_list(id_col)) for p in data],
                         ignore_index=True)
    if isinstance(data, pd.DataFrame):
        return Panel.from_frame(data, id_col, time_col, target_col, **kwargs)
    return Panel.from_frame(read_table(data, text_cols=_as_list(id_col)), id_col, time_col,
                            target_col, **kwargs)


def is_dask_collection(data) -> bool:
    """Whether ``data`` is a dask collection (recognised without importing dask)."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "to_delayed")


def read_table(path: "str | os.PathLike", text_cols: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file (or a folder of Parquet files) into a DataFrame.

    ``text_cols`` (the series-id columns) are read from CSV as text, so ids such as
    ``"001"`` stay exactly as written.
    """
    p = Path(path)
    if not p.exists():
        raise DataValidationError([Problem("no_file", None, f"{str(p)!r} does not exist")])
    suffix = p.suffix.lower()
    if p.is_dir() or suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if suffix in (".csv", ".txt", ".gz", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        header = pd.read_csv(p, sep=sep, nrows=0).columns
        return pd.read_csv(p, sep=sep, dtype={c: str for c in text_cols if c in header})
    raise DataValidationError([Problem(
        "unknown_format", None, f"cannot tell the format of {str(p)!r}; use a .csv or "
        ".parquet file")])


def reading_args(panel) -> dict:
    """The reading arguments of ``panel`` (to read new data the same way)."""
    return {"id_col": panel.id_cols if len(panel.id_cols) > 1 else panel.id_cols[0],
            "time_col": panel.time_col, "target_col": panel.target_col,
            "value_cols": list(panel.value_cols[1:]), "static_cols": list(panel.static_cols),
            "freq": panel.freq, "missing": panel.missing_policy}
