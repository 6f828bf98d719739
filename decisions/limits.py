"""The risk limits the gate enforces: configuration, validated so nonsense cannot be configured.

Percentages are in percent (``0.5`` means 0.5 % of equity). Leverage above the hard cap of 20
may be written in a config, but the gate never uses more than :data:`HARD_MAX_LEVERAGE`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.symbols import ALLOWED_SYMBOLS

HARD_MAX_LEVERAGE = 20.0
"""No configuration can lift the leverage the gate allows above this."""


class RiskLimits(BaseModel):
    """Every number the risk gate and the circuit breaker read. Defaults are a cautious desk's."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    allowed_symbols: tuple[str, ...] = ALLOWED_SYMBOLS
    max_leverage: float = Field(default=5.0, ge=1.0, description="the gate uses min(this, 20)")
    risk_per_trade_pct: float = Field(
        default=0.5, gt=0.0, le=10.0, description="equity lost if the stop fills, in %"
    )
    min_stop_atr: float = Field(default=0.5, gt=0.0, description="stop at least this many ATR away")
    max_stop_atr: float = Field(default=4.0, gt=0.0, description="stop at most this many ATR away")
    min_reward_risk: float = Field(default=1.5, gt=0.0, description="take-profit at >= this R")
    max_entry_distance_atr: float = Field(
        default=3.0, gt=0.0, description="a limit entry at most this many ATR from the price"
    )
    max_position_notional_pct: float = Field(
        default=200.0, gt=0.0, description="one symbol's notional, in % of equity"
    )
    max_total_exposure_pct: float = Field(
        default=300.0, gt=0.0, description="all symbols' notional, in % of equity"
    )
    fee_headroom: float = Field(
        default=0.001,
        ge=0.0,
        le=0.05,
        description="fraction of notional kept free for the taker fee when checking margin",
    )
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    min_entry_interval: timedelta = Field(
        default=timedelta(minutes=15), description="between two entries on one symbol"
    )
    daily_drawdown_limit_pct: float = Field(
        default=3.0, gt=0.0, le=100.0, description="trip the breaker at this loss from day start"
    )
    max_consecutive_losses: int = Field(default=3, ge=1)
    breaker_cooldown: timedelta = Field(default=timedelta(hours=4))
    min_p_win: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="deny an entry whose learned P(win) is below this (None: off)",
    )
    max_hold: timedelta = Field(
        default=timedelta(days=3), description="a position older than this is closed (MANAGE)"
    )

    @field_validator("allowed_symbols")
    @classmethod
    def _symbols_known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("allowed_symbols must name at least one symbol")
        unknown = [s for s in v if s not in ALLOWED_SYMBOLS]
        if unknown:
            raise ValueError(
                f"allowed_symbols {unknown} are outside the universe {list(ALLOWED_SYMBOLS)}"
            )
        return v

    @field_validator("min_entry_interval", "breaker_cooldown", "max_hold")
    @classmethod
    def _non_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError(f"must not be negative, got {v}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RiskLimits:
        if self.max_stop_atr <= self.min_stop_atr:
            raise ValueError(
                f"max_stop_atr ({self.max_stop_atr}) must be greater than "
                f"min_stop_atr ({self.min_stop_atr})"
            )
        if self.max_total_exposure_pct < self.max_position_notional_pct:
            raise ValueError(
                f"max_total_exposure_pct ({self.max_total_exposure_pct}) must be at least "
                f"max_position_notional_pct ({self.max_position_notional_pct})"
            )
        return self

    @property
    def leverage_cap(self) -> float:
        """The leverage the gate allows: the configured maximum, never above the hard cap."""
        return min(self.max_leverage, HARD_MAX_LEVERAGE)
