"""Helpers for the exchange tests: a synthetic symbol, bar times, order shorthands, a runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from exchange.instruments import Instrument
from exchange.types import Fill, OrderRequest
from exchange.virtual import ExchangeConfig, VirtualExchange

SYM = "SYNTH-BTCUSDT"  # trades under BTCUSDT's rules: tick 0.1, step 0.001
T0 = pd.Timestamp("2023-04-20T01:00:00Z")  # away from the 00/08/16 funding times
# SYM with a 0.0001 tick: the notes' scenarios (prices near 100) with slippage land on it.
FINE_TICK = {
    "instruments": {
        SYM: Instrument(symbol=SYM, tick_size=0.0001, step_size=0.001, min_quantity=0.001)
    }
}
FREE = {"maker_fee": 0.0, "taker_fee": 0.0, "slippage_bps": 0.0, "funding_rate": 0.0}

Bar = tuple[float, float, float, float]
Action = OrderRequest | Callable[[VirtualExchange], Any]


def ts(k: int) -> pd.Timestamp:
    """Open time of bar ``k``."""
    return T0 + pd.Timedelta(minutes=k)


def make(**overrides: Any) -> VirtualExchange:
    """An exchange with no costs and a large balance unless overridden."""
    cfg = {**FREE, "starting_balance": 1_000_000.0, **overrides}
    return VirtualExchange(ExchangeConfig(**cfg))


def mkt(side: str, qty: float = 1.0, **kw: Any) -> OrderRequest:
    return OrderRequest(symbol=kw.pop("symbol", SYM), side=side, type="MARKET", quantity=qty, **kw)


def lim(side: str, price: float, qty: float = 1.0, **kw: Any) -> OrderRequest:
    return OrderRequest(
        symbol=kw.pop("symbol", SYM), side=side, type="LIMIT", quantity=qty, price=price, **kw
    )


def stop(side: str, trigger: float, qty: float = 1.0, **kw: Any) -> OrderRequest:
    return OrderRequest(
        symbol=kw.pop("symbol", SYM),
        side=side,
        type="STOP_MARKET",
        quantity=qty,
        trigger_price=trigger,
        **kw,
    )


def stop_lim(side: str, trigger: float, price: float, qty: float = 1.0, **kw: Any) -> OrderRequest:
    return OrderRequest(
        symbol=kw.pop("symbol", SYM),
        side=side,
        type="STOP_LIMIT",
        quantity=qty,
        trigger_price=trigger,
        price=price,
        **kw,
    )


def run(
    ex: VirtualExchange,
    bars: Sequence[Bar],
    actions: dict[int, Sequence[Action]] | None = None,
    symbol: str = SYM,
    start: int = 0,
) -> list[tuple[int, Fill]]:
    """Feed ``bars`` from bar ``start``; after bar k closes, run ``actions[k]`` (place orders)."""
    out: list[tuple[int, Fill]] = []
    for i, bar in enumerate(bars):
        k = start + i
        out.extend((k, f) for f in ex.on_bar(symbol, ts(k), *bar))
        for act in (actions or {}).get(k, ()):
            if isinstance(act, OrderRequest):
                ex.place(act)
            else:
                act(ex)
    return out


def brief(fills: list[tuple[int, Fill]]) -> list[tuple[int, str, float, float, str]]:
    """(bar, side, quantity, price rounded to 1e-9, liquidity) for comparing with a table."""
    return [(k, f.side.value, f.quantity, round(f.price, 9), f.liquidity) for k, f in fills]
