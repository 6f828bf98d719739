"""Candles out of the store, at any timeframe, without look-ahead.

``load_candles(symbol, timeframe, start, end)`` returns bars that opened at or after ``start``
and had CLOSED by ``end`` (a bar opened at ``t`` is known only at ``t + timeframe``). Every
timeframe is resampled from the finest stored timeframe that covers the request, so a 1h bar is
exactly the aggregate of the minutes a replay would have seen.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from tools.errors import StoreError
from tools.store import (
    VALUE_COLUMNS,
    CandleArrays,
    candle_dir,
    read_candle_set,
    resolve_store,
    stored_candle_sets,
)
from tools.timeutil import TIMEFRAMES, parse_utc, timeframe_delta

TimeLike = str | datetime | pd.Timestamp

_resampled: dict[tuple[Path, int], tuple[CandleArrays, CandleArrays]] = {}
_lock = threading.Lock()


def resample_arrays(
    fine: CandleArrays, fine_step: int, step: int, *, keep_edges: bool = False
) -> CandleArrays:
    """Aggregate sorted fine bars into ``step``-ns windows aligned to the epoch (UTC).

    open = first, high = max, low = min, close = last, volume = sum; label = window open,
    left-closed. A window with no fine bars gives no bar (gaps stay gaps). A window that starts
    before the first fine bar or ends after the last fine bar's close is incomplete in the data
    and is dropped, unless ``keep_edges``: a caller that slices by time afterwards (the memo)
    keeps them, so whether a bar exists never depends on data after the moment it slices at.
    """
    if step % fine_step != 0:
        raise ValueError(f"cannot resample {fine_step} ns bars into {step} ns windows")
    ts = fine.ts
    if len(ts) == 0 or step == fine_step:
        return fine
    windows = ts - ts % step
    starts = np.flatnonzero(np.r_[True, windows[1:] != windows[:-1]])
    ends = np.r_[starts[1:], len(ts)]
    labels = windows[starts]
    out = CandleArrays(
        ts=labels,
        open=fine.open[starts],
        high=np.maximum.reduceat(fine.high, starts),
        low=np.minimum.reduceat(fine.low, starts),
        close=fine.close[ends - 1],
        volume=_sum_volume(fine.volume, starts),
    )
    if keep_edges:
        return out
    keep = (labels >= ts[0]) & (labels + step <= ts[-1] + fine_step)
    return CandleArrays(*(getattr(out, f)[keep] for f in ("ts", *VALUE_COLUMNS)))


def _sum_volume(volume: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Window sums of volume, rounded to 8 decimals (Binance quantity precision).

    Exchange volumes are decimals with at most 8 places; a float sum of them drifts in the last
    bits (0.1 + 0.2), so rounding gives back the exchange's own aggregate exactly.
    """
    return np.round(np.add.reduceat(volume, starts), 8)


def _to_utc(value: TimeLike, name: str) -> pd.Timestamp:
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def stored_timeframes(symbol: str, store: Path | None = None) -> list[str]:
    """Timeframes stored for ``symbol``, finest first."""
    root = resolve_store(store)
    tfs = [tf for s, tf in stored_candle_sets(root) if s == symbol]
    return sorted(tfs, key=lambda tf: TIMEFRAMES[tf])


def stored_symbols(store: Path | None = None) -> dict[str, list[str]]:
    """Every stored symbol with its timeframes (finest first)."""
    out: dict[str, list[str]] = {}
    for s, tf in stored_candle_sets(resolve_store(store)):
        out.setdefault(s, []).append(tf)
    return {s: sorted(tfs, key=lambda tf: TIMEFRAMES[tf]) for s, tfs in out.items()}


def _describe(store: Path) -> str:
    syms = stored_symbols(store)
    if not syms:
        return "the store is empty (run `auraquant data import PATH`)"
    return "stored: " + ", ".join(f"{s} ({', '.join(tfs)})" for s, tfs in syms.items())


def _source_timeframe(
    root: Path, symbol: str, timeframe: str, start_ns: int, end_ns: int
) -> tuple[str, CandleArrays]:
    """The finest stored timeframe that divides ``timeframe`` and has bars in the window,
    with its bars."""
    step = TIMEFRAMES[timeframe]
    tfs = stored_timeframes(symbol, root)
    if not tfs:
        raise StoreError(f"no candles stored for {symbol} in {root}; {_describe(root)}")
    candidates = [
        tf for tf in tfs if TIMEFRAMES[tf] <= step and step.value % TIMEFRAMES[tf].value == 0
    ]
    if not candidates:
        raise StoreError(
            f"cannot build {symbol} {timeframe} bars: only {', '.join(tfs)} stored, "
            f"and none divides {timeframe}"
        )
    window = (start_ns - step.value, end_ns)
    for tf in candidates:
        a = read_candle_set(root, symbol, tf, window)
        if len(a) and a.ts[0] < end_ns and a.ts[-1] + TIMEFRAMES[tf].value >= start_ns:
            return tf, a
    return candidates[0], read_candle_set(root, symbol, candidates[0], window)


def candle_arrays(
    symbol: str, timeframe: str, start: TimeLike, end: TimeLike, *, store: Path | None = None
) -> CandleArrays:
    """``load_candles`` as numpy arrays (ts in ns), for hot loops that skip pandas."""
    step = int(timeframe_delta(timeframe).value)
    start_ns = _to_utc(start, "start").as_unit("ns").value
    end_ns = _to_utc(end, "end").as_unit("ns").value
    root = resolve_store(store)
    source, fine = _source_timeframe(root, symbol, timeframe, start_ns, end_ns)
    if source == timeframe:
        full = fine
    else:
        key = (candle_dir(root, symbol, source).resolve(), step)
        hit = _resampled.get(key)
        if hit is not None and hit[0] is fine:
            full = hit[1]
        else:
            full = resample_arrays(fine, int(TIMEFRAMES[source].value), step)
            with _lock:
                _resampled[key] = (fine, full)
    i0 = int(np.searchsorted(full.ts, start_ns, side="left"))
    i1 = int(np.searchsorted(full.ts, end_ns - step, side="right"))
    i1 = max(i0, i1)
    return CandleArrays(*(getattr(full, f)[i0:i1] for f in ("ts", *VALUE_COLUMNS)))


def to_frame(arrays: CandleArrays) -> pd.DataFrame:
    """Arrays -> the candle frame contract: index ``ts`` (UTC, bar open), float64 OHLCV."""
    index = pd.DatetimeIndex(arrays.ts.astype("datetime64[ns]"), name="ts").tz_localize("UTC")
    return pd.DataFrame(
        {c: np.array(arrays.column(c), dtype=np.float64) for c in VALUE_COLUMNS}, index=index
    )


def resample_frame(
    frame: pd.DataFrame, fine_timeframe: str, timeframe: str, *, keep_edges: bool = False
) -> pd.DataFrame:
    """A candle frame at ``fine_timeframe`` resampled to ``timeframe`` by ``resample_arrays``
    (the one resampler: epoch-aligned, open-labelled; ``keep_edges`` as there).
    A missing ``volume`` column counts as zero."""
    if timeframe == fine_timeframe:
        return frame
    index = pd.DatetimeIndex(frame.index)
    ts = (index.tz_convert("UTC") if index.tz is not None else index).as_unit("ns").asi8
    cols = {
        c: frame[c].to_numpy(dtype=np.float64) if c in frame.columns else np.zeros(len(frame))
        for c in VALUE_COLUMNS
    }
    fine = CandleArrays(ts=np.asarray(ts, dtype=np.int64), **cols)
    step = timeframe_delta(fine_timeframe).value
    return to_frame(
        resample_arrays(fine, step, timeframe_delta(timeframe).value, keep_edges=keep_edges)
    )


def load_candles(
    symbol: str, timeframe: str, start: TimeLike, end: TimeLike, *, store: Path | None = None
) -> pd.DataFrame:
    """Bars of ``symbol`` at ``timeframe`` with ``start <= open`` and ``open + timeframe <= end``.

    Resampled from the finest stored timeframe that covers the window; gaps stay gaps; a window
    not complete in the data is not returned. Raises ``StoreError`` naming what is stored when
    the symbol is not.
    """
    return to_frame(candle_arrays(symbol, timeframe, start, end, store=store))
