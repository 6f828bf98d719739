"""The loopback WEEX over HTTP (FastAPI): WEEX v2 paths, signature checks, fault injection.

Control endpoints for tests and demos live under ``/_mock/`` (unsigned, not part of WEEX):
``POST /_mock/advance?n=``, ``POST /_mock/faults``, ``GET /_mock/ailogs``, ``GET /_mock/state``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from exchange.weex.mock.config import FaultRule
from exchange.weex.mock.engine import MockReject, MockWeex
from exchange.weex.signing import verify

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

P = "/capi/v2/"
_TS = re.compile(r"^\d{13}$")


class DroppedConnection(Exception):
    """Raised after a response start so the server closes the socket mid-answer."""


def _err(exc: MockReject) -> JSONResponse:
    return JSONResponse(status_code=exc.http, content=exc.body())


def check_auth(mock: MockWeex, request: Request, raw_body: bytes) -> None:
    """WEEX's header checks (weex-api §15), in the order a client would hit them."""
    h = request.headers
    for header, code in (("ACCESS-KEY", "40001"), ("ACCESS-SIGN", "40002"),
                         ("ACCESS-TIMESTAMP", "40003"), ("ACCESS-PASSPHRASE", "40011")):  # fmt: skip
        if not h.get(header):
            raise MockReject(code, f"header {header} is empty", 400)
    if request.method == "POST" and "application/json" not in h.get("content-type", ""):
        raise MockReject("40007", "invalid Content-Type, use application/json", 400)
    ts = h["ACCESS-TIMESTAMP"]
    if not _TS.match(ts):
        raise MockReject("40005", "invalid ACCESS-TIMESTAMP, must be 13-digit milliseconds", 400)
    if abs(int(ts) - int(time.time() * 1000)) > mock.config.timestamp_window_ms:
        raise MockReject("40008", "request timestamp expired", 400)
    account = next((a for a in mock.config.accounts if a.api_key == h["ACCESS-KEY"]), None)
    if account is None:
        raise MockReject("40006", "invalid ACCESS_KEY", 401)
    if account.passphrase != h["ACCESS-PASSPHRASE"]:
        raise MockReject("40012", "incorrect API key or passphrase", 401)
    query = request.url.query
    if not verify(account.secret, h["ACCESS-SIGN"], ts, request.method, request.url.path, query,
                  raw_body.decode("utf-8", "replace")):  # fmt: skip
        raise MockReject("40009", "signature verification failed", 401)


def create_app(mock: MockWeex) -> FastAPI:
    """The WEEX routes over ``mock``."""
    app = FastAPI(title="loopback WEEX", version="2")

    @app.exception_handler(MockReject)
    async def _reject(_: Request, exc: MockReject) -> JSONResponse:
        return _err(exc)

    def public(path: str, fn: Callable[[dict[str, str]], Any]) -> None:
        @app.get(P + path, name=path)
        def _h(request: Request) -> Any:
            return fn(dict(request.query_params))

    async def _private(
        request: Request, fn: Callable[..., Any], post: bool, any_json: bool = False
    ) -> Any:
        raw = await request.body()
        check_auth(mock, request, raw)
        if not post:
            return await asyncio.to_thread(fn, dict(request.query_params))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise MockReject("40017", "the body is not valid JSON") from None
        if not any_json and not isinstance(body, dict):
            raise MockReject("40017", "the body must be a JSON object")
        return await asyncio.to_thread(fn, body)

    def private_get(path: str, fn: Callable[[dict[str, str]], Any]) -> None:
        @app.get(P + path, name=path)
        async def _h(request: Request) -> Any:
            return await _private(request, fn, False)

    def private_post(path: str, fn: Callable[[Any], Any], any_json: bool = False) -> None:
        @app.post(P + path, name=path)
        async def _h(request: Request) -> Any:
            return await _private(request, fn, True, any_json)

    public("market/time", lambda q: mock.time())
    public("market/contracts", mock.contracts)
    public("market/ticker", mock.ticker)
    public("market/depth", mock.depth)
    public("market/candles", mock.candles)
    public("market/currentFundRate", mock.funding)
    private_get("account/assets", lambda q: mock.assets())
    private_get("account/settings", mock.settings)
    private_post("account/leverage", mock.set_leverage)
    private_get("account/position/allPosition", lambda q: mock.positions())
    private_get("account/position/singlePosition", mock.positions)

    def place(b: Any) -> Any:
        has_preset = "presetTakeProfitPrice" in b or "presetStopLossPrice" in b
        rule = mock.faults.pick("/order/placeOrder", ("reject_preset",)) if has_preset else None
        return mock.place_order(b, reject_preset=rule is not None)

    private_post("order/placeOrder", place)
    private_post("order/cancel_order", mock.cancel)
    private_post("order/cancelAllOrders", mock.cancel_all)
    private_post("order/closePositions", mock.close_positions)
    private_get("order/detail", mock.detail)
    private_get("order/current", mock.current)
    private_get("order/history", mock.history)
    private_get("order/fills", mock.fills)
    private_post("order/plan_order", mock.plan_order)
    private_post("order/cancel_plan", lambda b: mock.cancel(b, plan=True))
    private_get("order/currentPlan", mock.current_plan)
    private_get("order/historyPlan", mock.history_plan)
    private_post("order/placeTpSlOrder", mock.place_tpsl)
    private_post("order/modifyTpSlOrder", mock.modify_tpsl)
    private_post("order/uploadAiLog", mock.upload_ai_log, any_json=True)  # it checks the shape

    @app.post("/_mock/advance")
    def _advance(n: int = 1) -> dict[str, int]:
        return {"fills": mock.advance(n)}

    @app.post("/_mock/faults")
    def _faults(rules: list[FaultRule], seed: int | None = None) -> dict[str, int]:
        mock.faults.set(rules, seed)
        return {"rules": len(rules)}

    @app.get("/_mock/ailogs")
    def _ailogs() -> list[dict[str, Any]]:
        return list(mock.ai_logs)

    @app.get("/_mock/state")
    def _state() -> dict[str, Any]:
        return {"placements": dict(mock.placements), "faults_fired": list(mock.faults.fired),
                "orders": mock.known_orders()}  # fmt: skip

    return app


def with_faults(app: ASGIApp, mock: MockWeex) -> ASGIApp:
    """Wrap ``app`` so configured faults hit matching requests: an HTTP error status, a delay
    before answering (``slow``/``timeout``, the request is still processed), a dropped connection
    (``drop``, not processed), a lost answer (``lost_response``, processed, then dropped) or a
    late booking (``late``: dropped at once, processed ``delay_s`` later)."""
    kinds = ("status", "timeout", "drop", "slow", "lost_response", "late")

    async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(P):
            await app(scope, receive, send)
            return
        client = (scope.get("client") or ("", 0))[0]
        if mock.config.ip_whitelist and client not in mock.config.ip_whitelist:
            await _send_json(send, 521, MockReject("521", "Web Server is Down", 521).body())
            return
        rule = mock.faults.pick(path, kinds)
        if rule is None:
            await app(scope, receive, send)
            return
        if rule.kind == "status":
            code = "429" if rule.status == 429 else str(rule.status)
            await _send_json(send, rule.status, MockReject(code, "injected fault").body())
            return
        if rule.kind == "drop":
            await _drop(send)
            return
        if rule.kind == "late":  # dropped now, booked ``delay_s`` later (WEEX still busy)
            messages = [await receive()]
            while messages[-1].get("more_body"):
                messages.append(await receive())
            pending.add(asyncio.ensure_future(_later(app, scope, messages, rule.delay_s)))
            await _drop(send)
            return
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await app(scope, receive, capture)
        if rule.kind == "lost_response":
            await _drop(send)
            return
        await asyncio.sleep(rule.delay_s)
        for message in captured:
            await send(message)

    pending: set[asyncio.Future[None]] = set()
    return faulty


async def _later(app: ASGIApp, scope: Scope, messages: list[Message], delay: float) -> None:
    await asyncio.sleep(delay)
    it = iter(messages)

    async def replay() -> Message:
        return next(it, {"type": "http.disconnect"})

    async def discard(_: Message) -> None:
        return None

    await app(scope, replay, discard)


async def _send_json(send: Send, status: int, content: Any) -> None:
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"4096")]})  # fmt: skip
    raise DroppedConnection("injected: connection dropped mid-answer")


class _QuietDrops(logging.Filter):
    """Keep injected drops out of uvicorn's error log (they are on purpose)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


class MockServer:
    """The loopback WEEX on 127.0.0.1 in a background thread (port 0 picks a free port).
    ``bar_interval_s`` > 0 advances the price path on a timer."""

    def __init__(self, mock: MockWeex, *, port: int = 0, bar_interval_s: float = 0.0,
                 log_level: str = "warning") -> None:  # fmt: skip
        self.mock = mock
        self.app = with_faults(create_app(mock), mock)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host="127.0.0.1", port=port, log_level=log_level, access_log=False,
            lifespan="off", timeout_graceful_shutdown=1))  # fmt: skip
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
        self.bar_interval_s = bar_interval_s
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MockServer:
        self._thread = threading.Thread(target=self.server.run, name="weex-mock", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback WEEX did not start (port in use?)")
            time.sleep(0.01)
        if self.bar_interval_s > 0:
            self._ticker = threading.Thread(target=self._tick, name="weex-mock-bars", daemon=True)
            self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(self.bar_interval_s):
            self.mock.advance(1)

    def stop(self) -> None:
        self._stop.set()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (``auraquant weex mock``)."""
        if self.bar_interval_s > 0:
            self._ticker = threading.Thread(target=self._tick, name="weex-mock-bars", daemon=True)
            self._ticker.start()
        try:
            self.server.run()
        finally:
            self._stop.set()
