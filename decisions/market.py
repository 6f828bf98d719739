"""What the gate knows about the market at decision time: price, ATR and the symbol's precision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from exchange.instruments import Instrument, default_instruments, resolve

_FALLBACK_QTY_STEP = 1e-6


def _instrument(symbol: str) -> Instrument | None:
    return resolve(symbol, default_instruments())


class MarketSnapshot(BaseModel):
    """The last closed price and ATR of one symbol at ``at``, plus its quantity step and tick.

    ``qty_step``, ``min_quantity`` and ``price_tick`` default from the symbol's contract spec
    (``exchange.instruments``, WEEX's filters) when not given.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    symbol: str
    at: datetime
    price: float = Field(gt=0, description="last close, the reference for market entries")
    atr: float = Field(gt=0, description="average true range, in price units")
    qty_step: float = Field(gt=0, description="orders are whole multiples of this")
    min_quantity: float = Field(default=0.0, ge=0, description="smallest order quantity")
    price_tick: float | None = Field(default=None, gt=0, description="price precision")

    @model_validator(mode="before")
    @classmethod
    def _default_precision(cls, data: Any) -> Any:
        if isinstance(data, dict) and "symbol" in data:
            data = dict(data)
            spec = _instrument(str(data["symbol"]))
            if data.get("qty_step") is None:
                data["qty_step"] = spec.step_size if spec else _FALLBACK_QTY_STEP
            if data.get("min_quantity") is None and spec is not None:
                data["min_quantity"] = spec.min_quantity
            if "price_tick" not in data:
                data["price_tick"] = spec.tick_size if spec else None
        return data

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError(f"at {v.isoformat()} has no timezone; give it in UTC")
        return v
