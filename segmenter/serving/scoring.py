"""Batch scoring: forecasts (or assignments) of a file too large for one request.

:func:`score` (``segmenter score MODEL data.parquet -o out/``) never holds the whole
file.  It works in three passes:

1. it reads the id column(s) only, to count the series and size the chunks;
2. it streams the file in record batches and writes each row to the bucket of its
   series (a stable hash of the id), so every bucket holds whole series; future
   covariates are bucketed with the same hash;
3. each bucket is a task on the engine (local processes or a Dask cluster): it loads
   the model once per process, forecasts its series with ``predict`` and writes
   ``out/forecasts/part-NNNNN.parquet``.

The summary (``out/score.json``) accounts for every input series: the series read,
forecast (or assigned) and the rows written; a mismatch is an error, never a silent
loss.  On Dask, the model file and ``out/`` must be on storage every worker reads.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.resources import peak_mb
from ..errors import DataValidationError, Problem
from ..persistence import atomic_write

__all__ = ["score", "ScoreResult", "SERIES_PER_CHUNK"]

#: Series forecast per task by default.
SERIES_PER_CHUNK = 1000
_BATCH_ROWS = 256_000


@dataclass
class ScoreResult:
    """What :func:`score` wrote: the folder, the counts, the time taken and the
    largest peak memory of a process that forecast a chunk (``worker_peak_mb``)."""

    out: str
    kind: str
    n_series: int
    n_rows_read: int
    n_rows_written: int
    n_chunks: int
    seconds: float
    fallback_series: int = 0
    worker_peak_mb: float = float("nan")
    parts: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _dataset(path, ids: list):
    """A pyarrow dataset over a CSV or Parquet file (or folder of Parquet files); ids
    read from CSV as text, as the library's table reader does."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.dataset as pads

    p = Path(path)
    if not p.exists():
        raise DataValidationError(
            [Problem("no_file", None, f"{str(p)!r} does not exist")]
        )
    name = p.name.lower()
    if p.is_dir() or name.endswith((".parquet", ".pq")):
        return pads.dataset(p, format="parquet")
    if name.endswith((".csv", ".csv.gz", ".txt")):
        fmt = pads.CsvFileFormat(
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in ids}
            )
        )
        return pads.dataset(p, format=fmt)
    raise DataValidationError(
        [
            Problem(
                "wrong_format",
                None,
                f"{str(p)!r}: score reads .parquet files, folders of them, or .csv "
                "(optionally .csv.gz)",
            )
        ]
    )


def _bucket_of(frame: pd.DataFrame, ids: list, n: int) -> np.ndarray:
    keys = frame[ids].astype(str)
    return (pd.util.hash_pandas_object(keys, index=False).to_numpy() % n).astype(
        np.int64
    )


def _check_ids(dataset, ids: list) -> None:
    missing = [c for c in ids if c not in dataset.schema.names]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "missing_columns",
                    None,
                    f"id column(s) {missing} are not in the file (it has "
                    f"{dataset.schema.names}); the model was fitted with ids {ids}",
                )
            ]
        )


def _count_series(dataset, ids: list) -> int:
    _check_ids(dataset, ids)
    seen: set = set()
    for batch in dataset.to_batches(columns=ids, batch_size=_BATCH_ROWS):
        frame = batch.to_pandas().astype(str)
        seen.update(map(tuple, frame.drop_duplicates().to_numpy()))
    return len(seen)


def _bucketize(dataset, ids: list, n: int, folder: Path, progress) -> int:
    """Write each row to ``folder/bucket-<b>.parquet``; the rows read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..engine.progress import progress_bar

    _check_ids(dataset, ids)
    folder.mkdir(parents=True, exist_ok=True)
    writers: dict = {}
    rows = 0
    total = dataset.count_rows()
    try:
        with progress_bar(total, "bucketing rows", progress) as bar:
            for batch in dataset.to_batches(batch_size=_BATCH_ROWS):
                frame = batch.to_pandas()
                b = _bucket_of(frame, ids, n)
                for k in np.unique(b):
                    part = pa.Table.from_pandas(
                        frame[b == k], schema=batch.schema, preserve_index=False
                    )
                    if k not in writers:
                        writers[k] = pq.ParquetWriter(
                            folder / f"bucket-{k:05d}.parquet", batch.schema
                        )
                    writers[k].write_table(part)
                rows += len(frame)
                bar.update(len(frame))
    finally:
        for w in writers.values():
            w.close()
    return rows


_MODELS: dict = {}


def _model(path: str, trusted):
    """The model of this process (loaded once per process and file)."""
    from .model import ServedModel

    key = (path, os.path.getmtime(path))
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = ServedModel(path, trusted=trusted)
    return _MODELS[key]


def _score_bucket(
    model_path, trusted, bucket, future, out_part, level, horizon, refit
) -> dict:
    """One task: forecast (or assign) the whole series of one bucket, write Parquet."""
    served = _model(model_path, trusted)
    data = pd.read_parquet(bucket)
    if served.kind == "forecaster":
        fut = pd.read_parquet(future) if future and Path(future).exists() else None
        if fut is None and served.info().get("future_cols"):
            fut = pd.DataFrame(columns=data.columns)  # predict names what is missing
        out = served.forecast(data, fut, level, horizon, refit)
    else:
        out = served.assign(data)
    ids = served.info()["columns"]["id_col"]
    ids = [ids] if isinstance(ids, str) else list(ids)
    with atomic_write(out_part) as fh:
        out.to_parquet(fh, index=False)
    return {
        "series_in": int(data[ids].drop_duplicates().shape[0]),
        "series_out": int(out[ids].drop_duplicates().shape[0]),
        "rows": len(out),
        "fallback_series": (
            int(out.loc[out["fallback"].astype(bool), ids].drop_duplicates().shape[0])
            if "fallback" in out
            else 0
        ),
        "part": str(out_part),
        "peak_mb": peak_mb(),
    }


def score(
    model,
    data,
    out,
    future=None,
    level=None,
    horizon: int | None = None,
    refit: bool = False,
    series_per_chunk: int = SERIES_PER_CHUNK,
    engine="local",
    n_jobs: int = 1,
    trusted=None,
    progress: bool | None = None,
) -> ScoreResult:
    """Forecast every series of a CSV or Parquet file with a saved model, in chunks of
    whole series, to ``out/forecasts/part-*.parquet`` (a Segmenter file: its
    assignments to ``out/assignments/``), with ``out/score.json`` accounting for every
    series.

    Parameters
    ----------
    model : str or Path
        A saved ``SegmentedForecaster`` (or ``Segmenter``).
    data, future : str or Path
        The history (and the future covariates, when the model uses them).
    level, horizon, refit
        As ``SegmentedForecaster.predict``.
    series_per_chunk : int
        Series per task (whole series always stay together).
    engine : "local", a dask.distributed.Client or a scheduler address
        Where the chunks run; ``n_jobs`` local processes.
    """
    from ..engine.resolve import resolve_engine
    from .model import ServedModel

    t0 = time.perf_counter()
    if series_per_chunk < 1:
        raise DataValidationError(
            [
                Problem(
                    "bad_option",
                    "series_per_chunk",
                    f"series_per_chunk={series_per_chunk}: at least 1",
                )
            ]
        )
    served = ServedModel(model, trusted=trusted)  # refused here, before any work
    if served.kind == "forecaster":
        with served.instance() as fc:
            fc._check_horizon(horizon)
    info = served.info()
    ids = info["columns"]["id_col"]
    ids = [ids] if isinstance(ids, str) else list(ids)
    out = Path(out)
    work = out / "_buckets"
    if work.exists():
        shutil.rmtree(work)
    dataset = _dataset(data, ids)
    n_series = _count_series(dataset, ids)
    if n_series == 0:
        raise DataValidationError(
            [Problem("empty_file", None, f"{str(data)!r} has no rows to score")]
        )
    n_chunks = max(1, math.ceil(n_series / series_per_chunk))
    n_rows = _bucketize(dataset, ids, n_chunks, work / "data", progress)
    if future is not None:
        _bucketize(_dataset(future, ids), ids, n_chunks, work / "future", progress)
    what = "forecasts" if served.kind == "forecaster" else "assignments"
    dest = out / what
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    buckets = sorted((work / "data").glob("bucket-*.parquet"))
    jobs = [
        (
            str(Path(model).resolve()),
            trusted,
            str(b),
            str(work / "future" / b.name) if future is not None else None,
            str(dest / b.name.replace("bucket", "part")),
            level,
            horizon,
            refit,
        )
        for b in buckets
    ]
    eng = resolve_engine(engine, n_jobs)
    results = eng.map(
        _score_bucket,
        jobs,
        [f"score {b.stem}" for b in buckets],
        desc=f"scoring {n_series} series",
        progress=progress,
    )
    shutil.rmtree(work)
    got = sum(r["series_out"] for r in results)
    read = sum(r["series_in"] for r in results)
    if got != n_series or read != n_series:
        raise DataValidationError(
            [
                Problem(
                    "series_lost",
                    None,
                    f"{n_series} series in the file, {read} read by the chunks and "
                    f"{got} in the output: a bug, please report it",
                )
            ]
        )
    result = ScoreResult(
        out=str(out),
        kind=what,
        n_series=n_series,
        n_rows_read=n_rows,
        n_rows_written=sum(r["rows"] for r in results),
        n_chunks=len(buckets),
        seconds=round(time.perf_counter() - t0, 3),
        fallback_series=sum(r["fallback_series"] for r in results),
        worker_peak_mb=round(max(r["peak_mb"] for r in results), 1),
        parts=[Path(r["part"]).name for r in results],
    )
    with atomic_write(out / "score.json", "w", encoding="utf-8") as fh:
        json.dump({**result.as_dict(), "model": info}, fh, indent=2, default=str)
    return result
