"""Parsed WEEX answers (weex-api §9): Decimal amounts, ids kept as strings (never floats:
pitfall 13), words in responses, numeric codes in plan-order queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exchange.weex.contracts import dec


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


def _id(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return str(v)


class ServerTime(_M):
    timestamp: int
    iso: str = ""


class Ticker(_M):
    symbol: str
    last: Decimal
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    mark_price: Decimal | None = Field(default=None, alias="markPrice")
    timestamp: str | None = None


class Asset(_M):
    """One row of ``account/assets``."""

    coin_name: str = Field(alias="coinName")
    available: Decimal
    equity: Decimal
    frozen: Decimal = Decimal(0)
    unrealize_pnl: Decimal = Field(default=Decimal(0), alias="unrealizePnl")


def parse_assets(payload: Any) -> list[Asset]:
    """Both documented shapes: a bare list, or ``{"code":"00000","data":[...]}`` (pitfall 12)."""
    rows = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValueError("account/assets: expected a list of balances")
    return [Asset.model_validate(r) for r in rows]


def usdt_asset(assets: list[Asset]) -> Asset:
    """The row whose ``coinName`` is USDT; never the first row (pitfall 11)."""
    for a in assets:
        if a.coin_name.upper() == "USDT":
            return a
    raise ValueError("account/assets: no USDT row in the answer")


class WeexPosition(_M):
    """One row of ``allPosition``/``singlePosition``."""

    symbol: str | None = None
    side: str
    size: Decimal
    open_value: Decimal = Decimal(0)
    leverage: Decimal = Decimal(1)
    margin_mode: str | None = None
    unrealize_pnl: Decimal = Field(default=Decimal(0), alias="unrealizePnl")
    liquidate_price: Decimal | None = Field(default=None, alias="liquidatePrice")
    margin_size: Decimal | None = Field(default=None, alias="marginSize")
    isolated_margin: Decimal | None = None
    contract_id: int | None = None
    created_time: int | None = None
    id: str | None = None

    _norm = field_validator("size", "open_value", mode="before")(lambda v: dec(v or "0"))
    _nid = field_validator("id", mode="before")(lambda v: _id(v))

    @property
    def is_long(self) -> bool:
        return self.side.upper() == "LONG"

    @property
    def entry_price(self) -> Decimal:
        """``open_value / size`` (no entry-price field exists; INFERRED)."""
        return self.open_value / self.size if self.size else Decimal(0)


class WeexOrder(_M):
    """An order from ``detail``/``current``/``history`` (status/type words)."""

    order_id: str
    symbol: str
    client_oid: str | None = None
    size: Decimal
    filled_qty: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    price_avg: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    status: str
    type: str
    order_type: str = "normal"
    create_time: str | None = Field(default=None, alias="createTime")
    preset_take_profit_price: Decimal | None = Field(default=None, alias="presetTakeProfitPrice")
    preset_stop_loss_price: Decimal | None = Field(default=None, alias="presetStopLossPrice")

    _nid = field_validator("order_id", "client_oid", mode="before")(lambda v: _id(v))


class WeexPlanOrder(_M):
    """A plan/TP-SL order from ``currentPlan``/``historyPlan`` (numeric codes here)."""

    order_id: str
    symbol: str
    client_oid: str | None = None
    size: Decimal
    status: str
    type: str
    order_type: str | None = None
    trigger_price: Decimal | None = Field(default=None, alias="triggerPrice")
    price: Decimal | None = None
    plan_type: str | None = Field(default=None, alias="planType")

    _nid = field_validator("order_id", "client_oid", "status", "type", mode="before")(
        lambda v: _id(v)
    )


class WeexFill(_M):
    """One row of ``order/fills`` ``list`` (price = fillValue / fillSize)."""

    trade_id: str = Field(alias="tradeId")
    order_id: str = Field(alias="orderId")
    symbol: str
    order_side: str = Field(alias="orderSide")
    position_side: str | None = Field(default=None, alias="positionSide")
    fill_size: Decimal = Field(alias="fillSize")
    fill_value: Decimal = Field(alias="fillValue")
    fill_fee: Decimal = Field(default=Decimal(0), alias="fillFee")
    realize_pnl: Decimal = Field(default=Decimal(0), alias="realizePnl")
    created_time: int = Field(alias="createdTime")

    _nid = field_validator("trade_id", "order_id", mode="before")(lambda v: _id(v))

    @property
    def price(self) -> Decimal:
        return self.fill_value / self.fill_size if self.fill_size else Decimal(0)


def plan_status_word(code: str) -> str:
    """Plan-order status code -> word (weex-api §8.2)."""
    return {"-1": "canceled", "0": "open", "1": "partial", "2": "filled"}.get(code, code)
