"""Candle validation: turn raw rows into clean, sorted, unique bars or one precise error.

Every check runs before anything is written. The error names the file, the 1-based data row
(as the user sees it in the file, before any sorting), the column and the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tools.errors import DataValidationError
from tools.store import PRICE_COLUMNS, VALUE_COLUMNS, Gap, find_gaps
from tools.timeutil import TIMEFRAMES, TimeParseError, iso, parse_utc

CANDLE_COLUMNS: tuple[str, ...] = ("ts", *VALUE_COLUMNS)
_FAST_TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class CandleBatch:
    """Validated bars of one file: sorted, unique, with where each bar came from."""

    file: str
    symbol: str
    timeframe: str
    ts: np.ndarray  # int64 ns, bar open time, sorted, unique
    values: dict[str, np.ndarray]  # float64 per column of VALUE_COLUMNS
    rows: np.ndarray  # 1-based source row of each kept bar
    rows_in: int
    duplicates_dropped: int = 0
    out_of_order: bool = False
    gaps: list[Gap] = field(default_factory=list)

    @property
    def zero_volume_bars(self) -> int:
        """Bars with zero volume (valid: a halted market still prints flat bars)."""
        return int(np.count_nonzero(self.values["volume"] == 0))


def check_columns(file: str, columns: list[str], expected: tuple[str, ...]) -> None:
    """Missing or extra columns -> error naming the first one."""
    for col in expected:
        if col not in columns:
            raise DataValidationError(file, None, col, ",".join(columns), "missing column")
    for col in columns:
        if col not in expected:
            raise DataValidationError(file, None, col, ",".join(columns), "extra column")


def parse_timestamps(file: str, raw: pd.Series, column: str = "ts") -> np.ndarray:
    """ISO-8601 strings with a timezone -> int64 ns UTC. Naive or unparseable -> error.

    The common ``2023-03-16T22:15:00Z`` form is parsed vectorised; only the rest goes row by row.
    """
    text = raw.astype("string")
    fast = pd.to_datetime(text, format=_FAST_TS_FORMAT, utc=True, errors="coerce")
    ns = np.asarray(fast.dt.as_unit("ns").astype("int64"), dtype=np.int64).copy()
    bad = np.nonzero(fast.isna().to_numpy())[0]
    for i in bad:
        value = raw.iloc[i]
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            raise DataValidationError(file, int(i) + 1, column, "", "missing timestamp")
        try:
            ns[i] = parse_utc(str(value)).as_unit("ns").value
        except TimeParseError as exc:
            problem = (
                "timestamp has no timezone (write it in UTC, e.g. 2023-03-16T22:15:00Z)"
                if "no timezone" in str(exc)
                else "unparseable timestamp"
            )
            raise DataValidationError(file, int(i) + 1, column, str(value), problem) from None
    return ns


def parse_numbers(file: str, raw: pd.Series, column: str) -> np.ndarray:
    """A numeric column -> float64; a cell that is not a number -> error naming it."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return np.asarray(raw, dtype=np.float64)
    nums = pd.to_numeric(raw, errors="coerce")
    bad = np.nonzero(nums.isna().to_numpy() & raw.notna().to_numpy())[0]
    if len(bad):
        i = int(bad[0])
        raise DataValidationError(file, i + 1, column, raw.iloc[i], "not a number")
    return np.asarray(nums, dtype=np.float64)


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if len(idx) else None


def _value(x: Any) -> Any:
    return float(x) if isinstance(x, (float, np.floating)) else x


def validate_candles(
    file: str,
    symbol: str,
    timeframe: str,
    ts: np.ndarray,
    values: dict[str, np.ndarray],
) -> CandleBatch:
    """Check parsed bars (in file order) and return them sorted and de-duplicated.

    Rules: prices finite and > 0; high >= max(open, close); low <= min(open, close);
    volume finite and >= 0 (zero is valid); bar open aligned to the timeframe; a timestamp
    repeated with different values is an error, an identical repeat is dropped and counted.
    """
    if timeframe not in TIMEFRAMES:
        raise DataValidationError(file, None, "timeframe", timeframe, "unknown timeframe")
    n = len(ts)
    if n == 0:
        raise DataValidationError(file, None, "ts", "", "file has no data rows")
    for col in PRICE_COLUMNS:
        v = values[col]
        i = _first(~np.isfinite(v))
        if i is not None:
            raise DataValidationError(file, i + 1, col, _value(v[i]), "price is NaN or missing")
        i = _first(v <= 0)
        if i is not None:
            raise DataValidationError(file, i + 1, col, _value(v[i]), "price must be positive")
    o, h, lo, c, vol = (values[k] for k in VALUE_COLUMNS)
    i = _first(h < np.maximum(o, c))
    if i is not None:
        raise DataValidationError(
            file, i + 1, "high", _value(h[i]), "high is below max(open, close)"
        )
    i = _first(lo > np.minimum(o, c))
    if i is not None:
        raise DataValidationError(
            file, i + 1, "low", _value(lo[i]), "low is above min(open, close)"
        )
    i = _first(~np.isfinite(vol))
    if i is not None:
        raise DataValidationError(file, i + 1, "volume", _value(vol[i]), "volume is NaN or missing")
    i = _first(vol < 0)
    if i is not None:
        raise DataValidationError(file, i + 1, "volume", _value(vol[i]), "negative volume")
    step = int(TIMEFRAMES[timeframe].value)
    i = _first(ts % step != 0)
    if i is not None:
        raise DataValidationError(
            file,
            i + 1,
            "ts",
            iso(pd.Timestamp(int(ts[i]), tz="UTC")),
            f"bar open time is not aligned to the {timeframe} timeframe",
        )

    rows = np.arange(1, n + 1, dtype=np.int64)
    out_of_order = bool(np.any(np.diff(ts) < 0))
    if out_of_order:
        order = np.argsort(ts, kind="stable")
        ts, rows = ts[order], rows[order]
        values = {k: v[order] for k, v in values.items()}
    dup = np.flatnonzero(np.diff(ts) == 0) + 1  # positions repeating their predecessor
    dropped = 0
    if len(dup):
        keep = np.ones(n, dtype=bool)
        for j in dup:
            # compare with the first bar of this timestamp (runs of 3+ compare to the first)
            k = j - 1
            while k > 0 and ts[k - 1] == ts[k]:
                k -= 1
            for col in VALUE_COLUMNS:
                a, b = values[col][k], values[col][j]
                if a != b:  # stable sort: k is the earlier row in the file, j the later
                    raise DataValidationError(
                        file,
                        int(rows[j]),
                        col,
                        _value(b),
                        f"duplicate timestamp {iso(pd.Timestamp(int(ts[j]), tz='UTC'))} with "
                        f"different values (first at row {int(rows[k])})",
                    )
            keep[j] = False
        dropped = int(np.count_nonzero(~keep))
        ts, rows = ts[keep], rows[keep]
        values = {k: v[keep] for k, v in values.items()}
    return CandleBatch(
        file=file,
        symbol=symbol,
        timeframe=timeframe,
        ts=ts,
        values={k: np.ascontiguousarray(values[k], dtype=np.float64) for k in VALUE_COLUMNS},
        rows=rows,
        rows_in=n,
        duplicates_dropped=dropped,
        out_of_order=out_of_order,
        gaps=find_gaps(ts, step),
    )


def validate_candle_frame(file: str, symbol: str, timeframe: str, raw: pd.DataFrame) -> CandleBatch:
    """A raw frame with columns ``ts open high low close volume`` -> validated batch."""
    check_columns(file, [str(c) for c in raw.columns], CANDLE_COLUMNS)
    if len(raw) == 0:
        raise DataValidationError(file, None, "ts", "", "file has no data rows")
    ts = parse_timestamps(file, raw["ts"])
    values = {c: parse_numbers(file, raw[c], c) for c in VALUE_COLUMNS}
    return validate_candles(file, symbol, timeframe, ts, values)
