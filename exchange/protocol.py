"""The ``Exchange`` protocol the executor talks to; the virtual exchange and WEEX implement it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from exchange.types import Balance, Fill, Order, OrderRequest, Position

BarTime = pd.Timestamp | datetime | int | np.integer[Any]  # tz-aware time or epoch ns


@runtime_checkable
class Exchange(Protocol):
    """Place, modify and cancel orders; read orders, positions, balance and fills; and the
    clock (a live venue's clock is the wall clock: its ``on_bar``/``mark_bar`` only record the
    bar's close as the mark, and ``level_state`` reports nothing pending)."""

    def place(self, request: OrderRequest) -> Order:
        """Submit an order; a refused one comes back REJECTED with a reason, or raises
        ``exchange.errors.OrderRejected`` for a malformed request."""
        ...

    def modify(
        self,
        order_id: str,
        *,
        price: float | None = None,
        quantity: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Change an open order's limit price, quantity or stop trigger."""
        ...

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

    @property
    def now(self) -> pd.Timestamp | None:
        """Close time of the last bar processed (any symbol); None before the first."""
        ...

    def now_for(self, symbol: str) -> pd.Timestamp | None:
        """Close time of the last bar processed for ``symbol``; None before its first."""
        ...

    def on_bar(
        self,
        symbol: str,
        ts: BarTime,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float = 0.0,
    ) -> list[Fill]:
        """Process one 1-minute bar (``ts`` its open time); returns the fills it produced."""
        ...

    def mark_bar(self, symbol: str, ts: BarTime, close: float) -> None:
        """Record a bar that touches no active level: only the mark and the clock move."""
        ...

    def level_state(self, symbol: str) -> tuple[float, float, bool, int | None]:
        """``(below, above, pending_market, next_event_ns)``: what can change ``symbol`` on
        the next bar (CONTRACT.md "Skipping bars")."""
        ...
