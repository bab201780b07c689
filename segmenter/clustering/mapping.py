"""The segment mapping: series id → segment, one row per input series.

:class:`SegmentMapping` is what a fitted :class:`~segmenter.Segmenter` produces and
what the forecaster consumes.  Columns:

==================  ===========================================================
id column(s)        the series id exactly as given (composite ids: several columns),
                    with its original dtype
``segment``         the segment (int 0..k-1 from a segmenter; any value from a user)
``distance``        distance to the segment's barycenter / medoid / centroid / bin
                    median, in the blueprint's geometry (NaN for user segments)
``short_history``   fewer non-missing steps than the constraints' ``min_history``
``no_values``       the series has no value at all (kept, assigned like the others)
``assigned_by``     ``"fit"`` (series was in the fit), ``"predict"`` (assigned to the
                    fitted segments afterwards) or ``"user"`` (user-defined segments)
==================  ===========================================================

``metadata`` holds the blueprint, k, the metric and score, the constraints with any
relaxation, the segmenter version and a fingerprint of the input data.

Construction validates C5 (at most ``max_segments`` segments), C6 (the segment column
is not an id column) and C7 (every row of a series has the same segment; each series
appears once).  Mappings are written and read as CSV, Parquet and JSON, ids and their
dtypes preserved; writes are atomic.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.panel import id_labels
from ..data.reading import as_list
from ..errors import ConstraintViolationError, DataValidationError, Problem
from ..persistence import atomic_write
from .constraints import check_segment_count

__all__ = ["SegmentMapping", "read_mapping"]

FLAG_COLUMNS = ["distance", "short_history", "no_values", "assigned_by"]
_JSON_TAG = "segmenter_mapping"
_PARQUET_KEY = b"segmenter.clustering.mapping"


def _jsonable(obj):
    """Plain JSON types (numpy scalars, tuples, NaN → None)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def check_segment_names(current: dict, names: dict) -> dict:
    """``current`` (``{segment: name}``) updated with ``names``, checked: every key a
    segment of ``current``, every name a non-empty string, no two segments with the
    same name.  Raises :class:`~segmenter.DataValidationError` naming what is wrong."""
    if not isinstance(names, dict):
        raise DataValidationError(
            [
                Problem(
                    "bad_names",
                    "names",
                    f"names must be a dict {{segment: name}}, got {type(names).__name__}",
                )
            ]
        )
    problems = []
    keys = {}
    for k, v in names.items():
        try:
            seg = int(k)
        except (TypeError, ValueError):
            seg = None
        if seg is None or seg not in current:
            problems.append(
                Problem(
                    "unknown_segment",
                    "names",
                    f"segment {k!r} does not exist; segments are {sorted(current)}",
                )
            )
        elif not isinstance(v, str) or not v.strip():
            problems.append(
                Problem(
                    "bad_name",
                    "names",
                    f"the name of segment {seg} must be a non-empty string, got {v!r}",
                )
            )
        else:
            keys[seg] = v.strip()
    new = {**current, **keys}
    seen: dict[str, list] = {}
    for seg, name in new.items():
        seen.setdefault(name, []).append(seg)
    for name, segs in seen.items():
        if len(segs) > 1 and not problems:
            problems.append(
                Problem(
                    "duplicate_name",
                    "names",
                    f"segments {segs} would all be called {name!r}; names must be "
                    "unique",
                )
            )
    if problems:
        raise DataValidationError(problems)
    return new


class SegmentMapping:
    """Series id → segment, with per-series distance and flags, and metadata.

    Parameters
    ----------
    frame : DataFrame
        One row per series: the id column(s), ``segment_col`` and optionally the flag
        columns (missing ones are filled: distance NaN, flags False, assigned_by "user").
    id_cols : str or list of str
    segment_col : str, default "segment"
    metadata : dict, optional
    max_segments : int, optional
        C5 limit; default the constraints' ``max_segments`` in ``metadata`` or 100.

    Examples
    --------
    >>> import pandas as pd
    >>> m = SegmentMapping(pd.DataFrame({"store": [7, 3, 5], "segment": [0, 1, 0]}), "store")
    >>> m.sizes().to_dict()
    {0: 2, 1: 1}
    >>> m.segments_of([5, 3]).tolist()
    [0, 1]
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        id_cols,
        segment_col: str = "segment",
        metadata: dict | None = None,
        max_segments: int | None = None,
    ):
        self.id_cols = as_list(id_cols)
        self.segment_col = segment_col
        self.metadata = dict(metadata or {})
        if max_segments is None:
            max_segments = (self.metadata.get("constraints") or {}).get(
                "max_segments", 100
            )
        self.max_segments = int(max_segments)
        self._frame = self._validate(frame)

    # ------------------------------------------------------------------ validation
    def _validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        problems = []
        if self.segment_col in self.id_cols:
            raise ConstraintViolationError(
                [
                    Problem(
                        "C6",
                        self.segment_col,
                        f"C6: the segment column {self.segment_col!r} is also a "
                        "series-id column; name the segment column differently",
                    )
                ]
            )
        missing = [
            c for c in self.id_cols + [self.segment_col] if c not in frame.columns
        ]
        if missing:
            raise DataValidationError(
                [
                    Problem(
                        "missing_column",
                        None,
                        f"the mapping frame lacks columns {missing}; it has "
                        f"{list(frame.columns)}",
                    )
                ]
            )
        df = frame.reset_index(drop=True).copy()
        null_id = df[self.id_cols].isna().any(axis=1).to_numpy()
        if null_id.any():
            problems.append(
                Problem(
                    "null_id",
                    ",".join(self.id_cols),
                    f"{int(null_id.sum())} rows have a null series id",
                    rows=np.flatnonzero(null_id).tolist(),
                )
            )
        null_seg = df[self.segment_col].isna().to_numpy()
        if null_seg.any():
            problems.append(
                Problem(
                    "null_segment",
                    self.segment_col,
                    f"{int(null_seg.sum())} series have no "
                    "segment; every series needs one",
                    ids=self._ids_at(df, null_seg),
                )
            )
        dup = df.duplicated(self.id_cols, keep=False).to_numpy()
        if dup.any():
            problems.append(
                Problem(
                    "C7",
                    ",".join(self.id_cols),
                    "C7: series appear more than once in the "
                    "mapping; each series belongs to exactly one segment",
                    ids=self._ids_at(df, dup & ~df.duplicated(self.id_cols).to_numpy()),
                )
            )
        if problems:
            raise DataValidationError(problems)
        check_segment_count(
            df[self.segment_col].nunique(), self.max_segments, column=self.segment_col
        )
        defaults = {
            "distance": np.nan,
            "short_history": False,
            "no_values": False,
            "assigned_by": "user",
        }
        for c, v in defaults.items():
            if c not in df.columns:
                df[c] = v
        df["distance"] = df["distance"].astype(float)
        for c in ("short_history", "no_values"):
            df[c] = df[c].astype(bool)
        df["assigned_by"] = df["assigned_by"].astype(str)
        return df[self.id_cols + [self.segment_col] + FLAG_COLUMNS]

    def _ids_at(self, df, mask) -> list:
        return id_labels(df.loc[mask, self.id_cols])

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        id_col="unique_id",
        segment_col: str = "segment",
        max_segments: int = 100,
        metadata: dict | None = None,
    ) -> SegmentMapping:
        """A user-defined mapping from a frame with a segment column.

        ``df`` may be the long data itself (many rows per series): C7 then checks that
        every row of a series carries the same segment, and the mapping keeps one row
        per series in first-seen order.
        """
        id_cols = as_list(id_col)
        if segment_col in id_cols:
            raise ConstraintViolationError(
                [
                    Problem(
                        "C6",
                        segment_col,
                        f"C6: the segment column {segment_col!r} is also a series-id "
                        "column; use a separate column for segments",
                    )
                ]
            )
        missing = [c for c in id_cols + [segment_col] if c not in df.columns]
        if missing:
            raise DataValidationError(
                [
                    Problem(
                        "missing_column",
                        None,
                        f"columns {missing} are not in the frame; it has "
                        f"{list(df.columns)[:20]}",
                    )
                ]
            )
        sub = df[id_cols + [segment_col]]
        per = sub.drop_duplicates()
        conflict = per.duplicated(id_cols, keep=False)
        if conflict.any():
            ids = id_labels(per.loc[conflict, id_cols].drop_duplicates())
            raise ConstraintViolationError(
                [
                    Problem(
                        "C7",
                        segment_col,
                        f"C7: {len(ids)} series have rows in more than one segment; "
                        "every row of a series must belong to the same segment",
                        ids=ids,
                    )
                ]
            )
        return cls(
            per.reset_index(drop=True),
            id_cols,
            segment_col,
            metadata=metadata,
            max_segments=max_segments,
        )

    # ------------------------------------------------------------------ access
    def to_frame(self) -> pd.DataFrame:
        """A copy of the mapping table (one row per series), with a ``segment_name``
        column after the segment column when the segments are named (see
        :attr:`names`)."""
        out = self._frame.copy()
        named = self.metadata.get("segment_names")
        if named:
            names = self.names
            pos = out.columns.get_loc(self.segment_col) + 1
            out.insert(pos, "segment_name", out[self.segment_col].map(names))
        return out

    @property
    def names(self) -> dict:
        """``{segment: name}`` for every segment: the names in the metadata
        (``segment_names``, set by the Segmenter and by ``rename_segments``), else
        ``"segment <k>"``."""
        given = {
            int(k): str(v)
            for k, v in (self.metadata.get("segment_names") or {}).items()
        }
        return {
            int(s): given.get(int(s), f"segment {s}")
            for s in sorted(self._frame[self.segment_col].unique())
        }

    def __len__(self) -> int:
        return len(self._frame)

    @property
    def n_segments(self) -> int:
        return int(self._frame[self.segment_col].nunique())

    def sizes(self) -> pd.Series:
        """Series per segment, by segment."""
        return self._frame[self.segment_col].value_counts().sort_index()

    def ids(self) -> list:
        """Series ids (scalars, or tuples for composite ids) in mapping order."""
        return self._ids_at(self._frame, np.ones(len(self._frame), dtype=bool))

    def segments_of(self, ids: Sequence) -> np.ndarray:
        """Segments of the given ids (scalars, or tuples for composite ids).

        Raises DataValidationError naming the ids the mapping does not hold.
        """
        key = self._frame.set_index(self.id_cols)[self.segment_col]
        ids = list(ids)
        lookup = (
            pd.MultiIndex.from_tuples(ids) if len(self.id_cols) > 1 else pd.Index(ids)
        )
        pos = key.index.get_indexer(lookup)
        if (pos < 0).any():
            unknown = [i for i, p in zip(ids, pos) if p < 0]
            raise DataValidationError(
                [
                    Problem(
                        "unmapped_ids",
                        ",".join(self.id_cols),
                        f"{len(unknown)} series are not in the "
                        "mapping; assign them with Segmenter.predict or add them",
                        ids=unknown,
                    )
                ]
            )
        return key.to_numpy()[pos]

    def __repr__(self) -> str:
        return (
            f"SegmentMapping({len(self)} series, {self.n_segments} segments, "
            f"blueprint={self.metadata.get('blueprint')!r})"
        )

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, SegmentMapping)
            and self.id_cols == other.id_cols
            and self._frame.equals(other._frame)
        )

    # ------------------------------------------------------------------ files
    def _dtypes(self) -> dict:
        return {c: str(self._frame[c].dtype) for c in self._frame.columns}

    def _meta(self) -> dict:
        return _jsonable(
            {
                "id_cols": self.id_cols,
                "segment_col": self.segment_col,
                "max_segments": self.max_segments,
                "dtypes": self._dtypes(),
                "metadata": self.metadata,
            }
        )

    def write(self, path, format: str | None = None) -> Path:
        """Write as CSV, Parquet or JSON (by ``format`` or the file suffix), atomically.

        CSV files start with one ``# segmenter-mapping: {json}`` line holding the
        metadata and dtypes; :func:`read_mapping` restores them.
        """
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if fmt in ("csv", "txt"):
            text = (
                "# segmenter-mapping: "
                + json.dumps(self._meta())
                + "\n"
                + self.to_frame().to_csv(index=False)
            )
            with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        elif fmt in ("parquet", "pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta[_PARQUET_KEY] = json.dumps(self._meta()).encode()
            buf = io.BytesIO()
            pq.write_table(table.replace_schema_metadata(meta), buf)
            with atomic_write(path) as fh:
                fh.write(buf.getvalue())
        elif fmt == "json":
            frame = self.to_frame()
            body = {
                _JSON_TAG: 1,
                **self._meta(),
                "rows": _jsonable({c: frame[c].tolist() for c in frame.columns}),
            }
            with atomic_write(path, "w", encoding="utf-8") as fh:
                json.dump(body, fh, indent=1)
        else:
            raise DataValidationError(
                [
                    Problem(
                        "unknown_format",
                        None,
                        f"cannot write a mapping as {fmt!r}; use a .csv, "
                        ".parquet or .json path (or format=)",
                    )
                ]
            )
        return path

    @classmethod
    def read(cls, path, format: str | None = None) -> SegmentMapping:
        """Read a mapping written by :meth:`write`."""
        return read_mapping(path, format)


def _restore(df: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    for c, dt in dtypes.items():
        if c not in df.columns:
            continue
        col = df[c]
        if dt == "bool":
            df[c] = col.map(lambda v: v in (True, "True", "true", 1, "1")).astype(bool)
        elif dt.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
            df[c] = col.mask(col.eq(""), np.nan).astype(dt) if col.dtype != dt else col
        elif dt.startswith("datetime"):
            df[c] = pd.to_datetime(col).astype(dt)
        else:
            df[c] = col.astype(dt)
    return df


def read_mapping(path, format: str | None = None) -> SegmentMapping:
    """Read a :class:`SegmentMapping` from CSV, Parquet or JSON (written by ``write``)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(
            [Problem("no_file", None, f"{str(path)!r} does not exist")]
        )
    fmt = (format or path.suffix.lstrip(".")).lower()
    bad = DataValidationError(
        [
            Problem(
                "not_a_mapping",
                None,
                f"{str(path)!r} is not a segment mapping written by segmenter "
                "(no segmenter metadata); build one with SegmentMapping.from_frame",
            )
        ]
    )
    if fmt in ("csv", "txt"):
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
            if not first.startswith("# segmenter-mapping: "):
                raise bad
            meta = json.loads(first.split(": ", 1)[1])
            df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    elif fmt in ("parquet", "pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_PARQUET_KEY)
        if raw is None:
            raise bad
        meta = json.loads(raw)
        df = table.to_pandas()
    elif fmt == "json":
        with open(path, encoding="utf-8") as fh:
            body = json.load(fh)
        if not isinstance(body, dict) or _JSON_TAG not in body:
            raise bad
        meta = body
        df = pd.DataFrame(body["rows"])
    else:
        raise DataValidationError(
            [
                Problem(
                    "unknown_format",
                    None,
                    f"cannot read a mapping from {fmt!r}; use .csv, .parquet or .json",
                )
            ]
        )
    df = _restore(df, meta["dtypes"])
    return SegmentMapping(
        df,
        meta["id_cols"],
        meta["segment_col"],
        metadata=meta["metadata"],
        max_segments=meta["max_segments"],
    )
