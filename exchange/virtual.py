"""The virtual exchange: a futures venue that matches orders on 1-minute OHLC bars.

Time advances only by bars (``on_bar``); every rule it follows is written in
``exchange/CONTRACT.md`` with the test that pins it and the function that implements it. This
module is the public class: reads, order entry (validated by ``exchange.entry`` at the
boundary: ``place``/``modify``/``cancel`` raise ``OrderRejected`` and change nothing), time and
snapshots. The bar walk is ``exchange.barwalk.BarWalk`` (its base class); the records it works
on and their conversion to the public pydantic types are ``exchange.records``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from exchange import entry
from exchange.barwalk import BarWalk
from exchange.config import ExchangeConfig
from exchange.costs import NS_PER_MINUTE
from exchange.errors import BarRejected, OrderNotOpen, OrderRejected, UnknownOrder
from exchange.margin import (
    Lot,
    entry_price,
    position_margin,
    position_quantity,
    unrealized_pnl,
)
from exchange.records import (
    NO_FILLS,
    ActiveLevels,
    Book,
    FillRec,
    FundingRec,
    OrderRec,
    fmt,
    public_fills,
    public_order,
    record_fields,
    set_working,
    side_of,
    to_ns,
    ts_many,
    ts_of,
)
from exchange.snapshot import SnapshotStore, VersionedStore
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
_NEW = OrderStatus.NEW
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_BUY = Side.BUY


class VirtualExchange(BarWalk):
    """A deterministic futures exchange over 1-minute bars (implements ``Exchange``)."""

    def __init__(
        self, config: ExchangeConfig | None = None, *, snapshot: SnapshotStore | None = None
    ) -> None:
        stored: dict[str, Any] | None = None
        version: int | None = None
        if isinstance(snapshot, VersionedStore):
            stored, version = snapshot.load_versioned()
        elif snapshot is not None:
            stored = snapshot.load()
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
        # the version this exchange last loaded or saved: its saves are compare-and-swaps
        self._snapshot_version: int | None = None
        self._wallet = self.config.starting_balance
        self._books: dict[str, Book] = {}
        self._orders: dict[str, OrderRec] = {}
        self._fills: list[FillRec] = []
        self._funding: list[FundingRec] = []
        self._order_seq = 0
        self._fill_seq = 0
        self._now_ns: int | None = None
        self._funding_rates: dict[str, dict[int, float]] = {}
        self._mark_prices: dict[str, dict[int, float]] = {}
        if stored is not None:
            self._load_state(stored)
        self._snapshot = snapshot
        self._snapshot_version = version

    # ------------------------------------------------------------------ public reads

    @property
    def now(self) -> pd.Timestamp | None:
        """Close time of the last bar processed (on any symbol); None before the first bar."""
        return ts_of(self._now_ns)

    def now_for(self, symbol: str) -> pd.Timestamp | None:
        """Close time of the last bar processed for ``symbol`` (None before its first bar)."""
        book = self._books.get(symbol)
        return None if book is None or book.last_ts is None else ts_of(book.last_ts + NS_PER_MINUTE)

    def mark_price(self, symbol: str) -> float | None:
        """The last close seen for ``symbol`` (None before its first bar)."""
        book = self._books.get(symbol)
        return None if book is None else book.mark

    def get_order(self, order_id: str) -> Order:
        o = self._orders.get(order_id)
        if o is None:
            raise UnknownOrder(order_id)
        return public_order(o)

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order ever accepted (open and terminal), in submission order."""
        return [public_order(o) for o in self._orders.values() if symbol in (None, o.symbol)]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        out = []
        for book in self._books.values():
            if symbol is None or book.symbol == symbol:
                out.extend(book.working)
        out.sort(key=lambda o: o.seq)
        return [public_order(o) for o in out]

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
        return Balance(
            wallet=self._wallet,
            equity=self._wallet + self._unrealized(),
            available=self._available(),
            margin_used=self._margin_used(),
        )

    def fills(self, symbol: str | None = None) -> list[Fill]:
        recs = [f for f in self._fills if symbol is None or f.symbol == symbol]
        times = ts_many([f.ts_ns for f in recs])
        return public_fills(recs, times)

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
                book.below,
                book.above,
                ts_of(book.funding_due),
                book.pending_market,
                book.funding_due,
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
        return public_order(self._place(request))

    def submit(self, request: OrderRequest) -> str:
        """``place`` for callers that only need the new order's id (a backtest loop): the same
        checks and effects, without building the public ``Order``."""
        return self._place(request).id

    def _place(self, request: OrderRequest) -> OrderRec:
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
        return public_order(o1), public_order(o2)

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
            new_qty = quantity = entry.check_quantity(inst, quantity)
            if quantity <= o.filled_quantity + _QTY_EPS:
                raise OrderRejected(
                    "quantity",
                    quantity,
                    f"{fmt(quantity)} must exceed the filled quantity {fmt(o.filled_quantity)}",
                )
        new_price = o.price if price is None else entry.check_price(inst, "price", price)
        new_trigger = o.trigger_price
        if trigger_price is not None:
            if o.triggered_ns is not None:
                raise OrderRejected("trigger_price", trigger_price, f"{o.id} has already triggered")
            new_trigger = entry.check_price(inst, "trigger_price", trigger_price)
            entry.check_stop_side(
                self._books[o.symbol], o.side, new_trigger, self.config.reject_immediate_stops
            )
        if o.stop_loss is not None or o.take_profit is not None:
            ref = new_trigger if o.type is _STOP_MARKET else new_price
            if ref is not None:
                entry.check_bracket(o.side, ref, o.stop_loss, o.take_profit)
        book = self._books[o.symbol]
        size_ref = new_price if new_price is not None else (new_trigger or book.mark)
        if size_ref is not None:
            entry.check_size(inst, new_qty, size_ref, o.reduce_only)
        if price is not None and new_price is not None:
            entry.check_band(book, o.side, new_price)
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
        return public_order(o)

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
        return public_order(o)

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
        return public_fills(recs, [ts_of(f.ts_ns) for f in recs]) if recs else []  # type: ignore[misc]

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
    ) -> list[FillRec]:
        book = self._books.get(symbol)
        if book is None:
            book = self._book(symbol)
        ts_ns = ts if type(ts) is int else to_ns(ts)
        if book.last_ts is not None and ts_ns <= book.last_ts:
            raise BarRejected(
                f"ts: bar {ts_of(ts_ns)} is not after the last {symbol} bar {ts_of(book.last_ts)}"
            )
        if not (0 < low <= open <= high and low <= close <= high):
            raise BarRejected(
                f"bar {symbol} {ts_of(ts_ns)}: need 0 < low <= open, close <= high; "
                f"got open={open} high={high} low={low} close={close}"
            )
        end_ns = ts_ns + NS_PER_MINUTE
        if book.funding_due is not None and book.funding_due < end_ns:
            self._settle_funding(book, end_ns, open)
        out: list[FillRec] = NO_FILLS
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
        ts_ns = ts if type(ts) is int else to_ns(ts)
        if book.last_ts is not None and ts_ns <= book.last_ts:
            raise BarRejected(
                f"ts: bar {ts_of(ts_ns)} is not after the last {symbol} bar {ts_of(book.last_ts)}"
            )
        end_ns = ts_ns + NS_PER_MINUTE
        if book.pending_market or (book.funding_due is not None and book.funding_due < end_ns):
            raise BarRejected(
                f"ts: {symbol} has a pending event before {ts_of(end_ns)}; feed the bar to on_bar"
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
                    for k, v in record_fields(o).items()
                    if k not in ("arriving", "at_limit")
                }
                for o in self._orders.values()
            ],
            "fills": [f._asdict() for f in self._fills],
            "funding_rates": {
                sym: [[t, r] for t, r in sorted(rates.items())]
                for sym, rates in self._funding_rates.items()
            },
            "mark_prices": {
                sym: [[t, m] for t, m in sorted(marks.items())]
                for sym, marks in self._mark_prices.items()
            },
            "funding": [record_fields(f) for f in self._funding],
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
            self._orders[d["id"]] = set_working(OrderRec(**d))
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
        self._fills = [FillRec(**f) for f in state["fills"]]
        self._funding = [FundingRec(**f) for f in state["funding"]]
        self._funding_rates = {
            sym: {int(t): float(r) for t, r in rows}
            for sym, rows in state.get("funding_rates", {}).items()
        }
        self._mark_prices = {
            sym: {int(t): float(m) for t, m in rows}
            for sym, rows in state.get("mark_prices", {}).items()
        }

    def set_funding_rates(self, symbol: str, rates: Mapping[int, float]) -> int:
        """Use ``rates`` (``{funding_time_ns: rate}``, e.g. ``exchange.funding.read_funding_rates``
        of Binance's history) for ``symbol``'s funding settlements; a funding time without a
        rate uses ``config.funding_rate``. Merged into any series set before; returns how many
        rates the symbol now has."""
        if symbol not in self._books:
            entry.resolve_book(symbol, self.config.instruments)  # V1 for an unknown symbol
        series = self._funding_rates.setdefault(symbol, {})
        for t, r in rates.items():
            if not math.isfinite(r):
                raise OrderRejected("funding_rate", r, f"must be finite, got {r}")
            series[int(t)] = float(r)
        self._changed()
        return len(series)

    def set_mark_prices(self, symbol: str, marks: Mapping[int, float]) -> int:
        """Use ``marks`` (``{funding_time_ns: mark price}``, e.g. the ``markPrice`` of Binance's
        funding-rate history) as the price ``symbol``'s funding settles on at those times
        (C3c); a funding time without one settles on the bar's open (the last price). Merged
        into any set before; returns how many the symbol now has."""
        if symbol not in self._books:
            entry.resolve_book(symbol, self.config.instruments)  # V1 for an unknown symbol
        series = self._mark_prices.setdefault(symbol, {})
        for t, m in marks.items():
            if not (math.isfinite(m) and m > 0):
                raise OrderRejected("mark_price", m, f"must be a positive finite price, got {m}")
            series[int(t)] = float(m)
        self._changed()
        return len(series)

    def _changed(self) -> None:
        """Save to the snapshot store, if any. On a versioned store this is a compare-and-swap
        on the version this exchange loaded or last saved: if another writer (the CLI, a
        server) saved in between, ``SnapshotConflict`` is raised and the store keeps the other
        writer's state (reload with ``VirtualExchange(snapshot=store)``)."""
        store = self._snapshot
        if store is None:
            return
        version = self._snapshot_version
        if version is not None and isinstance(store, VersionedStore):
            self._snapshot_version = store.save_if(self.state_dict(), version)
        else:
            store.save(self.state_dict())

    # ------------------------------------------------------------------ entry

    def _book(self, symbol: str) -> Book:
        book = self._books[symbol] = entry.resolve_book(symbol, self.config.instruments)
        return book

    def _check_margin(
        self,
        book: Book,
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
                f"{fmt(quantity)} {book.symbol} needs {need:.2f} USDT (margin + taker fee) "
                f"but {available:.2f} is available",
            )

    def _build(self, r: OrderRequest) -> tuple[Book, OrderRec]:
        """Validate a request into an order record without changing any state."""
        book = self._books.get(r.symbol)
        if book is None:  # registered only when the order is accepted
            book = entry.resolve_book(r.symbol, self.config.instruments)
        inst = book.inst
        side = 1 if r.side == _BUY else -1
        t = r.type if type(r.type) is OrderType else OrderType(r.type)
        qty = entry.check_quantity(inst, r.quantity)
        if not (1.0 <= r.leverage <= inst.max_leverage):
            raise OrderRejected(
                "leverage",
                r.leverage,
                f"must be between 1 and {fmt(inst.max_leverage)} for {inst.symbol}, got {r.leverage}",
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
        price = entry.check_price(inst, "price", r.price) if r.price is not None else None
        trigger = (
            entry.check_price(inst, "trigger_price", r.trigger_price)
            if r.trigger_price is not None
            else None
        )
        sl = entry.check_price(inst, "stop_loss", r.stop_loss) if r.stop_loss is not None else None
        tp = (
            entry.check_price(inst, "take_profit", r.take_profit)
            if r.take_profit is not None
            else None
        )
        if t in (_MARKET, _STOP_MARKET, _STOP_LIMIT) and book.mark is None:
            raise OrderRejected(
                "symbol", r.symbol, f"no market price for {r.symbol} yet; feed a bar first"
            )
        if trigger is not None:
            entry.check_stop_side(book, side, trigger, self.config.reject_immediate_stops)
        ref: float = price if price is not None else (trigger if trigger is not None else book.mark)  # type: ignore[assignment]
        entry.check_size(inst, qty, ref, r.reduce_only)
        if price is not None:
            entry.check_band(book, side, price)
        if sl is not None or tp is not None:
            if r.reduce_only:
                raise OrderRejected(
                    "reduce_only",
                    True,
                    "a reduce-only order cannot carry a stop_loss or take_profit",
                )
            entry.check_bracket(side, ref, sl, tp)
        pos = position_quantity(book.lots)
        if r.reduce_only:
            if abs(pos) < _QTY_EPS:
                raise OrderRejected("reduce_only", True, f"no {r.symbol} position to reduce (flat)")
            if (pos > 0) == (side > 0):
                held = "LONG" if pos > 0 else "SHORT"
                raise OrderRejected(
                    "reduce_only",
                    True,
                    f"a {side_of(side).value} would increase the {held} {r.symbol} position",
                )
        else:
            self._check_margin(book, side, qty, ref, r.leverage)
        o = OrderRec(
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
        set_working(o)
        return book, o

    @staticmethod
    def _live_from(book: Book) -> int | None:
        return None if book.last_ts is None else book.last_ts + NS_PER_MINUTE

    def _accept(self, book: Book, o: OrderRec) -> None:
        self._books.setdefault(book.symbol, book)
        self._order_seq += 1
        o.seq = self._order_seq
        o.id = f"O-{self._order_seq:06d}"
        next_status(o.id, None, OrderEvent.ACCEPTED)
        o.updated_ns = self._now_ns
        self._orders[o.id] = o
        book.working.append(o)

    def _open_order(self, order_id: str, verb: str) -> OrderRec:
        o = self._orders.get(order_id)
        if o is None:
            raise UnknownOrder(order_id)
        if o.status not in OPEN:
            raise OrderNotOpen(
                "order_id", order_id, f"{order_id} is {o.status.value} and can no longer be {verb}"
            )
        return o
