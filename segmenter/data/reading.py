"""Reading a long table into a :class:`~segmenter.data.panel.Panel`: files, frames and
dask collections, every problem of the input collected and named (columns, ids, rows)
before anything is built.  The policies for gaps and missing values are described in
:mod:`segmenter.data.panel`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataValidationError, InputTypeError, Problem
from .panel import Panel, id_labels
from .timegrid import MAX_GRID_STEPS, row_numbers, time_positions

__all__ = [
    "read_panel",
    "read_table",
    "build_panel",
    "reading_args",
    "is_dask_collection",
    "near_duplicates",
    "MAX_ABS_VALUE",
    "sniff",
    "READ_OPTIONS",
    "check_read_options",
]


def read_panel(
    data: pd.DataFrame | str | os.PathLike | Panel,
    id_col="unique_id",
    time_col="ds",
    target_col="y",
    encoding: str | None = None,
    **kwargs,
) -> Panel:
    """Build a :class:`Panel` from a DataFrame, a CSV / Parquet path (a folder of Parquet
    files too), a list of Parquet files or a dask DataFrame (computed here).

    Parameters are those of :meth:`Panel.from_frame`, and ``encoding`` for text files
    (:func:`read_table`).  The time column is parsed by the panel (datetimes, text with
    one format for the whole column, or integer steps).  A Panel is returned as it is:
    this is the one entry every estimator reads its data through.
    """
    if isinstance(data, Panel):
        return data
    if is_dask_collection(data):
        data = data.compute()
    elif isinstance(data, (list, tuple)):
        data = pd.concat(
            [read_table(p, text_cols=as_list(id_col), encoding=encoding) for p in data],
            ignore_index=True,
        )
    if not isinstance(data, (pd.DataFrame, str, os.PathLike)):
        raise InputTypeError(
            f"data is a {type(data).__name__}; pass a long DataFrame (one row per "
            "series and time), a CSV or Parquet path (a folder of Parquet files too), a "
            "list of Parquet files, a dask DataFrame or a Panel"
        )
    if not isinstance(data, pd.DataFrame):
        data = read_table(data, text_cols=as_list(id_col), encoding=encoding)
    return build_panel(data, id_col, time_col, target_col, **kwargs)


def is_dask_collection(data) -> bool:
    """Whether ``data`` is a dask collection (recognised without importing dask)."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "to_delayed")


#: File signatures: what the first bytes of a file say it is.
_SIGNATURES = [
    (b"PAR1", "Parquet"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"PK\x03\x04", "zip-compressed"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
    (b"SEGMENTER-MODEL", "a segmenter model file"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
]
_TEXT_SUFFIXES = {".csv": ",", ".txt": ",", ".tsv": "\t"}
_COMPRESSED = {
    ".gz": "gzip-compressed",
    ".zip": "zip-compressed",
    ".bz2": "bzip2-compressed",
    ".xz": "xz-compressed",
    ".zst": "zstd-compressed",
}


def sniff(head: bytes) -> str:
    """What the first bytes of a file look like: a signature's name, "text" or "binary".

    >>> sniff(b"PAR1...."), sniff(b"id,ds,y\\n"), sniff(b"\\x00\\x01\\x02")
    ('Parquet', 'text', 'binary')
    """
    for sig, what in _SIGNATURES:
        if head.startswith(sig):
            return what
    return "binary" if b"\x00" in head else "text"


def _unreadable(path: Path, kind: str, why: str) -> DataValidationError:
    return DataValidationError(
        [Problem(kind, None, f"cannot read {str(path)!r}: {why}")]
    )


def read_table(
    path: str | os.PathLike, text_cols: Sequence[str] = (), encoding: str | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file (or a folder of Parquet files) into a DataFrame.

    ``text_cols`` (the series-id columns) are read from CSV as text, so ids such as
    ``"001"`` stay exactly as written.  Text is decoded as ``encoding`` (UTF-8 by
    default).  A CSV may be compressed when its name says so (``data.csv.gz``).

    Every failure is a :class:`~segmenter.DataValidationError` that names the file and
    the cause (``no_file``, ``empty_file``, ``undecodable``, ``wrong_format``,
    ``unreadable_file``...), never a pandas, pyarrow or codec exception.
    """
    p = Path(path)
    if not p.exists():
        raise DataValidationError(
            [Problem("no_file", None, f"{str(p)!r} does not exist")]
        )
    suffixes = [x.lower() for x in p.suffixes[-2:]]
    suffix = suffixes[-1] if suffixes else ""
    if p.is_dir():
        parts = [f for f in p.iterdir() if f.suffix.lower() in (".parquet", ".pq")]
        if not parts:
            raise _unreadable(
                p,
                "folder_without_parquet",
                "it is a folder with no .parquet "
                "files in it; pass a CSV or Parquet file, or a folder of "
                "Parquet files",
            )
        return _guarded(p, lambda: pd.read_parquet(p), "Parquet")
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise _unreadable(p, "unreadable_file", f"{exc.strerror or exc}") from None
    if not head:
        raise _unreadable(
            p,
            "empty_file",
            "the file is empty (0 bytes); pass a file with a header row and data",
        )
    looks = sniff(head)
    if suffix in (".parquet", ".pq"):
        if looks != "Parquet":
            raise _unreadable(
                p,
                "wrong_format",
                f"the name says Parquet but the bytes look "
                f"like {looks}"
                + (" (a CSV?): rename it .csv" if looks == "text" else ""),
            )
        return _guarded(p, lambda: pd.read_parquet(p), "Parquet")
    compressed = _COMPRESSED.get(suffix)
    text_suffix = suffixes[-2] if compressed and len(suffixes) == 2 else suffix
    if text_suffix in _TEXT_SUFFIXES or (
        compressed and text_suffix not in (".parquet",)
    ):
        if compressed and looks != compressed:
            raise _unreadable(
                p,
                "wrong_format",
                f"the name says {compressed} but the bytes look like {looks}",
            )
        if not compressed and looks != "text" and looks != "UTF-16 text":
            hint = {"Parquet": ": rename it .parquet"}.get(looks, "")
            if looks.endswith("-compressed"):
                hint = f": add the compression's extension (e.g. {p.name}.gz) or decompress it"
            raise _unreadable(
                p,
                "wrong_format",
                f"the name says text (CSV) but the bytes look like {looks}{hint}",
            )
        sep = _TEXT_SUFFIXES.get(text_suffix, ",")
        enc = encoding or ("utf-16" if looks == "UTF-16 text" else "utf-8")
        return _guarded(p, lambda: _read_csv(p, sep, text_cols, enc), "CSV", enc)
    raise DataValidationError(
        [
            Problem(
                "unknown_format",
                None,
                f"cannot tell the format of {str(p)!r} from its name; use "
                f".csv (optionally .csv.gz) or .parquet (its bytes look like {looks})",
            )
        ]
    )


def _read_csv(p: Path, sep: str, text_cols, encoding: str) -> pd.DataFrame:
    header = pd.read_csv(p, sep=sep, nrows=0, encoding=encoding).columns
    return pd.read_csv(
        p, sep=sep, encoding=encoding, dtype={c: str for c in text_cols if c in header}
    )


def _guarded(p: Path, read, what: str, encoding: str | None = None) -> pd.DataFrame:
    """``read()``, its failures turned into typed problems naming ``p``."""
    try:
        return read()
    except UnicodeError as exc:
        raise _unreadable(
            p,
            "undecodable",
            f"the text is not valid {encoding} ({getattr(exc, 'reason', exc)}"
            f"); pass "
            "its encoding with encoding= (--encoding), e.g. 'latin-1', "
            "'cp1252' or 'utf-16'",
        ) from None
    except pd.errors.EmptyDataError:
        raise _unreadable(
            p,
            "empty_file",
            "the file has no columns (no header row); pass a "
            "file with a header row and data",
        ) from None
    except pd.errors.ParserError as exc:
        raise _unreadable(
            p,
            "malformed_csv",
            f"it is not well-formed {what} ({exc}); check the separator and quoting",
        ) from None
    except (OSError, EOFError) as exc:
        raise _unreadable(
            p, "unreadable_file", f"{type(exc).__name__}: {exc}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - pyarrow's and codecs' own errors
        if isinstance(exc, DataValidationError):
            raise
        raise _unreadable(
            p,
            "wrong_format" if what == "Parquet" else "malformed_csv",
            f"it is not a readable {what} file ({type(exc).__name__}: {exc})",
        ) from None


#: The reading options ``fit`` passes on to :func:`read_panel` (``**reading``).
READ_OPTIONS = ("date_format", "dayfirst", "near_duplicate_ids", "encoding")


def check_read_options(options: dict) -> dict:
    """``options`` when every key is a reading option (:data:`READ_OPTIONS`), else a
    typed error naming the unknown ones."""
    unknown = sorted(set(options) - set(READ_OPTIONS))
    if unknown:
        raise DataValidationError(
            [
                Problem(
                    "unknown_option",
                    None,
                    f"unknown keyword arguments {unknown}; fit reads data "
                    f"with the options {list(READ_OPTIONS)} besides its own parameters",
                )
            ]
        )
    return dict(options)


def reading_args(panel) -> dict:
    """The reading arguments of ``panel`` (to read new data the same way)."""
    return {
        "id_col": panel.id_cols if len(panel.id_cols) > 1 else panel.id_cols[0],
        "time_col": panel.time_col,
        "target_col": panel.target_col,
        "value_cols": list(panel.value_cols[1:]),
        "static_cols": list(panel.static_cols),
        "freq": panel.freq,
        "missing": panel.missing_policy,
        **getattr(panel, "reading", {}),
    }


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


#: Values larger than this in magnitude are refused (``too_large``): squared and summed
#: in the features and cast to float32 by the models, they would overflow.  Rescale
#: such data (e.g. divide by 1e6) first.
MAX_ABS_VALUE = 1e15

#: What to do with ids that differ only by surrounding whitespace or case.
NEAR_DUPLICATE_POLICIES = ("refuse", "merge", "keep")


def build_panel(
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
) -> Panel:
    """Validate a long frame and build its panel: the one place a Panel is built from a
    table (:meth:`Panel.from_frame` and :func:`read_panel` call it, and document the
    arguments); every problem is collected before raising."""
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
    id_cols = as_list(id_col)
    extra = as_list(value_cols)
    statics = as_list(static_cols)
    problems: list[Problem] = []

    # --- columns present? ---------------------------------------------------------
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

    n_rows = len(df)
    # --- ids ----------------------------------------------------------------------
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
    ids = id_frame.iloc[first_row].reset_index(drop=True)

    def labels_of(code_array: np.ndarray) -> list:
        return id_labels(ids.iloc[np.unique(code_array[code_array >= 0])])

    # --- times --------------------------------------------------------------------
    tpos, grid, time_dtype, tprobs = time_positions(
        df[time_col], codes, freq, labels_of, date_format, dayfirst
    )
    problems.extend(tprobs)

    # --- values -------------------------------------------------------------------
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

    # --- duplicates ---------------------------------------------------------------
    if tpos is not None:
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

    # --- static and segment columns -------------------------------------------------
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
    values = np.full((total, len(vcols)), np.nan, dtype=dtype)
    values[dest] = vals[order]
    observed = np.zeros(total, dtype=bool)
    observed[dest] = True
    has_value = ~np.isnan(values[:, 0])  # before any filling: real observations
    if missing != "keep":
        _fill_missing(values, offsets, missing)

    reading = {
        "date_format": date_format,
        "dayfirst": dayfirst,
        "near_duplicate_ids": near_duplicate_ids,
    }
    statics_frame = pd.DataFrame(
        {c: static_values[c] for c in statics}, index=pd.RangeIndex(n_series)
    )
    segments = (
        static_values[segment_col].to_numpy() if segment_col is not None else None
    )
    return Panel(
        id_cols=id_cols,
        time_col=time_col,
        target_col=target_col,
        value_cols=vcols,
        static_cols=statics,
        ids=ids,
        offsets=offsets,
        values=np.ascontiguousarray(values),
        observed=observed,
        start=start,
        grid=grid,
        statics=statics_frame,
        segments=segments,
        segment_col=segment_col,
        n_input_rows=n_rows,
        missing_policy=missing,
        time_dtype=time_dtype,
        has_value=has_value,
        reading=reading,
        merged_ids=near if near_duplicate_ids == "merge" else [],
        near_duplicate_ids=near if near_duplicate_ids == "keep" else [],
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
