"""The ``Exchange`` protocol the executor talks to; the virtual exchange and WEEX implement it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from exchange.types import Balance, Fill, Order, OrderRequest, Position


@runtime_checkable
class Exchange(Protocol):
    """Place, modify and cancel orders; read orders, positions, balance and fills."""

    def place(self, request: OrderRequest) -> Order:
        """Submit an order; a refused one comes back REJECTED with a reason, or raises
        ``exchange.errors.OrderRejected`` for a malformed request."""
        ...

    def modify(
        self, order_id: str, *, price: float | None = None, quantity: float | None = None
    ) -> Order: ...

    def cancel(self, order_id: str) -> Order: ...

    def get_order(self, order_id: str) -> Order: ...

    def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order accepted (open and terminal, including the venue's own: bracket legs,
        liquidations), oldest first."""
        ...

    def positions(self) -> list[Position]: ...

    def balance(self) -> Balance: ...

    def fills(self, symbol: str | None = None) -> list[Fill]: ...
