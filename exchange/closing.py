"""Managing an open position through the ``Exchange`` protocol: close it, or tighten its stop.

Both only reduce risk (the desk's MANAGE stage may never add to a position): closing cancels the
position's working orders and sends one reduce-only market order for the whole quantity;
tightening moves the working stop-loss's trigger toward the price, never away from it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from exchange.errors import OrderRejected
from exchange.protocol import Exchange
from exchange.types import Order, OrderRequest, OrderType, Position, Side

_STOPS = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)


class ManageReport(BaseModel):
    """What a close or a tighten did on the exchange."""

    model_config = ConfigDict(frozen=True)

    action: str  # "close" | "tighten" | "hold"
    symbol: str
    status: str  # "PLACED" | "MODIFIED" | "NOTHING" | "REJECTED"
    order_id: str | None = None
    canceled: list[str] = []
    stop_before: float | None = None
    stop_after: float | None = None
    note: str = ""


def open_position(exchange: Exchange, symbol: str) -> Position | None:
    """The non-zero position on ``symbol``, or None."""
    for p in exchange.positions():
        if p.symbol == symbol and p.quantity != 0:
            return p
    return None


def working_stop(exchange: Exchange, symbol: str, quantity: float) -> Order | None:
    """The reduce-only stop that protects a position of signed ``quantity``."""
    want = Side.SELL if quantity > 0 else Side.BUY
    for o in exchange.open_orders(symbol):
        r = o.request
        if r.type in _STOPS and r.reduce_only and r.side is want:
            return o
    return None


def is_tighter(quantity: float, old: float | None, new: float) -> bool:
    """A stop ``new`` risks less than ``old`` for a position of signed ``quantity``."""
    if old is None:
        return True
    return new > old if quantity > 0 else new < old


def close_position(exchange: Exchange, symbol: str, *, client_order_id: str) -> ManageReport:
    """Cancel the symbol's working orders and close the whole position at market (reduce-only)."""
    pos = open_position(exchange, symbol)
    if pos is None:
        return ManageReport(action="close", symbol=symbol, status="NOTHING", note="no position")
    canceled = []
    for o in exchange.open_orders(symbol):
        exchange.cancel(o.id)
        canceled.append(o.id)
    side = Side.SELL if pos.quantity > 0 else Side.BUY
    req = OrderRequest(
        symbol=symbol, side=side, type=OrderType.MARKET, quantity=abs(pos.quantity),
        reduce_only=True, client_order_id=client_order_id,
    )  # fmt: skip
    try:
        order = exchange.place(req)
    except OrderRejected as exc:
        return ManageReport(
            action="close", symbol=symbol, status="REJECTED", canceled=canceled, note=str(exc)
        )
    return ManageReport(
        action="close", symbol=symbol, status="PLACED", order_id=order.id, canceled=canceled
    )


def tighten_stop(exchange: Exchange, symbol: str, new_stop: float) -> ManageReport:
    """Move the position's stop to ``new_stop`` if that risks less; otherwise change nothing."""
    pos = open_position(exchange, symbol)
    if pos is None:
        return ManageReport(action="tighten", symbol=symbol, status="NOTHING", note="no position")
    stop = working_stop(exchange, symbol, pos.quantity)
    old = None if stop is None else stop.request.trigger_price
    if stop is None:
        return ManageReport(
            action="tighten", symbol=symbol, status="NOTHING", note="no working stop to move"
        )
    if not is_tighter(pos.quantity, old, new_stop):
        return ManageReport(
            action="tighten", symbol=symbol, status="NOTHING", stop_before=old, stop_after=old,
            note=f"stop {new_stop:g} would not be tighter than {old:g}",
        )  # fmt: skip
    try:
        exchange.modify(stop.id, price=new_stop)
    except OrderRejected as exc:
        return ManageReport(
            action="tighten", symbol=symbol, status="REJECTED", order_id=stop.id,
            stop_before=old, stop_after=old, note=str(exc),
        )  # fmt: skip
    return ManageReport(
        action="tighten", symbol=symbol, status="MODIFIED", order_id=stop.id,
        stop_before=old, stop_after=new_stop,
    )  # fmt: skip
