"""``WeexExchange``: the ``Exchange`` protocol on WEEX, plus what live execution needs.

- ``place``: symbol ``BTCUSDT`` -> ``cmt_btcusdt``; size rounded down and prices rounded to the
  contract; leverage set (capped at the competition's 20x) before an open; market orders sent
  with ``match_price=1`` and the last price. A bracket's SL/TP go as preset TP/SL on the opening
  order when enabled; when WEEX rejects the preset (40015 ``INVALID_ARGUMENT``) presets are
  disabled for the session and the order is re-sent without them, and the stops are placed as
  server-side ``placeTpSlOrder`` orders right after the entry fills (``sync`` attaches them for
  entries that fill later).
- ``close_position``: cancel the symbol's normal and plan orders first (else 40015), then a
  type 3/4 market order; a refused close is retried after a cool-down, and ``closePositions``
  is the last resort.
- ``check_local_stops`` (local monitoring, the last resort when no server-side stop is working)
  and ``enforce_max_hold``.
- ``reconcile``: positions, open orders and TP/SL orders read from WEEX at start, with the
  stop roles recovered, so a cycle resumes managing them instead of opening new ones.

A business refusal (40015 and friends) comes back as a REJECTED ``Order`` whose reason carries
WEEX's code and message; authentication and transport errors raise (``WeexError``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd

from exchange.errors import OrderRejected, UnknownOrder
from exchange.types import (
    Balance,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from exchange.weex.client import WeexClient
from exchange.weex.contracts import Contract, from_weex_symbol, to_weex_symbol
from exchange.weex.errors import WeexBusinessError, WeexError, WeexNotFound
from exchange.weex.models import WeexOrder, WeexPlanOrder, usdt_asset

_STATUS = {"open": OrderStatus.NEW, "pending": OrderStatus.NEW, "untriggered": OrderStatus.NEW,
           "canceling": OrderStatus.NEW, "filled": OrderStatus.FILLED,
           "canceled": OrderStatus.CANCELED}  # fmt: skip
_PLAN_STATUS = {"0": OrderStatus.NEW, "1": OrderStatus.PARTIALLY_FILLED, "2": OrderStatus.FILLED,
                "-1": OrderStatus.CANCELED}  # fmt: skip


@dataclass
class _Local:
    """What this process knows about an order WEEX does not echo back."""

    symbol: str  # WEEX symbol
    request: OrderRequest | None = None
    plan: bool = False
    role: str | None = None
    parent_id: str | None = None
    presets: tuple[Decimal | None, Decimal | None] | None = None  # (SL, TP) sent as presets


@dataclass
class ManagedPosition:
    """One position found at reconciliation, with its working stops."""

    position: Position
    stop_loss_ids: list[str] = field(default_factory=list)
    take_profit_ids: list[str] = field(default_factory=list)

    @property
    def protected(self) -> bool:
        return bool(self.stop_loss_ids)


@dataclass
class Reconciliation:
    """The account as WEEX holds it at start."""

    positions: list[ManagedPosition]
    open_orders: list[Order]
    balance: Balance

    def symbols_to_manage(self) -> list[str]:
        """Symbols with a position: the cycle manages these instead of opening new ones."""
        return [m.position.symbol for m in self.positions]


class WeexExchange:
    """The ``Exchange`` protocol on WEEX (see the module docstring)."""

    def __init__(
        self,
        client: WeexClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.config = client.config
        self.preset_enabled = client.config.preset_tpsl
        self.notes: list[str] = []
        self._sleep = sleep
        self._clock = clock
        self._contracts: dict[str, Contract] = {}
        self._leverage: dict[str, int] = {}
        self._local: dict[str, _Local] = {}
        self._pending_brackets: dict[str, tuple[float | None, float | None]] = {}
        self.local_stops: dict[str, tuple[float | None, float | None]] = {}  # symbol -> (SL, TP)
        self._last_close: dict[str, float] = {}
        self._marks: dict[str, float] = {}
        self.closed_orders: dict[str, list[str]] = {}
        """symbol -> the WEEX ids of the orders its last ``close_position`` placed."""

    # ------------------------------------------------------------------ helpers

    def contract(self, symbol: str) -> Contract:
        wsym = to_weex_symbol(symbol)
        if wsym not in self._contracts:
            self._contracts.update(self.client.contracts())
        if wsym not in self._contracts:
            raise OrderRejected("symbol", symbol, f"WEEX lists no contract {wsym}")
        return self._contracts[wsym]

    def _check_rules(self, request: OrderRequest) -> str:
        """The competition rules the exchange edge enforces too: the pair allowlist and the
        leverage cap (the gate enforces them first)."""
        wsym = to_weex_symbol(request.symbol)
        if wsym not in self.config.allowed_symbols:
            raise OrderRejected("symbol", request.symbol, f"{wsym} is not an allowed pair")
        if request.leverage > self.config.max_leverage:
            raise OrderRejected(
                "leverage", request.leverage, f"exceeds the cap {self.config.max_leverage}"
            )
        return wsym

    def _size(self, c: Contract, quantity: float) -> Decimal:
        size = c.round_size(quantity, min_is_step=self.config.size_step_is_min_order_size)
        if size < c.min_order_size or size <= 0:
            raise OrderRejected(
                "quantity", quantity, f"below the minimum {c.min_order_size} of {c.symbol}"
            )
        return size

    def _ensure_leverage(self, wsym: str, leverage: float) -> None:
        lev = max(1, min(int(leverage), self.config.max_leverage))
        if self._leverage.get(wsym) != lev:
            self.client.set_leverage(wsym, lev)
            self._leverage[wsym] = lev

    def symbol_of(self, order_id: str) -> str:
        """The symbol (``BTCUSDT``) of an order this process placed or read."""
        local = self._local.get(order_id)
        if local is not None:
            return from_weex_symbol(local.symbol)
        return self.get_order(order_id).request.symbol

    @staticmethod
    def new_client_oid(prefix: str = "aq") -> str:
        return f"{prefix}{uuid.uuid4().hex[:30]}"

    def _rejected(self, request: OrderRequest, exc: WeexBusinessError) -> Order:
        now = datetime.now(UTC)
        return Order(
            id=f"rejected:{request.client_order_id or ''}",
            request=request,
            status=OrderStatus.REJECTED,
            reason=f"WEEX {exc.code}: {exc.msg}",
            created_at=now,
            updated_at=now,
        )

    # ------------------------------------------------------------------ Exchange protocol

    def place(self, request: OrderRequest) -> Order:
        wsym = self._check_rules(request)
        c = self.contract(wsym)
        size = self._size(c, request.quantity)
        oid = request.client_order_id or self.new_client_oid()
        if len(oid) > 40:
            raise OrderRejected("client_order_id", oid, "WEEX allows at most 40 characters")
        request = request.model_copy(update={"client_order_id": oid, "quantity": float(size)})
        try:
            if request.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
                return self._place_plan(request, wsym, c, size)
            if not request.reduce_only:
                self._ensure_leverage(wsym, request.leverage)
            return self._place_normal(request, wsym, c, size)
        except WeexBusinessError as exc:
            return self._rejected(request, exc)

    def _type_code(self, request: OrderRequest) -> int:
        if request.reduce_only:
            return 3 if request.side is Side.SELL else 4
        return 1 if request.side is Side.BUY else 2

    def _place_normal(self, request: OrderRequest, wsym: str, c: Contract, size: Decimal) -> Order:
        market = request.type is OrderType.MARKET
        if market:
            price = self.client.ticker(wsym).last if self.config.market_price_from_ticker else None
        else:
            if request.price is None:
                raise OrderRejected("price", None, "a LIMIT order needs a price")
            price = c.round_price(request.price)
        bracket = request.stop_loss is not None or request.take_profit is not None
        use_preset = bracket and self.preset_enabled and not request.reduce_only
        oid = request.client_order_id or self.new_client_oid()
        kwargs = dict(symbol=wsym, size=size, type=self._type_code(request),
                      match_price=1 if market else 0, price=price)  # fmt: skip
        try:
            placed = self.client.place_order(
                client_oid=oid,
                preset_take_profit=c.round_price(request.take_profit)
                if use_preset and request.take_profit is not None
                else None,
                preset_stop_loss=c.round_price(request.stop_loss)
                if use_preset and request.stop_loss is not None
                else None,
                **kwargs,  # type: ignore[arg-type]
            )
        except WeexBusinessError as exc:
            if not (use_preset and exc.preset_rejected):
                raise
            self.preset_enabled = False
            self.notes.append(f"preset TP/SL rejected ({exc.code}: {exc.msg}); disabled, "
                              "server-side TP/SL orders will be placed after the fill")  # fmt: skip
            oid = (oid[:37] + "-r2")[:40]
            request = request.model_copy(update={"client_order_id": oid})
            placed = self.client.place_order(client_oid=oid, **kwargs)  # type: ignore[arg-type]
            use_preset = False
        presets = None
        if use_preset:
            presets = (
                c.round_price(request.stop_loss) if request.stop_loss is not None else None,
                c.round_price(request.take_profit) if request.take_profit is not None else None,
            )
        self._local[placed.order_id] = _Local(
            wsym, request, role="entry" if bracket else None, presets=presets
        )
        if bracket and not use_preset:
            self._pending_brackets[placed.order_id] = (request.stop_loss, request.take_profit)
            self.sync()
        return self.get_order(placed.order_id)

    def _place_plan(self, request: OrderRequest, wsym: str, c: Contract, size: Decimal) -> Order:
        if request.trigger_price is None:
            raise OrderRejected("trigger_price", None, "a stop order needs a trigger_price")
        execute = (
            c.round_price(request.price)
            if request.type is OrderType.STOP_LIMIT and request.price
            else None
        )
        placed = self.client.plan_order(
            symbol=wsym, client_oid=request.client_order_id or self.new_client_oid(), size=size,
            type=self._type_code(request), trigger_price=c.round_price(request.trigger_price),
            execute_price=execute,
        )  # fmt: skip
        self._local[placed.order_id] = _Local(wsym, request, plan=True)
        return self.get_order(placed.order_id)

    def modify(
        self,
        order_id: str,
        *,
        price: float | None = None,
        quantity: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """A TP/SL order moves its trigger with ``modifyTpSlOrder``; a normal order is cancelled
        and re-placed (WEEX v2 has no modify), so the returned order has a new id.
        ``trigger_price`` is a stop's trigger (the same as ``price`` for a TP/SL order)."""
        if trigger_price is not None:
            if price is not None:
                raise OrderRejected("trigger_price", trigger_price, "give price or trigger_price")
            price = trigger_price
        local = self._local.get(order_id)
        current = self.get_order(order_id)
        if local is not None and local.plan and local.role in ("stop_loss", "take_profit"):
            if quantity is not None or price is None:
                raise OrderRejected("quantity", quantity, "a TP/SL order can move its price only")
            trigger = self.contract(local.symbol).round_price(price)
            try:
                self.client.modify_tpsl(order_id, trigger)
            except WeexBusinessError as exc:
                raise OrderRejected("price", price, f"WEEX {exc.code}: {exc.msg}") from None
            if local.request is not None:
                key = "price" if local.request.type is OrderType.LIMIT else "trigger_price"
                local.request = local.request.model_copy(update={key: float(trigger)})
            return self.get_order(order_id)
        if price is None and quantity is None:
            raise OrderRejected("order_id", order_id, "nothing to modify; give price or quantity")
        self.cancel(order_id)
        update: dict[str, object] = {"client_order_id": self.new_client_oid()}
        if price is not None:
            key = "trigger_price" if current.request.type is OrderType.STOP_MARKET else "price"
            update[key] = price
        if quantity is not None:
            update["quantity"] = quantity
        return self.place(current.request.model_copy(update=update))

    def cancel(self, order_id: str) -> Order:
        local = self._local.get(order_id)
        try:
            if local is not None and local.plan:
                self.client.cancel_plan(order_id)
            else:
                self.client.cancel_order(order_id)
        except WeexNotFound:
            raise UnknownOrder(order_id) from None
        except WeexBusinessError as exc:
            raise OrderRejected("order_id", order_id, f"WEEX {exc.code}: {exc.msg}") from None
        return self.get_order(order_id)

    def get_order(self, order_id: str) -> Order:
        local = self._local.get(order_id)
        if local is not None and local.plan:
            for p in self.client.current_plans(local.symbol):
                if p.order_id == order_id:
                    return self._plan_to_order(p)
            for p in self.client.history_plans(local.symbol):
                if p.order_id == order_id:
                    return self._plan_to_order(p)
        try:
            row = self.client.order_detail(order_id)
        except WeexNotFound:
            raise UnknownOrder(order_id) from None
        return self._to_order(row)

    # ------------------------------------------------------------------ the clock
    # A live venue keeps its own time: ``live`` tells ``exchange.clock`` not to feed it stored
    # bars, ``now`` is the wall clock, and a bar given anyway only records its close as the mark.

    live = True

    @property
    def now(self) -> pd.Timestamp | None:
        return pd.Timestamp(self._clock(), unit="s", tz="UTC")

    def now_for(self, symbol: str) -> pd.Timestamp | None:
        return self.now

    def on_bar(
        self, symbol: str, ts: object, open: float, high: float, low: float, close: float,
        volume: float = 0.0,
    ) -> list[Fill]:  # fmt: skip
        self._marks[symbol] = float(close)
        return []

    def mark_bar(self, symbol: str, ts: object, close: float) -> None:
        self._marks[symbol] = float(close)

    def level_state(self, symbol: str) -> tuple[float, float, bool, int | None]:
        return float("-inf"), float("inf"), False, None

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders and the filled or cancelled ones WEEX still reports (its history)."""
        seen = {o.id: o for o in self.open_orders(symbol)}
        for f in self.fills(symbol):
            if f.order_id not in seen:
                try:
                    seen[f.order_id] = self.get_order(f.order_id)
                except UnknownOrder:
                    continue
        return sorted(seen.values(), key=lambda o: o.id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open normal orders and open TP/SL (plan) orders."""
        self.sync()
        wsym = to_weex_symbol(symbol) if symbol else None
        out = [self._to_order(o) for o in self.client.open_orders(wsym)]
        out += [self._plan_to_order(p) for p in self.client.current_plans(wsym)]
        return sorted(out, key=lambda o: o.id)

    def positions(self) -> list[Position]:
        out = []
        for p in self.client.positions():
            if p.size == 0 or not p.symbol:
                continue
            qty = float(p.size) if p.is_long else -float(p.size)
            margin = p.margin_size if p.margin_size is not None else p.isolated_margin
            out.append(
                Position(
                    symbol=from_weex_symbol(p.symbol),
                    quantity=qty,
                    entry_price=float(p.entry_price),
                    leverage=float(p.leverage),
                    margin=float(margin or 0),
                    liquidation_price=float(p.liquidate_price) if p.liquidate_price else None,
                    unrealized_pnl=float(p.unrealize_pnl),
                )
            )
        return out

    def balance(self) -> Balance:
        a = usdt_asset(self.client.assets())
        return Balance(
            currency="USDT",
            wallet=float(a.equity - a.unrealize_pnl),
            equity=float(a.equity),
            available=float(a.available),
            margin_used=float(a.frozen),
        )

    def fills(self, symbol: str | None = None) -> list[Fill]:
        self.sync()
        wsym = to_weex_symbol(symbol) if symbol else None
        out = []
        for f in self.client.fills(wsym):
            local = self._local.get(f.order_id)
            market = (
                local is not None
                and local.request is not None
                and (local.request.type is OrderType.MARKET)
            )
            out.append(
                Fill(
                    id=f.trade_id,
                    order_id=f.order_id,
                    symbol=from_weex_symbol(f.symbol),
                    side=Side(f.order_side.upper()),
                    quantity=float(f.fill_size),
                    price=float(f.price),
                    fee=float(f.fill_fee),
                    liquidity="TAKER" if market or local is None else "MAKER",
                    ts=datetime.fromtimestamp(f.created_time / 1000, UTC),
                    realized_pnl=float(f.realize_pnl),
                )
            )
        return sorted(out, key=lambda x: (x.ts, x.id))

    # ------------------------------------------------------------------ conversions

    def _to_order(self, o: WeexOrder) -> Order:
        local = self._local.get(o.order_id)
        request = local.request if local and local.request else _request_from(o)
        status = _STATUS.get(o.status, OrderStatus.NEW)
        if status is OrderStatus.NEW and o.filled_qty > 0:
            status = OrderStatus.PARTIALLY_FILLED
        created = _ms_to_dt(o.create_time)
        return Order(
            id=o.order_id,
            request=request,
            status=status,
            filled_quantity=float(o.filled_qty),
            average_price=float(o.price_avg) if o.price_avg > 0 else None,
            created_at=created,
            updated_at=created,
            parent_id=local.parent_id if local else None,
            role=local.role if local else None,
        )

    def _adopt_preset_leg(self, p: WeexPlanOrder) -> _Local | None:
        """A plan order WEEX created from an entry's preset TP/SL: linked to that entry by
        symbol and trigger price (INFERRED: how WEEX lists preset legs is undocumented)."""
        trigger = p.trigger_price
        for entry_id, loc in self._local.items():
            if loc.presets is None or loc.symbol != p.symbol or trigger is None:
                continue
            sl, tp = loc.presets
            role = "stop_loss" if sl == trigger else "take_profit" if tp == trigger else None
            if role is not None:
                adopted = _Local(p.symbol, None, plan=True, role=role, parent_id=entry_id)
                self._local[p.order_id] = adopted
                return adopted
        return None

    def _plan_to_order(self, p: WeexPlanOrder) -> Order:
        local = self._local.get(p.order_id) or self._adopt_preset_leg(p)
        role = local.role if local else None
        if local and local.request:
            request = local.request
        else:
            close_long = p.type in ("3", "close_long")
            side = Side.SELL if p.type in ("2", "3", "open_short", "close_long") else Side.BUY
            request = OrderRequest(
                symbol=from_weex_symbol(p.symbol), side=side, type=OrderType.STOP_MARKET,
                quantity=float(p.size), trigger_price=float(p.trigger_price or 0) or None,
                reduce_only=close_long or p.type in ("4", "close_short"),
                client_order_id=p.client_oid,
            )  # fmt: skip
        return Order(
            id=p.order_id,
            request=request,
            status=_PLAN_STATUS.get(p.status, OrderStatus.NEW),
            role=role,
            parent_id=local.parent_id if local else None,
        )

    # ------------------------------------------------------------------ live execution

    def sync(self) -> list[str]:
        """Place the server-side TP/SL of entries that have filled since (when presets are off
        or were rejected); returns the TP/SL order ids placed. A stop WEEX refuses is left to
        local monitoring (``local_stops``, read by ``check_local_stops``); a transport failure
        leaves the bracket pending for the next ``sync``. Never raises for a placed entry."""
        placed: list[str] = []
        for entry_id, (sl, tp) in list(self._pending_brackets.items()):
            symbol = ""
            try:
                row = self.client.order_detail(entry_id)
                if row.status == "canceled" and row.filled_qty == 0:
                    del self._pending_brackets[entry_id]
                    continue
                if row.filled_qty <= 0:
                    continue
                symbol = from_weex_symbol(row.symbol)
                placed += self.attach_stops(symbol, stop_loss=sl, take_profit=tp,
                                            parent_id=entry_id)  # fmt: skip
                del self._pending_brackets[entry_id]
            except WeexBusinessError as exc:
                del self._pending_brackets[entry_id]
                self.local_stops[symbol] = (sl, tp)
                self.notes.append(f"server-side TP/SL for {entry_id} refused ({exc.code}: "
                                  f"{exc.msg}); {symbol} is watched locally")  # fmt: skip
            except WeexError as exc:
                self.notes.append(f"TP/SL for {entry_id} not placed yet ({exc}); retried on sync")
        return placed

    def attach_stops(
        self,
        symbol: str,
        *,
        stop_loss: float | None,
        take_profit: float | None,
        parent_id: str | None = None,
    ) -> list[str]:
        """Server-side TP/SL orders (``placeTpSlOrder``) for the whole position on ``symbol``."""
        wsym = to_weex_symbol(symbol)
        c = self.contract(wsym)
        pos = next((p for p in self.client.positions(wsym) if p.size > 0), None)
        if pos is None:
            return []
        side = "long" if pos.is_long else "short"
        ids = []
        for plan_type, trigger, role in (("loss_plan", stop_loss, "stop_loss"),
                                         ("profit_plan", take_profit, "take_profit")):  # fmt: skip
            if trigger is None:
                continue
            placed = self.client.place_tpsl(
                symbol=wsym, client_oid=self.new_client_oid("aqs"), plan_type=plan_type,
                trigger_price=c.round_price(trigger), size=pos.size, position_side=side,
            )  # fmt: skip
            is_tp = role == "take_profit"
            req = OrderRequest(
                symbol=from_weex_symbol(wsym), side=Side.SELL if pos.is_long else Side.BUY,
                type=OrderType.LIMIT if is_tp else OrderType.STOP_MARKET,
                quantity=float(pos.size), price=float(c.round_price(trigger)) if is_tp else None,
                trigger_price=None if is_tp else float(c.round_price(trigger)),
                reduce_only=True, client_order_id=placed.client_oid,
            )  # fmt: skip
            self._local[placed.order_id] = _Local(wsym, req, plan=True, role=role,
                                                  parent_id=parent_id)  # fmt: skip
            ids.append(placed.order_id)
        return ids

    def move_stop(self, order_id: str, trigger: float) -> Order:
        """Move a server-side stop (keeps the exchange's stop equal to the desk's: pitfall 25)."""
        return self.modify(order_id, price=trigger)

    def close_position(self, symbol: str, *, reason: str = "close") -> list[str]:
        """Close the whole position on ``symbol``: cancel its normal and plan orders, then a
        type 3/4 market order; a refusal is retried after ``close_cooldown_s``; the last resort
        is ``closePositions``. Returns the closing order ids (empty when already flat)."""
        wsym = to_weex_symbol(symbol)
        self.local_stops.pop(symbol, None)
        last_error: WeexBusinessError | None = None
        for attempt in range(self.config.close_attempts):
            self._cooldown(wsym)
            pos = next((p for p in self.client.positions(wsym) if p.size > 0), None)
            if pos is None:
                return []
            self.client.cancel_all(wsym, "plan")
            self.client.cancel_all(wsym, "normal")
            self._last_close[wsym] = self._clock()
            oid = self.new_client_oid("aqc")
            req = OrderRequest(
                symbol=from_weex_symbol(wsym), side=Side.SELL if pos.is_long else Side.BUY,
                type=OrderType.MARKET, quantity=float(pos.size), reduce_only=True,
                client_order_id=oid,
            )  # fmt: skip
            try:
                placed = self.client.place_order(
                    symbol=wsym, client_oid=oid, size=pos.size,
                    type=3 if pos.is_long else 4, match_price=1,
                    price=self.client.ticker(wsym).last, order_type=0,
                )  # fmt: skip
            except WeexBusinessError as exc:
                last_error = exc
                self.notes.append(
                    f"close {wsym} attempt {attempt + 1} refused: {exc.code} {exc.msg}"
                )
                continue
            self._local[placed.order_id] = _Local(wsym, req, role=reason)
            self.closed_orders[symbol] = [placed.order_id]
            return [placed.order_id]
        rows = self.client.close_positions(wsym)
        ids = [str(r.get("successOrderId")) for r in rows if r.get("success")]
        self.closed_orders[symbol] = ids
        if not ids and last_error is not None:
            raise OrderRejected("symbol", symbol, f"could not close: WEEX {last_error.code}: "
                                f"{last_error.msg}")  # fmt: skip
        return ids

    def _cooldown(self, wsym: str) -> None:
        last = self._last_close.get(wsym)
        if last is None:
            return
        wait = self.config.close_cooldown_s - (self._clock() - last)
        if wait > 0:
            self._sleep(wait)

    def check_local_stops(
        self,
        symbol: str,
        *,
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> str | None:
        """The last resort: when the position has no working server-side stop and the last
        price has crossed ``stop_loss`` or ``take_profit`` (default: the levels WEEX refused to
        hold, ``local_stops``), close it. Returns what was done."""
        if stop_loss is None and take_profit is None:
            stop_loss, take_profit = self.local_stops.get(symbol, (None, None))
        wsym = to_weex_symbol(symbol)
        pos = next((p for p in self.client.positions(wsym) if p.size > 0), None)
        if pos is None:
            return None
        if any(o.role == "stop_loss" or o.request.type is OrderType.STOP_MARKET
               for o in self.open_orders(symbol)):  # fmt: skip
            return None
        last = float(self.client.ticker(wsym).last)
        long_ = pos.is_long
        hit_sl = stop_loss is not None and (last <= stop_loss if long_ else last >= stop_loss)
        hit_tp = take_profit is not None and (last >= take_profit if long_ else last <= take_profit)
        if not (hit_sl or hit_tp):
            return None
        why = "local_stop_loss" if hit_sl else "local_take_profit"
        self.close_position(symbol, reason=why)
        return why

    def enforce_max_hold(self, now_ms: int | None = None) -> list[str]:
        """Close every position held longer than ``max_hold_s``; returns the symbols closed."""
        if self.config.max_hold_s is None:
            return []
        now_ms = now_ms if now_ms is not None else int(self._clock() * 1000)
        closed = []
        for p in self.client.positions():
            held_ms = now_ms - p.created_time if p.created_time is not None else 0
            if p.size > 0 and p.symbol and held_ms > self.config.max_hold_s * 1000:
                self.close_position(from_weex_symbol(p.symbol), reason="max_hold")
                closed.append(from_weex_symbol(p.symbol))
        return closed

    def reconcile(self) -> Reconciliation:
        """Read positions, open orders and TP/SL orders from WEEX and recover the stop roles
        (a trigger on the losing side of the entry is a stop loss)."""
        positions = self.positions()
        managed = []
        for pos in positions:
            wsym = to_weex_symbol(pos.symbol)
            m = ManagedPosition(pos)
            for plan in self.client.current_plans(wsym):
                trig = float(plan.trigger_price or 0)
                losing = trig < pos.entry_price if pos.quantity > 0 else trig > pos.entry_price
                role = "stop_loss" if losing else "take_profit"
                local = self._local.setdefault(plan.order_id, _Local(wsym, None, plan=True))
                local.plan, local.role = True, local.role or role
                (m.stop_loss_ids if local.role == "stop_loss" else m.take_profit_ids).append(
                    plan.order_id
                )
            managed.append(m)
        return Reconciliation(managed, self.open_orders(), self.balance())


def _ms_to_dt(value: str | int | None) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(str(value)) / 1000, UTC)


def _request_from(o: WeexOrder) -> OrderRequest:
    """An ``OrderRequest`` rebuilt from a WEEX order this process did not place."""
    t = o.type
    opening = t.startswith("open_")
    side = Side.BUY if t.endswith("_long") == opening else Side.SELL
    market = o.order_type == "ioc" and o.price == 0
    return OrderRequest(
        symbol=from_weex_symbol(o.symbol),
        side=side,
        type=OrderType.MARKET if market else OrderType.LIMIT,
        quantity=float(o.size),
        price=None if market else float(o.price) or None,
        reduce_only=t.startswith("close_") or "liquidate" in t,
        stop_loss=float(o.preset_stop_loss_price) if o.preset_stop_loss_price else None,
        take_profit=float(o.preset_take_profit_price) if o.preset_take_profit_price else None,
        client_order_id=o.client_oid,
    )
