"""The figures every replay line reports (desk, desk without debate, each baseline), measured
the same way: equity sampled at the replay's steps, daily returns, a 365-day year
(``backtest/METRICS.md``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.metrics import Trade, daily_returns, drawdown, sharpe, sortino, trade_stats

METRIC_KEYS = (
    "return_pct", "sharpe", "sortino", "max_drawdown_pct", "trades", "win_rate_pct", "fees",
    "exposure_pct", "funding", "final_equity", "expectancy_r",
)  # fmt: skip


def _r(x: float | None, nd: int = 6) -> float | None:
    """Rounded for reading; None for undefined (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def line_metrics(
    equity: pd.Series,
    initial: float,
    trades: Sequence[Trade],
    fees: float,
    exposure: pd.Series,
    funding: float,
) -> dict[str, Any]:
    """``M``: return, Sharpe, Sortino, max drawdown, trades, win rate, fees, exposure and more."""
    final = float(equity.iloc[-1]) if len(equity) else initial
    ret = daily_returns(equity, initial) if len(equity) else pd.Series(dtype=float)
    stats = trade_stats(list(trades))
    return {
        "return_pct": _r(100.0 * (final / initial - 1.0)),
        "sharpe": _r(sharpe(ret)),
        "sortino": _r(sortino(ret)),
        "max_drawdown_pct": _r(drawdown(equity)["max_drawdown_pct"]) if len(equity) else 0.0,
        "trades": int(stats["trades"]),
        "win_rate_pct": _r(stats["win_rate_pct"]),
        "fees": _r(fees),
        "exposure_pct": _r(100.0 * float(np.mean(exposure.to_numpy() != 0)))
        if len(exposure)
        else 0.0,
        "funding": _r(funding),
        "final_equity": _r(final),
        "expectancy_r": _r(stats["expectancy_r"]),
    }
