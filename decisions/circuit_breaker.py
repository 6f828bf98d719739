"""The circuit breaker: stop trading after a bad day or a losing streak, for a cooldown.

Pure state in, state out, so replay and live keep it the same way and tests need no clock.

- Daily drawdown: equity down ``daily_drawdown_limit_pct`` from the UTC day's first equity trips
  it until the later of ``at + breaker_cooldown`` and the next UTC midnight (a new day, a new
  reference equity).
- Losing streak: the ``max_consecutive_losses``-th loss in a row trips it for
  ``breaker_cooldown``; the streak counter then restarts from 0 (the cooldown is the penalty,
  so the streak does not re-trip the breaker forever). A trade closed at pnl >= 0 ends a streak.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from decisions.limits import RiskLimits
from exchange.types import Fill


class BreakerState(BaseModel):
    """What the breaker remembers between meetings."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    day_start: datetime | None = Field(default=None, description="UTC midnight of the day")
    day_start_equity: float | None = Field(default=None, description="first equity seen that day")
    consecutive_losses: int = Field(default=0, ge=0)
    tripped_until: datetime | None = None
    trip_reason: str | None = None


def _utc_midnight(at: datetime) -> datetime:
    a = at.astimezone(UTC)
    return datetime(a.year, a.month, a.day, tzinfo=UTC)


def drawdown_pct(equity: float, day_start_equity: float) -> float:
    """Loss from the day's start, in percent (negative when the day is up)."""
    if day_start_equity <= 0:
        return 0.0
    return (day_start_equity - equity) / day_start_equity * 100.0


def breaker_reasons(
    *,
    at: datetime,
    equity: float,
    day_start_equity: float,
    consecutive_losses: int,
    tripped_until: datetime | None,
    limits: RiskLimits,
) -> list[str]:
    """Why trading is stopped at ``at`` (empty when it is not). The gate's R04 uses this."""
    out: list[str] = []
    if tripped_until is not None and at < tripped_until:
        out.append(f"breaker tripped until {tripped_until.astimezone(UTC).isoformat()}")
    dd = drawdown_pct(equity, day_start_equity)
    if dd >= limits.daily_drawdown_limit_pct:
        out.append(f"daily drawdown {dd:.4g}% >= limit {limits.daily_drawdown_limit_pct:g}%")
    if consecutive_losses >= limits.max_consecutive_losses:
        out.append(
            f"{consecutive_losses} consecutive losses >= limit {limits.max_consecutive_losses}"
        )
    return out


def is_tripped(state: BreakerState, at: datetime) -> bool:
    """True while the breaker forbids new entries."""
    return state.tripped_until is not None and at < state.tripped_until


def _trip(state: BreakerState, until: datetime, reason: str) -> BreakerState:
    if state.tripped_until is not None and state.tripped_until > until:
        until = state.tripped_until
    return state.model_copy(update={"tripped_until": until, "trip_reason": reason})


def on_equity(state: BreakerState, at: datetime, equity: float, limits: RiskLimits) -> BreakerState:
    """Record the account's equity at ``at``: rolls the UTC day and trips on daily drawdown."""
    day = _utc_midnight(at)
    if state.day_start is None or day > state.day_start or state.day_start_equity is None:
        state = state.model_copy(update={"day_start": day, "day_start_equity": equity})
    assert state.day_start_equity is not None
    dd = drawdown_pct(equity, state.day_start_equity)
    if dd >= limits.daily_drawdown_limit_pct:
        until = max(at + limits.breaker_cooldown, day + timedelta(days=1))
        state = _trip(
            state,
            until,
            f"daily drawdown {dd:.4g}% >= limit {limits.daily_drawdown_limit_pct:g}%",
        )
    return state


def on_trade_closed(
    state: BreakerState, at: datetime, pnl: float, limits: RiskLimits
) -> BreakerState:
    """Record a closed trade's realised PnL: counts the losing streak and trips on it."""
    if pnl >= 0:
        return state.model_copy(update={"consecutive_losses": 0})
    losses = state.consecutive_losses + 1
    if losses >= limits.max_consecutive_losses:
        tripped = _trip(
            state,
            at + limits.breaker_cooldown,
            f"{losses} consecutive losses >= limit {limits.max_consecutive_losses}",
        )
        return tripped.model_copy(update={"consecutive_losses": 0})
    return state.model_copy(update={"consecutive_losses": losses})


def on_fills(state: BreakerState, fills: Iterable[Fill], limits: RiskLimits) -> BreakerState:
    """Fold closing fills (non-zero realised PnL, net of their fee) in time order.

    Pass each fill once: the state does not remember which fills it has seen.
    """
    closing = sorted((f for f in fills if f.realized_pnl != 0), key=lambda f: (f.ts, f.id))
    for f in closing:
        state = on_trade_closed(state, f.ts, f.realized_pnl - f.fee, limits)
    return state
