"""The HTTP API: same rules, same messages, 4xx for bad requests (TestClient and real uvicorn)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from exchange.http import create_app
from exchange.virtual import ExchangeConfig, VirtualExchange
from tests.exchange.kit import FREE, SYM, ts
from tests.exchange.test_virtual import REJECTIONS


def _bar(k: int, o: float, h: float, low: float, c: float) -> dict:
    return {"symbol": SYM, "ts": ts(k).isoformat(), "open": o, "high": h, "low": low, "close": c}


@pytest.fixture()
def client() -> TestClient:
    ex = VirtualExchange(ExchangeConfig(**FREE))
    c = TestClient(create_app(ex))
    assert c.post("/bars", json=_bar(0, 100, 100, 100, 100)).json() == []
    return c


@pytest.mark.parametrize(("name", "fields", "message"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_bad_orders_get_400_with_the_same_message(
    client: TestClient, name: str, fields: dict, message: str
) -> None:
    before = client.get("/orders", params={"include_closed": True}).json()
    r = client.post("/orders", json={"symbol": SYM, **fields})
    assert r.status_code == 400
    assert r.json()["detail"] == message
    assert client.get("/orders", params={"include_closed": True}).json() == before


def test_order_lifecycle_over_http(client: TestClient) -> None:
    r = client.post(
        "/orders",
        json={
            "symbol": SYM,
            "side": "BUY",
            "type": "MARKET",
            "quantity": 1,
            "stop_loss": 95,
            "take_profit": 105,
        },
    )
    assert r.status_code == 201 and r.json()["id"] == "O-000001" and r.json()["status"] == "NEW"
    fills = client.post("/bars", json=_bar(1, 100, 100.5, 99.5, 100)).json()
    assert [(f["side"], f["price"], f["liquidity"]) for f in fills] == [("BUY", 100.0, "TAKER")]
    open_ = client.get("/orders").json()
    assert [(o["role"], o["oco_id"]) for o in open_] == [
        ("stop_loss", "O-000003"),
        ("take_profit", "O-000002"),
    ]
    assert (
        client.patch("/orders/O-000002", json={"price": 96}).json()["request"]["trigger_price"]
        == 96
    )
    assert client.get("/positions").json()[0]["quantity"] == 1.0
    assert client.get("/balance").json()["margin_used"] == 100.0
    assert client.delete("/orders/O-000003").json()["status"] == "CANCELED"
    assert client.get("/orders/O-000003").json()["reason"] == "canceled by user"
    assert len(client.get("/fills", params={"symbol": SYM}).json()) == 1
    assert client.get("/health").json()["now"].startswith("2023-04-20T01:02:00")


def test_unknown_and_closed_orders_get_404_and_409(client: TestClient) -> None:
    r = client.delete("/orders/O-999999")
    assert (r.status_code, r.json()["detail"]) == (404, "order_id: unknown order 'O-999999'")
    assert client.get("/orders/O-999999").status_code == 404
    client.post("/orders", json={"symbol": SYM, "side": "BUY", "type": "MARKET", "quantity": 1})
    client.post("/bars", json=_bar(1, 100, 100, 100, 100))
    r = client.patch("/orders/O-000001", json={"quantity": 2})
    assert (r.status_code, r.json()["detail"]) == (
        409,
        "order_id: O-000001 is FILLED and can no longer be modified",
    )
    r = client.delete("/orders/O-000001")
    assert (r.status_code, r.json()["detail"]) == (
        409,
        "order_id: O-000001 is FILLED and can no longer be canceled",
    )


def test_malformed_bodies_get_422_and_bad_bars_400(client: TestClient) -> None:
    r = client.post(
        "/orders", json={"symbol": SYM, "side": "HOLD", "type": "MARKET", "quantity": 1}
    )
    assert r.status_code == 422 and "side" in r.text
    r = client.post("/bars", json=_bar(0, 100, 100, 100, 100))
    assert r.status_code == 400 and "is not after the last SYNTH-BTCUSDT bar" in r.json()["detail"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_uvicorn_server_on_loopback() -> None:
    ex = VirtualExchange(ExchangeConfig(**FREE))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ex), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            assert http.post("/bars", json=_bar(0, 100, 100, 100, 100)).status_code == 200
            r = http.post(
                "/orders",
                json={
                    "symbol": SYM,
                    "side": "SELL",
                    "type": "LIMIT",
                    "quantity": 0.5,
                    "price": 101,
                },
            )
            assert r.status_code == 201
            bad = http.post(
                "/orders",
                json={
                    "symbol": SYM,
                    "side": "SELL",
                    "type": "LIMIT",
                    "quantity": 0.5,
                    "price": 101.05,
                },
            )
            assert (bad.status_code, bad.json()["detail"]) == (
                400,
                "price: 101.05 is not on the SYNTH-BTCUSDT tick 0.1",
            )
            fills = http.post("/bars", json=_bar(1, 100, 101.5, 99.8, 101)).json()
            assert [(f["price"], f["liquidity"]) for f in fills] == [(101.0, "MAKER")]
            assert http.get("/positions").json()[0]["quantity"] == -0.5
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_docs_work_offline_from_the_installed_swagger_ui(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text and "/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "AuraQuant virtual exchange"
