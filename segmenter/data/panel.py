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

import copy
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._moved import relocated
from ..errors import DataValidationError, Problem
from .building import id_labels, panel_parts
from .timegrid import Grid, grid_steps

__all__ = ["Panel", "combine_fingerprint", "id_labels"]


class Panel:
    """A validated multiseries table: series ids, their times on a regular grid, values.

    Build it with :meth:`Panel.from_frame` or :func:`~segmenter.data.reading.read_panel`
    (which also takes CSV and Parquet paths); the constructor is internal.

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

    def __init__(
        self,
        *,
        id_cols,
        time_col,
        target_col,
        value_cols,
        static_cols,
        ids,
        offsets,
        values,
        observed,
        start,
        grid,
        statics,
        segments,
        segment_col,
        n_input_rows,
        missing_policy,
        time_dtype,
        has_value=None,
        reading=None,
        merged_ids=(),
        near_duplicate_ids=(),
    ):
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
        #: How the table was read (``date_format``, ``dayfirst``, ``near_duplicate_ids``),
        #: to read new data the same way.
        self.reading = dict(reading or {})
        #: Groups of ids merged into one series, and groups kept apart on purpose.
        self.merged_ids = list(merged_ids)
        self.near_duplicate_ids = list(near_duplicate_ids)

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
        date_format: str | None = None,
        dayfirst: bool | None = None,
        near_duplicate_ids: str = "refuse",
    ) -> Panel:
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
        date_format : str, optional
            The ``strptime`` format of a time column of text, e.g. ``"%d/%m/%Y"``.  By
            default it is inferred from the column and used for every value (never
            value by value); a column that reads as day-first and as month-first with
            different dates is refused (``ambiguous_dates``).
        dayfirst : bool, optional
            Settles that ambiguity without writing the format.
        near_duplicate_ids : {"refuse", "merge", "keep"}, default "refuse"
            Ids that differ only by surrounding spaces or case (``"a"``, ``"a "``,
            ``"A"``): refused with a ``near_duplicate_ids`` problem listing them,
            merged into one series under the first spelling, or kept as different
            series (listed in the summary either way).

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
        return cls(
            **panel_parts(
                df,
                id_col,
                time_col,
                target_col,
                value_cols,
                static_cols,
                segment_col,
                freq,
                missing,
                dtype,
                date_format,
                dayfirst,
                near_duplicate_ids,
            )
        )

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
        return (
            np.add.reduceat(ok.astype(np.int64), self.offsets[:-1])
            if len(ok)
            else np.zeros(self.n_series, dtype=np.int64)
        )

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
        frame = (
            self.ids
            if index is None
            else self.ids.iloc[np.asarray(list(index), dtype=int)]
        )
        return id_labels(frame)

    def series(self, i: int, column: int = 0) -> np.ndarray:
        """Values of series ``i`` (a view into ``values``)."""
        return self.values[self.offsets[i] : self.offsets[i + 1], column]

    def times(self, i: int):
        """Time labels of series ``i`` on the grid, in the input's time type."""
        pos = self.start[i] + np.arange(self.lengths[i])
        return self._grid.labels(pos)

    def select_columns(
        self, value_cols: Sequence[str] = (), static_cols: Sequence[str] = ()
    ) -> Panel:
        """The same series with the target plus ``value_cols`` as values and only
        ``static_cols`` as statics (e.g. what a segmenter reads of a forecaster's panel,
        without its covariates).  With no extra value column the values are a view."""
        names = list(self.value_cols)
        missing = [c for c in [*value_cols] if c not in names[1:]]
        missing += [c for c in static_cols if c not in self.static_cols]
        if missing:
            raise DataValidationError(
                [
                    Problem(
                        "missing_columns",
                        missing[0],
                        f"column(s) {missing} are not in this panel (value columns "
                        f"{names}, static columns {list(self.static_cols)})",
                    )
                ]
            )
        cols = [0] + [names.index(c) for c in value_cols]
        values = self.values[:, :1] if len(cols) == 1 else self.values[:, cols].copy()
        out = copy.copy(self)
        out.value_cols = [names[0], *value_cols]
        out.values = values
        out.static_cols = list(static_cols)
        out.statics = self.statics[list(static_cols)]
        return out

    def subset(self, index: Sequence[int]) -> Panel:
        """A new panel holding the series at positions ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        rows = _ranges(self.offsets[:-1][index], lengths)
        return Panel(
            id_cols=self.id_cols,
            time_col=self.time_col,
            target_col=self.target_col,
            value_cols=self.value_cols,
            static_cols=self.static_cols,
            ids=self.ids.iloc[index].reset_index(drop=True),
            offsets=offsets,
            values=np.ascontiguousarray(self.values[rows]),
            observed=self.observed[rows],
            start=self.start[index],
            grid=self._grid,
            statics=self.statics.iloc[index].reset_index(drop=True),
            segments=None if self.segments is None else self.segments[index],
            segment_col=self.segment_col,
            n_input_rows=int(self.observed[rows].sum()),
            missing_policy=self.missing_policy,
            time_dtype=self._time_dtype,
            has_value=self.has_value[rows],
        )

    def to_frame(self, include_gaps: bool = False) -> pd.DataFrame:
        """Back to a long frame: ids as given, times in the input's type, values.

        Rows are grouped by series in first-seen order and sorted by time within each
        series.  Inserted gap steps are left out unless ``include_gaps=True``.
        """
        keep = slice(None) if include_gaps else self.observed
        series_of_row = np.repeat(np.arange(self.n_series), self.lengths)
        pos = self.start[series_of_row] + (
            np.arange(len(series_of_row)) - self.offsets[:-1][series_of_row]
        )
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
        return combine_fingerprint(
            self.ids,
            self.start,
            self.series_digests(),
            self.freq,
            self.time_kind,
            self.value_cols,
            self._grid.origin,
        )

    def series_digests(self) -> np.ndarray:
        """A 64-bit digest per series of its length, observed flags and values (in
        order); the same series gives the same digest in any panel."""
        if self.n_series == 0:
            return np.zeros(0, dtype=np.uint64)
        from pandas.util import hash_array

        vals = np.ascontiguousarray(self.values, dtype=np.float64)
        row = hash_array(self.observed.astype(np.uint64))
        for j in range(vals.shape[1]):
            row = hash_array(
                row ^ hash_array(vals[:, j].view(np.uint64)) ^ np.uint64(j + 1)
            )
        series_of_row = np.repeat(np.arange(self.n_series), self.lengths)
        within = np.arange(len(row), dtype=np.uint64) - self.offsets[:-1][
            series_of_row
        ].astype(np.uint64)
        row = hash_array(row ^ (within * np.uint64(0x9E3779B97F4A7C15)))
        return np.add.reduceat(row, self.offsets[:-1]) ^ hash_array(
            self.lengths.astype(np.uint64)
        )

    # ------------------------------------------------------------------ chunks
    @classmethod
    def concat(cls, panels: Sequence[Panel]) -> Panel:
        """One panel holding the series of ``panels`` in order (same grid and columns;
        see :meth:`rebase`)."""
        first = panels[0]
        for p in panels[1:]:
            if (
                p._grid != first._grid
                or p.value_cols != first.value_cols
                or p.id_cols != first.id_cols
            ):
                raise DataValidationError(
                    [
                        Problem(
                            "concat_mismatch",
                            None,
                            "panels to concatenate must share the time "
                            f"grid and columns; got {p._grid} / {p.value_cols} and {first._grid} / "
                            f"{first.value_cols} (rebase them onto one origin first)",
                        )
                    ]
                )
        lengths = np.concatenate([p.lengths for p in panels])
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        segs = (
            None
            if first.segments is None
            else np.concatenate([p.segments for p in panels])
        )
        return Panel(
            id_cols=first.id_cols,
            time_col=first.time_col,
            target_col=first.target_col,
            value_cols=first.value_cols,
            static_cols=first.static_cols,
            ids=pd.concat([p.ids for p in panels], ignore_index=True),
            offsets=offsets,
            values=np.ascontiguousarray(np.concatenate([p.values for p in panels])),
            observed=np.concatenate([p.observed for p in panels]),
            start=np.concatenate([p.start for p in panels]),
            grid=first._grid,
            statics=pd.concat([p.statics for p in panels], ignore_index=True),
            segments=segs,
            segment_col=first.segment_col,
            n_input_rows=sum(p.n_input_rows for p in panels),
            missing_policy=first.missing_policy,
            time_dtype=first._time_dtype,
            has_value=np.concatenate([p.has_value for p in panels]),
        )

    @property
    def origin(self):
        """Time of grid position 0 (the earliest time of the data it was built from)."""
        return self._grid.origin

    def steps_from(self, origin) -> int:
        """Grid steps from ``origin`` (an earlier time on this grid) to this panel's."""
        g = self._grid
        return grid_steps(g.kind, g.freq, origin, g.origin)

    def rebase(self, origin) -> Panel:
        """The same series on a grid starting at ``origin`` (an earlier time on the
        grid): only ``start`` and the grid change."""
        shift = self.steps_from(origin)
        if shift == 0:
            return self
        import copy

        out = copy.copy(self)
        out.start = self.start + shift
        out._grid = Grid(self._grid.kind, self._grid.freq, origin, self._grid.tz_mode)
        return out

    def end_positions(self) -> np.ndarray:
        """Grid position right after each series' last step (where forecasts start)."""
        return self.start + self.lengths

    def check_horizon(self, horizon: int, param: str = "horizon") -> None:
        """A typed error when ``horizon`` steps after the last time of some series fall
        past the calendar pandas can represent (datetimes end in 2262)."""
        if not self.n_series:
            return
        last = int(self.end_positions().max()) + int(horizon) - 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.time_labels(np.array([last]))
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as exc:
            raise DataValidationError(
                [
                    Problem(
                        "horizon_past_calendar",
                        None,
                        f"{param}={horizon} runs past the calendar "
                        f"pandas can represent ({type(exc).__name__}: {exc}); use a shorter horizon "
                        "or integer time steps",
                    )
                ]
            ) from None

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
                idx = (
                    idx.tz_localize("UTC").tz_convert(tz)
                    if self._grid.tz_mode == "utc"
                    else idx.tz_localize(tz)
                )
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
            "first time": str(self._grid.labels(np.array([self.start.min()]))[0])
            if self.n_series
            else None,
            "last time": str(
                self._grid.labels(np.array([(self.start + lengths).max() - 1]))[0]
            )
            if self.n_series
            else None,
            "span (steps)": self.span,
            "length min/median/max": (
                int(lengths.min()),
                float(np.median(lengths)),
                int(lengths.max()),
            )
            if self.n_series
            else None,
            "gap steps inserted": self.n_gap_steps,
            "missing target values": int((~self.has_value & self.observed).sum()),
            "missing policy": self.missing_policy,
            "series entirely missing": len(self.all_missing_ids),
            "observed values min/median/max": (
                int(nobs.min()),
                float(np.median(nobs)),
                int(nobs.max()),
            )
            if self.n_series
            else None,
            "value columns": list(self.value_cols),
            "static columns": list(self.static_cols),
            "ids merged (spaces or case)": len(getattr(self, "merged_ids", ())),
            "near-duplicate ids kept apart": len(
                getattr(self, "near_duplicate_ids", ())
            ),
        }

    def summary_text(self) -> str:
        lines = ["Data summary"]
        for k, v in self.summary().items():
            lines.append(f"  {k:<32}{v}")
        if self.all_missing_ids:
            from ..errors import format_examples

            lines.append(f"  entirely missing: {format_examples(self.all_missing_ids)}")
        for what, groups in (
            ("merged", getattr(self, "merged_ids", ())),
            ("kept apart", getattr(self, "near_duplicate_ids", ())),
        ):
            if groups:
                from ..errors import format_examples

                lines.append(
                    f"  near-duplicate ids {what}: "
                    f"{format_examples([tuple(g) for g in groups])}"
                )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Panel(n_series={self.n_series}, rows={len(self.values)}, freq={self.freq!r}, "
            f"value_cols={self.value_cols})"
        )


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s+l)`` for each pair without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    reps = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total, dtype=np.int64) + reps


def combine_fingerprint(
    ids: pd.DataFrame, start, digests, freq, time_kind, value_cols, origin=None
) -> str:
    """The fingerprint of a panel from its parts (:meth:`Panel.fingerprint`)."""
    import hashlib

    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(ids, index=False).to_numpy().tobytes())
    h.update(str(list(ids.columns)).encode())
    h.update(np.ascontiguousarray(start, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(digests, dtype=np.uint64).tobytes())
    h.update(repr((freq, time_kind, list(value_cols), str(origin))).encode())
    return h.hexdigest()


__getattr__ = relocated(
    __name__,
    {"read_panel": "segmenter.data.reading", "read_table": "segmenter.data.reading"},
)
