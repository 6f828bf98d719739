"""Builders for the gate's inputs: one sober base case, changed field by field in the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from decisions.account import AccountState
from decisions.limits import RiskLimits
from decisions.market import MarketSnapshot
from decisions.schema import Decision

AT = datetime(2023, 4, 20, 12, 0, tzinfo=UTC)


def decision(**kw: Any) -> Decision:
    """A LONG BTCUSDT market entry at 30000 with a 2-ATR stop and a 2 R take-profit."""
    base: dict[str, Any] = dict(
        action="LONG",
        symbol="BTCUSDT",
        entry_type="market",
        entry=30000.0,
        stop_loss=29700.0,
        take_profit=30600.0,
        confidence=0.7,
        horizon="4h",
        leverage=3.0,
        main_path="trend continuation above the 4h EMA",
        backup_path="exit at the stop",
        triggers=["close above 30100"],
        rationale="trend and momentum agree",
        dissent=[],
        memo_id="memo-1",
    )
    base.update(kw)
    return Decision(**base)


def market(**kw: Any) -> MarketSnapshot:
    """BTCUSDT at 30000 with an ATR of 150 (tick 0.1, step 0.001)."""
    base: dict[str, Any] = dict(symbol="BTCUSDT", at=AT, price=30000.0, atr=150.0)
    base.update(kw)
    return MarketSnapshot(**base)


def account(**kw: Any) -> AccountState:
    """A flat 10 000 USDT account, nothing open, no losses."""
    base: dict[str, Any] = dict(equity=10_000.0, available=10_000.0, day_start_equity=10_000.0)
    base.update(kw)
    return AccountState(**base)


def limits(**kw: Any) -> RiskLimits:
    return RiskLimits(**kw)
