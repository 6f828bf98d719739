"""Baseline strategies: buy-and-hold, SMA cross, SMA cross with ATR stop-loss / take-profit.

A strategy here is a pure function of closed bars that returns causal signal arrays: the value at
bar ``i`` is computed from bars ``0..i`` only (rolling windows and recursive averages, never a
centred window or a ``shift(-1)``). The engine acts on bar ``i``'s signal at the next 1m open, so
a strategy cannot see the bar it trades on. ``tests/backtest/test_strategies.py`` proves it by
truncating the future and checking that earlier signals do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from backtest.assumptions import atr_bracket
from exchange.types import Side
from tools.indicators import atr_array


@dataclass(frozen=True)
class Signals:
    """What a strategy wants, per strategy-timeframe bar, decided at that bar's close.

    ``entry``: +1 go long, -1 go short, 0 nothing new. ``exit``: flatten (without reversing).
    ``stop_loss`` / ``take_profit``: absolute price levels for an entry on that bar, NaN for none.
    ``atr``: the volatility the levels were measured in (kept for R-multiples and charts).
    """

    entry: np.ndarray
    exit: np.ndarray
    stop_loss: np.ndarray
    take_profit: np.ndarray
    atr: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.entry)


class Strategy(Protocol):
    """Anything with a name, its parameters, and a causal ``signals(bars)``."""

    @property
    def name(self) -> str: ...

    def params(self) -> dict[str, Any]: ...

    def signals(self, bars: pd.DataFrame) -> Signals: ...


def sma(close: pd.Series, window: int) -> np.ndarray:
    """Simple moving average over the last ``window`` closes (NaN during warm-up)."""
    return close.rolling(window, min_periods=window).mean().to_numpy(dtype=np.float64)


def atr(bars: pd.DataFrame, period: int) -> np.ndarray:
    """Wilder's average true range, the very ATR the memos and the risk gate read
    (``tools.indicators.atr_array``: seeded with the mean of the first ``period`` true ranges,
    recursive after, so causal); NaN before index ``period - 1``."""
    return atr_array(
        bars["high"].to_numpy(dtype=np.float64),
        bars["low"].to_numpy(dtype=np.float64),
        bars["close"].to_numpy(dtype=np.float64),
        period,
    )


def crossings(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    """+1 where fast crosses above slow at bar i, -1 where it crosses below, else 0.

    Strict on both bars, like ``backtesting.lib.crossover``: fast[i-1] < slow[i-1] and
    fast[i] > slow[i]. NaN (warm-up) never crosses.
    """
    out = np.zeros(len(fast), dtype=np.int8)
    if len(fast) < 2:
        return out
    with np.errstate(invalid="ignore"):
        up = (fast[:-1] < slow[:-1]) & (fast[1:] > slow[1:])
        down = (fast[:-1] > slow[:-1]) & (fast[1:] < slow[1:])
    out[1:][up] = 1
    out[1:][down] = -1
    return out


def _no_levels(n: int) -> np.ndarray:
    return np.full(n, np.nan, dtype=np.float64)


@dataclass(frozen=True)
class BuyAndHold:
    """Buy at the first opportunity and hold to the end: the benchmark every strategy must beat."""

    name: str = "buy_and_hold"

    def params(self) -> dict[str, Any]:
        return {}

    def signals(self, bars: pd.DataFrame) -> Signals:
        n = len(bars)
        entry = np.zeros(n, dtype=np.int8)
        entry[:1] = 1
        return Signals(entry, np.zeros(n, dtype=bool), _no_levels(n), _no_levels(n))


@dataclass(frozen=True)
class SmaCross:
    """Always in the market: long after the fast SMA crosses above the slow one, short below."""

    fast: int = 20
    slow: int = 60
    name: str = "sma_cross"

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"fast ({self.fast}) must be positive and below slow ({self.slow})")

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "name"}

    def signals(self, bars: pd.DataFrame) -> Signals:
        close = bars["close"]
        entry = crossings(sma(close, self.fast), sma(close, self.slow))
        n = len(bars)
        return Signals(entry, np.zeros(n, dtype=bool), _no_levels(n), _no_levels(n))


@dataclass(frozen=True)
class SmaCrossAtr:
    """SMA cross entries with a bracket: stop ``sl_atr`` ATRs away, target ``tp_atr`` ATRs away
    (``assumptions.atr_bracket``). A cross without a usable ATR (warm-up, or zero on a bar
    range of zero) is not traded: no entry without its bracket.

    After a stop or target fills the strategy waits, flat, for the next cross.
    """

    fast: int = 20
    slow: int = 60
    atr_period: int = 14
    sl_atr: float = 2.0
    tp_atr: float = 3.0
    name: str = "sma_cross_atr"

    def __post_init__(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"fast ({self.fast}) must be positive and below slow ({self.slow})")
        if self.atr_period < 1:
            raise ValueError(f"atr_period must be >= 1, got {self.atr_period}")
        if self.sl_atr <= 0 or self.tp_atr <= 0:
            raise ValueError(f"sl_atr and tp_atr must be > 0, got {self.sl_atr}, {self.tp_atr}")

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "name"}

    def signals(self, bars: pd.DataFrame) -> Signals:
        close = bars["close"]
        entry = crossings(sma(close, self.fast), sma(close, self.slow))
        vol = atr(bars, self.atr_period)
        c = close.to_numpy(dtype=np.float64)
        n = len(bars)
        sl, tp = _no_levels(n), _no_levels(n)
        for i in np.flatnonzero(entry).tolist():
            side = Side.BUY if entry[i] > 0 else Side.SELL
            stop, target = atr_bracket(side, float(c[i]), float(vol[i]), self.sl_atr, self.tp_atr)
            if stop is None or target is None:  # ATR unknown (warm-up) or zero: no bracket
                entry[i] = 0
                continue
            sl[i], tp[i] = stop, target
        return Signals(entry, np.zeros(n, dtype=bool), sl, tp, vol)


STRATEGIES: dict[str, Callable[..., Strategy]] = {
    "buy_and_hold": BuyAndHold,
    "sma_cross": SmaCross,
    "sma_cross_atr": SmaCrossAtr,
}


def get_strategy(name: str, **params: Any) -> Strategy:
    """Build a registered strategy; unknown names and parameters fail naming the value."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"strategy {name!r} is not one of {', '.join(STRATEGIES)}") from None
    accepted = {k for k in getattr(factory, "__dataclass_fields__", {}) if k != "name"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(f"strategy {name!r} has no parameter {', '.join(unknown)}")
    return factory(**params)
