"""Exchange entities shared by the virtual exchange, WEEX and the executor.

The matching rules these follow are written in ``exchange/CONTRACT.md``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    STOP_LIMIT = "STOP_LIMIT"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class OrderRequest(BaseModel):
    """What a caller asks for. ``stop_loss``/``take_profit`` make it a bracket: when the entry
    fills, a reduce-only stop-market and a reduce-only limit are placed as an OCO pair."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    side: Side
    type: OrderType
    quantity: float = Field(description="base-asset quantity, > 0")
    price: float | None = Field(default=None, description="limit price (LIMIT, STOP_LIMIT)")
    trigger_price: float | None = Field(default=None, description="stop trigger (STOP_*)")
    reduce_only: bool = False
    leverage: float = 1.0
    stop_loss: float | None = None
    take_profit: float | None = None
    client_order_id: str | None = None


class Order(BaseModel):
    """An order as the exchange holds it."""

    id: str
    request: OrderRequest
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: float = 0.0
    average_price: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    parent_id: str | None = Field(default=None, description="bracket entry this child belongs to")
    oco_id: str | None = Field(default=None, description="the partner cancelled when this fills")
    reason: str | None = Field(default=None, description="why REJECTED / CANCELED / EXPIRED")
    triggered_at: datetime | None = Field(default=None, description="when a stop triggered")
    role: str | None = Field(
        default=None, description="entry | stop_loss | take_profit | liquidation (bracket legs)"
    )


class Fill(BaseModel):
    """One execution."""

    id: str
    order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    liquidity: str = Field(description="MAKER or TAKER")
    slippage: float = Field(default=0.0, description="quote-currency cost vs reference_price")
    ts: datetime = Field(description="open time of the bar the fill happened in")
    realized_pnl: float = Field(default=0.0, description="gross FIFO PnL closed, before fee")
    reference_price: float | None = Field(
        default=None, description="the open, trigger or limit price the fill is measured from"
    )


class FundingPayment(BaseModel):
    """One funding settlement on a perpetual position (amount > 0 received, < 0 paid)."""

    symbol: str
    ts: datetime
    rate: float
    quantity: float = Field(description="signed position quantity at the funding time")
    price: float
    amount: float


class Position(BaseModel):
    """A net isolated-margin position on one symbol (quantity > 0 long, < 0 short)."""

    symbol: str
    quantity: float
    entry_price: float
    leverage: float
    margin: float
    liquidation_price: float | None
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0


class Balance(BaseModel):
    """Account money in the quote currency (USDT)."""

    currency: str = "USDT"
    wallet: float = Field(description="cash incl. realised PnL, fees and funding")
    equity: float = Field(description="wallet + unrealised PnL")
    available: float = Field(description="equity minus margin in use and reserved by orders")
    margin_used: float = 0.0


class OrderPlan(BaseModel):
    """What the risk gate allows: the executor turns it into a bracket order as is."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    symbol: str
    side: Side
    quantity: float = Field(gt=0)
    leverage: float = Field(ge=1)
    entry_type: OrderType = Field(description="MARKET or LIMIT")
    entry_price: float | None = Field(default=None, description="limit price, or reference price")
    stop_loss: float
    take_profit: float
    notional: float = Field(description="quantity x reference entry price")
    risk_amount: float = Field(description="quote currency lost if the stop fills")
