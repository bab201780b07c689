"""The time axis of a panel: every series on one regular grid of steps.

A :class:`Grid` maps integer step positions to time labels (datetimes with a pandas
frequency, pandas Periods, or integer steps).  :func:`time_positions` reads a time
column onto a grid: it parses the times, infers the frequency when none is given (the
step most series agree on), and names the series and rows whose times are off the grid.
Aware datetimes are made naive first (:func:`naive_times`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem

__all__ = [
    "Grid",
    "time_positions",
    "grid_steps",
    "is_integer_times",
    "integer_step",
    "naive_times",
    "freq_of_all_times",
    "freq_votes",
    "MAX_GRID_STEPS",
    "parse_times",
]

#: More grid steps than this (and 20 per input row) means the frequency is too fine.
MAX_GRID_STEPS = 50_000_000


def row_numbers(mask: np.ndarray) -> list[int]:
    """The row numbers where ``mask`` is true (to name them in a problem)."""
    return np.flatnonzero(mask).tolist()


def is_integer_times(col: pd.Series) -> bool:
    """Whether a time column holds integer steps (ints, or floats that are all whole)."""
    if pd.api.types.is_integer_dtype(col):
        return True
    return bool(
        pd.api.types.is_float_dtype(col)
        and col.notna().any()
        and np.all(np.mod(col.dropna().to_numpy(), 1) == 0)
    )


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
class Grid:
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
            return pd.PeriodIndex.from_ordinals(
                self.origin.ordinal + positions, freq=self.origin.freq
            )
        n = int(positions.max()) + 1 if positions.size else 0
        rng = pd.date_range(self.origin, periods=max(n, 1), freq=self.freq)
        return rng[positions]


def time_positions(
    col: pd.Series, codes: np.ndarray, freq, labels_of, date_format=None, dayfirst=None
):
    """Map the time column to integer grid positions (text times are read with one
    format for the whole column: :func:`parse_times`).

    Returns ``(positions or None, grid, time_dtype, problems)``.
    """
    problems: list[Problem] = []
    name = col.name
    valid = codes >= 0
    null_t = col.isna().to_numpy()
    if null_t.any():
        problems.append(
            Problem(
                "null_times",
                name,
                f"{int(null_t.sum())} rows have no time; drop or fill them",
                ids=labels_of(codes[null_t]),
                rows=row_numbers(null_t),
            )
        )
    # numbers that are not whole: not a time axis we can lay on a grid
    if pd.api.types.is_float_dtype(col) and not null_t.all():
        frac = ~null_t & (np.mod(col.to_numpy(dtype=np.float64, na_value=0.0), 1) != 0)
        if frac.any():
            problems.append(
                Problem(
                    "fractional_times",
                    name,
                    f"{int(frac.sum())} numeric times are not whole "
                    "steps; use integer steps or datetimes",
                    ids=labels_of(codes[frac]),
                    rows=row_numbers(frac),
                )
            )
            return None, Grid("int", 1, 0), None, problems
    # integer steps ------------------------------------------------------------------
    if is_integer_times(col):
        t = col.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = valid & ~null_t
        ti = np.where(ok, t, 0).astype(np.int64)
        origin = int(ti[ok].min()) if ok.any() else 0
        step = (
            freq
            if isinstance(freq, (int, np.integer))
            else _infer_int_step(ti[ok] - origin)
        )
        rel = ti - origin
        off = ok & (rel % step != 0)
        if off.any():
            problems.append(
                Problem(
                    "off_grid",
                    name,
                    f"{int(off.sum())} integer times are not multiples of the "
                    f"step {step} from the first time {origin}; pass freq= with the right step",
                    ids=labels_of(codes[off]),
                    rows=row_numbers(off),
                )
            )
        pos = np.where(ok, rel // step, -1)
        dtype = col.dtype if pd.api.types.is_integer_dtype(col) else np.dtype("int64")
        return pos, Grid("int", int(step), origin), dtype, problems
    # periods -------------------------------------------------------------------------
    if isinstance(col.dtype, pd.PeriodDtype):
        ords = col.array.asi8.copy()
        ok = valid & ~null_t
        origin_ord = int(ords[ok].min()) if ok.any() else 0
        pos = np.where(ok, ords - origin_ord, -1)
        return (
            pos,
            Grid(
                "period",
                col.dtype.freq.freqstr,
                pd.Period._from_ordinal(origin_ord, col.dtype.freq),
            ),
            None,
            problems,
        )
    # datetimes (or strings) -------------------------------------------------------------
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col
    else:
        ts, parse_problems = parse_times(col, date_format, dayfirst, codes, labels_of)
        problems.extend(parse_problems)
        if ts is None:
            return None, Grid("datetime", freq, None), None, problems
    tz = ts.dtype
    ts, tz_mode = naive_times(ts)
    ok = valid & ts.notna().to_numpy()
    if not ok.any():
        return None, Grid("datetime", freq, None), tz, problems
    ns = ts.to_numpy(dtype="datetime64[ns]")
    if freq is None:
        freq = _infer_datetime_freq(ns[ok], codes[ok])
        if freq is None:
            problems.append(
                Problem(
                    "unknown_frequency",
                    name,
                    "the frequency could not be inferred from the "
                    "times (too few or irregular steps); pass freq= (e.g. 'D', 'W-SUN', 'MS', "
                    "'QS', 'YS') or use integer time steps",
                )
            )
            return None, Grid("datetime", None, None), tz, problems
    tmin, tmax = ns[ok].min(), ns[ok].max()
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        problems.append(
            Problem(
                "bad_frequency", name, f"freq={freq!r} is not a pandas frequency alias"
            )
        )
        return None, Grid("datetime", freq, None), tz, problems
    origin = pd.Timestamp(tmin)
    if not offset.is_on_offset(origin):
        problems.append(
            Problem(
                "off_grid",
                name,
                f"the first time {origin} is not on the "
                f"frequency {freq!r}; pass the matching freq=",
            )
        )
        return None, Grid("datetime", freq, origin), tz, problems
    n_steps_est = _estimate_steps(origin, pd.Timestamp(tmax), offset)
    if n_steps_est > MAX_GRID_STEPS:
        problems.append(
            Problem(
                "grid_too_large",
                name,
                f"the {freq!r} grid from {origin} to "
                f"{pd.Timestamp(tmax)} has over {MAX_GRID_STEPS} steps; pass "
                "a coarser freq=",
            )
        )
        return None, Grid("datetime", freq, origin), tz, problems
    grid_index = pd.date_range(origin, pd.Timestamp(tmax), freq=offset)
    gi = (
        grid_index.asi8
        if grid_index.dtype == "datetime64[ns]"
        else grid_index.as_unit("ns").asi8
    )
    t64 = ns.astype(np.int64)
    pos = np.searchsorted(gi, t64)
    pos_c = np.minimum(pos, len(gi) - 1)
    off = ok & (gi[pos_c] != t64)
    if off.any():
        problems.append(
            Problem(
                "off_grid",
                name,
                f"{int(off.sum())} times do not fall on the {freq!r} grid; "
                "resample the series to a regular frequency first or pass the right freq=",
                ids=labels_of(codes[off]),
                rows=row_numbers(off),
            )
        )
    pos = np.where(ok & ~off, pos, -1)
    return pos, Grid("datetime", offset.freqstr, origin, tz_mode), tz, problems


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
    votes = freq_votes(ns, codes)
    if not votes:
        return freq_of_all_times(ns)
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


def freq_of_all_times(ns: np.ndarray) -> str | None:
    """The fallback when no long series votes: pandas' frequency of all distinct times."""
    u = np.unique(ns)
    return pd.infer_freq(pd.DatetimeIndex(u)) if len(u) >= 3 else None


def freq_votes(ns: np.ndarray, codes: np.ndarray) -> Counter:
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


#: Values of a text time column looked at to guess its format.
_GUESS_SAMPLE = 50


def parse_times(
    col: pd.Series, date_format=None, dayfirst=None, codes=None, labels_of=None
) -> tuple:
    """Datetimes of a time column of text (or objects), read with **one** format for the
    whole column, never value by value; returns ``(times or None, problems)``.

    ``date_format`` (a ``strptime`` format) is used when given.  Otherwise ISO 8601 is
    tried first; then the formats pandas guesses from the column's values, day-first
    and month-first: every format that reads *every* value is kept.  When a day-first
    and a month-first format both read the whole column and give different dates
    (``02/01/2020``: 2 January or 1 February?), the column is refused
    (``ambiguous_dates``) unless ``dayfirst`` says which; values no single format reads
    are named (``unparseable_times``).  Datetime objects are converted as they are.
    """
    from pandas.tseries.api import guess_datetime_format

    name = col.name
    codes = np.zeros(len(col), dtype=np.int64) if codes is None else codes
    labels_of = labels_of or (lambda c: [])
    problems: list[Problem] = []
    notna = col.notna().to_numpy()
    texts = col[notna]
    is_text = bool(len(texts)) and all(isinstance(v, str) for v in texts.iloc[:10000])
    if not is_text or date_format is not None:
        try:
            ts = _to_datetime(col, date_format)
        except (ValueError, TypeError, FutureWarning, OverflowError) as exc:
            return None, [_time_error(name, exc, texts)]
        return ts, _unparsed(col, ts, codes, labels_of, date_format)
    uniq = pd.Index(pd.unique(texts.astype(str).str.strip()))
    results = {}
    for fmt in ["ISO8601"] + _guessed_formats(uniq, guess_datetime_format):
        try:
            got = _to_datetime(uniq, fmt)
        except (ValueError, TypeError, FutureWarning, OverflowError) as exc:
            if _is_timezone_error(exc):
                return None, [_time_error(name, exc, texts)]
            continue
        results[fmt] = got
        if fmt == "ISO8601" and not got.isna().any():
            break  # year first: month before day by the standard's rule
    full = {f: g for f, g in results.items() if not g.isna().any()}
    if dayfirst is not None and len(full) > 1:
        preferred = {f: g for f, g in full.items() if _is_dayfirst(f) == bool(dayfirst)}
        full = preferred or full
    distinct = {}
    for f, g in full.items():
        distinct.setdefault(tuple(g.asi8), f)
    if len(distinct) > 1:
        fmts = list(distinct.values())
        first, second = full[fmts[0]], full[fmts[1]]
        diff = np.flatnonzero(first.asi8 != second.asi8)
        ex = [uniq[i] for i in diff[:2]]
        problems.append(
            Problem(
                "ambiguous_dates",
                name,
                f"the dates are ambiguous: they read day-first and month-first, with different "
                f"dates (e.g. {ex!r}: {first[diff[0]].date()} with {fmts[0]!r} or "
                f"{second[diff[0]].date()} with {fmts[1]!r}); say which with "
                "date_format= (--date-format, e.g. '%d/%m/%Y') or dayfirst=True/False "
                "(--dayfirst / --monthfirst)",
            )
        )
        return None, problems
    if distinct:
        fmt = next(iter(distinct.values()))
    else:  # no one format reads every value: the one that reads most
        fmt = max(results, key=lambda f: int(results[f].notna().sum()), default=None)
    if fmt is None:
        ts = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    else:
        lookup = pd.Series(results[fmt], index=uniq)
        ts = pd.Series(pd.NaT, index=col.index, dtype=results[fmt].dtype)
        ts[notna] = lookup.reindex(texts.astype(str).str.strip().to_numpy()).to_numpy()
    return ts, _unparsed(col, ts, codes, labels_of, fmt)


def _to_datetime(values, fmt):
    """``pd.to_datetime`` with one format (None: pandas' own inference from the first
    value); mixed time zones raise, as pandas 3 does (pandas 2 warns)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*mixed time zones.*", FutureWarning)
        warnings.filterwarnings("ignore", ".*dayfirst.*", UserWarning)
        return pd.to_datetime(values, errors="coerce", format=fmt)


def _guessed_formats(values: pd.Index, guess) -> list:
    """The formats pandas guesses from a sample of ``values``, month- and day-first,
    in order of first appearance (None: pandas' inference from the first value)."""
    step = max(1, len(values) // _GUESS_SAMPLE)
    out: dict = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*dayfirst.*", UserWarning)
        for v in values[::step][:_GUESS_SAMPLE]:
            for first in (False, True):
                fmt = guess(v, dayfirst=first)
                if fmt is not None and not fmt.startswith("%Y-%d"):
                    out.setdefault(fmt, None)
    return list(out) + [None]


def _is_dayfirst(fmt) -> bool:
    return (
        fmt is not None
        and "%d" in fmt
        and "%m" in fmt
        and fmt.index("%d") < fmt.index("%m")
    )


def _is_timezone_error(exc) -> bool:
    text = str(exc).lower()
    return "tz" in text or "offset" in text or "zone" in text


def _time_error(name, exc, texts) -> Problem:
    if _is_timezone_error(exc):
        return Problem(
            "mixed_timezones",
            name,
            "times mix time zones (or aware and naive "
            "values); convert them all to one zone, e.g. with "
            "pd.to_datetime(..., utc=True)",
        )
    return Problem(
        "bad_times",
        name,
        f"times could not be parsed ({exc}); pass "
        "date_format= (--date-format) or integer steps",
    )


def _unparsed(col, ts, codes, labels_of, fmt) -> list:
    bad = (ts.isna() & col.notna()).to_numpy()
    if not bad.any():
        return []
    how = f" with the format {fmt!r} read from the column" if fmt else ""
    return [
        Problem(
            "unparseable_times",
            col.name,
            f"{int(bad.sum())} times could not be parsed as "
            f"dates{how} (e.g. {col[bad].iloc[:3].tolist()}); a column is read with one format "
            "throughout: fix them, pass date_format= (--date-format) or use integer steps",
            ids=labels_of(codes[bad]),
            rows=row_numbers(bad),
        )
    ]
