"""A brute-force reference walker of CONTRACT.md §4-§8, for the differential test.

One symbol, no shortcuts: every bar is walked, both intrabar paths ``O->H->L->C`` and
``O->L->H->C`` are run from a deep copy of the state on every bar, and the policy picks one.
It shares the engine's pure rule functions (``exchange.matching``, ``exchange.margin``,
``exchange.costs``: the rules themselves) and nothing of its bar loop (``_match``,
``_ambiguous``, ``_lone_exit``, ``_can_fire``, the level cache, the segment early exit).
Orders are validated by the engine (``place``) and mirrored here with the id it gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
from exchange.types import Order, OrderType

EPS = 1e-12


@dataclass
class ROrder:
    id: str
    seq: int
    side: int
    type: OrderType
    quantity: float
    price: float | None
    trigger: float | None
    reduce_only: bool
    leverage: float
    stop_loss: float | None
    take_profit: float | None
    live_from: int | None
    status: str = "NEW"
    filled: float = 0.0
    triggered: bool = False
    parent: str | None = None
    oco: str | None = None
    role: str | None = None
    arriving: bool = False


@dataclass
class RFill:
    id: str
    order_id: str
    side: int
    quantity: float
    price: float
    fee: float
    liquidity: str
    slippage: float
    ts: int
    realized_pnl: float


@dataclass
class RState:
    wallet: float
    lots: list[Lot] = field(default_factory=list)
    orders: list[ROrder] = field(default_factory=list)  # every order, in submission order
    fills: list[RFill] = field(default_factory=list)
    funding: list[tuple[int, float]] = field(default_factory=list)
    position_realized: float = 0.0
    funding_due: int | None = None
    order_seq: int = 0
    fill_seq: int = 0
    mark: float | None = None
    last_ts: int | None = None


class Reference:
    """The reference venue: ``add`` mirrors an accepted order, ``bar`` walks one bar."""

    def __init__(self, config: ExchangeConfig, tick: float, tiers: tuple = ()) -> None:
        self.cfg = config
        self.tick = tick
        self.tiers = tiers
        self.s = RState(wallet=config.starting_balance)

    def add(self, o: Order) -> None:
        r = o.request
        s = self.s
        s.order_seq = int(o.id.split("-")[1])
        s.orders.append(
            ROrder(
                o.id,
                s.order_seq,
                1 if r.side.value == "BUY" else -1,
                OrderType(r.type),
                r.quantity,
                r.price,
                r.trigger_price,
                r.reduce_only,
                r.leverage,
                r.stop_loss,
                r.take_profit,
                None if s.last_ts is None else s.last_ts + NS_PER_MINUTE,
                role="entry" if (r.stop_loss is not None or r.take_profit is not None) else None,
            )
        )

    # ------------------------------------------------------------------ the bar

    def bar(self, ts: int, o: float, h: float, low: float, c: float) -> None:
        s = self.s
        end = ts + NS_PER_MINUTE
        if s.lots and s.funding_due is not None:
            while s.funding_due < end:
                amount = funding_payment(position_quantity(s.lots), o, self.cfg.funding_rate)
                s.wallet += amount
                if self.cfg.funding_from_margin:
                    s.lots = add_margin(s.lots, amount)
                s.funding.append((s.funding_due, amount))
                s.funding_due += FUNDING_INTERVAL_NS
        for w in s.orders:
            if w.status == "NEW":
                w.arriving = w.live_from is None or ts <= w.live_from
        runs = []
        for high_first in (True, False):
            st = _copy(s)
            base = st.wallet
            cur = o
            for nxt in (o, h, low, c) if high_first else (o, low, h, c):
                self._walk(st, ts, cur, nxt, low, h)
                cur = nxt
            equity = st.wallet - base + sum(unrealized_pnl(q, p, c) for q, p, _ in st.lots)
            runs.append((st, equity))
        (a, ea), (b, eb) = runs
        self.s = a if matching.pick_path(ea, eb, self.cfg.sl_tp_same_bar) else b
        for w in self.s.orders:
            w.arriving = False
        self.s.mark = c
        self.s.last_ts = ts

    def _walk(self, st: RState, ts: int, cur: float, end: float, low: float, high: float) -> None:
        while True:
            best: tuple[float, int, int] | None = None
            chosen: tuple[ROrder | None, float, bool] | None = None
            for w in st.orders:
                if w.status != "NEW":
                    continue
                if w.type is OrderType.MARKET:
                    point, breached, prio = cur, True, matching.PRIORITY_OTHER
                else:
                    at_limit = w.type is OrderType.LIMIT or (
                        w.type is OrderType.STOP_LIMIT and w.triggered
                    )
                    level = w.price if at_limit else w.trigger
                    assert level is not None
                    hit = matching.touch(level, (w.side > 0) == at_limit, cur, end)
                    if hit is None:
                        w.arriving = False
                        continue
                    point, breached = hit
                    if not breached:
                        w.arriving = False
                    prio = matching.PRIORITY_OTHER if at_limit else matching.PRIORITY_STOP
                key = (abs(point - cur), prio, w.seq)
                if best is None or key < best:
                    best, chosen = key, (w, point, breached)
            if st.lots:
                q = position_quantity(st.lots)
                e = entry_price(st.lots)
                rate, amount = maintenance(self.tiers, abs(q) * e, self.cfg.maintenance_margin_rate)
                liq = liquidation_price(q, e, position_margin(st.lots), rate, amount)
                hit = None if liq is None else matching.touch(liq, q > 0, cur, end)
                if hit is not None:
                    key = (abs(hit.point - cur), matching.PRIORITY_LIQUIDATION, 0)
                    if best is None or key < best:
                        best, chosen = key, (None, hit.point, True)
            if chosen is None:
                return
            w, point, breached = chosen
            if w is None:
                self._liquidate(st, ts, point)
            else:
                self._fire(st, ts, w, point, breached, low, high)
            cur = point

    def _fire(
        self,
        st: RState,
        ts: int,
        w: ROrder,
        point: float,
        breached: bool,
        low: float,
        high: float,
    ) -> None:
        bps = self.cfg.slippage_bps
        if w.type is OrderType.STOP_LIMIT and not w.triggered:
            w.triggered = True
            w.arriving = True
            return
        if w.type in (OrderType.MARKET, OrderType.STOP_MARKET):
            if w.type is OrderType.STOP_MARKET:
                w.triggered = True
            px = slipped_price(point, w.side, bps, low, high, self.tick)
            self._execute(st, ts, w, px, TAKER, point, point)
            return
        assert w.price is not None
        ex = matching.limit_execution(
            w.price, w.side, matching.Touch(point, breached), w.arriving, bps, low, high, self.tick
        )
        self._execute(st, ts, w, ex.price, ex.liquidity, ex.reference, point)

    def _available(self, st: RState, exclude: str) -> float:
        """Isolated margin: wallet less position margin and reservations (no uPnL)."""
        reserved = 0.0
        for o in st.orders:
            if o.status != "NEW" or o.reduce_only or o.id == exclude:
                continue
            ref = o.price if o.price is not None else (o.trigger or st.mark or 0.0)
            reserved += (o.quantity - o.filled) * ref / o.leverage
        return st.wallet - position_margin(st.lots) - reserved

    def _execute(
        self,
        st: RState,
        ts: int,
        w: ROrder,
        px: float,
        liquidity: str,
        ref: float,
        point: float,
    ) -> None:
        cfg = self.cfg
        pos = position_quantity(st.lots)
        flat = abs(pos) < EPS
        qty = w.quantity - w.filled
        if w.reduce_only:
            if flat or (pos > 0) == (w.side > 0):
                w.status = "CANCELED"
                return
            if qty > abs(pos) + EPS:
                qty = abs(pos)
                w.quantity = w.filled + qty
        else:
            opening = qty if (flat or (pos > 0) == (w.side > 0)) else max(0.0, qty - abs(pos))
            if opening > EPS:
                need = opening * px / w.leverage + fee(qty, px, cfg.taker_fee)
                if need > self._available(st, w.id) + 1e-9:
                    w.status = "CANCELED"
                    return
        cost = fee(qty, px, cfg.maker_fee if liquidity == MAKER else cfg.taker_fee)
        eff = apply_fill(
            st.lots, w.side * qty, px, w.leverage, self.cfg.position_accounting == "average"
        )
        st.lots = eff.lots
        st.wallet += eff.realized_pnl - cost
        w.filled += qty
        w.status = "FILLED"
        st.fill_seq += 1
        st.fills.append(
            RFill(
                f"F-{st.fill_seq:06d}",
                w.id,
                w.side,
                qty,
                px,
                cost,
                liquidity,
                abs(px - ref) * qty,
                ts,
                eff.realized_pnl,
            )
        )
        flipped = not flat and bool(st.lots) and (st.lots[0].quantity > 0) != (pos > 0)
        if flat or flipped:
            st.position_realized = 0.0
        else:
            st.position_realized += eff.realized_pnl
        if not st.lots:
            st.funding_due = None
        elif flat or flipped or st.funding_due is None:
            st.funding_due = next_funding_after(ts)
        if w.stop_loss is not None or w.take_profit is not None:
            sl = tp = None
            if w.stop_loss is not None:
                sl = self._child(st, w, ts, OrderType.STOP_MARKET, qty, None, w.stop_loss)
                sl.role = "stop_loss"
            if w.take_profit is not None:
                tp = self._child(st, w, ts, OrderType.LIMIT, qty, w.take_profit, None)
                tp.role = "take_profit"
            if sl is not None and tp is not None:
                sl.oco, tp.oco = tp.id, sl.id
        if w.oco is not None:
            for p in st.orders:
                if p.id == w.oco and p.status == "NEW":
                    p.status = "CANCELED"
        if not st.lots:
            self._cancel_reduce_only(st)

    @staticmethod
    def _child(
        st: RState,
        parent: ROrder,
        ts: int,
        type_: OrderType,
        qty: float,
        price: float | None,
        trigger: float | None,
    ) -> ROrder:
        st.order_seq += 1
        child = ROrder(
            f"O-{st.order_seq:06d}",
            st.order_seq,
            -parent.side,
            type_,
            qty,
            price,
            trigger,
            True,
            parent.leverage,
            None,
            None,
            ts,
            parent=parent.id,
            arriving=True,
        )
        st.orders.append(child)
        return child

    def _liquidate(self, st: RState, ts: int, point: float) -> None:
        q = position_quantity(st.lots)
        margin = position_margin(st.lots)
        st.order_seq += 1
        oid = f"O-{st.order_seq:06d}"
        st.orders.append(
            ROrder(
                oid,
                st.order_seq,
                -1 if q > 0 else 1,
                OrderType.MARKET,
                abs(q),
                None,
                None,
                True,
                1.0,
                None,
                None,
                ts,
                status="FILLED",
                filled=abs(q),
                role="liquidation",
            )
        )
        eff = apply_fill(st.lots, -q, point, 1.0)
        margin = max(margin, 0.0)
        realized = max(eff.realized_pnl, -margin)
        liq_fee = margin + realized
        st.lots = []
        st.wallet += realized - liq_fee
        st.fill_seq += 1
        st.fills.append(
            RFill(
                f"F-{st.fill_seq:06d}",
                oid,
                -1 if q > 0 else 1,
                abs(q),
                point,
                liq_fee,
                TAKER,
                0.0,
                ts,
                realized,
            )
        )
        st.position_realized += realized
        st.funding_due = None
        self._cancel_reduce_only(st)

    @staticmethod
    def _cancel_reduce_only(st: RState) -> None:
        for p in st.orders:
            if p.reduce_only and p.status == "NEW":
                p.status = "CANCELED"


def _copy(s: RState) -> RState:
    """An independent copy of the state (orders are the only mutable records; fills, lots and
    funding entries are never changed once made)."""
    return replace(
        s,
        lots=list(s.lots),
        orders=[replace(o) for o in s.orders],
        fills=list(s.fills),
        funding=list(s.funding),
    )
