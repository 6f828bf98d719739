"""The baselines a replay is judged against, on the desk's window, cadence, fees and funding.

- ``buy_and_hold``: the whole sleeve long from the first step's close to the end.
- ``sma_cross``: SMA 20/60 on bars of the replay's cadence (``--every``), always in the market,
  flipping at each cross. It may use history before the window to warm its averages (the desk's
  memos do too), but it trades only from the first step: intents before it are dropped.

Each symbol gets an equal sleeve of the capital (``initial / N``) on its own virtual exchange
with the same configuration as the desk's, and positions of ``SIZE_FRACTION`` of the sleeve at
leverage 1. The portfolio is the sum of the sleeves. Equity is sampled at the replay's steps,
as the desk's is, so every metric is measured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.engine import (
    BacktestResult,
    Intent,
    intents_from_signals,
    ns_index,
    resample,
    run_intents,
)
from backtest.metrics import Trade
from backtest.strategies import BuyAndHold, SmaCross, Strategy
from exchange.config import ExchangeConfig
from exchange.types import Side
from tools.timeutil import timeframe_delta

SIZE_FRACTION = 0.95
"""Share of a sleeve's equity per position (leverage 1; the rest pays the fees)."""
SMA_FAST, SMA_SLOW = 20, 60


@dataclass
class Sleeve:
    """One baseline on one symbol: equity sampled at the steps, trades, fees, exposure."""

    equity: pd.Series
    position: pd.Series
    trades: list[Trade]
    fees: float
    funding: float


def _sample(result: BacktestResult, steps: pd.DatetimeIndex) -> tuple[pd.Series, pd.Series]:
    """Equity and position at each step: the state after the last bar closed by the step."""
    closes = ns_index(result.bars.index) + int(np.diff(ns_index(result.bars.index)).min())
    idx = np.searchsorted(closes, steps.as_unit("ns").asi8, side="right") - 1
    eq = result.equity.to_numpy()
    pos = np.asarray(result.position)
    first = float(result.initial_equity)
    e = np.where(idx >= 0, eq[np.clip(idx, 0, None)], first)
    p = np.where(idx >= 0, pos[np.clip(idx, 0, None)], 0.0)
    return pd.Series(e, index=steps), pd.Series(p, index=steps)


def run_baseline(
    strategy: Strategy,
    bars: pd.DataFrame,
    *,
    symbol: str,
    start: pd.Timestamp,
    every: str,
    steps: pd.DatetimeIndex,
    sleeve: float,
    config: ExchangeConfig,
) -> Sleeve:
    """Run ``strategy`` on ``bars`` (stored bars; history before ``start`` warms it) trading
    only from the first step, with ``sleeve`` of starting capital."""
    cfg = config.model_copy(update={"starting_balance": sleeve})
    signal_bars = resample(bars, every)
    signals = strategy.signals(signal_bars)
    intents = intents_from_signals(bars, signal_bars, signals, every)
    first = int(np.searchsorted(ns_index(bars.index), int(start.value), side="left"))
    first_decision = first - 1  # acting after the bar that closes at `start`
    intents = [it for it in intents if it.index >= first_decision]
    if isinstance(strategy, BuyAndHold):  # long from the first step, whatever the signal bar
        intents = [Intent(index=max(first_decision, 0), side=Side.BUY)]
    result = run_intents(
        bars, intents, symbol=symbol, exchange_config=cfg, size_fraction=SIZE_FRACTION
    )
    equity, position = _sample(result, steps)
    return Sleeve(
        equity=equity,
        position=position,
        trades=result.trades,
        fees=float(sum(f.fee for f in result.fills)),
        funding=float(result.funding),
    )


def warmup(every: str) -> pd.Timedelta:
    """History the SMA cross needs before the window: its slow average, plus one bar."""
    return timeframe_delta(every) * (SMA_SLOW + 1)


BASELINES: dict[str, Strategy] = {
    "buy_and_hold": BuyAndHold(),
    "sma_cross": SmaCross(fast=SMA_FAST, slow=SMA_SLOW),
}
