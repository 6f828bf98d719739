"""The circuit breaker: daily drawdown and losing streak trip it; the cooldown releases it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from decisions.circuit_breaker import (
    BreakerState,
    breaker_reasons,
    is_tripped,
    on_equity,
    on_fills,
    on_trade_closed,
)
from decisions.limits import RiskLimits
from decisions.risk_gate import risk_gate
from exchange.types import Fill, Side
from tests.decisions.builders import account, decision, market

LIM = RiskLimits(
    daily_drawdown_limit_pct=3.0, max_consecutive_losses=3, breaker_cooldown=timedelta(hours=4)
)
D = datetime(2023, 4, 20, tzinfo=UTC)


def test_first_equity_of_the_day_is_the_reference() -> None:
    s = on_equity(BreakerState(), D + timedelta(hours=1), 10_000.0, LIM)
    assert (s.day_start, s.day_start_equity, s.tripped_until) == (D, 10_000.0, None)
    s = on_equity(s, D + timedelta(hours=2), 11_000.0, LIM)
    assert s.day_start_equity == 10_000.0  # same day: the reference does not move


def test_daily_drawdown_trips_until_the_later_of_cooldown_and_midnight() -> None:
    s = on_equity(BreakerState(), D + timedelta(hours=1), 10_000.0, LIM)
    s = on_equity(s, D + timedelta(hours=2), 9_701.0, LIM)
    assert s.tripped_until is None  # 2.99 %
    s = on_equity(s, D + timedelta(hours=3), 9_700.0, LIM)
    assert s.tripped_until == D + timedelta(days=1)
    assert s.trip_reason == "daily drawdown 3% >= limit 3%"
    assert is_tripped(s, D + timedelta(hours=23, minutes=59))
    assert not is_tripped(s, D + timedelta(days=1))
    late = on_equity(
        on_equity(BreakerState(), D + timedelta(hours=22), 10_000.0, LIM),
        D + timedelta(hours=23),
        9_000.0,
        LIM,
    )
    assert late.tripped_until == D + timedelta(hours=27)  # cooldown outlasts midnight


def test_new_day_resets_the_reference() -> None:
    s = on_equity(BreakerState(), D + timedelta(hours=1), 10_000.0, LIM)
    s = on_equity(s, D + timedelta(hours=3), 9_500.0, LIM)
    s = on_equity(s, D + timedelta(days=1, hours=1), 9_500.0, LIM)
    assert (s.day_start, s.day_start_equity) == (D + timedelta(days=1), 9_500.0)
    assert not is_tripped(s, D + timedelta(days=1, hours=1))


def test_losing_streak_trips_for_the_cooldown_then_restarts() -> None:
    s = BreakerState()
    t = D + timedelta(hours=1)
    s = on_trade_closed(s, t, -10.0, LIM)
    s = on_trade_closed(s, t, -10.0, LIM)
    assert (s.consecutive_losses, s.tripped_until) == (2, None)
    s = on_trade_closed(s, t + timedelta(minutes=5), -10.0, LIM)
    assert s.tripped_until == t + timedelta(hours=4, minutes=5)
    assert s.trip_reason == "3 consecutive losses >= limit 3"
    assert s.consecutive_losses == 0  # the cooldown is the penalty
    assert is_tripped(s, t + timedelta(hours=4))
    assert not is_tripped(s, t + timedelta(hours=4, minutes=5))


def test_a_win_or_breakeven_ends_the_streak() -> None:
    s = on_trade_closed(on_trade_closed(BreakerState(), D, -1.0, LIM), D, -1.0, LIM)
    assert on_trade_closed(s, D, 0.0, LIM).consecutive_losses == 0
    assert on_trade_closed(s, D, 5.0, LIM).consecutive_losses == 0


def test_a_later_trip_never_shortens_an_earlier_one() -> None:
    s = BreakerState(tripped_until=D + timedelta(days=2))
    s = on_trade_closed(on_trade_closed(on_trade_closed(s, D, -1, LIM), D, -1, LIM), D, -1, LIM)
    assert s.tripped_until == D + timedelta(days=2)


def _fill(i: int, pnl: float, fee: float = 0.0) -> Fill:
    return Fill(
        id=f"F{i}",
        order_id=f"O{i}",
        symbol="BTCUSDT",
        side=Side.SELL,
        quantity=1.0,
        price=100.0,
        fee=fee,
        liquidity="TAKER",
        ts=D + timedelta(minutes=i),
        realized_pnl=pnl,
    )


def test_fills_fold_in_time_order_net_of_fees() -> None:
    fills = [_fill(3, -5.0), _fill(1, 0.0, fee=1.0), _fill(2, 0.5, fee=1.0)]
    s = on_fills(BreakerState(), fills, LIM)
    assert s.consecutive_losses == 2  # the +0.5 gross is -0.5 net; the entry fill (pnl 0) skipped
    s = on_fills(s, [_fill(4, -1.0)], LIM)
    assert s.tripped_until == D + timedelta(minutes=4, hours=4)


def test_state_in_state_out() -> None:
    s = BreakerState()
    on_trade_closed(s, D, -1.0, LIM)
    assert s == BreakerState()  # the input is never mutated


@pytest.mark.parametrize(
    ("kw", "reasons"),
    [
        ({}, []),
        (
            {"tripped_until": D + timedelta(hours=1)},
            ["breaker tripped until 2023-04-20T01:00:00+00:00"],
        ),
        ({"equity": 9_600.0}, ["daily drawdown 4% >= limit 3%"]),
        ({"consecutive_losses": 3}, ["3 consecutive losses >= limit 3"]),
    ],
)
def test_breaker_reasons(kw: dict, reasons: list[str]) -> None:
    args = {
        "at": D,
        "equity": 10_000.0,
        "day_start_equity": 10_000.0,
        "consecutive_losses": 0,
        "tripped_until": None,
        **kw,
    }
    assert breaker_reasons(limits=LIM, **args) == reasons


def test_gate_denies_while_tripped_and_allows_after() -> None:
    s = on_trade_closed(
        on_trade_closed(on_trade_closed(BreakerState(), D, -1, LIM), D, -1, LIM), D, -1, LIM
    )
    m_during = market(at=D + timedelta(hours=2))
    m_after = market(at=D + timedelta(hours=4))
    acct = account(consecutive_losses=s.consecutive_losses, breaker_until=s.tripped_until)
    assert risk_gate(decision(), m_during, acct, LIM).verdict == "DENIED"
    assert risk_gate(decision(), m_after, acct, LIM).verdict == "APPROVED"
