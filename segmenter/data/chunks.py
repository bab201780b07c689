"""Series in chunks held by an engine: how the Segmenter reads data it never collects.

With a distributed engine (``Segmenter(engine=client)``) the data stay on the workers.
:func:`load_chunks` turns the input into *chunks*: panels of whole series, each built,
validated and kept by a task on the engine.  The client keeps only a
:class:`ChunkedPanel`: one small row per series (ids, lengths, observed counts, start
positions, digests), which is all the constraints, the series split and the segment
mapping need.  The leaderboard then works on a sample of the series gathered from the
chunks, and the chosen model is applied to each chunk where it lives.

Inputs:

* a pandas DataFrame, a CSV/Parquet file or a :class:`~segmenter.Panel`: read here and
  cut into chunks of :data:`SERIES_PER_PARTITION` series, which enter the cluster as task
  arguments (so a lost worker's chunks are recomputed);
* a dask DataFrame: each partition is one input part, computed on the workers;
* a folder of Parquet files (or a list of files): each file is one part, read by a
  worker (pandas/pyarrow), never by the client.

Parts should hold whole series.  When a series' rows are spread over several parts the
rows are regrouped by a hash of the series id (a shuffle through the engine) before the
chunks are built, so any layout gives the same result.

Series order is *first seen*: parts in order, rows in order within a part, as if the
parts were concatenated (which is what pandas reads from the same folder), so the
mapping's row order, the series split and every sample equal the local engine's.  The
frequency, when not given, is inferred by the local rule from what every part holds
(:func:`_common_freq`) and then imposed on every chunk.  Empty parts are skipped;
Hive-partitioned folders are refused (read them with ``dask.dataframe.read_parquet``).  Validation problems of
every chunk are collected and raised together; their row numbers count within the part
named in the message.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._moved import renamed
from ..errors import DataValidationError, Problem
from .panel import Panel, combine_fingerprint, id_labels
from .reading import is_dask_collection, read_panel
from .timegrid import grid_steps, integer_step, is_integer_times, naive_times

__all__ = ["ChunkedPanel", "load_chunks", "SERIES_PER_PARTITION"]

log = logging.getLogger(__name__)

#: Series per chunk when an in-memory table is cut into chunks.
SERIES_PER_PARTITION = 20000


def parquet_parts(data) -> list[str] | None:
    """The Parquet files of a folder (or a list of paths), in the order pandas reads
    them; None when ``data`` is not such a dataset."""
    if (
        isinstance(data, (list, tuple))
        and data
        and all(isinstance(p, (str, Path)) for p in data)
    ):
        return [str(p) for p in data]
    if isinstance(data, (str, Path)) and Path(data).is_dir():
        import pyarrow.dataset as ds

        files = ds.dataset(str(data), format="parquet").files
        if not files:
            raise DataValidationError(
                [Problem("no_file", None, f"{str(data)!r} holds no Parquet files")]
            )
        return list(files)
    return None


def _check_flat(folder) -> None:
    """Refuse a Hive-partitioned folder (``key=value/`` sub-folders): its partition
    columns live in the folder names, not in the files the workers read one by one."""
    import pyarrow.dataset as ds

    dset = ds.dataset(str(folder), format="parquet", partitioning="hive")
    for frag in dset.get_fragments():
        keys = ds.get_partition_keys(frag.partition_expression)
        if keys:
            raise DataValidationError(
                [
                    Problem(
                        "partitioned_folder",
                        None,
                        f"{str(folder)!r} is a Hive-partitioned dataset "
                        f"(sub-folders such as {next(iter(keys))}=...); the workers read files one "
                        "by one and would lose the partition columns: pass "
                        f"dask.dataframe.read_parquet({str(folder)!r}) instead",
                    )
                ]
            )


# ============================================================================ tasks
class _Failed:
    """A chunk whose rows broke the data contract: its problems, to be reported with
    every other chunk's."""

    def __init__(self, problems):
        self.problems = problems


def _read_part(path: str, columns: list[str]) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns)


def _compute(obj):
    """A dask partition (delayed object) computed in the task that needs it."""
    return obj.compute(scheduler="sync") if hasattr(obj, "compute") else obj


def _profile(df: pd.DataFrame, id_cols: list[str], time_col: str) -> dict:
    """A part's series ids (first seen), their row counts, and for integer times the
    smallest time and the gcd of the steps from it (what the frequency needs)."""
    df = _compute(df)
    ids = df[id_cols].drop_duplicates().reset_index(drop=True)
    rows = (
        df.groupby(id_cols, sort=False, dropna=False).size().reset_index(name="_rows")
    )
    out = {"ids": ids, "rows": rows, "int": None}
    t = df[time_col] if time_col in df.columns else None
    if t is not None and len(t) and is_integer_times(t):
        ti = t.dropna().to_numpy().astype(np.int64)
        lo = int(ti.min())
        out["int"] = (lo, integer_step(ti - lo))
    return out


def _times_of(
    df: pd.DataFrame, id_cols: list[str], time_col: str, wanted: pd.DataFrame
) -> pd.DataFrame:
    """The rows (ids and time) of the series in ``wanted``."""
    df = _compute(df)
    return df[id_cols + [time_col]].merge(wanted, on=id_cols, how="inner", sort=False)


def _unique_times(df: pd.DataFrame, time_col: str) -> pd.Series:
    return pd.Series(_compute(df)[time_col].dropna().unique())


def _buckets(df: pd.DataFrame, id_cols: list[str], n: int) -> list[pd.DataFrame]:
    df = _compute(df)
    h = pd.util.hash_pandas_object(df[id_cols], index=False).to_numpy() % np.uint64(n)
    return [df[h == b] for b in range(n)]


def _pick(parts, j: int):
    return parts[j]


def _build(parts, args: dict, where: str):
    frame = (
        pd.concat([_compute(p) for p in parts], ignore_index=True)
        if isinstance(parts, list)
        else _compute(parts)
    )
    if not len(frame):
        return None  # an empty part (or regroup bucket): no series
    try:
        return Panel.from_frame(frame, **args)
    except DataValidationError as exc:
        return _Failed(
            [
                Problem(
                    p.kind,
                    p.column,
                    f"{p.message} [{where}; row numbers within it]",
                    ids=p.ids,
                    rows=p.rows,
                )
                for p in exc.problems
            ]
        )


def _meta(chunk) -> dict:
    if chunk is None:
        return {"empty": True}
    if isinstance(chunk, _Failed):
        return {"problems": chunk.problems}
    return {
        "ids": chunk.ids,
        "n_observed": chunk.n_observed,
        "lengths": chunk.lengths,
        "start": chunk.start,
        "origin": chunk.origin,
        "digests": chunk.series_digests(),
        "freq": chunk.freq,
        "time_kind": chunk.time_kind,
        "value_cols": chunk.value_cols,
        "static_cols": chunk.static_cols,
        "missing": chunk.missing_policy,
        "rows": chunk.n_input_rows,
        "grid": chunk._grid,
        "time_dtype": chunk._time_dtype,
    }


def _rebase(chunk: Panel, origin) -> Panel:
    return chunk.rebase(origin)


def _identity(x):
    return x


def _subset(chunk: Panel, local: np.ndarray) -> Panel:
    return chunk.subset(local)


def _concat(parts: list, order: np.ndarray) -> Panel:
    """Subsets of chunks, concatenated and put in the requested series order."""
    panel = Panel.concat(parts)
    return (
        panel.subset(order)
        if not np.array_equal(order, np.arange(len(order)))
        else panel
    )


# ============================================================================ client side
@dataclass
class ChunkedPanel:
    """What the client knows of series held in chunks on an engine.

    Offers the parts of the :class:`~segmenter.Panel` interface that need no values
    (``n_series``, ``ids``, ``n_observed``, ``lengths``, ``start``, ``span``,
    ``id_labels``, ``fingerprint``...), plus :meth:`gather` to build a panel of some
    series on the engine.  Series positions are first-seen order (module docstring).
    """

    engine: Any
    refs: list  # one engine reference per chunk (a Panel there)
    labels: list  # what each chunk is, for messages
    ids: pd.DataFrame
    chunk_of: np.ndarray  # chunk of each series
    local_of: np.ndarray  # position of each series within its chunk
    n_observed: np.ndarray
    lengths: np.ndarray
    start: np.ndarray
    digests: np.ndarray
    id_cols: list
    time_col: str
    target_col: str
    value_cols: list
    static_cols: list
    freq: Any
    time_kind: str
    missing_policy: str
    n_input_rows: int
    _grid: Any = None
    _time_dtype: Any = None
    segments: Any = None
    segment_col: Any = None

    # the grid arithmetic of a panel needs no values: borrow it
    end_positions = Panel.end_positions
    time_labels = Panel.time_labels

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def grid(self):
        return self._grid

    @property
    def span(self) -> int:
        ends = self.start + self.lengths
        return int(ends.max() - self.start.min()) if self.n_series else 0

    @property
    def all_missing_ids(self) -> list:
        return self.id_labels(np.flatnonzero(self.n_observed == 0))

    def id_labels(self, index=None) -> list:
        frame = (
            self.ids
            if index is None
            else self.ids.iloc[np.asarray(list(index), dtype=int)]
        )
        return id_labels(frame)

    def fingerprint(self) -> str:
        return combine_fingerprint(
            self.ids,
            self.start,
            self.digests,
            self.freq,
            self.time_kind,
            self.value_cols,
            self._grid.origin,
        )

    def members(
        self, positions: np.ndarray
    ) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """For each chunk holding some of ``positions``: (chunk, positions within the
        chunk, where they sit in ``positions``)."""
        positions = np.asarray(positions, dtype=np.int64)
        ch = self.chunk_of[positions]
        out = []
        for c in np.unique(ch):
            where = np.flatnonzero(ch == c)
            out.append((int(c), self.local_of[positions[where]], where))
        return out

    def gather(self, positions: np.ndarray, label: str):
        """An engine reference to a Panel of the series at ``positions`` (in that order),
        built on the engine from the chunks."""
        parts, where = [], []
        for c, local, w in self.members(positions):
            parts.append(
                self.engine.submit(
                    _subset,
                    self.refs[c],
                    local,
                    label=f"{label}: series of {self.labels[c]}",
                )
            )
            where.append(w)
        placed = np.concatenate(where) if where else np.zeros(0, dtype=np.int64)
        order = np.empty(len(placed), dtype=np.int64)
        order[placed] = np.arange(len(placed))
        return self.engine.submit(_concat, parts, order, label=label)


def load_chunks(
    engine,
    data,
    id_col="unique_id",
    time_col="ds",
    target_col="y",
    *,
    value_cols=None,
    static_cols=None,
    freq=None,
    missing="keep",
    dtype="float64",
    chunk_series: int = SERIES_PER_PARTITION,
    encoding=None,
    **reading,
) -> ChunkedPanel:
    """Build the chunks of ``data`` on ``engine`` (see the module docstring);
    ``reading`` holds the other options of :meth:`Panel.from_frame` (``date_format``,
    ``dayfirst``, ``near_duplicate_ids``: ids are compared within each chunk)."""
    args = {
        "id_col": id_col,
        "time_col": time_col,
        "target_col": target_col,
        "value_cols": value_cols,
        "static_cols": static_cols,
        "freq": freq,
        "missing": missing,
        "dtype": dtype,
        **reading,
    }
    id_cols = [id_col] if isinstance(id_col, str) else list(id_col)
    files = parquet_parts(data)
    if files is None and not is_dask_collection(data):
        panel = (
            data
            if isinstance(data, Panel)
            else read_panel(
                data,
                id_col=id_col,
                time_col=time_col,
                target_col=target_col,
                encoding=encoding,
                **{
                    k: v
                    for k, v in args.items()
                    if k not in ("id_col", "time_col", "target_col")
                },
            )
        )
        return _from_panel(engine, panel, chunk_series)
    if files is not None:
        if isinstance(data, (str, Path)):
            _check_flat(data)
        cols = list(
            dict.fromkeys(
                id_cols
                + [time_col, target_col]
                + list(value_cols or [])
                + list(static_cols or [])
            )
        )
        parts = [
            engine.submit(_read_part, f, cols, label=f"read {Path(f).name}")
            for f in files
        ]
        names = [f"file {Path(f).name}" for f in files]
    else:
        parts = engine.from_delayed(data.to_delayed())
        names = [f"partition {j}" for j in range(len(parts))]
    return _from_parts(engine, parts, names, args, id_cols)


def _from_panel(engine, panel: Panel, chunk_series: int) -> ChunkedPanel:
    n = panel.n_series
    bounds = [
        (lo, min(lo + chunk_series, n)) for lo in range(0, max(n, 1), chunk_series)
    ]
    refs, labels = [], []
    chunk_of = np.zeros(n, dtype=np.int64)
    local_of = np.zeros(n, dtype=np.int64)
    for c, (lo, hi) in enumerate(bounds):
        label = f"chunk {c} (series {lo}..{hi - 1})"
        refs.append(
            engine.submit(_identity, panel.subset(np.arange(lo, hi)), label=label)
        )
        labels.append(label)
        chunk_of[lo:hi] = c
        local_of[lo:hi] = np.arange(hi - lo)
    return ChunkedPanel(
        engine=engine,
        refs=refs,
        labels=labels,
        ids=panel.ids,
        chunk_of=chunk_of,
        local_of=local_of,
        n_observed=panel.n_observed,
        lengths=panel.lengths,
        start=panel.start,
        digests=panel.series_digests(),
        id_cols=panel.id_cols,
        time_col=panel.time_col,
        target_col=panel.target_col,
        value_cols=panel.value_cols,
        static_cols=panel.static_cols,
        freq=panel.freq,
        time_kind=panel.time_kind,
        missing_policy=panel.missing_policy,
        n_input_rows=panel.n_input_rows,
        _grid=panel._grid,
        _time_dtype=panel._time_dtype,
    )


def _from_parts(
    engine, parts: list, names: list, args: dict, id_cols: list
) -> ChunkedPanel:
    log.info("chunks: reading %d parts on %s", len(parts), engine.describe())
    profiles = engine.map(
        _profile,
        [(p, id_cols, args["time_col"]) for p in parts],
        [f"profile {n}" for n in names],
        desc="ids",
    )
    nonempty = [j for j, pr in enumerate(profiles) if len(pr["ids"])]
    if not nonempty:
        raise DataValidationError(
            [Problem("empty", None, "the parts hold no rows; pass at least one series")]
        )
    parts, names = [parts[j] for j in nonempty], [names[j] for j in nonempty]
    profiles = [profiles[j] for j in nonempty]
    order = pd.concat([pr["ids"] for pr in profiles], ignore_index=True)
    spread = order.duplicated(keep=False)
    first = order.drop_duplicates().reset_index(drop=True)
    if args["freq"] is None:
        args = {
            **args,
            "freq": _common_freq(engine, parts, names, profiles, first, args, id_cols),
        }
    if spread.any():
        # rows of some series sit in several parts: regroup by a hash of the id
        log.info(
            "chunks: %d series span several parts; regrouping by series id",
            int(order[spread].drop_duplicates().shape[0]),
        )
        nb = int(min(len(parts), 64, max(1, np.ceil(len(first) / 2000))))
        bucketed = [
            engine.submit(_buckets, p, id_cols, nb, label=f"regroup {n}")
            for p, n in zip(parts, names)
        ]
        groups = [
            [
                engine.submit(_pick, b, j, label=f"regroup {n} -> chunk {j}")
                for b, n in zip(bucketed, names)
            ]
            for j in range(nb)
        ]
        sources, labels = (
            groups,
            [f"chunk {j} (regrouped by id hash)" for j in range(nb)],
        )
    else:
        sources, labels = parts, names
    chunks = [
        engine.submit(_build, s, args, lab, label=f"build {lab}")
        for s, lab in zip(sources, labels)
    ]
    metas = engine.map(
        _meta,
        [(c,) for c in chunks],
        [f"describe {lab}" for lab in labels],
        desc="chunks",
    )
    problems = [p for m in metas if "problems" in m for p in m["problems"]]
    if problems:
        raise DataValidationError(problems)
    keep = [j for j, m in enumerate(metas) if "empty" not in m and len(m["ids"])]
    chunks = [chunks[j] for j in keep]
    metas = [metas[j] for j in keep]
    labels = [labels[j] for j in keep]
    modes = {m["grid"].tz_mode for m in metas}
    if len(modes) > 1:
        raise DataValidationError(
            [
                Problem(
                    "mixed_time_grids",
                    args["time_col"],
                    "some parts hold time-zone-aware times all "
                    "at local midnight and others not, so their grids differ; convert the times to "
                    "UTC (pd.to_datetime(..., utc=True)) or read the data into one frame",
                )
            ]
        )
    origin = min(m["origin"] for m in metas)
    shifts = []
    for j, m in enumerate(metas):
        try:
            shifts.append(grid_steps(m["time_kind"], m["freq"], origin, m["origin"]))
        except ValueError as exc:
            raise DataValidationError(
                [
                    Problem(
                        "off_grid",
                        args["time_col"],
                        f"{labels[j]} starts at {m['origin']}, which "
                        f"is not on the {m['freq']!r} grid of the earliest time {origin} ({exc}); "
                        "pass the right freq=",
                    )
                ]
            ) from None
        if m["origin"] != origin:
            chunks[j] = engine.submit(
                _rebase, chunks[j], origin, label=f"rebase {labels[j]}"
            )
    ids = pd.concat([m["ids"] for m in metas], ignore_index=True)
    cat = lambda key: np.concatenate([m[key] for m in metas])  # noqa: E731
    chunk_of = np.concatenate([np.full(len(m["ids"]), j) for j, m in enumerate(metas)])
    local_of = np.concatenate([np.arange(len(m["ids"])) for m in metas])
    start = np.concatenate([m["start"] + s for m, s in zip(metas, shifts)])
    # first-seen order over the parts
    pos = _positions(first, ids, id_cols)
    inv = np.empty(len(pos), dtype=np.int64)
    inv[pos] = np.arange(len(pos))
    m0 = metas[0]
    return ChunkedPanel(
        engine=engine,
        refs=chunks,
        labels=labels,
        ids=ids.iloc[inv].reset_index(drop=True),
        chunk_of=chunk_of[inv],
        local_of=local_of[inv],
        n_observed=cat("n_observed")[inv],
        lengths=cat("lengths")[inv],
        start=start[inv],
        digests=cat("digests")[inv],
        id_cols=id_cols,
        time_col=args["time_col"],
        target_col=args["target_col"],
        value_cols=m0["value_cols"],
        static_cols=m0["static_cols"],
        freq=m0["freq"],
        time_kind=m0["time_kind"],
        missing_policy=m0["missing"],
        n_input_rows=sum(m["rows"] for m in metas),
        _grid=dataclasses.replace(m0["grid"], origin=origin),
        _time_dtype=m0["time_dtype"],
    )


def _common_freq(engine, parts, names, profiles, first, args, id_cols):
    """The frequency the local engine would infer from all the data at once.

    Integer times: the gcd of every part's steps and of the gaps between the parts'
    first times (exactly the local rule).  Datetimes: the majority vote of the five
    longest series (rows summed over the parts; ties: first seen), from their rows on
    every part, else the frequency of all distinct times.  Other time types (periods)
    need none.
    """
    from math import gcd

    ints = [pr["int"] for pr in profiles]
    if all(i is not None for i in ints):
        lo = min(i[0] for i in ints)
        step = 0
        for first_t, g in ints:
            step = gcd(gcd(step, g), first_t - lo)
        return max(step, 1)
    if any(i is not None for i in ints):
        return None  # mixed: every chunk reports the problem
    from .timegrid import freq_of_all_times, freq_votes

    rows = (
        pd.concat([pr["rows"] for pr in profiles])
        .groupby(id_cols, sort=False, dropna=False)["_rows"]
        .sum()
        .reset_index()
    )
    counts = first.merge(rows, on=id_cols, how="left")["_rows"].to_numpy()
    longest = first.iloc[np.argsort(-counts, kind="stable")[:5]].reset_index(drop=True)
    got = engine.map(
        _times_of,
        [(p, id_cols, args["time_col"], longest) for p in parts],
        [f"times of the longest series in {n}" for n in names],
        desc="freq",
    )
    times = pd.concat(got, ignore_index=True)
    ns, ok = _as_ns(times[args["time_col"]])
    if ns is None:
        return None  # periods, or unparseable: chunks decide/report
    codes = longest.reset_index().merge(times[id_cols], on=id_cols, how="right")[
        "index"
    ]
    codes = codes.to_numpy()[ok]
    votes = freq_votes(ns[ok], codes)
    if votes:
        freq = votes.most_common(1)[0][0]
    else:
        every = engine.map(
            _unique_times,
            [(p, args["time_col"]) for p in parts],
            [f"times of {n}" for n in names],
            desc="freq",
        )
        ns_all, ok_all = _as_ns(pd.concat(every, ignore_index=True))
        freq = None if ns_all is None else freq_of_all_times(ns_all[ok_all])
    log.info("chunks: frequency %r inferred from the longest series", freq)
    return freq


def _as_ns(col: pd.Series):
    """Datetimes as naive ns (as the panel sees them) and a validity mask; None for
    periods and columns that are not times."""
    if isinstance(col.dtype, pd.PeriodDtype):
        return None, None
    ts = (
        col
        if pd.api.types.is_datetime64_any_dtype(col)
        else pd.to_datetime(col, errors="coerce", format="mixed")
    )
    if not pd.api.types.is_datetime64_any_dtype(ts):
        return None, None
    ts = naive_times(ts)[0]
    ok = ts.notna().to_numpy()
    return ts.to_numpy(dtype="datetime64[ns]"), ok


def _positions(first: pd.DataFrame, ids: pd.DataFrame, id_cols: list) -> np.ndarray:
    """Position in ``first`` (first-seen order) of each row of ``ids``."""
    key = first.assign(_pos=np.arange(len(first)))
    got = ids.merge(key, on=id_cols, how="left", sort=False)["_pos"].to_numpy()
    return got.astype(np.int64)


__getattr__ = renamed(__name__, {"CHUNK_SERIES": "SERIES_PER_PARTITION"})
