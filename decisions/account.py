"""What the gate knows about the account: equity, exposure, the breaker and recent entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from decisions.circuit_breaker import BreakerState, on_fills
from decisions.limits import RiskLimits
from exchange.protocol import Exchange


class AccountState(BaseModel):
    """The account as the gate sees it at decision time (quote currency, USDT)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    equity: float = Field(description="wallet + unrealised PnL")
    available: float = Field(description="equity free for new margin")
    day_start_equity: float = Field(description="equity at the UTC day's start (drawdown base)")
    open_notional: dict[str, float] = Field(
        default_factory=dict, description="absolute notional of the open position, by symbol"
    )
    consecutive_losses: int = Field(default=0, ge=0)
    last_entry_at: dict[str, datetime] = Field(
        default_factory=dict, description="time of the last entry fill, by symbol"
    )
    breaker_until: datetime | None = None

    @field_validator("open_notional")
    @classmethod
    def _abs_notional(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if x < 0}
        if bad:
            raise ValueError(f"open_notional must be absolute (>= 0), got {bad}")
        return v

    @field_validator("last_entry_at")
    @classmethod
    def _aware_map(cls, v: dict[str, datetime]) -> dict[str, datetime]:
        for k, t in v.items():
            if t.tzinfo is None:
                raise ValueError(f"last_entry_at[{k}] {t.isoformat()} has no timezone")
        return v

    @field_validator("breaker_until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError(f"breaker_until {v.isoformat()} has no timezone")
        return v

    @property
    def total_notional(self) -> float:
        return sum(self.open_notional.values())


def account_state_from_exchange(
    exchange: Exchange,
    *,
    breaker: BreakerState | None = None,
    limits: RiskLimits | None = None,
    last_entry_at: Mapping[str, datetime] | None = None,
    at: datetime | None = None,
) -> AccountState:
    """Read balance, positions and fills from an exchange into the gate's :class:`AccountState`.

    - Notional is marked from each position's unrealised PnL: ``|q*entry + upnl|``.
    - ``last_entry_at``: the latest fill of a non-reduce-only order per symbol, merged with
      the given map (the later time wins).
    - The breaker fields come from ``breaker`` (kept by the caller across meetings). Without
      one, the losing streak (and its cooldown) is folded from the exchange's whole fill history
      with ``limits``, and the day's starting equity is estimated as the wallet minus today's
      net realised PnL (fills since UTC midnight of ``at``, default the exchange's ``now``), so
      today's closed losses plus the open positions' unrealised PnL count as drawdown.
    """
    bal = exchange.balance()
    notional: dict[str, float] = {}
    for p in exchange.positions():
        if p.quantity == 0:
            continue
        notional[p.symbol] = notional.get(p.symbol, 0.0) + abs(
            p.quantity * p.entry_price + p.unrealized_pnl
        )
    fills = exchange.fills()
    entries: dict[str, datetime] = dict(last_entry_at or {})
    reduce_only: dict[str, bool] = {}
    for f in fills:
        if f.order_id not in reduce_only:
            reduce_only[f.order_id] = exchange.get_order(f.order_id).request.reduce_only
        if reduce_only[f.order_id]:
            continue
        if f.symbol not in entries or f.ts > entries[f.symbol]:
            entries[f.symbol] = f.ts
    if breaker is None:
        breaker = on_fills(BreakerState(), fills, limits or RiskLimits())
        when = at if at is not None else getattr(exchange, "now", None)
        if when is not None:
            midnight = when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            today = sum(f.realized_pnl - f.fee for f in fills if f.ts >= midnight)
            breaker = breaker.model_copy(update={"day_start_equity": bal.wallet - today})
    return AccountState(
        equity=bal.equity,
        available=bal.available,
        day_start_equity=(
            breaker.day_start_equity if breaker.day_start_equity is not None else bal.equity
        ),
        open_notional=notional,
        consecutive_losses=breaker.consecutive_losses,
        last_entry_at=entries,
        breaker_until=breaker.tripped_until,
    )
