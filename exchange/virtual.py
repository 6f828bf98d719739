"""The virtual exchange: a futures venue that matches orders on 1-minute OHLC bars.

Time advances only by bars (``on_bar``); every rule it follows is written in
``exchange/CONTRACT.md`` with the test that pins it. Validation happens at the boundary
(``place``/``modify``/``cancel`` raise ``OrderRejected`` and change nothing); the bar loop works
on plain ``__slots__`` records and converts to the pydantic types only in the public getters.
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
from exchange.config import ExchangeConfig
from exchange.costs import (
    FUNDING_INTERVAL_NS,
    MAKER,
    NS_PER_MINUTE,
    TAKER,
    fee,
    funding_payment,
    next_funding_after,
    slipped_price,
)
from exchange.errors import BarRejected, OrderNotOpen, OrderRejected, UnknownOrder
from exchange.instruments import Instrument, resolve
from exchange.margin import (
    Lot,
    add_margin,
    apply_fill,
    entry_price,
    liquidation_price,
    maintenance,
    position_margin,
    position_quantity,
    unrealized_pnl,
)
from exchange.snapshot import SnapshotStore
from exchange.state_machine import OPEN, OrderEvent, next_status
from exchange.types import (
    Balance,
    Fill,
    FundingPayment,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)

__all__ = ["ActiveLevels", "ExchangeConfig", "VirtualExchange"]

STATE_VERSION = 1
_INF = math.inf
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP_MARKET = OrderType.STOP_MARKET
_STOP_LIMIT = OrderType.STOP_LIMIT
_QTY_EPS = 1e-12
# An order's working level is its limit price for a LIMIT or a triggered STOP_LIMIT (firing at or
# below it for a buy), else its trigger (firing at or below it for a sell). The bar loop inlines
# this test in several places; CONTRACT.md states the rule.
_NO_FILLS: list[_FillRec] = []  # shared empty result: never mutated
_NEW = OrderStatus.NEW
_ACCEPTED = next_status("", None, OrderEvent.ACCEPTED)
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_P_STOP = matching.PRIORITY_STOP
_P_LIQ = matching.PRIORITY_LIQUIDATION
_P_OTHER = matching.PRIORITY_OTHER


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
class _Ord:
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


class _FillRec(NamedTuple):
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
class _FundingRec:
    symbol: str
    ts_ns: int
    rate: float
    quantity: float
    price: float
    amount: float


@dataclass(slots=True)
class _Book:
    """One symbol's market and position state."""

    symbol: str
    inst: Instrument
    lots: list[Lot] = field(default_factory=list)
    working: list[_Ord] = field(default_factory=list)  # open orders, in submission order
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
class _Sim:
    """One run of a bar's path: the book's mutable state while the bar is walked."""

    orders: list[_Ord]
    lots: list[Lot]
    position_realized: float
    funding_due: int | None
    wallet_delta: float
    segment_events: int  # events after the open: none means the other path is identical
    fills: list[_FillRec]
    order_seq: int
    fill_seq: int
    liq: float | None


def _to_ns(ts: pd.Timestamp | datetime | int | np.integer[Any], name: str = "ts") -> int:
    if isinstance(ts, int | np.integer):
        return int(ts)
    t = ts if isinstance(ts, pd.Timestamp) else pd.Timestamp(ts)
    if t.tzinfo is None:
        raise BarRejected(f"{name}: {ts!r} has no timezone; bar times are UTC")
    return int(t.value)


_TS_CACHE: dict[int, pd.Timestamp] = {}


def _ts(ns: int | None) -> pd.Timestamp | None:
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


def _ts_many(ns: list[int]) -> list[pd.Timestamp]:
    """Many epoch ns at once (one vectorised conversion instead of one object call each)."""
    if len(ns) < 64:
        return [_ts(x) for x in ns]  # type: ignore[misc]
    return list(pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC"))


_setattr = object.__setattr__


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


def _fmt(x: float) -> str:
    return str(np.format_float_positional(x, precision=12, trim="-"))


def _side(sign: int) -> Side:
    return Side.BUY if sign > 0 else Side.SELL


class VirtualExchange:
    """A deterministic futures exchange over 1-minute bars (implements ``Exchange``)."""

    def __init__(
        self, config: ExchangeConfig | None = None, *, snapshot: SnapshotStore | None = None
    ) -> None:
        stored = snapshot.load() if snapshot is not None else None
        if stored is not None:
            stored_config = ExchangeConfig.model_validate(stored["config"])
            if config is not None and config != stored_config:
                raise ValueError(
                    "config: differs from the configuration stored in the snapshot; "
                    "reset the snapshot or pass config=None"
                )
            config = stored_config
        self.config = config or ExchangeConfig()
        self._average = self.config.position_accounting == "average"
        self._snapshot: SnapshotStore | None = None
        self._wallet = self.config.starting_balance
        self._books: dict[str, _Book] = {}
        self._orders: dict[str, _Ord] = {}
        self._fills: list[_FillRec] = []
        self._funding: list[_FundingRec] = []
        self._order_seq = 0
        self._fill_seq = 0
        self._now_ns: int | None = None
        if stored is not None:
            self._load_state(stored)
        self._snapshot = snapshot

    # ------------------------------------------------------------------ public reads

    @property
    def now(self) -> pd.Timestamp | None:
        """Close time of the last bar processed (on any symbol); None before the first bar."""
        return _ts(self._now_ns)

    def now_for(self, symbol: str) -> pd.Timestamp | None:
        """Close time of the last bar processed for ``symbol`` (None before its first bar)."""
        book = self._books.get(symbol)
        return None if book is None or book.last_ts is None else _ts(book.last_ts + NS_PER_MINUTE)

    def mark_price(self, symbol: str) -> float | None:
        """The last close seen for ``symbol`` (None before its first bar)."""
        book = self._books.get(symbol)
        return None if book is None else book.mark

    def get_order(self, order_id: str) -> Order:
        o = self._orders.get(order_id)
        if o is None:
            raise UnknownOrder(order_id)
        return self._public_order(o)

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order ever accepted (open and terminal), in submission order."""
        return [self._public_order(o) for o in self._orders.values() if symbol in (None, o.symbol)]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        out = []
        for book in self._books.values():
            if symbol is None or book.symbol == symbol:
                out.extend(book.working)
        out.sort(key=lambda o: o.seq)
        return [self._public_order(o) for o in out]

    def position(self, symbol: str) -> Position | None:
        book = self._books.get(symbol)
        if book is None or not book.lots:
            return None
        qty = position_quantity(book.lots)
        entry = entry_price(book.lots)
        margin = position_margin(book.lots)
        notional = sum(abs(lot.quantity) * lot.price for lot in book.lots)
        mark = book.mark if book.mark is not None else entry
        return Position(
            symbol=symbol,
            quantity=qty,
            entry_price=entry,
            leverage=notional / margin if margin > 0 else 1.0,
            margin=margin,
            liquidation_price=book.liq,
            unrealized_pnl=unrealized_pnl(qty, entry, mark),
            realized_pnl=book.position_realized,
        )

    def position_state(self, symbol: str) -> tuple[float, float, float]:
        """``(wallet, quantity, entry_price)`` without building a ``Position``: a cheap read for a
        loop that marks equity after every bar with fills. ``(wallet, 0.0, 0.0)`` when flat."""
        book = self._books.get(symbol)
        if book is None or not book.lots:
            return self._wallet, 0.0, 0.0
        qty = position_quantity(book.lots)
        if qty == 0:
            return self._wallet, 0.0, 0.0
        return self._wallet, qty, entry_price(book.lots)

    def order_origin(self, order_id: str) -> tuple[str | None, str | None]:
        """``(role, parent_id)`` of an order without building the public ``Order`` (how a
        backtest labels the bracket legs and liquidations the exchange created)."""
        o = self._orders.get(order_id)
        if o is None:
            raise UnknownOrder(order_id)
        return o.role, o.parent_id

    def positions(self) -> list[Position]:
        out = [self.position(s) for s in sorted(self._books)]
        return [p for p in out if p is not None]

    def balance(self) -> Balance:
        upnl, margin = self._marked_totals()
        return Balance(
            wallet=self._wallet,
            equity=self._wallet + upnl,
            available=self._available(),
            margin_used=margin,
        )

    def fills(self, symbol: str | None = None) -> list[Fill]:
        recs = [f for f in self._fills if symbol is None or f.symbol == symbol]
        times = _ts_many([f.ts_ns for f in recs])
        return _public_fills(recs, times)

    def funding_payments(self, symbol: str | None = None) -> list[FundingPayment]:
        """Every funding settlement, oldest first."""
        return [
            FundingPayment(
                symbol=f.symbol,
                ts=pd.Timestamp(f.ts_ns, tz="UTC"),
                rate=f.rate,
                quantity=f.quantity,
                price=f.price,
                amount=f.amount,
            )
            for f in self._funding
            if symbol in (None, f.symbol)
        ]

    def active_levels(self, symbol: str) -> ActiveLevels:
        """The levels and times that can change ``symbol``'s state (CONTRACT.md "Skipping bars")."""
        book = self._books.get(symbol)
        if book is None:
            return ActiveLevels(-_INF, _INF, None, False, None)
        lv = book.levels
        if lv is None or lv.next_event_ns != book.funding_due:
            lv = book.levels = ActiveLevels(
                book.below, book.above, _ts(book.funding_due), book.pending_market, book.funding_due
            )
        return lv

    def level_state(self, symbol: str) -> tuple[float, float, bool, int | None]:
        """``active_levels`` as a plain tuple ``(below, above, pending_market, next_event_ns)``,
        for a loop that asks after every bar it feeds (no object built)."""
        book = self._books.get(symbol)
        if book is None:
            return -_INF, _INF, False, None
        return book.below, book.above, book.pending_market, book.funding_due

    # ------------------------------------------------------------------ order entry

    def place(self, request: OrderRequest) -> Order:
        """Accept an order (status NEW) or raise ``OrderRejected`` and change nothing."""
        return self._public_order(self._place(request))

    def submit(self, request: OrderRequest) -> str:
        """``place`` for callers that only need the new order's id (a backtest loop): the same
        checks and effects, without building the public ``Order``."""
        return self._place(request).id

    def _place(self, request: OrderRequest) -> _Ord:
        book, o = self._build(request)
        self._accept(book, o)
        self._refresh(book)
        self._changed()
        return o

    def place_oco(self, first: OrderRequest, second: OrderRequest) -> tuple[Order, Order]:
        """Two orders linked one-cancels-other (both validated before either is accepted)."""
        book1, o1 = self._build(first)
        book2, o2 = self._build(second)
        if book1 is not book2:
            raise OrderRejected(
                "symbol", second.symbol, "both legs of an OCO pair must share a symbol"
            )
        self._accept(book1, o1)
        self._accept(book1, o2)
        o1.oco_id, o2.oco_id = o2.id, o1.id
        self._refresh(book1)
        self._changed()
        return self._public_order(o1), self._public_order(o2)

    def modify(
        self,
        order_id: str,
        *,
        price: float | None = None,
        quantity: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Change an open order's price, trigger or quantity; it then works as newly placed.

        ``price`` is the limit price (LIMIT, STOP_LIMIT), or the trigger of a STOP_MARKET.
        """
        o = self._open_order(order_id, "modified")
        inst = self._books[o.symbol].inst
        if price is None and quantity is None and trigger_price is None:
            raise OrderRejected(
                "order_id", order_id, "nothing to modify; give price, trigger_price or quantity"
            )
        if o.type is _MARKET and (price is not None or trigger_price is not None):
            raise OrderRejected("price", price, "a MARKET order has no price to modify")
        if o.type is _STOP_MARKET and price is not None:
            trigger_price, price = price, None
        if o.type is _LIMIT and trigger_price is not None:
            raise OrderRejected(
                "trigger_price", trigger_price, "a LIMIT order takes no trigger_price"
            )
        new_qty = o.quantity
        if quantity is not None:
            new_qty = quantity = self._check_quantity(inst, quantity)
            if quantity <= o.filled_quantity + _QTY_EPS:
                raise OrderRejected(
                    "quantity",
                    quantity,
                    f"{_fmt(quantity)} must exceed the filled quantity {_fmt(o.filled_quantity)}",
                )
        new_price = o.price if price is None else self._check_price(inst, "price", price)
        new_trigger = o.trigger_price
        if trigger_price is not None:
            if o.triggered_ns is not None:
                raise OrderRejected("trigger_price", trigger_price, f"{o.id} has already triggered")
            new_trigger = self._check_price(inst, "trigger_price", trigger_price)
            self._check_stop_side(self._books[o.symbol], o.side, new_trigger)
        if o.stop_loss is not None or o.take_profit is not None:
            ref = new_trigger if o.type is _STOP_MARKET else new_price
            if ref is not None:
                self._check_bracket(o.side, ref, o.stop_loss, o.take_profit)
        book = self._books[o.symbol]
        size_ref = new_price if new_price is not None else (new_trigger or book.mark)
        if size_ref is not None:
            self._check_size(inst, new_qty, size_ref, o.reduce_only)
        if price is not None and new_price is not None:
            self._check_band(book, o.side, new_price)
        if not o.reduce_only:
            ref = new_price if new_price is not None else new_trigger
            self._check_margin(
                book,
                o.side,
                new_qty - o.filled_quantity,
                ref if ref is not None else (book.mark or 0.0),
                o.leverage,
                exclude=o.id,
            )
        o.status = next_status(o.id, o.status, OrderEvent.UPDATED)
        o.quantity, o.price, o.trigger_price = new_qty, new_price, new_trigger
        o.updated_ns = self._now_ns
        o.live_from_ns = self._live_from(self._books[o.symbol])
        self._refresh(self._books[o.symbol])
        self._changed()
        return self._public_order(o)

    def cancel_all(self, symbol: str) -> int:
        """Cancel every open order on ``symbol`` (as ``cancel`` on each of ``open_orders(symbol)``,
        in submission order); returns how many were cancelled."""
        book = self._books.get(symbol)
        if book is None or not book.working:
            return 0
        n = 0
        for o in sorted(book.working, key=lambda w: w.seq):
            if o.status in OPEN:
                self._cancel(o, "canceled by user")
                n += 1
        book.working = [w for w in book.working if w.status in OPEN]
        self._refresh(book)
        self._changed()
        return n

    def cancel(self, order_id: str) -> Order:
        o = self._open_order(order_id, "canceled")
        self._cancel(o, "canceled by user")
        book = self._books[o.symbol]
        book.working = [w for w in book.working if w.status in OPEN]
        self._refresh(book)
        self._changed()
        return self._public_order(o)

    # ------------------------------------------------------------------ time

    def on_bar(
        self,
        symbol: str,
        ts: pd.Timestamp | datetime | int | np.integer[Any],
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0.0,
    ) -> list[Fill]:
        """Process one 1-minute bar (``ts`` = its open time, UTC; an int is epoch nanoseconds).

        Funding due inside the bar, then pending market orders at the open, resting orders and
        liquidation along the intrabar path, then the mark moves to the close.
        """
        recs = self._bar(symbol, ts, open, high, low, close)
        return _public_fills(recs, [_ts(f.ts_ns) for f in recs]) if recs else []  # type: ignore[misc]

    def on_bar_count(
        self,
        symbol: str,
        ts: pd.Timestamp | datetime | int | np.integer[Any],
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0.0,
    ) -> int:
        """``on_bar`` for loops that read the state afterwards: the same processing, but it
        returns how many fills the bar produced instead of building ``Fill`` objects nobody
        reads (``fills()`` has them all)."""
        return len(self._bar(symbol, ts, open, high, low, close))

    def _bar(
        self,
        symbol: str,
        ts: pd.Timestamp | datetime | int | np.integer[Any],
        open: float,
        high: float,
        low: float,
        close: float,
    ) -> list[_FillRec]:
        book = self._books.get(symbol)
        if book is None:
            book = self._book(symbol)
        ts_ns = ts if type(ts) is int else _to_ns(ts)
        if book.last_ts is not None and ts_ns <= book.last_ts:
            raise BarRejected(
                f"ts: bar {_ts(ts_ns)} is not after the last {symbol} bar {_ts(book.last_ts)}"
            )
        if not (0 < low <= open <= high and low <= close <= high):
            raise BarRejected(
                f"bar {symbol} {_ts(ts_ns)}: need 0 < low <= open, close <= high; "
                f"got open={open} high={high} low={low} close={close}"
            )
        end_ns = ts_ns + NS_PER_MINUTE
        if book.funding_due is not None and book.funding_due < end_ns:
            self._settle_funding(book, end_ns, open)
        out: list[_FillRec] = _NO_FILLS
        if book.pending_market or low <= book.below or high >= book.above:
            out = self._match(book, ts_ns, open, high, low, close)
        book.mark = close
        book.last_ts = ts_ns
        if self._now_ns is None or end_ns > self._now_ns:
            self._now_ns = end_ns
        if self._snapshot is not None:
            self._changed()
        return out

    def mark_bar(
        self, symbol: str, ts: pd.Timestamp | datetime | int | np.integer[Any], close: float
    ) -> None:
        """Record a bar known to touch no active level: only the mark and the clock move.

        For callers that skip untouched bars in bulk (see CONTRACT.md "Skipping bars"): call it
        with the last skipped bar's open time and close.
        """
        book = self._books.get(symbol) or self._book(symbol)
        ts_ns = ts if type(ts) is int else _to_ns(ts)
        if book.last_ts is not None and ts_ns <= book.last_ts:
            raise BarRejected(
                f"ts: bar {_ts(ts_ns)} is not after the last {symbol} bar {_ts(book.last_ts)}"
            )
        end_ns = ts_ns + NS_PER_MINUTE
        if book.pending_market or (book.funding_due is not None and book.funding_due < end_ns):
            raise BarRejected(
                f"ts: {symbol} has a pending event before {_ts(end_ns)}; feed the bar to on_bar"
            )
        book.mark = close
        book.last_ts = ts_ns
        if self._now_ns is None or end_ns > self._now_ns:
            self._now_ns = end_ns
        if self._snapshot is not None:
            self._changed()

    def feed(self, symbol: str, bars: pd.DataFrame) -> list[Fill]:
        """Feed a candle frame (indexed by open time, columns open high low close volume)."""
        out: list[Fill] = []
        idx = pd.DatetimeIndex(bars.index)
        if idx.tz is None:
            raise BarRejected("bars: the index must be tz-aware UTC open times")
        idx_ns = idx.as_unit("ns").asi8
        cols = [bars[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")]
        vol = bars["volume"].to_numpy(dtype="float64") if "volume" in bars else None
        for i in range(len(bars)):
            out.extend(
                self.on_bar(
                    symbol,
                    int(idx_ns[i]),
                    float(cols[0][i]),
                    float(cols[1][i]),
                    float(cols[2][i]),
                    float(cols[3][i]),
                    float(vol[i]) if vol is not None else 0.0,
                )
            )
        return out

    # ------------------------------------------------------------------ snapshots

    def state_dict(self) -> dict[str, Any]:
        """The whole state as plain JSON-able data; ``from_state`` restores it exactly."""
        return {
            "state_version": STATE_VERSION,
            "config": self.config.model_dump(mode="json"),
            "wallet": self._wallet,
            "now_ns": self._now_ns,
            "order_seq": self._order_seq,
            "fill_seq": self._fill_seq,
            "books": [
                {
                    "symbol": b.symbol,
                    "lots": [list(lot) for lot in b.lots],
                    "working": [o.id for o in b.working],
                    "mark": b.mark,
                    "last_ts": b.last_ts,
                    "funding_due": b.funding_due,
                    "position_realized": b.position_realized,
                }
                for b in self._books.values()
            ],
            "orders": [
                {
                    k: (v.value if k in ("type", "status") else v)
                    for k, v in _fields(o).items()
                    if k != "arriving"
                }
                for o in self._orders.values()
            ],
            "fills": [f._asdict() for f in self._fills],
            "funding": [_fields(f) for f in self._funding],
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], *, snapshot: SnapshotStore | None = None
    ) -> VirtualExchange:
        """Rebuild an exchange from ``state_dict()`` output."""
        ex = cls(ExchangeConfig.model_validate(state["config"]))
        ex._load_state(state)
        ex._snapshot = snapshot
        return ex

    @classmethod
    def restore(cls, state: dict[str, Any] | None) -> VirtualExchange:
        """``from_state``, or a fresh exchange when there is no state yet (what
        ``exchange.snapshot.transact`` builds from a store)."""
        return cls() if state is None else cls.from_state(state)

    def _load_state(self, state: dict[str, Any]) -> None:
        if state.get("state_version") != STATE_VERSION:
            raise ValueError(
                f"state_version: expected {STATE_VERSION}, got {state.get('state_version')!r}"
            )
        self._wallet = float(state["wallet"])
        self._now_ns = state["now_ns"]
        self._order_seq = int(state["order_seq"])
        self._fill_seq = int(state["fill_seq"])
        self._orders = {}
        for d in state["orders"]:
            d = dict(d)
            d["type"] = OrderType(d["type"])
            d["status"] = OrderStatus(d["status"])
            self._orders[d["id"]] = _Ord(**d)
        self._books = {}
        for b in state["books"]:
            book = self._book(b["symbol"])
            book.lots = [Lot(*lot) for lot in b["lots"]]
            book.working = [self._orders[i] for i in b["working"]]
            book.mark = b["mark"]
            book.last_ts = b["last_ts"]
            book.funding_due = b["funding_due"]
            book.position_realized = b["position_realized"]
            self._refresh(book)
        self._fills = [_FillRec(**f) for f in state["fills"]]
        self._funding = [_FundingRec(**f) for f in state["funding"]]

    def _changed(self) -> None:
        if self._snapshot is not None:
            self._snapshot.save(self.state_dict())

    # ------------------------------------------------------------------ validation

    def _book(self, symbol: str) -> _Book:
        inst = resolve(symbol, self.config.instruments)
        if inst is None:
            known = ", ".join(sorted(self.config.instruments))
            raise OrderRejected("symbol", symbol, f"unknown symbol {symbol!r} (known: {known})")
        book = _Book(symbol, inst)
        self._books[symbol] = book
        return book

    @staticmethod
    def _check_quantity(inst: Instrument, q: float) -> float:
        """``q`` checked and snapped onto the size grid (float noise removed)."""
        if not (isinstance(q, int | float) and math.isfinite(q) and q > 0):
            raise OrderRejected("quantity", q, f"must be > 0, got {q}")
        if not inst.on_step(q):
            raise OrderRejected(
                "quantity",
                q,
                f"{_fmt(q)} is not a multiple of the {inst.symbol} size step {_fmt(inst.step_size)}",
            )
        if q < inst.min_quantity - 1e-12:
            raise OrderRejected(
                "quantity",
                q,
                f"{_fmt(q)} is below the {inst.symbol} minimum quantity {_fmt(inst.min_quantity)}",
            )
        return inst.snap_quantity(q)

    @staticmethod
    def _check_price(inst: Instrument, name: str, px: float) -> float:
        if not (math.isfinite(px) and px > 0):
            raise OrderRejected(name, px, f"must be > 0, got {px}")
        if not inst.on_tick(px):
            raise OrderRejected(
                name, px, f"{_fmt(px)} is not on the {inst.symbol} tick {_fmt(inst.tick_size)}"
            )
        return inst.round_price(px)

    def _check_stop_side(self, book: _Book, side: int, trigger: float) -> None:
        mark = book.mark
        if mark is None:
            raise OrderRejected(
                "symbol", book.symbol, f"no market price for {book.symbol} yet; feed a bar first"
            )
        if not self.config.reject_immediate_stops:
            return
        if side > 0 and trigger <= mark:
            raise OrderRejected(
                "trigger_price",
                trigger,
                f"a BUY stop at {_fmt(trigger)} must be above the market price {_fmt(mark)} "
                "(it would trigger immediately)",
            )
        if side < 0 and trigger >= mark:
            raise OrderRejected(
                "trigger_price",
                trigger,
                f"a SELL stop at {_fmt(trigger)} must be below the market price {_fmt(mark)} "
                "(it would trigger immediately)",
            )

    @staticmethod
    def _check_bracket(
        side: int, ref: float, stop_loss: float | None, take_profit: float | None
    ) -> None:
        name = "BUY" if side > 0 else "SELL"
        if stop_loss is not None and (stop_loss >= ref if side > 0 else stop_loss <= ref):
            where = "below" if side > 0 else "above"
            raise OrderRejected(
                "stop_loss",
                stop_loss,
                f"{_fmt(stop_loss)} must be {where} the {name} entry price {_fmt(ref)}",
            )
        if take_profit is not None and (take_profit <= ref if side > 0 else take_profit >= ref):
            where = "above" if side > 0 else "below"
            raise OrderRejected(
                "take_profit",
                take_profit,
                f"{_fmt(take_profit)} must be {where} the {name} entry price {_fmt(ref)}",
            )

    @staticmethod
    def _check_size(inst: Instrument, quantity: float, ref: float, reduce_only: bool) -> None:
        """The instrument's maximum order quantity, and its minimum notional (``quantity x``
        the limit, trigger or mark price; reduce-only orders are exempt, as on Binance)."""
        if inst.max_quantity is not None and quantity > inst.max_quantity + 1e-12:
            raise OrderRejected(
                "quantity",
                quantity,
                f"{_fmt(quantity)} is above the {inst.symbol} maximum order quantity "
                f"{_fmt(inst.max_quantity)}",
            )
        if not reduce_only and quantity * ref < inst.min_notional - 1e-9:
            raise OrderRejected(
                "quantity",
                quantity,
                f"{_fmt(quantity)} {inst.symbol} at {_fmt(ref)} is a notional of "
                f"{quantity * ref:.2f}, below the minimum {_fmt(inst.min_notional)}",
            )

    @staticmethod
    def _check_band(book: _Book, side: int, price: float) -> None:
        """The limit-price band: a buy at most ``band`` above the mark, a sell at most
        ``band`` below it (Binance PERCENT_PRICE)."""
        band = book.inst.price_band
        mark = book.mark
        if band is None or mark is None:
            return
        if side > 0 and price > mark * (1.0 + band) + 1e-12:
            raise OrderRejected(
                "price",
                price,
                f"a BUY at {_fmt(price)} is more than {band:.0%} above the mark {_fmt(mark)}",
            )
        if side < 0 and price < mark * (1.0 - band) - 1e-12:
            raise OrderRejected(
                "price",
                price,
                f"a SELL at {_fmt(price)} is more than {band:.0%} below the mark {_fmt(mark)}",
            )

    def _check_margin(
        self,
        book: _Book,
        side: int,
        quantity: float,
        ref: float,
        leverage: float,
        exclude: str | None = None,
    ) -> None:
        """V12: the part of ``quantity`` that opens or adds must find ``margin + taker fee`` in
        the available balance (``exclude``: an order being modified, whose own reservation is
        released first)."""
        pos = position_quantity(book.lots)
        opening = (
            quantity
            if (abs(pos) < _QTY_EPS or (pos > 0) == (side > 0))
            else max(0.0, quantity - abs(pos))
        )
        if opening <= 0:
            return
        need = opening * ref / leverage + quantity * ref * max(self.config.taker_fee, 0.0)
        available = self._available(exclude)
        if need > available + 1e-9:
            raise OrderRejected(
                "quantity",
                quantity,
                f"{_fmt(quantity)} {book.symbol} needs {need:.2f} USDT (margin + taker fee) "
                f"but {available:.2f} is available",
            )

    def _build(self, r: OrderRequest) -> tuple[_Book, _Ord]:
        """Validate a request into an order record without changing any state."""
        book = self._books.get(r.symbol)
        if book is None:
            inst = resolve(r.symbol, self.config.instruments)
            if inst is None:
                known = ", ".join(sorted(self.config.instruments))
                raise OrderRejected(
                    "symbol", r.symbol, f"unknown symbol {r.symbol!r} (known: {known})"
                )
            book = _Book(r.symbol, inst)  # registered only when the order is accepted
        inst = book.inst
        side = 1 if r.side == Side.BUY else -1
        t = r.type if type(r.type) is OrderType else OrderType(r.type)
        qty = self._check_quantity(inst, r.quantity)
        if not (1.0 <= r.leverage <= inst.max_leverage):
            raise OrderRejected(
                "leverage",
                r.leverage,
                f"must be between 1 and {_fmt(inst.max_leverage)} for {inst.symbol}, got {r.leverage}",
            )
        needs_price = t in (_LIMIT, _STOP_LIMIT)
        needs_trigger = t in (_STOP_MARKET, _STOP_LIMIT)
        if needs_price and r.price is None:
            raise OrderRejected("price", None, f"a {t.value} order needs a price")
        if not needs_price and r.price is not None:
            raise OrderRejected(
                "price", r.price, f"a {t.value} order takes no price, got {r.price}"
            )
        if needs_trigger and r.trigger_price is None:
            raise OrderRejected("trigger_price", None, f"a {t.value} order needs a trigger_price")
        if not needs_trigger and r.trigger_price is not None:
            raise OrderRejected(
                "trigger_price",
                r.trigger_price,
                f"a {t.value} order takes no trigger_price, got {r.trigger_price}",
            )
        price = self._check_price(inst, "price", r.price) if r.price is not None else None
        trigger = (
            self._check_price(inst, "trigger_price", r.trigger_price)
            if r.trigger_price is not None
            else None
        )
        sl = self._check_price(inst, "stop_loss", r.stop_loss) if r.stop_loss is not None else None
        tp = (
            self._check_price(inst, "take_profit", r.take_profit)
            if r.take_profit is not None
            else None
        )
        if t in (_MARKET, _STOP_MARKET, _STOP_LIMIT) and book.mark is None:
            raise OrderRejected(
                "symbol", r.symbol, f"no market price for {r.symbol} yet; feed a bar first"
            )
        if trigger is not None:
            self._check_stop_side(book, side, trigger)
        ref: float = price if price is not None else (trigger if trigger is not None else book.mark)  # type: ignore[assignment]
        self._check_size(inst, qty, ref, r.reduce_only)
        if price is not None:
            self._check_band(book, side, price)
        if sl is not None or tp is not None:
            if r.reduce_only:
                raise OrderRejected(
                    "reduce_only",
                    True,
                    "a reduce-only order cannot carry a stop_loss or take_profit",
                )
            self._check_bracket(side, ref, sl, tp)
        pos = position_quantity(book.lots)
        if r.reduce_only:
            if abs(pos) < _QTY_EPS:
                raise OrderRejected("reduce_only", True, f"no {r.symbol} position to reduce (flat)")
            if (pos > 0) == (side > 0):
                held = "LONG" if pos > 0 else "SHORT"
                raise OrderRejected(
                    "reduce_only",
                    True,
                    f"a {_side(side).value} would increase the {held} {r.symbol} position",
                )
        else:
            self._check_margin(book, side, qty, ref, r.leverage)
        o = _Ord(
            "",  # id, given on acceptance
            0,  # seq
            r.symbol,
            side,
            t,
            qty,
            price,
            trigger,
            r.reduce_only,
            float(r.leverage),
            sl,
            tp,
            r.client_order_id,
            _NEW,
            self._now_ns,  # created_ns
            self._live_from(book),  # live_from_ns
            0.0,  # filled_quantity
            0.0,  # filled_notional
            None,  # updated_ns
            None,  # parent_id
            None,  # oco_id
            None,  # reason
            None,  # triggered_ns
            "entry" if (sl is not None or tp is not None) else None,  # role
            False,  # arriving
        )
        return book, o

    @staticmethod
    def _live_from(book: _Book) -> int | None:
        return None if book.last_ts is None else book.last_ts + NS_PER_MINUTE

    def _accept(self, book: _Book, o: _Ord) -> None:
        self._books.setdefault(book.symbol, book)
        self._order_seq += 1
        o.seq = self._order_seq
        o.id = f"O-{self._order_seq:06d}"
        next_status(o.id, None, OrderEvent.ACCEPTED)
        o.updated_ns = self._now_ns
        self._orders[o.id] = o
        book.working.append(o)

    def _open_order(self, order_id: str, verb: str) -> _Ord:
        o = self._orders.get(order_id)
        if o is None:
            raise UnknownOrder(order_id)
        if o.status not in OPEN:
            raise OrderNotOpen(
                "order_id", order_id, f"{order_id} is {o.status.value} and can no longer be {verb}"
            )
        return o

    def _cancel(self, o: _Ord, reason: str, ts_ns: int | None = None) -> None:
        o.status = next_status(o.id, o.status, OrderEvent.CANCELED)
        o.reason = reason
        o.updated_ns = self._now_ns if ts_ns is None else ts_ns

    # ------------------------------------------------------------------ money

    def _available(self, exclude: str | None = None) -> float:
        """``balance().available`` without building a ``Balance`` (``exclude``: leave one
        order's reservation out)."""
        margin = 0.0
        for b in self._books.values():
            if b.lots:
                margin += position_margin(b.lots)
        return self._wallet - margin - self._reserved(exclude)

    def _marked_totals(self) -> tuple[float, float]:
        upnl = 0.0
        margin = 0.0
        for b in self._books.values():
            if b.lots:
                q = position_quantity(b.lots)
                e = entry_price(b.lots)
                upnl += unrealized_pnl(q, e, b.mark if b.mark is not None else e)
                margin += position_margin(b.lots)
        return upnl, margin

    def _reserved(
        self,
        exclude: str | None = None,
        book: _Book | None = None,
        orders: list[_Ord] | None = None,
    ) -> float:
        """Margin held back for open orders that would open or add to a position (``orders``
        stand for ``book``'s working orders: the state in the middle of a bar)."""
        total = 0.0
        for b in self._books.values():
            working = orders if b is book and orders is not None else b.working
            for o in working:
                if o.reduce_only or o.id == exclude or o.status not in OPEN:
                    continue
                ref = o.price if o.price is not None else (o.trigger_price or b.mark or 0.0)
                total += (o.quantity - o.filled_quantity) * ref / o.leverage
        return total

    def _settle_funding(self, book: _Book, end_ns: int, price: float) -> None:
        rate = self.config.funding_rate
        qty = position_quantity(book.lots)
        due = book.funding_due
        assert due is not None
        while due < end_ns:
            amount = funding_payment(qty, price, rate)
            self._wallet += amount
            if self.config.funding_from_margin:
                book.lots = add_margin(book.lots, amount)
            self._funding.append(_FundingRec(book.symbol, due, rate, qty, price, amount))
            due += FUNDING_INTERVAL_NS
        book.funding_due = due
        if self.config.funding_from_margin:
            self._refresh(book)  # the liquidation price moved with the margin

    # ------------------------------------------------------------------ the bar

    def _match(
        self, book: _Book, ts: int, o: float, h: float, low: float, c: float
    ) -> list[_FillRec]:
        """Run the bar's path and commit it.

        Both paths start with the same zero-length step at the open, so it runs once, on the
        book's own order records. Only when the path order can matter (``_ambiguous``, judged
        on the state before the bar) and something is still left to fire inside ``[L, H]``
        after the open is the state copied and the two orders of H and L both walked.
        """
        lone = self._lone_exit(book, o, h, low)
        if lone is not None:
            # The bar's only event, on either path: ``lone`` reached mid-bar at its level.
            sim = _Sim(
                list(book.working),
                book.lots,
                book.position_realized,
                book.funding_due,
                0.0,
                0,
                [],
                self._order_seq,
                self._fill_seq,
                book.liq,
            )
            level = lone.price if lone.type is _LIMIT else lone.trigger_price
            self._fire(book, sim, ts, lone, level, False, low, h)  # type: ignore[arg-type]
            return self._commit(book, sim)
        orders = list(book.working)
        for w in orders:
            lf = w.live_from_ns
            w.arriving = lf is None or ts <= lf
        sim = _Sim(
            orders,
            book.lots,  # never mutated in place: every change builds a new list
            book.position_realized,
            book.funding_due,
            0.0,
            0,
            [],
            self._order_seq,
            self._fill_seq,
            book.liq,
        )
        self._walk(book, sim, ts, o, o, low, h)
        if not self._can_fire(sim, h, low):
            return self._commit(book, sim)  # nothing left to fire after the open, on any path
        if not self._ambiguous(sim, h, low):
            self._segments(book, sim, ts, o, h, low, c, True)
            return self._commit(book, sim)
        other = self._fork(sim)
        self._segments(book, sim, ts, o, h, low, c, True)
        # Every price in [L, H] is visited on both paths; if nothing fired after the open on
        # this one, nothing can on the other one either.
        if sim.segment_events:
            self._segments(book, other, ts, o, h, low, c, False)
            ea = sim.wallet_delta + self._position_value(sim.lots, c)
            eb = other.wallet_delta + self._position_value(other.lots, c)
            if not matching.pick_path(ea, eb, self.config.sl_tp_same_bar):
                sim = other
        return self._commit(book, sim)

    @staticmethod
    def _fork(sim: _Sim) -> _Sim:
        """An independent copy of a bar's working state (the orders are copied)."""
        return _Sim(
            [_clone(w) for w in sim.orders],
            sim.lots,
            sim.position_realized,
            sim.funding_due,
            sim.wallet_delta,
            0,
            list(sim.fills),
            sim.order_seq,
            sim.fill_seq,
            sim.liq,
        )

    @staticmethod
    def _can_fire(sim: _Sim, h: float, low: float) -> bool:
        """Can anything fire after the open step? An order not touched at the open fires later
        only if its level lies inside ``[L, H]`` (likewise the liquidation price)."""
        liq = sim.liq
        if liq is not None and low <= liq <= h:
            return True
        for w in sim.orders:
            status = w.status
            if status is not _NEW and status is not _PARTIAL:
                continue
            t = w.type
            if t is _MARKET:
                return True
            if t is _LIMIT or (t is _STOP_LIMIT and w.triggered_ns is not None):  # level: the limit
                if low <= w.price <= h:  # type: ignore[operator]
                    return True
            elif low <= w.trigger_price <= h:  # type: ignore[operator]
                return True
        return False

    def _segments(
        self,
        book: _Book,
        sim: _Sim,
        ts: int,
        o: float,
        h: float,
        low: float,
        c: float,
        high_first: bool,
    ) -> None:
        """Walk ``O -> X1 -> X2 -> C`` after the open step, counting the events.

        A walk ends with nothing touched at its end point, so from there on only an order (or
        a liquidation price) inside ``[L, H]`` can still fire: once none is left, the rest of
        the path is skipped (it could only clear ``arriving`` flags, which end with the bar).
        """
        events = 0
        cur = o
        for end in (h, low, c) if high_first else (low, h, c):
            if not self._can_fire(sim, h, low):
                break
            events += self._walk(book, sim, ts, cur, end, low, h)
            cur = end
        sim.segment_events = events

    @staticmethod
    def _position_value(lots: list[Lot], price: float) -> float:
        return sum(unrealized_pnl(lot.quantity, lot.price, price) for lot in lots)

    @staticmethod
    def _lone_exit(book: _Book, o: float, h: float, low: float) -> _Ord | None:
        """The one order this bar can fire, when that is all that can happen in it.

        That is: no market order and no reachable liquidation; exactly one working order the
        bar reaches (a level at or above the low for one that fires at or below it, at or
        below the high otherwise), a LIMIT or STOP_MARKET that is reduce-only, covers the whole
        position (so the position is flat after it: nothing follows) and was not passed at the
        open (so it fires at its level, not at the open). The full walk would fire exactly it,
        at the same point and price, on both paths; anything else takes the full walk.
        """
        if book.pending_market:
            return None
        liq = book.liq
        if liq is not None:
            lots = book.lots
            if (liq >= low) if position_quantity(lots) > 0 else (liq <= h):
                return None
        lone: _Ord | None = None
        for w in book.working:
            t = w.type
            if t is _LIMIT:
                level: float = w.price  # type: ignore[assignment]
                below = w.side > 0
            elif t is _STOP_MARKET:
                level = w.trigger_price  # type: ignore[assignment]
                below = w.side < 0
            else:
                return None  # STOP_LIMIT (or MARKET): the full walk
            if (level >= low) if below else (level <= h):
                if lone is not None:
                    return None
                if (level >= o) if below else (level <= o):
                    return None  # passed at the open
                lone = w
        if lone is None or not lone.reduce_only:
            return None
        pos = abs(position_quantity(book.lots))
        if lone.quantity - lone.filled_quantity >= pos - _QTY_EPS:
            return lone
        return None

    @staticmethod
    def _ambiguous(sim: _Sim, h: float, low: float) -> bool:
        """Can the path order change this bar's outcome? Judged on the state after the open
        step (an order the open gapped through has already fired or triggered there).

        Only one thing left that can happen, and nothing that can follow it, is path-free: a
        liquidation alone, or one LIMIT / STOP_MARKET (or triggered STOP_LIMIT) that is
        reduce-only and covers the whole position. An untriggered STOP_LIMIT in reach is two
        events (the trigger, then maybe its limit) and always ambiguous.
        """
        n = 0
        only: _Ord | None = None
        for o in sim.orders:
            status = o.status
            if status is not _NEW and status is not _PARTIAL:
                continue
            t = o.type
            if t is not _MARKET:
                level = matching.working_level(t, o.price, o.trigger_price, o.triggered_ns)
                if not low <= level <= h:
                    continue
                if t is _STOP_LIMIT and o.triggered_ns is None:
                    return True
            n += 1
            only = o
        liq = sim.liq
        liq_touched = liq is not None and low <= liq <= h
        if liq_touched:
            n += 1
        if n == 0:
            return False
        if n > 1:
            return True
        if liq_touched or only is None:
            return False
        pos = abs(position_quantity(sim.lots))
        return not (
            only.type is not _MARKET
            and only.reduce_only
            and only.quantity - only.filled_quantity >= pos - _QTY_EPS
        )

    def _walk(
        self, book: _Book, sim: _Sim, ts: int, cur: float, end: float, low: float, high: float
    ) -> int:
        """Fire every event on the move ``cur -> end``, nearest first (stops before others);
        returns how many fired.

        The scan is ``matching.touch`` written inline with the sort key
        ``(distance, priority, seq)`` kept in three locals: this loop runs for every order on
        every segment of every bar that reaches the exchange.
        """
        events = 0
        orders = sim.orders
        while True:
            best: _Ord | None = None
            best_point = best_dist = 0.0
            best_breached = False
            best_prio = best_seq = 0
            for w in orders:
                status = w.status
                if status is not _NEW and status is not _PARTIAL:
                    continue
                t = w.type
                if t is _MARKET:
                    point, breached, prio = cur, True, _P_OTHER
                else:
                    if t is _LIMIT or (t is _STOP_LIMIT and w.triggered_ns is not None):
                        level: float = w.price  # type: ignore[assignment]
                        below = w.side > 0
                        prio = _P_OTHER
                    else:
                        level = w.trigger_price  # type: ignore[assignment]
                        below = w.side < 0
                        prio = _P_STOP
                    if below:
                        if cur <= level:
                            point, breached = cur, True
                        elif end <= level:
                            point, breached = level, False
                        else:
                            w.arriving = False
                            continue
                    elif cur >= level:
                        point, breached = cur, True
                    elif end >= level:
                        point, breached = level, False
                    else:
                        w.arriving = False
                        continue
                    if not breached:
                        w.arriving = False
                dist = abs(point - cur)
                if best is None or (
                    dist < best_dist
                    or (
                        dist == best_dist
                        and (prio < best_prio or (prio == best_prio and w.seq < best_seq))
                    )
                ):
                    best, best_point, best_breached = w, point, breached
                    best_dist, best_prio, best_seq = dist, prio, w.seq
            liq = sim.liq
            if liq is not None:
                long = position_quantity(sim.lots) > 0
                liq_hit = matching.touch(liq, long, cur, end)
                if liq_hit is not None:
                    dist = abs(liq_hit.point - cur)
                    # key (dist, PRIORITY_LIQUIDATION, 0) against the best order's key
                    if best is None or (
                        dist < best_dist
                        or (
                            dist == best_dist
                            and (best_prio > _P_LIQ or (best_prio == _P_LIQ and best_seq > 0))
                        )
                    ):
                        self._liquidate(book, sim, ts, liq_hit.point)
                        cur = liq_hit.point
                        events += 1
                        continue
            if best is None:
                return events
            self._fire(book, sim, ts, best, best_point, best_breached, low, high)
            cur = best_point
            events += 1

    def _fire(
        self,
        book: _Book,
        sim: _Sim,
        ts: int,
        w: _Ord,
        point: float,
        breached: bool,
        low: float,
        high: float,
    ) -> None:
        t = w.type
        if t is _STOP_LIMIT and w.triggered_ns is None:
            w.status = next_status(w.id, w.status, OrderEvent.TRIGGERED)
            w.triggered_ns = ts
            w.arriving = True  # now a limit that becomes live at the trigger point
            return
        if t is _MARKET or t is _STOP_MARKET:
            if t is _STOP_MARKET:
                next_status(w.id, w.status, OrderEvent.TRIGGERED)
                w.triggered_ns = ts
            # matching.market_execution, unpacked
            px = slipped_price(
                point, w.side, self.config.slippage_bps, low, high, book.inst.tick_size
            )
            self._execute(book, sim, ts, w, px, TAKER, point, point)
            return
        limit: float = w.price  # type: ignore[assignment]
        if not (breached and w.arriving):  # matching.limit_execution's resting branch
            self._execute(book, sim, ts, w, limit, MAKER, limit, point)
            return
        hit = matching.Touch(point, breached)
        ex = matching.limit_execution(
            limit, w.side, hit, w.arriving, self.config.slippage_bps, low, high, book.inst.tick_size
        )
        self._execute(book, sim, ts, w, ex.price, ex.liquidity, ex.reference, point)

    def _available_in_sim(self, book: _Book, sim: _Sim, exclude: str) -> float:
        """Available balance in the middle of ``book``'s bar: isolated margin, so no position's
        unrealised PnL counts (``available = wallet - position margins - reservations``)."""
        margin = position_margin(sim.lots)
        for b in self._books.values():
            if b is not book and b.lots:
                margin += position_margin(b.lots)
        reserved = self._reserved(exclude, book, sim.orders)
        return self._wallet + sim.wallet_delta - margin - reserved

    def _execute(
        self,
        book: _Book,
        sim: _Sim,
        ts: int,
        w: _Ord,
        px: float,
        liquidity: str,
        ref: float,
        point: float,
    ) -> None:
        """Fill what is left of ``w`` at ``px`` (or cancel it: reduce-only with nothing to
        reduce, or not enough margin at the fill)."""
        lots = sim.lots
        pos = position_quantity(lots)
        qty = w.quantity - w.filled_quantity
        side = w.side
        cfg = self.config
        was_flat = abs(pos) < _QTY_EPS
        if w.reduce_only:
            if was_flat or (pos > 0) == (side > 0):
                self._cancel(w, "reduce-only: no position left to reduce", ts)
                return
            if qty > abs(pos) + _QTY_EPS:
                qty = abs(pos)
                w.quantity = w.filled_quantity + qty  # amended to the position, then FILLED
        else:
            opening = qty if (was_flat or (pos > 0) == (side > 0)) else max(0.0, qty - abs(pos))
            if opening > _QTY_EPS:
                need = opening * px / w.leverage + fee(qty, px, cfg.taker_fee)
                available = self._available_in_sim(book, sim, w.id)
                if need > available + 1e-9:
                    self._cancel(
                        w,
                        f"insufficient margin at fill: needs {need:.2f} USDT, {available:.2f} available",
                        ts,
                    )
                    return
        cost = fee(qty, px, cfg.maker_fee if liquidity == MAKER else cfg.taker_fee)
        eff = apply_fill(lots, side * qty, px, w.leverage, self._average)
        realized = eff.realized_pnl
        lots = sim.lots = eff.lots
        sim.wallet_delta += realized - cost
        w.filled_quantity += qty
        w.filled_notional += qty * px
        done = w.quantity - w.filled_quantity <= _QTY_EPS
        w.status = next_status(
            w.id, w.status, OrderEvent.FILLED if done else OrderEvent.PARTIALLY_FILLED
        )
        w.updated_ns = ts
        sim.fill_seq += 1
        sim.fills.append(
            _FillRec(
                f"F-{sim.fill_seq:06d}",
                w.id,
                w.symbol,
                side,
                qty,
                px,
                cost,
                liquidity,
                abs(px - ref) * qty,  # slippage
                ts,
                realized,
                ref,
            )
        )
        flipped = not was_flat and bool(lots) and (lots[0].quantity > 0) != (pos > 0)
        self._after_position_change(
            book, sim, ts, was_flat or flipped, 0.0 if flipped else realized
        )
        if w.stop_loss is not None or w.take_profit is not None:
            self._spawn_children(sim, w, qty, ts)
        oco = w.oco_id
        if oco is not None:
            for p in sim.orders:
                if p.id == oco and p.status in OPEN:
                    self._cancel(p, f"OCO partner {w.id} filled", ts)
        if not lots:
            for p in sim.orders:
                if p.reduce_only and p.status in OPEN:
                    self._cancel(p, "reduce-only: position is flat", ts)

    def _after_position_change(
        self, book: _Book, sim: _Sim, ts: int, was_flat: bool, realized: float
    ) -> None:
        """``was_flat``: the position now held is a new one (opened from flat, or the other
        side of a flip, whose closed leg's PnL belongs to the old position)."""
        if was_flat:
            sim.position_realized = 0.0
        sim.position_realized += realized
        if not sim.lots:
            sim.funding_due = None
            sim.liq = None
            return
        if was_flat or sim.funding_due is None:
            sim.funding_due = next_funding_after(ts)
        sim.liq = self._liquidation_price(book.inst, sim.lots)

    def _liquidation_price(self, inst: Instrument, lots: list[Lot]) -> float | None:
        """The isolated liquidation price of ``lots``, with the maintenance tier of the
        position's notional at entry (``margin.maintenance``)."""
        q = position_quantity(lots)
        e = entry_price(lots)
        rate, amount = maintenance(
            inst.maintenance_tiers, abs(q) * e, self.config.maintenance_margin_rate
        )
        return liquidation_price(q, e, position_margin(lots), rate, amount)

    def _record_fill(
        self,
        sim: _Sim,
        w: _Ord,
        qty: float,
        px: float,
        cost: float,
        liquidity: str,
        ref: float,
        ts: int,
        realized: float,
    ) -> None:
        sim.fill_seq += 1
        sim.fills.append(
            _FillRec(
                f"F-{sim.fill_seq:06d}",
                w.id,
                w.symbol,
                w.side,
                qty,
                px,
                cost,
                liquidity,
                abs(px - ref) * qty,  # slippage
                ts,
                realized,
                ref,
            )
        )

    def _new_child(
        self,
        sim: _Sim,
        parent: _Ord,
        ts: int,
        type_: OrderType,
        qty: float,
        price: float | None,
        trigger: float | None,
        role: str,
    ) -> _Ord:
        sim.order_seq += 1
        seq = sim.order_seq
        oid = f"O-{seq:06d}"
        child = _Ord(
            oid,
            seq,
            parent.symbol,
            -parent.side,
            type_,
            qty,
            price,
            trigger,
            True,  # reduce_only
            parent.leverage,
            None,  # stop_loss
            None,  # take_profit
            None,  # client_order_id
            _ACCEPTED,  # next_status(None, ACCEPTED), looked up once
            ts,  # created_ns
            ts,  # live_from_ns
            0.0,  # filled_quantity
            0.0,  # filled_notional
            ts,  # updated_ns
            parent.id,  # parent_id
            None,  # oco_id
            None,  # reason
            None,  # triggered_ns
            role,
            True,  # arriving
        )
        sim.orders.append(child)
        return child

    def _spawn_children(self, sim: _Sim, parent: _Ord, qty: float, ts: int) -> None:
        sl = tp = None
        if parent.stop_loss is not None:
            sl = self._new_child(
                sim, parent, ts, _STOP_MARKET, qty, None, parent.stop_loss, "stop_loss"
            )
        if parent.take_profit is not None:
            tp = self._new_child(
                sim, parent, ts, _LIMIT, qty, parent.take_profit, None, "take_profit"
            )
        if sl is not None and tp is not None:
            sl.oco_id, tp.oco_id = tp.id, sl.id

    def _liquidate(self, book: _Book, sim: _Sim, ts: int, point: float) -> None:
        """Close the whole position at ``point``; the wallet loses exactly the isolated margin."""
        q = position_quantity(sim.lots)
        margin = position_margin(sim.lots)
        sim.order_seq += 1
        oid = f"O-{sim.order_seq:06d}"
        liq_order = _Ord(
            id=oid,
            seq=sim.order_seq,
            symbol=book.symbol,
            side=-1 if q > 0 else 1,
            type=_MARKET,
            quantity=abs(q),
            price=None,
            trigger_price=None,
            reduce_only=True,
            leverage=1.0,
            stop_loss=None,
            take_profit=None,
            client_order_id=None,
            status=next_status(oid, None, OrderEvent.ACCEPTED),
            created_ns=ts,
            live_from_ns=ts,
            updated_ns=ts,
            role="liquidation",
            reason="liquidation",
        )
        eff = apply_fill(sim.lots, -q, point, 1.0)
        margin = max(margin, 0.0)  # funding may have eaten it all
        realized = max(eff.realized_pnl, -margin)
        liq_fee = margin + realized  # the margin left over goes to the venue as liquidation fee
        liq_order.filled_quantity = abs(q)
        liq_order.filled_notional = abs(q) * point
        liq_order.status = next_status(oid, liq_order.status, OrderEvent.FILLED)
        sim.orders.append(liq_order)
        sim.lots = []
        sim.wallet_delta += realized - liq_fee
        self._record_fill(sim, liq_order, abs(q), point, liq_fee, TAKER, point, ts, realized)
        self._after_position_change(book, sim, ts, False, realized)
        for p in sim.orders:
            if p.reduce_only and p.status in OPEN:
                self._cancel(p, "reduce-only: position is flat", ts)

    def _commit(self, book: _Book, sim: _Sim) -> list[_FillRec]:
        registry = self._orders
        working = []
        for w in sim.orders:
            w.arriving = False
            registry[w.id] = w
            status = w.status
            if status is _NEW or status is _PARTIAL:
                working.append(w)
        book.working = working
        book.lots = sim.lots
        book.position_realized = sim.position_realized
        book.funding_due = sim.funding_due
        self._wallet += sim.wallet_delta
        self._order_seq = sim.order_seq
        self._fill_seq = sim.fill_seq
        self._fills.extend(sim.fills)
        self._refresh(book)
        return sim.fills

    def _refresh(self, book: _Book) -> None:
        """Recompute the cached levels that decide whether a bar can change anything."""
        below, above, pending = -_INF, _INF, False
        for w in book.working:
            t = w.type
            if t is _MARKET:
                pending = True
            elif t is _LIMIT or (
                t is _STOP_LIMIT and w.triggered_ns is not None
            ):  # level: the limit
                if w.side > 0:
                    if w.price > below:  # type: ignore[operator]
                        below = w.price  # type: ignore[assignment]
                elif w.price < above:  # type: ignore[operator]
                    above = w.price  # type: ignore[assignment]
            elif w.side < 0:
                if w.trigger_price > below:  # type: ignore[operator]
                    below = w.trigger_price  # type: ignore[assignment]
            elif w.trigger_price < above:  # type: ignore[operator]
                above = w.trigger_price  # type: ignore[assignment]
        book.liq = None
        lots = book.lots
        if lots:
            q = position_quantity(lots)
            liq = book.liq = self._liquidation_price(book.inst, lots)
            if liq is not None:
                if q > 0:
                    below = max(below, liq)
                else:
                    above = min(above, liq)
        book.below, book.above, book.pending_market = below, above, pending
        book.levels = None

    # ------------------------------------------------------------------ conversion

    def _public_order(self, o: _Ord) -> Order:
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
                "created_at": _ts(o.created_ns),
                "updated_at": _ts(o.updated_ns),
                "parent_id": o.parent_id,
                "oco_id": o.oco_id,
                "reason": o.reason,
                "triggered_at": _ts(o.triggered_ns),
                "role": o.role,
            },
        )
        return order


def _public_fills(recs: list[_FillRec], times: list[pd.Timestamp]) -> list[Fill]:
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


def _clone(o: _Ord) -> _Ord:
    """A shallow copy of an order record (one positional call: far cheaper than ``copy.copy``;
    ``_check_clone`` below keeps it in step with the class)."""
    return _Ord(
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
    )


def _check_clone() -> None:
    """Refuse to import if ``_clone`` misses or misorders a field of ``_Ord``."""
    probe = _Ord(
        "id", 1, "sym", -1, _STOP_LIMIT, 2.0, 3.0, 4.0, True, 5.0, 6.0, 7.0, "client",
        OrderStatus.PARTIALLY_FILLED, 8, 9, 10.0, 11.0, 12, "parent", "oco", "why", 13, "role",
        False,
    )  # fmt: skip
    copy = _clone(probe)
    if any(getattr(copy, f.name) != getattr(probe, f.name) for f in dataclasses.fields(_Ord)):
        raise RuntimeError("exchange.virtual._clone is out of step with _Ord's fields")


_check_clone()


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
