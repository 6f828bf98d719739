"""Typed exchange errors: one clear message that names the field and the value.

A rejected request changes nothing; an illegal state transition is a bug, never a silent change.
"""

from __future__ import annotations

from typing import Any


class ExchangeError(Exception):
    """Base of every error the exchange raises on purpose."""


class OrderRejected(ExchangeError, ValueError):
    """A request the exchange refuses (validation, reduce-only, margin, unknown or closed order).

    ``field`` and ``value`` say what was wrong; the message reads ``field: problem``.
    The HTTP edge maps it to 400 (``UnknownOrder`` to 404, ``OrderNotOpen`` to 409).
    """

    status_code = 400

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class UnknownOrder(OrderRejected):
    """An order id the exchange never issued."""

    status_code = 404

    def __init__(self, order_id: str) -> None:
        super().__init__("order_id", order_id, f"unknown order {order_id!r}")


class OrderNotOpen(OrderRejected):
    """A cancel or modify aimed at an order in a terminal state."""

    status_code = 409


class IllegalTransition(ExchangeError, RuntimeError):
    """An order status change the transition table does not allow (a bug in the caller)."""

    def __init__(self, order_id: str, status: str, event: str) -> None:
        self.order_id = order_id
        self.status = status
        self.event = event
        super().__init__(f"order {order_id}: event {event} is not allowed in status {status}")


class BarRejected(ExchangeError, ValueError):
    """A bar the exchange cannot process (out of order, or high/low inconsistent)."""
