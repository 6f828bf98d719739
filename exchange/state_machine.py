"""The order state machine as a transition table (Binance's statuses, synchronous venue).

``NEW -> PARTIALLY_FILLED -> FILLED``; ``CANCELED``, ``REJECTED`` and ``EXPIRED`` are terminal;
nothing leaves a terminal state. Triggering a stop is a flag on the order, not a status.
"""

from __future__ import annotations

from enum import StrEnum

from exchange.errors import IllegalTransition
from exchange.types import OrderStatus

__all__ = ["TERMINAL", "TRANSITIONS", "IllegalTransition", "OrderEvent", "next_status"]


class OrderEvent(StrEnum):
    """What happens to an order; past tense, as the events are facts."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    TRIGGERED = "TRIGGERED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # a fill that leaves quantity open
    FILLED = "FILLED"  # a fill that leaves nothing open
    UPDATED = "UPDATED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


S = OrderStatus
E = OrderEvent

# (status or None for "not yet submitted", event) -> new status. Anything missing is illegal.
TRANSITIONS: dict[tuple[OrderStatus | None, OrderEvent], OrderStatus] = {
    (None, E.ACCEPTED): S.NEW,
    (None, E.REJECTED): S.REJECTED,
    (S.NEW, E.TRIGGERED): S.NEW,
    (S.NEW, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.NEW, E.FILLED): S.FILLED,
    (S.NEW, E.UPDATED): S.NEW,
    (S.NEW, E.CANCELED): S.CANCELED,
    (S.NEW, E.EXPIRED): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.TRIGGERED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILLED): S.FILLED,
    (S.PARTIALLY_FILLED, E.UPDATED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, E.EXPIRED): S.EXPIRED,
}

TERMINAL: frozenset[OrderStatus] = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})
OPEN: frozenset[OrderStatus] = frozenset({S.NEW, S.PARTIALLY_FILLED})


def next_status(order_id: str, status: OrderStatus | None, event: OrderEvent) -> OrderStatus:
    """The status after ``event``; raises ``IllegalTransition`` for anything not in the table."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(order_id, str(status), str(event)) from None
