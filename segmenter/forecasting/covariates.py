"""Covariates: calendar features from the frequency, holiday flags, and the checks on
static and future-known columns.

* :class:`Calendar` gives, for grid positions, the calendar features the frequency
  makes meaningful: the position in the season (``season_pos``, every grid), and for
  dates ``hour``, ``dayofweek``, ``week``, ``month``, ``quarter`` (those that vary at
  this frequency), plus ``holiday`` with ``holidays="AU"``: 1 on a holiday for daily or
  finer data, the number of holidays in the period for coarser data (the ``holidays``
  package).
* :func:`future_values` reads the ``future=`` frame of :meth:`SegmentedForecaster.predict`:
  it must hold every series × horizon step and exactly the fit's future columns; the
  typed error names the missing series and steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem, missing_dependency

__all__ = ["Calendar", "future_values", "check_covariate_columns"]

_DATE_FEATURES = ("hour", "dayofweek", "week", "month", "quarter")


class Calendar:
    """Calendar features of the positions of a panel's time grid.

    Parameters
    ----------
    grid : the panel's time grid (``Panel.grid``)
    season_length : int
    holidays : str, optional
        A country code of the ``holidays`` package (``"AU"``, ``"FR"``...).
    """

    def __init__(self, grid, season_length: int, holidays: str | None = None):
        self.grid = grid
        self.m = int(season_length)
        self.holidays = holidays
        self.names = ["season_pos"] + self._date_names()
        if holidays:
            if grid.kind == "int":
                raise DataValidationError(
                    [
                        Problem(
                            "holidays_without_dates",
                            "holidays",
                            f"holidays={holidays!r} needs dates; "
                            "the time column holds integer steps",
                        )
                    ]
                )
            self._holiday_dates(np.arange(1))  # fails early on a bad country
            self.names.append("holiday")

    def _dates(self, positions) -> pd.DatetimeIndex:
        labels = self.grid.labels(np.asarray(positions, dtype=np.int64))
        return (
            labels.to_timestamp()
            if isinstance(labels, pd.PeriodIndex)
            else pd.DatetimeIndex(labels)
        )

    def _date_names(self) -> list[str]:
        if self.grid.kind == "int":
            return []
        d = self._date_parts(self._dates(np.arange(800)))
        return [c for c in _DATE_FEATURES if np.unique(d[c]).size > 1]

    @staticmethod
    def _date_parts(d: pd.DatetimeIndex) -> dict:
        return {
            "hour": d.hour.to_numpy(),
            "dayofweek": d.dayofweek.to_numpy(),
            "week": d.isocalendar().week.to_numpy().astype(np.int64),
            "month": d.month.to_numpy(),
            "quarter": d.quarter.to_numpy(),
        }

    def _holiday_dates(self, positions) -> np.ndarray:
        try:
            import holidays as hol
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise missing_dependency("holidays", "holidays", "holidays=") from exc
        d = self._dates(positions)
        years = range(int(d.year.min()) - 1, int(d.year.max()) + 2)
        try:
            days = hol.country_holidays(self.holidays, years=years)
        except (NotImplementedError, KeyError) as exc:
            raise DataValidationError(
                [
                    Problem(
                        "bad_holidays",
                        "holidays",
                        f"holidays={self.holidays!r} is not a country of "
                        f"the holidays package ({exc}); use a code such as 'AU' or 'FR'",
                    )
                ]
            ) from None
        return np.sort(np.array(list(days.keys()), dtype="datetime64[D]"))

    def features(self, positions) -> np.ndarray:
        """(len(positions), len(names)) float matrix of the features of ``positions``."""
        pos = np.asarray(positions, dtype=np.int64)
        cols = [pos % self.m if self.m > 1 else np.zeros(len(pos), dtype=np.int64)]
        if len(self.names) > 1 and len(pos):
            d = self._dates(pos)
            parts = self._date_parts(d)
            cols += [parts[c] for c in self.names[1:] if c != "holiday"]
            if self.holidays:
                days = self._holiday_dates(pos)
                start = d.to_numpy().astype("datetime64[D]")
                nxt = self._dates(pos + 1).to_numpy().astype("datetime64[D]")
                cols.append(np.searchsorted(days, nxt) - np.searchsorted(days, start))
        elif len(self.names) > 1:
            cols += [np.zeros(0)] * (len(self.names) - 1)
        return (
            np.column_stack(cols).astype(float)
            if len(pos)
            else np.zeros((0, len(self.names)))
        )


def check_covariate_columns(
    data_columns, static_cols, future_cols, id_cols, time_col, target_col
) -> list[Problem]:
    """Problems with the covariate column names: unknown, listed twice, or also an id,
    time or target column."""
    problems = []
    cols = set(data_columns)
    both = sorted(set(static_cols) & set(future_cols))
    if both:
        problems.append(
            Problem(
                "covariate_twice",
                ",".join(both),
                f"columns {both} are both "
                "static_cols and future_cols; a static column is constant "
                "within a series, a future column varies over time",
            )
        )
    taken = sorted(
        (set(static_cols) | set(future_cols)) & (set(id_cols) | {time_col, target_col})
    )
    if taken:
        problems.append(
            Problem(
                "covariate_is_key",
                ",".join(taken),
                f"columns {taken} are the "
                "id, time or target column; covariates are other columns",
            )
        )
    absent = [c for c in list(static_cols) + list(future_cols) if c not in cols]
    if absent:
        problems.append(
            Problem(
                "missing_columns",
                None,
                f"covariate columns {absent} are not in the data",
            )
        )
    return problems


def future_values(
    future,
    ids: pd.DataFrame,
    id_cols: list,
    time_col: str,
    times: list,
    future_cols: list,
) -> np.ndarray:
    """The future covariates of every series over the horizon, (n, horizon, k).

    ``times[i]`` are series i's horizon times.  Every series × step must be in
    ``future`` (extra rows are ignored) and its columns must be the fit's
    ``future_cols``; a typed error names what is missing.
    """
    if not isinstance(future, pd.DataFrame):
        raise DataValidationError(
            [
                Problem(
                    "no_future",
                    "future",
                    f"the model uses future_cols {future_cols}: pass future= "
                    "(a frame with the id and time columns and those columns for every series and "
                    "horizon step). A column whose future values are not known cannot be used this "
                    "way: lag it (use an earlier period's value) or drop it from future_cols",
                )
            ]
        )
    problems = []
    need = list(id_cols) + [time_col] + list(future_cols)
    absent = [c for c in need if c not in future.columns]
    if absent:
        problems.append(
            Problem(
                "future_columns",
                None,
                f"future= lacks columns {absent}; it needs {need}",
            )
        )
    extra = [c for c in future.columns if c not in need]
    if extra:
        problems.append(
            Problem(
                "future_columns",
                None,
                f"future= has columns {extra} the "
                f"model was not fitted with (future_cols={future_cols}); drop "
                "them or refit with them",
            )
        )
    if problems:
        raise DataValidationError(problems)
    h = len(times[0]) if times else 0
    rows = ids.loc[ids.index.repeat(h)].reset_index(drop=True)
    rows[time_col] = (
        pd.Index(np.concatenate([np.asarray(t) for t in times])) if times else []
    )
    rows["_step"] = np.tile(np.arange(1, h + 1), len(ids))
    fut = future[need].copy()
    try:
        fut[time_col] = fut[time_col].astype(rows[time_col].dtype)
    except (TypeError, ValueError):
        pass
    dup = fut.duplicated(list(id_cols) + [time_col])
    if dup.any():
        raise DataValidationError(
            [
                Problem(
                    "future_duplicates",
                    time_col,
                    f"{int(dup.sum())} rows of future= repeat a (series, time)",
                    rows=np.flatnonzero(dup.to_numpy()).tolist(),
                )
            ]
        )
    merged = rows.merge(fut, on=list(id_cols) + [time_col], how="left", indicator=True)
    missing = merged["_merge"] != "both"
    from ..data.panel import id_labels

    if missing.any():
        miss = merged.loc[missing]
        raise DataValidationError(
            [
                Problem(
                    "future_incomplete",
                    time_col,
                    f"future= misses {int(missing.sum())} of the "
                    f"{len(merged)} series x horizon steps it must cover (steps "
                    f"{sorted(set(miss['_step'].tolist()))[:10]})",
                    ids=list(dict.fromkeys(id_labels(miss[list(id_cols)]))),
                )
            ]
        )
    vals = merged[list(future_cols)].apply(pd.to_numeric, errors="coerce")
    bad = vals.isna().to_numpy() & merged[list(future_cols)].notna().to_numpy()
    if bad.any():
        raise DataValidationError(
            [
                Problem(
                    "future_not_numeric",
                    ",".join(future_cols),
                    "future covariate values that are not "
                    "numbers; convert them (booleans and categories as 0/1 or codes)",
                    rows=np.flatnonzero(bad.any(axis=1)).tolist(),
                )
            ]
        )
    arr = vals.to_numpy(dtype=float)
    problems = []
    for j, c in enumerate(future_cols):
        for kind, mask, what in (
            ("future_missing", np.isnan(arr[:, j]), "missing"),
            ("future_infinite", np.isinf(arr[:, j]), "infinite"),
        ):
            if mask.any():
                problems.append(
                    Problem(
                        kind,
                        c,
                        f"{int(mask.sum())} future values are {what} (horizon steps "
                        f"{sorted(set(merged.loc[mask, '_step'].tolist()))[:10]}); the model "
                        "needs every future value: fill them",
                        ids=list(
                            dict.fromkeys(id_labels(merged.loc[mask, list(id_cols)]))
                        ),
                    )
                )
    if problems:
        raise DataValidationError(problems)
    return vals.to_numpy(dtype=float).reshape(len(ids), h, len(future_cols))
