"""The virtual exchange over HTTP (FastAPI): place / modify / cancel / orders / positions /
balance / fills, plus ``POST /bars`` to advance the clock.

A refused request gets a 4xx whose ``detail`` is the same one-line message the Python API
raises (400 invalid, 404 unknown order, 409 order no longer open, 422 malformed body), and
changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from exchange.errors import BarRejected, OrderRejected
from exchange.snapshot import SnapshotConflict, VersionedStore, transact
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


T = TypeVar("T")


class Clock(BaseModel):
    now: datetime | None


def create_app(
    exchange: VirtualExchange | None = None, *, store: VersionedStore | None = None
) -> FastAPI:
    """An app serving ``exchange`` (in memory), or the exchange kept in ``store``.

    With a ``store`` every request loads the current snapshot, and every change is saved with a
    compare-and-swap (``exchange.snapshot.transact``), so the CLI and other servers can share
    the state without losing an order. Calls are serialised with a lock (the exchange is not
    thread-safe and FastAPI runs sync endpoints in a thread pool).
    """
    if (exchange is None) == (store is None):
        raise ValueError("create_app: give an exchange or a store, not both")
    app = FastAPI(title="AuraQuant virtual exchange", version="1", docs_url=None, redoc_url=None)
    _offline_docs(app)
    lock = threading.Lock()

    def run(action: Callable[[VirtualExchange], T], *, save: bool = True) -> T:
        with lock:
            if store is None:
                assert exchange is not None
                return action(exchange)
            return transact(store, VirtualExchange.restore, action, save=save)[1]

    @app.exception_handler(OrderRejected)
    async def _rejected(_: Request, exc: OrderRejected) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": str(exc), "field": exc.field, "value": _jsonable(exc.value)},
        )

    @app.exception_handler(BarRejected)
    async def _bad_bar(_: Request, exc: BarRejected) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(SnapshotConflict)
    async def _conflict(_: Request, exc: SnapshotConflict) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/health")
    def health() -> Clock:
        return Clock(now=run(lambda ex: ex.now, save=False))

    @app.post("/orders", status_code=201)
    def place(request: OrderRequest) -> Order:
        return run(lambda ex: ex.place(request))

    @app.get("/orders")
    def list_orders(symbol: str | None = None, include_closed: bool = False) -> list[Order]:
        return run(
            lambda ex: ex.orders(symbol) if include_closed else ex.open_orders(symbol),
            save=False,
        )

    @app.get("/orders/{order_id}")
    def get_order(order_id: str) -> Order:
        return run(lambda ex: ex.get_order(order_id), save=False)

    @app.patch("/orders/{order_id}")
    def modify(order_id: str, body: ModifyRequest) -> Order:
        return run(
            lambda ex: ex.modify(
                order_id, price=body.price, quantity=body.quantity, trigger_price=body.trigger_price
            )
        )

    @app.delete("/orders/{order_id}")
    def cancel(order_id: str) -> Order:
        return run(lambda ex: ex.cancel(order_id))

    @app.get("/positions")
    def positions() -> list[Position]:
        return run(lambda ex: ex.positions(), save=False)

    @app.get("/balance")
    def balance() -> Balance:
        return run(lambda ex: ex.balance(), save=False)

    @app.get("/fills")
    def fills(symbol: str | None = None) -> list[Fill]:
        return run(lambda ex: ex.fills(symbol), save=False)

    @app.post("/bars")
    def bar(body: BarIn) -> list[Fill]:
        return run(
            lambda ex: ex.on_bar(
                body.symbol, body.ts, body.open, body.high, body.low, body.close, body.volume
            )
        )

    return app


DOCS_ASSETS = "/docs-assets"


def _offline_docs(app: FastAPI) -> None:
    """``/docs`` with Swagger UI served from the installed ``swagger-ui-bundle`` package
    (FastAPI's default page loads it from a CDN, which an offline machine cannot reach)."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def _jsonable(value: object) -> object:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
