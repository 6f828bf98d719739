"""The plain records the bar loop works on, and their conversion to the public pydantic types.

Orders, fills, funding payments, a symbol's book and one bar's working state are ``__slots__``
records (a fill is a ``NamedTuple``: the garbage collector stops tracking it); the public getters
convert them with ``public_order`` / ``public_fills`` (``model_construct`` unrolled, checked once
by ``_trusted``: for the 34,000 fills of the backtest benchmark it takes 0.058 s against 0.163 s
with ``Fill.model_construct``, about 5 % of the run). A fill record is built in one place, ``fill_record``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel

from exchange import matching
from exchange.errors import BarRejected
from exchange.instruments import Instrument
from exchange.margin import Lot
from exchange.types import Fill, Order, OrderRequest, OrderStatus, OrderType, Side

_INF = math.inf
_STOP_LIMIT = OrderType.STOP_LIMIT
NO_FILLS: list[FillRec] = []  # shared empty result: never mutated


@dataclass(frozen=True, slots=True)
class ActiveLevels:
    """What can change a symbol's state on the next bar (see CONTRACT.md "Skipping bars").

    A bar with ``low > below``, ``high < above``, ``open + 1 min <= next_event_time`` and no
    ``pending_market`` changes nothing but the mark price when fed to ``on_bar``.
    """

    below: float
    above: float
    next_event_time: pd.Timestamp | None
    pending_market: bool
    next_event_ns: int | None = None


@dataclass(slots=True)
class OrderRec:
    """An order as the bar loop holds it (plain attributes; converted to ``Order`` on read)."""

    id: str
    seq: int
    symbol: str
    side: int  # +1 buy, -1 sell
    type: OrderType
    quantity: float
    price: float | None
    trigger_price: float | None
    reduce_only: bool
    leverage: float
    stop_loss: float | None
    take_profit: float | None
    client_order_id: str | None
    status: OrderStatus
    created_ns: int | None
    live_from_ns: int | None  # the first bar (open time) it works in; None: the next bar fed
    filled_quantity: float = 0.0
    filled_notional: float = 0.0
    updated_ns: int | None = None
    parent_id: str | None = None
    oco_id: str | None = None
    reason: str | None = None
    triggered_ns: int | None = None
    role: str | None = None
    arriving: bool = False  # transient inside one bar: just became live, may take liquidity
    # matching.works_at_limit(type, triggered_ns), kept in step by set_working (derived: not
    # saved); the bar loop reads it instead of calling the rule for every order on every move
    at_limit: bool = False


class FillRec(NamedTuple):
    """A fill as the exchange keeps it (immutable; converted to ``Fill`` on read). A tuple of
    plain values, so the garbage collector stops tracking it: a backtest keeps tens of thousands."""

    id: str
    order_id: str
    symbol: str
    side: int
    quantity: float
    price: float
    fee: float
    liquidity: str
    slippage: float
    ts_ns: int
    realized_pnl: float
    reference_price: float | None


@dataclass(slots=True)
class FundingRec:
    symbol: str
    ts_ns: int
    rate: float
    quantity: float
    price: float
    amount: float


@dataclass(slots=True)
class Book:
    """One symbol's market and position state."""

    symbol: str
    inst: Instrument
    lots: list[Lot] = field(default_factory=list)
    working: list[OrderRec] = field(default_factory=list)  # open orders, in submission order
    mark: float | None = None
    last_ts: int | None = None  # open time of the last bar processed
    funding_due: int | None = None  # next funding time while a position is open
    position_realized: float = 0.0  # gross realised PnL since the position opened
    below: float = -_INF
    above: float = _INF
    pending_market: bool = False
    liq: float | None = None
    levels: ActiveLevels | None = None  # cached answer of active_levels(); None when stale


@dataclass(slots=True)
class Sim:
    """One run of a bar's path: the book's mutable state while the bar is walked."""

    orders: list[OrderRec]
    lots: list[Lot]
    position_realized: float
    funding_due: int | None
    wallet_delta: float
    segment_events: int  # events after the open: none means the other path is identical
    fills: list[FillRec]
    order_seq: int
    fill_seq: int
    liq: float | None


def to_ns(ts: pd.Timestamp | datetime | int | np.integer[Any], name: str = "ts") -> int:
    if isinstance(ts, int | np.integer):
        return int(ts)
    t = ts if isinstance(ts, pd.Timestamp) else pd.Timestamp(ts)
    if t.tzinfo is None:
        raise BarRejected(f"{name}: {ts!r} has no timezone; bar times are UTC")
    return int(t.value)


_TS_CACHE: dict[int, pd.Timestamp] = {}


def ts_of(ns: int | None) -> pd.Timestamp | None:
    """Epoch ns -> UTC Timestamp, memoised: the same few bar times are converted again and again
    (the clock, the next funding time), and a Timestamp with a zone costs microseconds."""
    if ns is None:
        return None
    t = _TS_CACHE.get(ns)
    if t is None:
        if len(_TS_CACHE) >= 1 << 16:
            _TS_CACHE.clear()
        t = _TS_CACHE[ns] = pd.Timestamp(ns, tz="UTC")
    return t


def ts_many(ns: list[int]) -> list[pd.Timestamp]:
    """Many epoch ns at once (one vectorised conversion instead of one object call each)."""
    if len(ns) < 64:
        return [ts_of(x) for x in ns]  # type: ignore[misc]
    return list(pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC"))


_setattr = object.__setattr__
_new_tuple = tuple.__new__


def _trusted(cls: type[BaseModel]) -> tuple[type[BaseModel], frozenset[str]]:
    """Check once that ``cls`` can be built by ``_construct`` exactly as ``model_construct`` would
    (no aliases, no post-init hook, no private attributes, no extras)."""
    fields = cls.model_fields
    assert not cls.__pydantic_post_init__ and not cls.__pydantic_root_model__
    assert cls.model_config.get("extra") != "allow" and not cls.__private_attributes__
    assert all(f.alias is None and f.validation_alias is None for f in fields.values())
    return cls, frozenset(fields)


def _construct(model: tuple[type[BaseModel], frozenset[str]], values: dict[str, Any]) -> Any:
    """``model_construct`` for trusted data with every field given, minus its per-field loop.

    ``values`` must hold every field, in declaration order (what ``model_construct`` builds).
    """
    cls, names = model
    m = cls.__new__(cls)
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", set(names))
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


_REQUEST = _trusted(OrderRequest)
_ORDER = _trusted(Order)
_FILL = _trusted(Fill)
_BUY = Side.BUY
_SELL = Side.SELL


def fmt(x: float) -> str:
    return str(np.format_float_positional(x, precision=12, trim="-"))


def side_of(sign: int) -> Side:
    return Side.BUY if sign > 0 else Side.SELL


def public_order(o: OrderRec) -> Order:
    """The public ``Order`` of a record (``model_construct`` unrolled)."""
    request = _construct(
        _REQUEST,
        {
            "symbol": o.symbol,
            "side": _BUY if o.side > 0 else _SELL,
            "type": o.type,
            "quantity": o.quantity,
            "price": o.price,
            "trigger_price": o.trigger_price,
            "reduce_only": o.reduce_only,
            "leverage": o.leverage,
            "stop_loss": o.stop_loss,
            "take_profit": o.take_profit,
            "client_order_id": o.client_order_id,
        },
    )
    filled = o.filled_quantity
    order: Order = _construct(
        _ORDER,
        {
            "id": o.id,
            "request": request,
            "status": o.status,
            "filled_quantity": filled,
            "average_price": o.filled_notional / filled if filled > 0 else None,
            "created_at": ts_of(o.created_ns),
            "updated_at": ts_of(o.updated_ns),
            "parent_id": o.parent_id,
            "oco_id": o.oco_id,
            "reason": o.reason,
            "triggered_at": ts_of(o.triggered_ns),
            "role": o.role,
        },
    )
    return order


def trusted_request(
    symbol: str,
    side: Side,
    type_: OrderType,
    quantity: float,
    price: float | None = None,
    reduce_only: bool = False,
    leverage: float = 1.0,
    stop_loss: float | None = None,
    take_profit: float | None = None,
) -> OrderRequest:
    """An ``OrderRequest`` from values already of the field types (``Side`` and ``OrderType``
    members, floats), without pydantic's validation: for a loop that submits tens of thousands
    (a backtest; about 5 us each). ``place``/``submit`` check every value again (§3)."""
    request: OrderRequest = _construct(
        _REQUEST,
        {
            "symbol": symbol,
            "side": side,
            "type": type_,
            "quantity": quantity,
            "price": price,
            "trigger_price": None,
            "reduce_only": reduce_only,
            "leverage": leverage,
            "stop_loss": stop_loss,
            "take_profit": take_profit,
            "client_order_id": None,
        },
    )
    return request


def public_fills(recs: list[FillRec], times: list[pd.Timestamp]) -> list[Fill]:
    """Public ``Fill`` objects (``model_construct`` unrolled: a backtest reads ~10^4 at once)."""
    names = _FILL[1]
    cls = Fill
    new = cls.__new__
    out: list[Fill] = []
    append = out.append
    for f, t in zip(recs, times, strict=True):
        m = new(cls)
        _setattr(
            m,
            "__dict__",
            {
                "id": f.id,
                "order_id": f.order_id,
                "symbol": f.symbol,
                "side": _BUY if f.side > 0 else _SELL,
                "quantity": f.quantity,
                "price": f.price,
                "fee": f.fee,
                "liquidity": f.liquidity,
                "slippage": f.slippage,
                "ts": t,
                "realized_pnl": f.realized_pnl,
                "reference_price": f.reference_price,
            },
        )
        _setattr(m, "__pydantic_fields_set__", set(names))
        _setattr(m, "__pydantic_extra__", None)
        _setattr(m, "__pydantic_private__", None)
        append(m)
    return out


def clone_order(o: OrderRec) -> OrderRec:
    """A shallow copy of an order record (one positional call: far cheaper than ``copy.copy``;
    ``check_clone`` below keeps it in step with the class)."""
    return OrderRec(
        o.id,
        o.seq,
        o.symbol,
        o.side,
        o.type,
        o.quantity,
        o.price,
        o.trigger_price,
        o.reduce_only,
        o.leverage,
        o.stop_loss,
        o.take_profit,
        o.client_order_id,
        o.status,
        o.created_ns,
        o.live_from_ns,
        o.filled_quantity,
        o.filled_notional,
        o.updated_ns,
        o.parent_id,
        o.oco_id,
        o.reason,
        o.triggered_ns,
        o.role,
        o.arriving,
        o.at_limit,
    )


def set_working(o: OrderRec) -> OrderRec:
    """Refresh the order's cached working-level rule (``matching.works_at_limit``): call it
    whenever an order is made or its type or trigger state changes."""
    o.at_limit = matching.works_at_limit(o.type, o.triggered_ns)
    return o


def check_clone() -> None:
    """Refuse to import if ``clone_order`` misses or misorders a field of ``OrderRec``."""
    probe = OrderRec(
        "id", 1, "sym", -1, _STOP_LIMIT, 2.0, 3.0, 4.0, True, 5.0, 6.0, 7.0, "client",
        OrderStatus.PARTIALLY_FILLED, 8, 9, 10.0, 11.0, 12, "parent", "oco", "why", 13, "role",
        False, True,
    )  # fmt: skip
    copy = clone_order(probe)
    if any(getattr(copy, f.name) != getattr(probe, f.name) for f in dataclasses.fields(OrderRec)):
        raise RuntimeError("exchange.virtual.clone_order is out of step with OrderRec's fields")


check_clone()


def record_fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def fill_record(
    fill_id: str,
    w: OrderRec,
    side: int,
    qty: float,
    px: float,
    cost: float,
    liquidity: str,
    ref: float,
    ts: int,
    realized: float,
) -> FillRec:
    """The one place a fill record is made (slippage: its cost against ``ref``, in quote).

    ``tuple.__new__`` with the fields in ``FillRec``'s order: the record the named-tuple
    constructor would make, without its extra Python frame (one per fill)."""
    return _new_tuple(  # type: ignore[no-any-return]
        FillRec,
        (
            fill_id,
            w.id,
            w.symbol,
            side,
            qty,
            px,
            cost,
            liquidity,
            abs(px - ref) * qty,
            ts,
            realized,
            ref,
        ),
    )
