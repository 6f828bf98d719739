"""AccountState: validation, and reading it back from the real VirtualExchange."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from pydantic import ValidationError

from decisions.account import AccountState, account_state_from_exchange
from decisions.circuit_breaker import BreakerState
from exchange.types import OrderRequest, OrderType, Side
from exchange.virtual import ExchangeConfig, VirtualExchange

T0 = pd.Timestamp("2023-04-20T01:00:00Z")
FREE = {"maker_fee": 0.0, "taker_fee": 0.0, "slippage_bps": 0.0, "funding_rate": 0.0}


def test_validation_names_the_field() -> None:
    with pytest.raises(
        ValidationError,
        match=r"open_notional must be absolute \(>= 0\), got "
        r"\{'BTCUSDT': -5.0\}",
    ):
        AccountState(equity=1, available=1, day_start_equity=1, open_notional={"BTCUSDT": -5.0})
    with pytest.raises(ValidationError, match="breaker_until 2023-04-20T00:00:00 has no timezone"):
        AccountState(equity=1, available=1, day_start_equity=1, breaker_until=datetime(2023, 4, 20))
    with pytest.raises(ValidationError, match="equity\n  Input should be a finite number"):
        AccountState(equity=float("nan"), available=1, day_start_equity=1)


def test_from_exchange_marks_positions_and_takes_the_breaker() -> None:
    ex = VirtualExchange(ExchangeConfig(starting_balance=10_000.0, **FREE))
    ex.on_bar("ETHUSDT", T0, 2000.0, 2001.0, 1999.0, 2000.0, 1.0)
    ex.place(
        OrderRequest(
            symbol="ETHUSDT", side=Side.SELL, type=OrderType.MARKET, quantity=1.0, leverage=2.0
        )
    )
    ex.on_bar("ETHUSDT", T0 + pd.Timedelta(minutes=1), 2000.0, 2010.0, 1890.0, 1900.0, 1.0)
    until = datetime(2023, 4, 20, 6, tzinfo=UTC)
    breaker = BreakerState(day_start_equity=10_500.0, consecutive_losses=2, tripped_until=until)
    acct = account_state_from_exchange(ex, breaker=breaker)
    assert acct.open_notional == {"ETHUSDT": pytest.approx(1900.0)}  # marked, not at entry
    assert acct.equity == pytest.approx(10_100.0)
    assert acct.available == pytest.approx(10_000.0 - 1000.0)  # isolated: +100 uPnL funds nothing
    assert (acct.day_start_equity, acct.consecutive_losses, acct.breaker_until) == (
        10_500.0,
        2,
        until,
    )
    assert acct.last_entry_at == {"ETHUSDT": (T0 + pd.Timedelta(minutes=1)).to_pydatetime()}


def test_given_last_entries_merge_with_the_exchange_history() -> None:
    ex = VirtualExchange(ExchangeConfig(starting_balance=10_000.0, **FREE))
    later = datetime(2023, 4, 21, tzinfo=UTC)
    acct = account_state_from_exchange(ex, last_entry_at={"BTCUSDT": later})
    assert acct.last_entry_at == {"BTCUSDT": later}
    assert (acct.equity, acct.day_start_equity, acct.open_notional) == (10_000.0, 10_000.0, {})
    assert acct.total_notional == 0.0


def test_without_a_breaker_todays_losses_count_as_drawdown() -> None:
    """A losing round trip today: day-start equity is rebuilt from today's fills."""
    ex = VirtualExchange(ExchangeConfig(starting_balance=10_000.0, **FREE))
    ex.on_bar("BTCUSDT", T0, 30000.0, 30000.0, 30000.0, 30000.0, 1.0)
    ex.place(
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.BUY,
            type=OrderType.MARKET,
            quantity=1.0,
            leverage=5.0,
            stop_loss=29000.0,
            take_profit=33000.0,
        )
    )
    ex.on_bar("BTCUSDT", T0 + pd.Timedelta(minutes=1), 30000.0, 30000.0, 30000.0, 30000.0, 1.0)
    ex.on_bar("BTCUSDT", T0 + pd.Timedelta(minutes=2), 30000.0, 30000.0, 28900.0, 28950.0, 1.0)
    acct = account_state_from_exchange(ex)
    assert acct.equity == pytest.approx(9_000.0)
    assert acct.day_start_equity == pytest.approx(10_000.0)
    assert acct.consecutive_losses == 1
    # the next UTC day starts from the equity it begins with
    nxt = account_state_from_exchange(ex, at=datetime(2023, 4, 21, 0, 5, tzinfo=UTC))
    assert nxt.day_start_equity == pytest.approx(9_000.0)
