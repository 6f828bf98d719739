"""Pure per-bar fill rules: where on a bar's path an order fires, at what price, maker or taker.

A 1-minute bar is walked as the path ``O -> X1 -> X2 -> C`` with ``{X1, X2} = {H, L}``: first a
zero-length step at the open (the gap from the previous close), then three monotone segments.
Every price in ``[L, H]`` is visited on either path; only the order of visits differs, which
matters for contingent orders (an OCO pair, bracket children created mid-bar, liquidation).
The exchange runs both paths when the outcome can depend on it and keeps the one the policy
picks: ``pessimistic`` (default) keeps the lower end-of-bar equity, ``optimistic`` the higher;
a tie keeps ``O -> H -> L -> C``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from exchange.costs import MAKER, TAKER, slipped_price
from exchange.types import OrderType

IntrabarPolicy = Literal["pessimistic", "optimistic"]

# Priority of events at one price point: protective stops first, then liquidation, then the rest
# (limits, market orders), each group in submission order.
PRIORITY_STOP = 0
PRIORITY_LIQUIDATION = 1
PRIORITY_OTHER = 2


class Touch(NamedTuple):
    """Where a level fires along a move: at ``point``; ``breached`` when it was already passed
    at the move's start (a gap, or an order that is marketable when it becomes live)."""

    point: float
    breached: bool


class Execution(NamedTuple):
    """A fill price, its liquidity and the reference price slippage is measured from."""

    price: float
    liquidity: str
    reference: float


def works_at_limit(type_: OrderType, triggered_ns: int | None) -> bool:
    """The working-level rule: a LIMIT, or a STOP_LIMIT once triggered, works at its limit
    price (firing at or below it for a buy); anything else at its trigger (a sell stop firing
    at or below it)."""
    return type_ is OrderType.LIMIT or (type_ is OrderType.STOP_LIMIT and triggered_ns is not None)


def working_level(
    type_: OrderType, price: float | None, trigger_price: float | None, triggered_ns: int | None
) -> float:
    """The price at which an open (non-market) order fires next (``works_at_limit``)."""
    level = price if works_at_limit(type_, triggered_ns) else trigger_price
    assert level is not None
    return level


def fires_below(type_: OrderType, side_sign: int, triggered_ns: int | None) -> bool:
    """True when the order fires as the price falls to its working level: a buy working at its
    limit, or a sell stop; False for a sell limit or a buy stop."""
    return (side_sign > 0) == works_at_limit(type_, triggered_ns)


def bar_path(
    open_: float, high: float, low: float, close: float, high_first: bool
) -> tuple[float, float, float, float]:
    """The four points of a bar's intrabar path."""
    return (open_, high, low, close) if high_first else (open_, low, high, close)


def touch(level: float, fires_below: bool, start: float, end: float) -> Touch | None:
    """Does a move from ``start`` to ``end`` reach ``level``?

    ``fires_below``: the level fires when the price is at or below it (a buy limit, a sell stop,
    a long's liquidation); otherwise at or above it (a sell limit, a buy stop, a short's
    liquidation). A touch counts: a bar whose low equals a buy limit fills it.
    """
    if fires_below:
        if start <= level:
            return Touch(start, True)
        if end <= level:
            return Touch(level, False)
        return None
    if start >= level:
        return Touch(start, True)
    if end >= level:
        return Touch(level, False)
    return None


def market_execution(
    point: float, side_sign: int, slippage_bps: float, low: float, high: float, tick: float = 0.0
) -> Execution:
    """A market or stop-market order firing at ``point``: taker, slipped, kept inside the bar."""
    return Execution(slipped_price(point, side_sign, slippage_bps, low, high, tick), TAKER, point)


def limit_execution(
    limit: float,
    side_sign: int,
    hit: Touch,
    arriving: bool,
    slippage_bps: float,
    low: float,
    high: float,
    tick: float = 0.0,
) -> Execution:
    """A limit (or a triggered stop-limit) reached on the path.

    Arriving and already marketable: taker at the current point (price improvement for an
    aggressive order), slipped but never worse than the limit. Otherwise it was resting in the
    book: maker at its own price, with no improvement even when the open gapped through it.
    """
    if hit.breached and arriving:
        px = slipped_price(hit.point, side_sign, slippage_bps, low, high, tick)
        px = min(px, limit) if side_sign > 0 else max(px, limit)
        return Execution(px, TAKER, hit.point)
    return Execution(limit, MAKER, limit)


def pick_path(equity_high_first: float, equity_low_first: float, policy: IntrabarPolicy) -> bool:
    """True to keep the ``O -> H -> L -> C`` run. Ties (within float noise) keep it."""
    tol = 1e-9 * max(1.0, abs(equity_high_first))
    if policy == "pessimistic":
        return not equity_low_first < equity_high_first - tol
    return not equity_low_first > equity_high_first + tol
