"""The bar walk: what one 1-minute bar does to a symbol's book (CONTRACT.md §4-§9).

``BarWalk`` is the base of ``VirtualExchange``: funding due in the bar, the open step, the
intrabar path(s) ``O -> H -> L -> C`` / ``O -> L -> H -> C`` (both run from one state when the
outcome can depend on the order, and the policy picks), fills, bracket children, OCO,
liquidation, then the commit and the cached levels that let quiet bars be skipped.
"""

from __future__ import annotations

import math

from exchange import matching
from exchange.config import ExchangeConfig
from exchange.costs import (
    FUNDING_INTERVAL_NS,
    MAKER,
    TAKER,
    fee,
    funding_payment,
    next_funding_after,
    slipped_price,
)
from exchange.instruments import Instrument
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
from exchange.records import (
    Book,
    FillRec,
    FundingRec,
    OrderRec,
    Sim,
    clone_order,
    fill_record,
    set_working,
)
from exchange.state_machine import OPEN, OrderEvent, next_status
from exchange.types import OrderStatus, OrderType

_INF = math.inf
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP_MARKET = OrderType.STOP_MARKET
_STOP_LIMIT = OrderType.STOP_LIMIT
_QTY_EPS = 1e-12
_NEW = OrderStatus.NEW
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_ACCEPTED = next_status("", None, OrderEvent.ACCEPTED)
_P_STOP = matching.PRIORITY_STOP
_P_LIQ = matching.PRIORITY_LIQUIDATION
_P_OTHER = matching.PRIORITY_OTHER


class BarWalk:
    """The bar loop and the money it moves; ``VirtualExchange`` adds entry, reads and state."""

    config: ExchangeConfig
    _average: bool
    _wallet: float
    _books: dict[str, Book]
    _orders: dict[str, OrderRec]
    _fills: list[FillRec]
    _funding: list[FundingRec]
    _funding_rates: dict[str, dict[int, float]]
    _mark_prices: dict[str, dict[int, float]]
    _order_seq: int
    _fill_seq: int
    _now_ns: int | None

    def _cancel(self, o: OrderRec, reason: str, ts_ns: int | None = None) -> None:
        o.status = next_status(o.id, o.status, OrderEvent.CANCELED)
        o.reason = reason
        o.updated_ns = self._now_ns if ts_ns is None else ts_ns

    # ------------------------------------------------------------------ money

    def _available(
        self, exclude: str | None = None, book: Book | None = None, sim: Sim | None = None
    ) -> float:
        """``balance().available``, isolated: ``wallet - position margins - reservations``; no
        position's unrealised PnL counts. ``exclude``: leave one order's reservation out;
        ``sim``: ``book``'s state in the middle of a bar."""
        if sim is None:
            return self._wallet - self._margin_used() - self._reserved(exclude)
        return (
            self._wallet
            + sim.wallet_delta
            - self._margin_used(book, sim.lots)
            - self._reserved(exclude, book, sim.orders)
        )

    def _margin_used(self, book: Book | None = None, lots: list[Lot] | None = None) -> float:
        """The isolated margin of every position (``lots`` stand for ``book``'s)."""
        margin = 0.0
        for b in self._books.values():
            held = lots if b is book and lots is not None else b.lots
            if held:
                margin += position_margin(held)
        return margin

    def _unrealized(self) -> float:
        """Every position's unrealised PnL at its mark."""
        upnl = 0.0
        for b in self._books.values():
            if b.lots:
                q = position_quantity(b.lots)
                e = entry_price(b.lots)
                upnl += unrealized_pnl(q, e, b.mark if b.mark is not None else e)
        return upnl

    def _reserved(
        self,
        exclude: str | None = None,
        book: Book | None = None,
        orders: list[OrderRec] | None = None,
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

    def _settle_funding(self, book: Book, end_ns: int, price: float) -> None:
        """C3/C3b/C3c: settle every funding time before ``end_ns`` at the series' rate (else
        the constant) on the position's value at the stored mark price of that time (else
        ``price``, the bar's open: the last price)."""
        constant = self.config.funding_rate
        series = self._funding_rates.get(book.symbol)
        marks = self._mark_prices.get(book.symbol)
        qty = position_quantity(book.lots)
        due = book.funding_due
        assert due is not None
        while due < end_ns:
            rate = constant if series is None else series.get(due, constant)
            px = price if marks is None else marks.get(due, price)
            amount = funding_payment(qty, px, rate)
            self._wallet += amount
            if self.config.funding_from_margin:
                book.lots = add_margin(book.lots, amount)
            self._funding.append(FundingRec(book.symbol, due, rate, qty, px, amount))
            due += FUNDING_INTERVAL_NS
        book.funding_due = due
        if self.config.funding_from_margin:
            self._refresh(book)  # the liquidation price moved with the margin

    # ------------------------------------------------------------------ the bar

    def _match(
        self, book: Book, ts: int, o: float, h: float, low: float, c: float
    ) -> list[FillRec]:
        """Run the bar's path and commit it.

        Both paths start with the same zero-length step at the open, so it runs once, on the
        book's own order records. Only when the path order can matter (``_ambiguous``, judged
        on the state before the bar) and something is still left to fire inside ``[L, H]``
        after the open is the state copied and the two orders of H and L both walked.
        """
        lone = self._lone_exit(book, o, h, low)
        if lone is not None:
            # The bar's only event, on either path: ``lone`` reached mid-bar at its level.
            sim = Sim(
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
        sim = Sim(
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
    def _fork(sim: Sim) -> Sim:
        """An independent copy of a bar's working state (the orders are copied)."""
        return Sim(
            [clone_order(w) for w in sim.orders],
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
    def _can_fire(sim: Sim, h: float, low: float) -> bool:
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
            level: float = w.price if w.at_limit else w.trigger_price  # type: ignore[assignment]
            if low <= level <= h:
                return True
        return False

    def _segments(
        self,
        book: Book,
        sim: Sim,
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
    def _lone_exit(book: Book, o: float, h: float, low: float) -> OrderRec | None:
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
        lone: OrderRec | None = None
        for w in book.working:
            t = w.type
            if t is not _LIMIT and t is not _STOP_MARKET:
                return None  # STOP_LIMIT (or MARKET): the full walk
            at_limit = w.at_limit  # matching.works_at_limit
            level: float = w.price if at_limit else w.trigger_price  # type: ignore[assignment]
            below = (w.side > 0) == at_limit  # matching.fires_below
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
    def _ambiguous(sim: Sim, h: float, low: float) -> bool:
        """Can the path order change this bar's outcome? Judged on the state after the open
        step (an order the open gapped through has already fired or triggered there).

        Only one thing left that can happen, and nothing that can follow it, is path-free: a
        liquidation alone, or one LIMIT / STOP_MARKET (or triggered STOP_LIMIT) that is
        reduce-only and covers the whole position. An untriggered STOP_LIMIT in reach is two
        events (the trigger, then maybe its limit) and always ambiguous.
        """
        n = 0
        only: OrderRec | None = None
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
        self, book: Book, sim: Sim, ts: int, cur: float, end: float, low: float, high: float
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
            best: OrderRec | None = None
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
                    at_limit = w.at_limit  # matching.works_at_limit
                    level: float = w.price if at_limit else w.trigger_price  # type: ignore[assignment]
                    below = (w.side > 0) == at_limit  # matching.fires_below
                    prio = _P_OTHER if at_limit else _P_STOP
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
        book: Book,
        sim: Sim,
        ts: int,
        w: OrderRec,
        point: float,
        breached: bool,
        low: float,
        high: float,
    ) -> None:
        t = w.type
        if t is _STOP_LIMIT and w.triggered_ns is None:
            w.status = next_status(w.id, w.status, OrderEvent.TRIGGERED)
            w.triggered_ns = ts
            set_working(w)  # now it works at its limit
            w.arriving = True  # a limit that becomes live at the trigger point
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

    def _execute(
        self,
        book: Book,
        sim: Sim,
        ts: int,
        w: OrderRec,
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
                available = self._available(w.id, book, sim)
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
            fill_record(
                f"F-{sim.fill_seq:06d}", w, side, qty, px, cost, liquidity, ref, ts, realized
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
        self, book: Book, sim: Sim, ts: int, was_flat: bool, realized: float
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
        tiers = inst.maintenance_tiers
        if not tiers:
            return liquidation_price(
                q, e, position_margin(lots), self.config.maintenance_margin_rate
            )
        rate, amount = maintenance(tiers, abs(q) * e, self.config.maintenance_margin_rate)
        return liquidation_price(q, e, position_margin(lots), rate, amount)

    def _new_child(
        self,
        sim: Sim,
        parent: OrderRec,
        ts: int,
        type_: OrderType,
        qty: float,
        price: float | None,
        trigger: float | None,
        role: str,
    ) -> OrderRec:
        sim.order_seq += 1
        seq = sim.order_seq
        oid = f"O-{seq:06d}"
        child = OrderRec(
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
        set_working(child)
        sim.orders.append(child)
        return child

    def _spawn_children(self, sim: Sim, parent: OrderRec, qty: float, ts: int) -> None:
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

    def _liquidate(self, book: Book, sim: Sim, ts: int, point: float) -> None:
        """Close the whole position at ``point``; the wallet loses exactly the isolated margin."""
        q = position_quantity(sim.lots)
        margin = position_margin(sim.lots)
        sim.order_seq += 1
        oid = f"O-{sim.order_seq:06d}"
        liq_order = OrderRec(
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
        sim.fill_seq += 1
        sim.fills.append(
            fill_record(
                f"F-{sim.fill_seq:06d}",
                liq_order,
                liq_order.side,
                abs(q),
                point,
                liq_fee,
                TAKER,
                point,
                ts,
                realized,
            )
        )
        self._after_position_change(book, sim, ts, False, realized)
        for p in sim.orders:
            if p.reduce_only and p.status in OPEN:
                self._cancel(p, "reduce-only: position is flat", ts)

    def _commit(self, book: Book, sim: Sim) -> list[FillRec]:
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
        self._refresh(book, sim.liq, True)
        return sim.fills

    def _refresh(self, book: Book, liq: float | None = None, liq_known: bool = False) -> None:
        """Recompute the cached levels that decide whether a bar can change anything
        (``liq_known``: ``liq`` is already the liquidation price of ``book.lots``, as a bar's
        walk keeps it, so it is not computed again)."""
        below, above, pending = -_INF, _INF, False
        for w in book.working:
            t = w.type
            if t is _MARKET:
                pending = True
                continue
            at_limit = w.at_limit  # matching.works_at_limit
            level: float = w.price if at_limit else w.trigger_price  # type: ignore[assignment]
            if (w.side > 0) == at_limit:  # matching.fires_below
                if level > below:
                    below = level
            elif level < above:
                above = level
        book.liq = None
        lots = book.lots
        if lots:
            q = position_quantity(lots)
            if not liq_known:
                liq = self._liquidation_price(book.inst, lots)
            book.liq = liq
            if liq is not None:
                if q > 0:
                    below = max(below, liq)
                else:
                    above = min(above, liq)
        book.below, book.above, book.pending_market = below, above, pending
        book.levels = None
