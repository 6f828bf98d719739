"""Symbols and contract rules: ``BTCUSDT`` <-> ``cmt_btcusdt``, and rounding to a contract's
precision. ``size_increment`` and ``tick_size`` are numbers of DECIMALS, not steps (weex-api §9.1,
pitfall 10). All arithmetic is ``Decimal``."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PREFIX = "cmt_"


def to_weex_symbol(symbol: str) -> str:
    """``BTCUSDT`` -> ``cmt_btcusdt`` (an already-WEEX symbol passes through)."""
    s = symbol.strip()
    if s.lower().startswith(PREFIX):
        return s.lower()
    if not s or not s.isalnum():
        raise ValueError(f"symbol: {symbol!r} is not a pair like BTCUSDT")
    return PREFIX + s.lower()


def from_weex_symbol(symbol: str) -> str:
    """``cmt_btcusdt`` -> ``BTCUSDT``."""
    s = symbol.strip().lower()
    if not s.startswith(PREFIX):
        raise ValueError(f"symbol: {symbol!r} is not a WEEX symbol like cmt_btcusdt")
    return s.removeprefix(PREFIX).upper()


def dec(value: Any) -> Decimal:
    """A Decimal from a WEEX string or number (never through float for strings)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value).strip() or "0")


def fmt(value: Decimal) -> str:
    """A plain decimal string (no exponent), as WEEX wants; the value's own decimals are kept
    (``Decimal("100000.0")`` -> ``"100000.0"``, as in WEEX's examples)."""
    return format(value, "f")


class Contract(BaseModel):
    """One row of ``/capi/v2/market/contracts`` (the fields the client uses)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    symbol: str
    size_increment: int = Field(description="decimals of size")
    tick_size: int = Field(description="decimals of price")
    price_end_step: Decimal = Field(default=Decimal(1), alias="priceEndStep")
    min_order_size: Decimal = Field(alias="minOrderSize")
    max_order_size: Decimal | None = Field(default=None, alias="maxOrderSize")
    min_leverage: int = Field(default=1, alias="minLeverage")
    max_leverage: int = Field(default=20, alias="maxLeverage")
    maker_fee_rate: Decimal = Field(default=Decimal("0.0002"), alias="makerFeeRate")
    taker_fee_rate: Decimal = Field(default=Decimal("0.0006"), alias="takerFeeRate")
    contract_val: Decimal | None = None

    def size_step(self, *, min_is_step: bool) -> Decimal:
        """The quantity step: ``10^-size_increment``, or ``minOrderSize`` when that is coarser
        and ``min_is_step`` (the observed table, INFERRED)."""
        step = Decimal(1).scaleb(-self.size_increment)
        return max(step, self.min_order_size) if min_is_step else step

    def price_step(self) -> Decimal:
        """``10^-tick_size`` times ``priceEndStep``."""
        return Decimal(1).scaleb(-self.tick_size) * self.price_end_step

    def round_size(self, size: Any, *, min_is_step: bool = True) -> Decimal:
        """``size`` rounded DOWN to the step (sizing never rounds up)."""
        step = self.size_step(min_is_step=min_is_step)
        return (dec(size) / step).to_integral_value(ROUND_DOWN) * step

    def round_price(self, price: Any) -> Decimal:
        """``price`` rounded to the nearest price step."""
        step = self.price_step()
        return (dec(price) / step).to_integral_value(ROUND_HALF_UP) * step


def parse_contracts(payload: Any) -> dict[str, Contract]:
    """The contracts by WEEX symbol, from a bare list or a ``{data: [...]}`` wrapper."""
    rows = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValueError("contracts: expected a list of contracts")
    out = {}
    for row in rows:
        c = Contract.model_validate(row)
        out[c.symbol] = c
    return out
