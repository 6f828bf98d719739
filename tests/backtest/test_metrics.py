"""Metric formulas on hand-made equity curves and trade lists (values worked out in comments)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from backtest.metrics import (
    OrderRole,
    Trade,
    cagr,
    daily_returns,
    drawdown,
    hold_benchmark,
    sharpe,
    sortino,
    summary,
    trade_stats,
    trades_from_fills,
)


@dataclass
class F:
    order_id: str
    side: str
    quantity: float
    price: float
    fee: float
    ts: datetime
    slippage: float = 0.0
    symbol: str = "BTCUSDT"
    realized_pnl: float = 0.0  # what the exchange booked; the trade builder takes it as given


def _t(day: int, hour: int = 12) -> pd.Timestamp:
    return pd.Timestamp(2023, 1, day, hour, tz="UTC")


def test_drawdown_depth_dates_and_duration() -> None:
    # 100 -> 110 (peak, day 2) -> 99 (trough, day 3): 11/110 = 10 %; back to 110+ on day 5.
    # Then 121 -> 120 (day 6, never recovered): 1 day under water. Longest spell: day 2 -> 5 = 3 d.
    eq = pd.Series([100, 110, 99, 105, 121, 120], index=[_t(d) for d in range(1, 7)], dtype=float)
    dd = drawdown(eq)
    assert dd["max_drawdown_pct"] == pytest.approx(10.0)
    assert dd["max_drawdown_abs"] == pytest.approx(11.0)
    assert dd["max_drawdown_peak"] == "2023-01-02T12:00:00Z"
    assert dd["max_drawdown_trough"] == "2023-01-03T12:00:00Z"
    assert dd["max_drawdown_recovery"] == "2023-01-05T12:00:00Z"
    assert dd["max_drawdown_duration_days"] == pytest.approx(3.0)


def test_sharpe_sortino_on_daily_returns() -> None:
    # Daily closes 102, 99.96, 101.9592 from 100: returns +2 %, -2 %, +2 %.
    # mean = 0.0066667; sample std = sqrt((0.013333² + 0.026667² + 0.013333²) / 2) = 0.0230940
    # Sharpe = 0.0066667 / 0.0230940 × √365 = 0.288675 × 19.104973 = 5.51513
    # downside = sqrt(mean(0, 0.0004, 0)) = 0.0115470; Sortino = 0.57735 × 19.104973 = 11.03026
    eq = pd.Series([102.0, 99.96, 101.9592], index=[_t(1), _t(2), _t(3)])
    r = daily_returns(eq, 100.0)
    np.testing.assert_allclose(r.to_numpy(), [0.02, -0.02, 0.02])
    assert sharpe(r) == pytest.approx(5.51513, rel=1e-5)
    assert sortino(r) == pytest.approx(11.03026, rel=1e-5)
    assert sharpe(r.iloc[:1]) is None  # one day: undefined


def test_cagr_uses_365_day_year() -> None:
    # 100 -> 121 over 730 days: (1.21)^(365/730) - 1 = 10 %
    assert cagr(100.0, 121.0, 730.0) == pytest.approx(10.0)
    assert cagr(100.0, 0.0, 10.0) is None


def test_fifo_trades_fees_and_r_multiples() -> None:
    fills = [
        F("e1", "BUY", 1, 100.0, 0.10, _t(1)),  # lot A, stop 95
        F("e2", "BUY", 1, 110.0, 0.11, _t(2)),  # lot B, stop 100
        F("tp", "SELL", 2, 120.0, 0.24, _t(3), realized_pnl=30.0),  # closes A then B
        F("e3", "SELL", 2, 50.0, 0.0, _t(4), slippage=0.2),  # short, stop 55
        F("sl", "BUY", 2, 55.0, 0.0, _t(5), realized_pnl=-10.0),
    ]
    roles = {
        "e1": OrderRole("entry", 95.0),
        "e2": OrderRole("entry", 100.0),
        "tp": OrderRole("take_profit"),
        "e3": OrderRole("entry", 55.0),
        "sl": OrderRole("stop_loss"),
    }
    a, b, c = trades_from_fills(fills, roles)
    # A: gross 20; fees 0.10 + 0.24/2 = 0.22 -> net 19.78; R = 19.78 / (5 × 1) = 3.956
    assert (a.side, a.gross_pnl, a.fees, a.net_pnl) == (
        "LONG",
        20.0,
        pytest.approx(0.22),
        pytest.approx(19.78),
    )
    assert a.r_multiple == pytest.approx(3.956)
    assert a.exit_reason == "take_profit" and a.duration_s == 2 * 86_400
    # B: gross 10; fees 0.11 + 0.12 = 0.23 -> net 9.77; R = 9.77 / 10 = 0.977
    assert b.net_pnl == pytest.approx(9.77) and b.r_multiple == pytest.approx(0.977)
    # short: gross (50 - 55) × 2 = -10; R = -10 / (5 × 2) = -1; slippage cost 0.2 (entry fill)
    assert (c.side, c.gross_pnl, c.r_multiple, c.exit_reason) == ("SHORT", -10.0, -1.0, "stop_loss")
    assert c.slippage_cost == pytest.approx(0.2)
    assert c.return_pct == pytest.approx(-10.0)  # -10 / (50 × 2)


def test_trade_pnl_is_what_the_exchange_booked_shared_over_the_lots() -> None:
    # Two long lots (1 @ 100, 1 @ 110) liquidated together at 40 on a gap. By price the loss
    # would be -60 and -70 = -130, but the exchange booked -100 (capped at the margin): the
    # 30 difference is shared pro rata to quantity (15 each), so the pieces add up to -100.
    fills = [
        F("e1", "BUY", 1, 100.0, 0.0, _t(1)),
        F("e2", "BUY", 1, 110.0, 0.0, _t(2)),
        F("liq", "SELL", 2, 40.0, 0.0, _t(3), realized_pnl=-100.0),
    ]
    a, b = trades_from_fills(fills, {"liq": OrderRole("liquidation")})
    assert (a.gross_pnl, b.gross_pnl) == (pytest.approx(-45.0), pytest.approx(-55.0))
    assert a.gross_pnl + b.gross_pnl == pytest.approx(-100.0, abs=1e-12)
    assert (a.exit_price, b.exit_price, a.exit_reason) == (40.0, 40.0, "liquidation")
    # a single lot takes the booked number as is
    (c,) = trades_from_fills([fills[0], F("x", "SELL", 1, 40.0, 0.5, _t(3), realized_pnl=-50.0)])
    assert (c.gross_pnl, c.net_pnl) == (-50.0, -50.5)


def _trade(pnl: float, r: float | None = None) -> Trade:
    return Trade(1, "X", "LONG", "", "", 1, 1, 1, 0, 0, 0, 0, pnl, pnl, 0, None, r, "signal", 0)


def test_trade_stats() -> None:
    # PnL 10, -5, 20, -5, 0: wins 10 + 20 (2 of 5 = 40 %), avg win 15, losses -5 -5 0 avg -3.3333,
    # profit factor 30 / 10 = 3, expectancy 20 / 5 = 4; R 1, -1, 2 -> 0.6667
    stats = trade_stats([_trade(10, 1), _trade(-5, -1), _trade(20, 2), _trade(-5), _trade(0)])
    assert stats["win_rate_pct"] == pytest.approx(40.0)
    assert stats["avg_win"] == pytest.approx(15.0)
    assert stats["avg_loss"] == pytest.approx(-10 / 3)
    assert stats["profit_factor"] == pytest.approx(3.0)
    assert stats["expectancy"] == pytest.approx(4.0)
    assert stats["expectancy_r"] == pytest.approx(2 / 3)
    assert trade_stats([_trade(5)])["profit_factor"] is None  # no loss: undefined


def test_summary_exposure_turnover_and_benchmark() -> None:
    idx = pd.date_range("2023-01-01", periods=4, freq="1min", tz="UTC")
    bars = pd.DataFrame(
        {"open": [100, 101, 102, 103], "high": 130, "low": 90, "close": [101, 102, 103, 120]},
        index=idx,
        dtype=float,
    )
    eq = pd.Series([1000.0, 1010.0, 1020.0, 1010.0], index=idx)
    out = summary(eq, np.array([0, 1.0, 1.0, 0]), [], 2030.0, 1000.0, bars)
    assert out["exposure_pct"] == pytest.approx(50.0)  # 2 of 4 closes hold a position
    assert out["turnover"] == pytest.approx(2030.0 / 1010.0)  # notional / mean equity
    assert out["total_return_pct"] == pytest.approx(1.0)
    assert out["days"] == pytest.approx(4 / 1440)
    # buy and hold: first open 100 -> last close 120 = +20 %
    assert out["hold_benchmark"]["return_pct"] == pytest.approx(20.0)
    assert hold_benchmark(bars, 1000.0)["max_drawdown_pct"] == pytest.approx(0.0)
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in out.values())


def test_trades_built_fast_equal_the_dataclass_and_iso_many_matches_iso() -> None:
    """``_trade`` (one ``__dict__`` store) must give exactly ``Trade(**fields)``: a field
    renamed, added or reordered in ``Trade`` breaks it here; ``iso_many`` is ``iso`` for many."""
    import dataclasses

    from backtest.metrics import _trade, iso_many
    from tools.timeutil import iso

    values = {f.name: i for i, f in enumerate(dataclasses.fields(Trade))}
    fast = _trade(dict(values))
    assert fast == Trade(**values)
    assert list(dataclasses.asdict(fast)) == [f.name for f in dataclasses.fields(Trade)]
    fills = [
        F("e", "BUY", 1, 100.0, 0.1, _t(1)),
        F("x", "SELL", 1, 90.0, 0.1, _t(2), realized_pnl=-10.0),
    ]
    (built,) = trades_from_fills(fills, {"e": OrderRole("entry", 95.0)})
    assert list(vars(built)) == [f.name for f in dataclasses.fields(Trade)]  # every field, in order
    assert built == Trade(**vars(built))
    times = [
        pd.Timestamp("2021-03-04 05:06:07.89", tz="UTC"),
        pd.Timestamp("1999-12-31 23:59:59", tz="UTC"),
    ]
    assert iso_many([t.value for t in times]) == [iso(t) for t in times]
