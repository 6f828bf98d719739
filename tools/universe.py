"""Rank the tradable pairs by liquidity (quote volume) and volatility, from stored candles.

A desk wants pairs it can get in and out of (liquidity) that move enough to pay for the trade
(volatility). Both are measured over a trailing window of bars closed at or before ``at``:
quote volume = sum(close x base volume); volatility = annualised (365-day) realised vol of the
bars' log returns. Each pair gets a rank on both, and the score is the mean of the two ranks
normalised to 0..1 (1 = most liquid and most volatile). Pairs without data are listed as missing,
never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from tools.indicators import realized_vol_array
from tools.symbols import ALLOWED_SYMBOLS
from tools.timeutil import TIMEFRAMES, parse_utc


class UniverseEntry(BaseModel):
    """One pair's liquidity and volatility, with its ranks (1 = most)."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    quote_volume: float
    realized_vol: float | None
    bars: int
    liquidity_rank: int
    volatility_rank: int
    score: float


class UniverseRanking(BaseModel):
    """The ranked pairs (best first) and the ones with no data in the window."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    lookback_hours: float
    entries: list[UniverseEntry]
    missing: list[str]


def _bar(frame: pd.DataFrame) -> pd.Timedelta:
    step = pd.Timedelta(int(np.diff(pd.DatetimeIndex(frame.index).as_unit("ns").asi8).min()))
    return next((d for d in TIMEFRAMES.values() if d == step), step)


def rank_universe(
    candles: Mapping[str, pd.DataFrame],
    at: str | datetime | pd.Timestamp,
    *,
    lookback_hours: float = 24.0,
    symbols: tuple[str, ...] = ALLOWED_SYMBOLS,
) -> UniverseRanking:
    """Rank ``symbols`` from their candle frames (only bars closed in (at - lookback, at])."""
    at_ts = parse_utc(at)
    start = at_ts - pd.Timedelta(hours=lookback_hours)
    stats: list[tuple[str, float, float | None, int]] = []
    missing: list[str] = []
    for sym in symbols:
        df = candles.get(sym)
        if df is None or len(df) < 2:
            missing.append(sym)
            continue
        bar = _bar(df)
        idx = pd.DatetimeIndex(df.index)
        w = df.loc[(idx >= start) & (idx + bar <= at_ts)]
        if len(w) == 0:
            missing.append(sym)
            continue
        qv = float((w["close"] * w["volume"]).sum())
        vol_now = realized_vol_array(w["close"].to_numpy(dtype=np.float64), bar)
        stats.append((sym, qv, None if vol_now != vol_now else vol_now, len(w)))
    n = len(stats)
    liq = {s[0]: i + 1 for i, s in enumerate(sorted(stats, key=lambda s: (-s[1], s[0])))}
    vol = {s[0]: i + 1 for i, s in enumerate(sorted(stats, key=lambda s: (-(s[2] or 0.0), s[0])))}
    entries = []
    for sym, qv, rv, k in stats:
        score = 1.0 if n == 1 else 1.0 - ((liq[sym] - 1) + (vol[sym] - 1)) / (2.0 * (n - 1))
        entries.append(
            UniverseEntry(
                symbol=sym,
                quote_volume=qv,
                realized_vol=rv,
                bars=k,
                liquidity_rank=liq[sym],
                volatility_rank=vol[sym],
                score=round(score, 6),
            )
        )
    entries.sort(key=lambda e: (-e.score, e.liquidity_rank))
    return UniverseRanking(
        at=at_ts.to_pydatetime(), lookback_hours=lookback_hours, entries=entries, missing=missing
    )


def rank_universe_from_store(
    at: str | datetime | pd.Timestamp,
    *,
    lookback_hours: float = 24.0,
    store: Path | None = None,
) -> UniverseRanking:
    """:func:`rank_universe` on the store: 5m bars where they exist, else 1h (2017-2021 history)."""
    from tools.candles import load_candles
    from tools.errors import StoreError

    at_ts = parse_utc(at)
    start = at_ts - pd.Timedelta(hours=lookback_hours)
    frames: dict[str, pd.DataFrame] = {}
    for sym in ALLOWED_SYMBOLS:
        for tf in ("5m", "1h"):
            try:
                df = load_candles(sym, tf, start, at_ts, store=store)
            except StoreError:  # not stored, or no finer set divides tf
                continue
            if len(df) >= 2:
                frames[sym] = df
                break
    return rank_universe(frames, at_ts, lookback_hours=lookback_hours)
