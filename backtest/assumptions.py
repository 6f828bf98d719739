"""Every assumption the backtester makes, one small named function each (freqtrade style).

A reader who wants to know "what does the backtest assume about X" finds X here, with the
reason, instead of hunting through the engine loop. The engine calls these and nothing else
decides the same questions.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from exchange.types import Side

#: Names of the assumptions in force, copied into every report's config snapshot.
ASSUMPTIONS: dict[str, str] = {
    "decision_time": "a strategy decides at the close of a strategy-timeframe bar",
    "entry": "entries and signal exits are market orders filled at the next 1m bar's open",
    "execution_bars": "orders are matched on 1-minute bars whatever the strategy timeframe",
    "sizing": "quantity = size_fraction x equity at the decision / decision close",
    "stops": "stop-loss and take-profit sit k x ATR from the decision close",
    "opposite_signal": "an opposite signal closes the open position, then opens the new side",
    "same_side_signal": "a signal on the side already held is ignored (one position at a time)",
    "end_of_data": "an open position is closed at the last close, exit reason end_of_data",
    "equity_mark": "equity is marked to every 1m close: wallet + unrealised PnL",
}


def decision_bar_index(exec_ts_ns: np.ndarray, signal_close_ns: np.ndarray) -> np.ndarray:
    """The 1m bar after whose close a strategy-timeframe signal is acted on.

    A strategy bar that opens at ``t`` closes at ``t + tf``; the decision is taken after the last
    1m bar that opens before ``t + tf`` has closed, so its market order fills at the open of the
    first 1m bar at or after ``t + tf``. Returns -1 where no 1m bar lies before the close.
    """
    return np.searchsorted(exec_ts_ns, signal_close_ns, side="left").astype(np.int64) - 1


def position_size(equity: float, price: float, size_fraction: float, step: float) -> float:
    """Base quantity worth ``size_fraction`` of current equity at ``price`` (leverage 1),
    rounded down to the contract's size ``step`` (an order off the grid would be rejected)."""
    if equity <= 0 or price <= 0 or size_fraction <= 0:
        return 0.0
    steps = math.floor(size_fraction * equity / price / step + 1e-9)
    decimals = max(0, -math.floor(math.log10(step)) + 2)
    return round(steps * step, decimals)


def level_on_tick(price: float | None, tick: float) -> float | None:
    """A stop-loss or take-profit level moved to the nearest tick (the exchange refuses others)."""
    if price is None:
        return None
    return round(round(price / tick) * tick, _tick_decimals(tick))


@functools.lru_cache(maxsize=64)
def _tick_decimals(tick: float) -> int:
    """Decimals that round away binary noise on a tick grid (two more than the tick has)."""
    return max(0, -math.floor(math.log10(tick)) + 2)


def atr_bracket(
    side: Side, close: float, atr: float, sl_atr: float, tp_atr: float
) -> tuple[float | None, float | None]:
    """Stop-loss and take-profit ``sl_atr`` / ``tp_atr`` ATRs away from the decision close.

    A non-positive multiple or an unknown ATR (warm-up) means no level on that side.
    """
    if not np.isfinite(atr) or atr <= 0:
        return None, None
    sign = 1.0 if side is Side.BUY else -1.0
    sl = close - sign * sl_atr * atr if sl_atr > 0 else None
    tp = close + sign * tp_atr * atr if tp_atr > 0 else None
    return sl, tp


def opposite_signal_closes_first(position_qty: float, signal: int) -> bool:
    """True when the signal points against the open position: flatten it before reversing."""
    return (position_qty > 0 and signal < 0) or (position_qty < 0 and signal > 0)


def same_side_signal_ignored(position_qty: float, signal: int) -> bool:
    """True when the signal points the way we already are: no pyramiding, nothing to do."""
    return (position_qty > 0 and signal > 0) or (position_qty < 0 and signal < 0)


def end_of_data_bar(last_ts: pd.Timestamp, last_close: float) -> tuple[pd.Timestamp, float]:
    """Where an open position is closed when the data ends: the last close.

    The exchange only fills on bars, so the engine feeds one zero-range bar at the last close,
    one minute after the last bar; a market order fills there at exactly the last close with the
    taker fee and no slippage (slippage never leaves the bar's range, which is a point).
    """
    return last_ts + pd.Timedelta(minutes=1), last_close
