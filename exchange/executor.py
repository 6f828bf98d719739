"""The executor: turns the risk gate's ``OrderPlan`` into a bracket order on an ``Exchange``.

It places exactly what the plan says (the gate has already sized and clamped it): one entry with
``stop_loss``/``take_profit`` attached, which the exchange turns into a reduce-only stop-market
and a reduce-only limit, linked OCO, when the entry fills. A refusal, returned as REJECTED or
raised as ``OrderRejected``, is captured in the report with its reason; it is never swallowed
and never retried. A DENIED gate result places nothing.

The executor takes the gate result duck-typed (``verdict`` and ``plan``) so ``exchange/`` keeps
importing nothing from ``decisions/``.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from exchange.errors import OrderRejected
from exchange.protocol import Exchange
from exchange.types import Fill, Order, OrderPlan, OrderRequest, OrderStatus, OrderType

REPORT_SCHEMA_VERSION = 1

ExecutionStatus = Literal[
    "NOT_EXECUTED", "REJECTED", "PLACED", "FILLED", "CLOSED", "LIQUIDATED", "CANCELED"
]


class GateOutcome(Protocol):
    """What the executor reads of a ``decisions.schema.GateResult``."""

    @property
    def verdict(self) -> str: ...

    @property
    def plan(self) -> OrderPlan | None: ...


class ExecutionReport(BaseModel):
    """What happened to one plan: the order ids, their statuses, the fills, or why not."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = REPORT_SCHEMA_VERSION
    client_order_id: str
    symbol: str | None = None
    status: ExecutionStatus = Field(
        description="NOT_EXECUTED (gate denied), REJECTED (exchange refused), PLACED (entry "
        "working), FILLED (entry filled, bracket live), CLOSED (a bracket leg filled), "
        "LIQUIDATED (the venue closed the position; its fill is in fills), CANCELED (entry cancelled or expired before it filled)"
    )
    entry_order_id: str | None = None
    entry_status: OrderStatus | None = None
    stop_loss_order_id: str | None = None
    stop_loss_status: OrderStatus | None = None
    take_profit_order_id: str | None = None
    take_profit_status: OrderStatus | None = None
    fills: list[Fill] = Field(default_factory=list)
    rejection_reason: str | None = None
    note: str | None = None

    @property
    def order_ids(self) -> list[str]:
        """Every order id placed for this plan, entry first (for the AI log's ``orderId``)."""
        ids = [self.entry_order_id, self.stop_loss_order_id, self.take_profit_order_id]
        return [i for i in ids if i is not None]


def plan_to_request(plan: OrderPlan, client_order_id: str) -> OrderRequest:
    """The bracket entry request for ``plan``: a market or limit entry with SL and TP attached."""
    if plan.entry_type not in (OrderType.MARKET, OrderType.LIMIT):
        raise ValueError(f"entry_type: {plan.entry_type} is not MARKET or LIMIT")
    return OrderRequest(
        symbol=plan.symbol,
        side=plan.side,
        type=plan.entry_type,
        quantity=plan.quantity,
        price=plan.entry_price if plan.entry_type is OrderType.LIMIT else None,
        leverage=plan.leverage,
        stop_loss=plan.stop_loss,
        take_profit=plan.take_profit,
        client_order_id=client_order_id,
    )


def execute(plan: OrderPlan, exchange: Exchange, *, client_order_id: str) -> ExecutionReport:
    """Place ``plan`` as a bracket order and report what the exchange did with it."""
    request = plan_to_request(plan, client_order_id)
    try:
        order = exchange.place(request)
    except OrderRejected as exc:
        return ExecutionReport(
            client_order_id=client_order_id,
            symbol=plan.symbol,
            status="REJECTED",
            rejection_reason=str(exc),
            note="the exchange refused the request",
        )
    if order.status is OrderStatus.REJECTED:
        return ExecutionReport(
            client_order_id=client_order_id,
            symbol=plan.symbol,
            status="REJECTED",
            entry_order_id=order.id,
            entry_status=order.status,
            rejection_reason=order.reason or "rejected without a reason",
            note="the exchange refused the order",
        )
    base = ExecutionReport(
        client_order_id=client_order_id,
        symbol=plan.symbol,
        status="PLACED",
        entry_order_id=order.id,
        entry_status=order.status,
    )
    return refresh(base, exchange)


def execute_gate_result(
    result: GateOutcome, exchange: Exchange, *, client_order_id: str
) -> ExecutionReport:
    """Execute an APPROVED or CLAMPED result; a DENIED one places nothing and says so."""
    if result.verdict == "DENIED" or result.plan is None:
        return ExecutionReport(
            client_order_id=client_order_id,
            symbol=result.plan.symbol if result.plan is not None else None,
            status="NOT_EXECUTED",
            note=f"not executed: {result.verdict}",
        )
    return execute(result.plan, exchange, client_order_id=client_order_id)


def _children(entry: Order, exchange: Exchange) -> list[Order]:
    """The bracket's SL/TP orders, whatever their status (the venue's order history)."""
    return [o for o in exchange.orders(entry.request.symbol) if o.parent_id == entry.id]


def _liquidation_after(
    entry_fills: list[Fill], fills: list[Fill], exchange: Exchange
) -> Fill | None:
    """The first liquidation fill of the symbol at or after the entry's first fill."""
    if not entry_fills:
        return None
    start = entry_fills[0].ts
    for f in fills:
        if f.ts >= start and exchange.get_order(f.order_id).role == "liquidation":
            return f
    return None


def refresh(report: ExecutionReport, exchange: Exchange) -> ExecutionReport:
    """Re-read the entry, its SL/TP children and their fills (call after bars have passed)."""
    if report.entry_order_id is None or report.status in ("NOT_EXECUTED", "REJECTED"):
        return report
    entry = exchange.get_order(report.entry_order_id)
    sl: Order | None = None
    tp: Order | None = None
    for child in _children(entry, exchange):
        if child.role == "stop_loss" or (
            child.role is None
            and child.request.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
        ):
            sl = child
        elif child.role in (None, "take_profit"):
            tp = child
    ids = {entry.id} | {o.id for o in (sl, tp) if o is not None}
    symbol_fills = sorted(exchange.fills(entry.request.symbol), key=lambda f: (f.ts, f.id))
    fills = [f for f in symbol_fills if f.order_id in ids]
    leg_filled = any(o is not None and o.status is OrderStatus.FILLED for o in (sl, tp))
    liquidation = (
        None
        if leg_filled
        else _liquidation_after(
            [f for f in fills if f.order_id == entry.id], symbol_fills, exchange
        )
    )
    status: ExecutionStatus
    if entry.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED) and entry.filled_quantity == 0:
        status = "CANCELED"
    elif entry.status is OrderStatus.REJECTED:
        status = "REJECTED"
    elif leg_filled:
        status = "CLOSED"
    elif liquidation is not None:
        status = "LIQUIDATED"
        fills = sorted([*fills, liquidation], key=lambda f: (f.ts, f.id))
    elif entry.status is OrderStatus.FILLED:
        status = "FILLED"
    else:
        status = "PLACED"
    return report.model_copy(
        update={
            "status": status,
            "entry_status": entry.status,
            "stop_loss_order_id": sl.id if sl else None,
            "stop_loss_status": sl.status if sl else None,
            "take_profit_order_id": tp.id if tp else None,
            "take_profit_status": tp.status if tp else None,
            "fills": fills,
            "rejection_reason": entry.reason if status == "REJECTED" else None,
        }
    )
