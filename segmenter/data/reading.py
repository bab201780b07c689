"""Reading a long table into a :class:`~segmenter.data.panel.Panel`: files, frames and
dask collections, every problem of the input collected and named (columns, ids, rows)
before anything is built.  The policies for gaps and missing values are described in
:mod:`segmenter.data.panel`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import DataValidationError, InputTypeError, Problem
from .building import MAX_ABS_VALUE, as_list, near_duplicates
from .panel import Panel

__all__ = [
    "read_panel",
    "read_table",
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
    return Panel.from_frame(data, id_col, time_col, target_col, **kwargs)


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


def __getattr__(name: str):
    """``build_panel`` is now :meth:`Panel.from_frame`, the one builder (until 0.4)."""
    if name == "build_panel":
        warnings.warn(
            "segmenter.data.reading.build_panel is now segmenter.data.Panel.from_frame; "
            "the old name works until segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        return Panel.from_frame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
