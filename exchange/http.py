"""The virtual exchange over HTTP (FastAPI): place / modify / cancel / orders / positions /
balance / fills, plus ``POST /bars`` to advance the clock.

A refused request gets a 4xx whose ``detail`` is the same one-line message the Python API
raises (400 invalid, 404 unknown order, 409 order no longer open, 422 malformed body), and
changes nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exchange.errors import BarRejected, OrderRejected
from exchange.types import Balance, Fill, Order, OrderRequest, Position
from exchange.virtual import VirtualExchange


class ModifyRequest(BaseModel):
    """New values for an open order; give at least one."""

    price: float | None = None
    quantity: float | None = None
    trigger_price: float | None = None


class BarIn(BaseModel):
    """One 1-minute bar (``ts`` is its open time, UTC)."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = Field(default=0.0, ge=0)


class Clock(BaseModel):
    now: datetime | None


def create_app(exchange: VirtualExchange) -> FastAPI:
    """An app serving ``exchange``; calls are serialised with a lock (the exchange is not
    thread-safe and FastAPI runs sync endpoints in a thread pool)."""
    app = FastAPI(title="AuraQuant virtual exchange", version="1")
    lock = threading.Lock()

    @app.exception_handler(OrderRejected)
    async def _rejected(_: Request, exc: OrderRejected) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": str(exc), "field": exc.field, "value": _jsonable(exc.value)},
        )

    @app.exception_handler(BarRejected)
    async def _bad_bar(_: Request, exc: BarRejected) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.get("/health")
    def health() -> Clock:
        return Clock(now=exchange.now)

    @app.post("/orders", status_code=201)
    def place(request: OrderRequest) -> Order:
        with lock:
            return exchange.place(request)

    @app.get("/orders")
    def list_orders(symbol: str | None = None, include_closed: bool = False) -> list[Order]:
        with lock:
            return exchange.orders(symbol) if include_closed else exchange.open_orders(symbol)

    @app.get("/orders/{order_id}")
    def get_order(order_id: str) -> Order:
        with lock:
            return exchange.get_order(order_id)

    @app.patch("/orders/{order_id}")
    def modify(order_id: str, body: ModifyRequest) -> Order:
        with lock:
            return exchange.modify(
                order_id, price=body.price, quantity=body.quantity, trigger_price=body.trigger_price
            )

    @app.delete("/orders/{order_id}")
    def cancel(order_id: str) -> Order:
        with lock:
            return exchange.cancel(order_id)

    @app.get("/positions")
    def positions() -> list[Position]:
        with lock:
            return exchange.positions()

    @app.get("/balance")
    def balance() -> Balance:
        with lock:
            return exchange.balance()

    @app.get("/fills")
    def fills(symbol: str | None = None) -> list[Fill]:
        with lock:
            return exchange.fills(symbol)

    @app.post("/bars")
    def bar(body: BarIn) -> list[Fill]:
        with lock:
            return exchange.on_bar(
                body.symbol, body.ts, body.open, body.high, body.low, body.close, body.volume
            )

    return app


def _jsonable(value: object) -> object:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
