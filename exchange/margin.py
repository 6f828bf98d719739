"""Isolated-margin position accounting as pure functions over FIFO lots.

A position is a list of lots ``(quantity, price, margin)`` with signed quantity (long > 0),
oldest first. Reducing fills close the oldest lots first (FIFO, NFA 2-43b), which fixes each
fill's realised PnL; the entry price is the average of the lots still open. Each lot carries
the margin posted when it opened (``notional / leverage``), released pro rata as it closes.
"""

from __future__ import annotations

from typing import NamedTuple


class Lot(NamedTuple):
    """One opening fill still (partly) open."""

    quantity: float  # signed: long > 0, short < 0
    price: float
    margin: float


class FillEffect(NamedTuple):
    """What one fill did to a position."""

    lots: list[Lot]
    realized_pnl: float  # gross, before fees
    closed_quantity: float  # unsigned quantity that closed existing lots
    opened_quantity: float  # unsigned quantity that opened a new lot
    margin_released: float
    margin_posted: float
    closed_lots: list[tuple[float, float, float]]  # (quantity, lot entry price, gross PnL), FIFO


_EPS = 1e-12


def unrealized_pnl(quantity: float, entry_price: float, price: float) -> float:
    """PnL of a signed ``quantity`` entered at ``entry_price`` and marked at ``price``."""
    return quantity * (price - entry_price)


# The one-lot branches below give the same floats as the sums (0 + x == x): a backtest holds
# one lot almost always, and these run several times per fill.


def position_quantity(lots: list[Lot]) -> float:
    """The net signed quantity of the lots."""
    n = len(lots)
    if n == 1:
        return lots[0][0]
    if n == 0:
        return 0  # what sum() of nothing gives
    return sum(lot.quantity for lot in lots)


def entry_price(lots: list[Lot]) -> float:
    """The average price of the lots still open (0.0 when flat)."""
    if len(lots) == 1:
        qty, price, _ = lots[0]
        if abs(qty) < _EPS:
            return 0.0
        return qty * price / qty
    if not lots:
        return 0.0
    qty = sum(lot.quantity for lot in lots)
    if abs(qty) < _EPS:
        return 0.0
    return sum(lot.quantity * lot.price for lot in lots) / qty


def position_margin(lots: list[Lot]) -> float:
    """The isolated margin posted for the lots still open."""
    n = len(lots)
    if n == 1:
        return lots[0][2]
    if n == 0:
        return 0
    return sum(lot.margin for lot in lots)


def apply_fill(
    lots: list[Lot], signed_quantity: float, price: float, leverage: float, average: bool = False
) -> FillEffect:
    """Apply one fill (``signed_quantity`` > 0 buys) to the lots, FIFO; returns the new lots.

    A fill larger than the opposite position closes it and opens the rest on the other side.
    ``average``: average-entry-price accounting (what WEEX and Binance do): lots on one side
    are merged into one at their average price (``average_lots``), so a reduction realises
    against the average, not the oldest lot.
    """
    if not lots:  # opening from flat: the loop below would not run
        opened = abs(signed_quantity)
        if opened > _EPS * max(1.0, opened):
            posted = opened * price / leverage
            return FillEffect(
                [Lot(signed_quantity, price, posted)], 0.0, 0.0, opened, 0.0, posted, []
            )
        return FillEffect([], 0.0, 0.0, 0.0, 0.0, 0.0, [])
    remaining = signed_quantity
    realized = 0.0
    closed = 0.0
    released = 0.0
    closed_lots: list[tuple[float, float, float]] = []
    out = list(lots)
    while out and abs(remaining) > _EPS and (out[0].quantity > 0) != (remaining > 0):
        lot = out[0]
        take = min(abs(lot.quantity), abs(remaining))
        sign = 1.0 if lot.quantity > 0 else -1.0
        pnl = sign * take * (price - lot.price)
        realized += pnl
        closed_lots.append((take, lot.price, pnl))
        share = take / abs(lot.quantity)
        released += lot.margin * share
        closed += take
        left = abs(lot.quantity) - take
        if left <= _EPS * max(1.0, abs(lot.quantity)):
            out.pop(0)
        else:
            out[0] = Lot(sign * left, lot.price, lot.margin * (1.0 - share))
        remaining += sign * take
    opened = 0.0
    posted = 0.0
    if abs(remaining) > _EPS * max(1.0, abs(signed_quantity)):
        opened = abs(remaining)
        posted = opened * price / leverage
        out.append(Lot(remaining, price, posted))
        if average and len(out) > 1:
            out = average_lots(out)
    return FillEffect(out, realized, closed, opened, released, posted, closed_lots)


def average_lots(lots: list[Lot]) -> list[Lot]:
    """One lot holding the whole (one-sided) position at its average entry price and with all
    its margin."""
    qty = sum(lot.quantity for lot in lots)
    return [
        Lot(
            qty,
            sum(lot.quantity * lot.price for lot in lots) / qty,
            sum(lot.margin for lot in lots),
        )
    ]


def add_margin(lots: list[Lot], amount: float) -> list[Lot]:
    """The lots with ``amount`` added to their margin, shared by quantity (funding paid from or
    to the isolated margin)."""
    total = sum(abs(lot.quantity) for lot in lots)
    return [
        Lot(lot.quantity, lot.price, lot.margin + amount * abs(lot.quantity) / total)
        for lot in lots
    ]


def maintenance(
    tiers: tuple[tuple[float, float, float], ...], notional: float, default_rate: float
) -> tuple[float, float]:
    """``(rate, amount)`` of the maintenance tier holding ``notional``: tiers are
    ``(notional_cap, rate, cumulative_amount)`` in rising order (Binance's leverage brackets);
    maintenance margin = ``notional x rate - amount``. No tiers: ``(default_rate, 0)``."""
    for cap, rate, amount in tiers:
        if notional <= cap:
            return rate, amount
    if tiers:
        return tiers[-1][1], tiers[-1][2]
    return default_rate, 0.0


def liquidation_price(
    quantity: float,
    entry: float,
    margin: float,
    maintenance_margin_rate: float,
    maintenance_amount: float = 0.0,
) -> float | None:
    """The mark at which isolated equity ``margin + PnL`` falls to the maintenance margin
    ``mmr x notional - amount`` (``amount``: the tier's cumulative deduction).

    Long: ``(entry*q - margin - amount) / (q*(1-mmr))``; short:
    ``(entry*q + margin + amount) / (q*(1+mmr))`` with ``q = |quantity|``. None when flat or
    when a long cannot be liquidated (price <= 0).
    """
    q = abs(quantity)
    if q < _EPS:
        return None
    if quantity > 0:
        px = (entry * q - margin - maintenance_amount) / (q * (1.0 - maintenance_margin_rate))
        return px if px > 0 else None
    return (entry * q + margin + maintenance_amount) / (q * (1.0 + maintenance_margin_rate))
