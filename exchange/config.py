"""The virtual exchange's configuration: its economics and matching policy.

Kept apart from ``exchange.virtual`` (which re-exports it) so that the bar loop there holds no
pydantic class and can be compiled with mypyc (see ``.coordination/speed-needs.md``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from exchange.instruments import Instrument, default_instruments

Venue = Literal["weex", "binance"]


class ExchangeConfig(BaseModel):
    """The venue's economics and matching policy (frozen: a run's config is part of its id)."""

    model_config = ConfigDict(frozen=True)

    starting_balance: float = Field(default=10_000.0, gt=0, description="USDT")
    maker_fee: float = Field(
        default=0.0002, description="rate on resting limits filled at their price"
    )
    taker_fee: float = Field(default=0.0006, description="rate on every other fill")
    slippage_bps: float = Field(
        default=1.0, ge=0, description="taker fills only, clamped to the bar"
    )
    funding_rate: float = Field(default=0.0001, description="per 8 h; > 0 debits longs")
    maintenance_margin_rate: float = Field(default=0.005, ge=0, lt=1)
    sl_tp_same_bar: Literal["pessimistic", "optimistic"] = "pessimistic"
    reject_immediate_stops: bool = Field(
        default=True, description="reject a stop whose trigger is already passed (Binance -2021)"
    )
    instruments: dict[str, Instrument] = Field(default_factory=default_instruments)
    venue: Venue = Field(default="weex", description="the profile the defaults come from")
    position_accounting: Literal["average", "fifo"] = Field(
        default="average",
        description="average entry price (both venues) or FIFO lots (per-lot realised PnL)",
    )
    funding_from_margin: bool = Field(
        default=True,
        description="funding is paid from / to the position's isolated margin (WEEX), so the "
        "liquidation price moves with it; False: the wallet only",
    )

    @classmethod
    def for_venue(cls, venue: Venue, **overrides: Any) -> ExchangeConfig:
        """The configuration with ``venue``'s defaults (exchange/CONTRACT.md "Venue
        profiles" cites each one), then ``overrides``."""
        from exchange.venues import venue_defaults

        return cls(**{**venue_defaults(venue), **overrides})
