"""Trading costs as pure functions: fees, taker slippage, perpetual funding.

Fees are charged per fill on its notional (maker rate for a resting limit filled at its own
price, taker rate for everything else). Slippage hits taker fills only and never leaves the bar.
Funding is settled every 8 hours at 00:00, 08:00 and 16:00 UTC (WEEX's schedule).
"""

from __future__ import annotations

import math

MAKER = "MAKER"
TAKER = "TAKER"

NS_PER_MINUTE = 60_000_000_000
FUNDING_INTERVAL_NS = 8 * 60 * NS_PER_MINUTE  # epoch-aligned: 00:00, 08:00, 16:00 UTC


def fee(quantity: float, price: float, rate: float) -> float:
    """``|quantity| x price x rate`` in the quote currency (a negative rate is a rebate)."""
    return abs(quantity) * price * rate


def slipped_price(
    price: float, side_sign: int, slippage_bps: float, low: float, high: float, tick: float = 0.0
) -> float:
    """A taker's price moved ``slippage_bps`` against it, clamped to the bar's ``[low, high]``.

    ``side_sign`` is +1 for a buy (pays more), -1 for a sell (receives less). With a ``tick``
    the slipped price is moved onto the tick grid, against the taker (``price_on_tick``), before
    the clamp: a venue fills at book prices.
    """
    px = price * (1.0 + side_sign * slippage_bps * 1e-4)
    if tick > 0.0 and slippage_bps != 0.0:
        px = price_on_tick(px, side_sign, tick)
    if px > high:
        return high
    if px < low:
        return low
    return px


def price_on_tick(price: float, side_sign: int, tick: float) -> float:
    """``price`` on the ``tick`` grid, rounded against the taker (a buy up, a sell down); a
    price within float noise of a tick is that tick."""
    steps = price / tick
    n = math.ceil(steps - 1e-9) if side_sign > 0 else math.floor(steps + 1e-9)
    return round(n * tick, max(0, 2 - math.floor(math.log10(tick))))


def funding_payment(quantity: float, price: float, rate: float) -> float:
    """Cash the position receives at a funding time: ``-quantity x price x rate``.

    ``quantity`` is signed (long > 0), so a positive rate debits longs and credits shorts.
    """
    return -quantity * price * rate


def next_funding_after(ts_ns: int) -> int:
    """The first funding time strictly after ``ts_ns`` (nanoseconds since the epoch, UTC)."""
    return (ts_ns // FUNDING_INTERVAL_NS + 1) * FUNDING_INTERVAL_NS
