"""UTC time parsing and formatting: every time in AuraQuant is tz-aware UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

TIMEFRAMES: dict[str, pd.Timedelta] = {
    "1m": pd.Timedelta(minutes=1),
    "5m": pd.Timedelta(minutes=5),
    "15m": pd.Timedelta(minutes=15),
    "30m": pd.Timedelta(minutes=30),
    "1h": pd.Timedelta(hours=1),
    "4h": pd.Timedelta(hours=4),
    "1d": pd.Timedelta(days=1),
}


_ZERO = timedelta(0)


class TimeParseError(ValueError):
    """A timestamp that is not ISO-8601 with an explicit UTC offset."""


def parse_utc(value: str | datetime | pd.Timestamp) -> pd.Timestamp:
    """Parse an ISO-8601 time that carries a timezone (``Z`` or ``+00:00``) into UTC.

    A naive time is refused: guessing its zone is how look-ahead bugs start.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise TimeParseError(f"time {value!r} is not ISO-8601 (e.g. 2023-04-20T12:00:00Z)") from exc
    if ts is pd.NaT:
        raise TimeParseError(f"time {value!r} is not ISO-8601 (e.g. 2023-04-20T12:00:00Z)")
    if ts.tzinfo is None:
        raise TimeParseError(f"time {value!r} has no timezone; write it in UTC with a Z suffix")
    return ts.tz_convert("UTC")


def iso(ts: pd.Timestamp | datetime) -> str:
    """Format a time as ``2023-04-20T12:00:00Z`` (seconds precision, UTC)."""
    if isinstance(ts, datetime) and ts.tzinfo is not None and ts.utcoffset() == _ZERO:
        # already UTC (a backtest formats ~10^5 of these): skip the conversion
        return (
            f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T"
            f"{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}Z"
        )
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """The bar length of a timeframe code such as ``1m`` or ``1h``."""
    try:
        return TIMEFRAMES[timeframe]
    except KeyError as exc:
        raise ValueError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}") from exc
