"""Entry validation: the checks ``place`` and ``modify`` run before anything changes.

Each raises ``OrderRejected`` (field, value, ``field: problem``) and changes nothing; CONTRACT.md
§3 lists them with their tests. The unknown-symbol lookup (``resolve_book``) is here, once.
"""

from __future__ import annotations

import math

from exchange.errors import OrderRejected
from exchange.instruments import Instrument, resolve
from exchange.records import Book, fmt


def resolve_book(symbol: str, instruments: dict[str, Instrument]) -> Book:
    """A new (unregistered) book for ``symbol``, or V1: ``symbol: unknown symbol …``."""
    inst = resolve(symbol, instruments)
    if inst is None:
        known = ", ".join(sorted(instruments))
        raise OrderRejected("symbol", symbol, f"unknown symbol {symbol!r} (known: {known})")
    return Book(symbol, inst)


def check_quantity(inst: Instrument, q: float) -> float:
    """``q`` checked and snapped onto the size grid (float noise removed)."""
    if not (isinstance(q, int | float) and math.isfinite(q) and q > 0):
        raise OrderRejected("quantity", q, f"must be > 0, got {q}")
    if not inst.on_step(q):
        raise OrderRejected(
            "quantity",
            q,
            f"{fmt(q)} is not a multiple of the {inst.symbol} size step {fmt(inst.step_size)}",
        )
    if q < inst.min_quantity - 1e-12:
        raise OrderRejected(
            "quantity",
            q,
            f"{fmt(q)} is below the {inst.symbol} minimum quantity {fmt(inst.min_quantity)}",
        )
    return inst.snap_quantity(q)


def check_price(inst: Instrument, name: str, px: float) -> float:
    """V4: ``px`` > 0 and on the tick; returned snapped onto it (a value already on the grid to
    float precision is returned as given, the usual case)."""
    if not (math.isfinite(px) and px > 0):
        raise OrderRejected(name, px, f"must be > 0, got {px}")
    ratio = px / inst.tick_size
    off = abs(ratio - round(ratio))
    if off <= 1e-9:
        return float(px)
    if off > 1e-6:  # Instrument.on_tick's tolerance
        raise OrderRejected(
            name, px, f"{fmt(px)} is not on the {inst.symbol} tick {fmt(inst.tick_size)}"
        )
    return inst.round_price(px)


def check_stop_side(book: Book, side: int, trigger: float, reject_immediate: bool) -> None:
    """V6/V7: a stop needs a market price, and (unless allowed) its trigger not yet passed."""
    mark = book.mark
    if mark is None:
        raise OrderRejected(
            "symbol", book.symbol, f"no market price for {book.symbol} yet; feed a bar first"
        )
    if not reject_immediate:
        return
    if side > 0 and trigger <= mark:
        raise OrderRejected(
            "trigger_price",
            trigger,
            f"a BUY stop at {fmt(trigger)} must be above the market price {fmt(mark)} "
            "(it would trigger immediately)",
        )
    if side < 0 and trigger >= mark:
        raise OrderRejected(
            "trigger_price",
            trigger,
            f"a SELL stop at {fmt(trigger)} must be below the market price {fmt(mark)} "
            "(it would trigger immediately)",
        )


def check_bracket(
    side: int, ref: float, stop_loss: float | None, take_profit: float | None
) -> None:
    name = "BUY" if side > 0 else "SELL"
    if stop_loss is not None and (stop_loss >= ref if side > 0 else stop_loss <= ref):
        where = "below" if side > 0 else "above"
        raise OrderRejected(
            "stop_loss",
            stop_loss,
            f"{fmt(stop_loss)} must be {where} the {name} entry price {fmt(ref)}",
        )
    if take_profit is not None and (take_profit <= ref if side > 0 else take_profit >= ref):
        where = "above" if side > 0 else "below"
        raise OrderRejected(
            "take_profit",
            take_profit,
            f"{fmt(take_profit)} must be {where} the {name} entry price {fmt(ref)}",
        )


def check_size(inst: Instrument, quantity: float, ref: float, reduce_only: bool) -> None:
    """The instrument's maximum order quantity, and its minimum notional (``quantity x``
    the limit, trigger or mark price; reduce-only orders are exempt, as on Binance)."""
    if inst.max_quantity is not None and quantity > inst.max_quantity + 1e-12:
        raise OrderRejected(
            "quantity",
            quantity,
            f"{fmt(quantity)} is above the {inst.symbol} maximum order quantity "
            f"{fmt(inst.max_quantity)}",
        )
    if not reduce_only and quantity * ref < inst.min_notional - 1e-9:
        raise OrderRejected(
            "quantity",
            quantity,
            f"{fmt(quantity)} {inst.symbol} at {fmt(ref)} is a notional of "
            f"{quantity * ref:.2f}, below the minimum {fmt(inst.min_notional)}",
        )


def check_band(book: Book, side: int, price: float) -> None:
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
            f"a BUY at {fmt(price)} is more than {band:.0%} above the mark {fmt(mark)}",
        )
    if side < 0 and price < mark * (1.0 - band) - 1e-12:
        raise OrderRejected(
            "price",
            price,
            f"a SELL at {fmt(price)} is more than {band:.0%} below the mark {fmt(mark)}",
        )
