"""A seeded synthetic 1m market for machines without the real data.

Symbols are prefixed ``SYNTH-`` (``SYNTH-BTCUSDT`` …) so a synthetic bar can never be mistaken
for a real one. The market walks through an up-trend, a choppy range and a down-trend; the alts
follow BTC with a beta and a one-minute lag (so lead-lag tools have something to find). The same
seed and arguments give identical arrays and, through the deterministic writer, identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from tools.importer import store_batches
from tools.store import VALUE_COLUMNS, resolve_store
from tools.timeutil import iso, parse_utc
from tools.validate import CandleBatch, validate_candles

SYNTH_PREFIX = "SYNTH-"
REGIMES: tuple[tuple[str, float], ...] = (("up", 0.12), ("chop", 0.0), ("down", -0.12))
# symbol -> (start price, beta to BTC, lag-1 beta, idiosyncratic vol per minute, price decimals)
_PROFILES: dict[str, tuple[float, float, float, float, int]] = {
    "BTCUSDT": (30_000.0, 1.0, 0.0, 0.0, 2),
    "ETHUSDT": (2_000.0, 1.1, 0.25, 0.0004, 2),
    "SOLUSDT": (25.0, 1.4, 0.35, 0.0007, 3),
    "DOGEUSDT": (0.08, 1.3, 0.30, 0.0008, 5),
}
_BTC_VOL = 0.0007  # per-minute log-return volatility (about 2.7 % a day)
_MINUTE_NS = 60_000_000_000


class RegimeSpan(BaseModel):
    """One stretch of the synthetic market."""

    kind: str
    start: str
    end: str


class SynthReport(BaseModel):
    """What ``data synth`` wrote."""

    seed: int
    symbols: list[str]
    timeframe: str
    start: str
    end: str
    bars_per_symbol: int
    regimes: list[RegimeSpan]
    partitions_written: int
    partitions_unchanged: int
    store: str
    synthetic: bool = True


def _range_returns(shocks: np.ndarray, pull: float = 0.003) -> np.ndarray:
    """Returns of a mean-reverting (Ornstein-Uhlenbeck) log price: a range, not a trend."""
    level = np.empty(len(shocks))
    x = 0.0
    for i, eps in enumerate(shocks.tolist()):
        x = (1.0 - pull) * x + eps
        level[i] = x
    return np.diff(np.r_[0.0, level])


def synth_symbol(symbol: str) -> str:
    """``BTCUSDT`` -> ``SYNTH-BTCUSDT``."""
    return symbol if symbol.startswith(SYNTH_PREFIX) else SYNTH_PREFIX + symbol


def generate(
    seed: int, *, days_per_regime: int = 3, start: str = "2024-01-01T00:00:00Z"
) -> tuple[list[CandleBatch], list[RegimeSpan]]:
    """The synthetic bars (validated) and the regime calendar, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    t0 = parse_utc(start).as_unit("ns").value
    per = days_per_regime * 1440
    n = per * len(REGIMES)
    drift = np.concatenate([np.full(per, np.log1p(move) / per) for _, move in REGIMES])
    btc = drift + rng.normal(0.0, _BTC_VOL, n)
    btc[per : 2 * per] = _range_returns(btc[per : 2 * per])
    ts = t0 + np.arange(n, dtype=np.int64) * _MINUTE_NS
    batches: list[CandleBatch] = []
    for sym, (p0, beta, lag, idio, dec) in _PROFILES.items():
        ret = beta * btc + lag * np.r_[0.0, btc[:-1]] + rng.normal(0.0, idio, n) if idio else btc
        close = np.round(p0 * np.exp(np.cumsum(ret)), dec)
        open_ = np.r_[np.round(p0, dec), close[:-1]]
        wick = np.abs(rng.normal(0.0, _BTC_VOL * beta * 0.6, (2, n)))
        high = np.maximum(
            np.round(np.maximum(open_, close) * (1 + wick[0]), dec), np.maximum(open_, close)
        )
        low = np.minimum(
            np.round(np.minimum(open_, close) * (1 - wick[1]), dec), np.minimum(open_, close)
        )
        base_volume = 1_000_000.0 / p0
        volume = np.round(base_volume * rng.lognormal(0.0, 0.5, n) * (1 + 400 * np.abs(ret)), 5)
        values = dict(zip(VALUE_COLUMNS, (open_, high, low, close, volume), strict=True))
        batches.append(validate_candles(f"synth seed {seed}", synth_symbol(sym), "1m", ts, values))
    spans = [
        RegimeSpan(
            kind=kind,
            start=iso(pd.Timestamp(int(ts[i * per]), tz="UTC")),
            end=iso(pd.Timestamp(int(ts[(i + 1) * per - 1]) + _MINUTE_NS, tz="UTC")),
        )
        for i, (kind, _) in enumerate(REGIMES)
    ]
    return batches, spans


def write_synth(
    seed: int,
    *,
    store: Path | None = None,
    days_per_regime: int = 3,
    start: str = "2024-01-01T00:00:00Z",
    progress: bool = True,
) -> SynthReport:
    """Generate the synthetic market and store it (idempotent for the same arguments)."""
    batches, spans = generate(seed, days_per_regime=days_per_regime, start=start)
    root = resolve_store(store)
    written, unchanged, _ = store_batches(batches, [], root, progress=progress)
    ts = batches[0].ts
    return SynthReport(
        seed=seed,
        symbols=[b.symbol for b in batches],
        timeframe="1m",
        start=iso(pd.Timestamp(int(ts[0]), tz="UTC")),
        end=iso(pd.Timestamp(int(ts[-1]) + _MINUTE_NS, tz="UTC")),
        bars_per_symbol=len(ts),
        regimes=spans,
        partitions_written=written,
        partitions_unchanged=unchanged,
        store=str(root),
    )
