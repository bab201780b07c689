"""Calendar facts of a time grid: the season length a frequency implies."""

from __future__ import annotations

import pandas as pd

__all__ = ["season_length_for"]


_SEASON = {
    "YS": 1,
    "YE": 1,
    "Y": 1,
    "A": 1,
    "AS": 1,
    "BYS": 1,
    "BYE": 1,
    "BA": 1,
    "QS": 4,
    "QE": 4,
    "Q": 4,
    "BQS": 4,
    "BQE": 4,
    "BQ": 4,
    "MS": 12,
    "ME": 12,
    "M": 12,
    "BMS": 12,
    "BME": 12,
    "BM": 12,
    "CBMS": 12,
    "SMS": 24,
    "SME": 24,
    "SM": 24,
    "W": 52,
    "D": 7,
    "B": 5,
    "C": 5,
    "h": 24,
    "H": 24,
    "min": 60,
    "T": 60,
    "s": 60,
    "S": 60,
}


def season_length_for(freq) -> int | None:
    """Default season length for a frequency alias (None when unknown, e.g. int steps).

    Yearly 1, quarterly 4, monthly 12, semi-monthly 24, weekly 52, daily 7 (a week),
    business-daily 5, hourly 24, minutely and secondly 60; multiples such as ``"7D"``
    (weekly, 52) or ``"2h"`` have none unless listed.

    >>> season_length_for("MS"), season_length_for("QS-OCT"), season_length_for(1)
    (12, 4, None)
    >>> season_length_for("7D"), season_length_for("W-MON"), season_length_for("24h")
    (52, 52, 7)
    """
    if not isinstance(freq, str):
        freq = getattr(freq, "freqstr", None)
        if freq is None:
            return None
    try:
        off = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    code = off.rule_code.split("-")[0]
    n = off.n
    try:  # fixed steps: express them in days when whole
        nanos = pd.Timedelta(off).value
    except (ValueError, TypeError):
        nanos = None
    if nanos:
        day = 86400 * 10**9
        if nanos == day:
            return 7
        if nanos == 7 * day:
            return 52
        if nanos == 3600 * 10**9:
            return 24
    if code == "D" and n == 7:
        return 52
    return _SEASON.get(code) if n == 1 else None
