"""The loopback WEEX answers in WEEX's documented shapes: for every endpoint in the cassette of
documented examples, the loopback's answer has the same JSON type and the documented keys."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.exchange.weex.kit import client_for, loopback

CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "weex" / "weex_v2_documented.yaml"
SYM = "cmt_btcusdt"


def _documented() -> dict[str, Any]:
    doc = yaml.safe_load(CASSETTE.read_text())
    out: dict[str, Any] = {}
    for i in doc["interactions"]:
        if i["response"]["status"]["code"] != 200:
            continue
        path = urlsplit(i["request"]["uri"]).path.removeprefix("/capi/v2/")
        out.setdefault(path, json.loads(i["response"]["body"]["string"]))
    return out


def _shape(value: Any) -> Any:
    """Type and keys, recursively through the first element of lists."""
    if isinstance(value, dict):
        return {k: type(v).__name__ for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    with loopback(starting_balance=10_000.0) as (server, _):
        c = client_for(server)
        lev = c.call("leverage", body={"symbol": SYM, "marginMode": 1, "longLeverage": "5",
                                       "shortLeverage": "5"})  # fmt: skip
        placed = c.call("place", body={
            "symbol": SYM, "client_oid": "shape-1", "size": "0.01", "type": "1",
            "order_type": "0", "match_price": "1", "price": "100"})  # fmt: skip
        oid = placed["order_id"]
        tpsl = c.call("place_tpsl", body={
            "symbol": SYM, "clientOrderId": "shape-2", "planType": "profit_plan",
            "triggerPrice": "120", "executePrice": "0", "size": "0.01", "positionSide": "long",
            "marginMode": 1})  # fmt: skip
        tp = str(tpsl[0]["orderId"])
        lim = c.place_order(symbol=SYM, client_oid="shape-3", size=Decimal("0.01"), type=1,
                            match_price=0, price=Decimal(50)).order_id  # fmt: skip
        planned = c.call("plan_order", body={
            "symbol": SYM, "client_oid": "shape-4", "size": "0.01", "type": "1",
            "match_type": "1", "execute_price": "0", "trigger_price": "150", "marginMode": 1})  # fmt: skip
        plan = planned["order_id"]
        got = {
            "market/time": c.call("time"),
            "market/contracts": c.call("contracts", {"symbol": SYM}),
            "market/ticker": c.call("ticker", {"symbol": SYM}),
            "market/depth": c.call("depth", {"symbol": SYM, "limit": 15}),
            "market/candles": c.call("candles", {"symbol": SYM, "granularity": "1m"}),
            "market/currentFundRate": c.call("funding", {"symbol": SYM}),
            "account/assets": c.call("assets"),
            "account/settings": c.call("settings", {"symbol": SYM}),
            "account/position/allPosition": c.call("all_positions"),
            "order/detail": c.call("detail", {"orderId": oid}),
            "order/current": c.call("current", {"symbol": SYM}),
            "order/fills": c.call("fills", {"symbol": SYM}),
            "order/currentPlan": c.call("current_plan", {"symbol": SYM}),
            "order/modifyTpSlOrder": c.call("modify_tpsl", body={
                "orderId": int(tp), "triggerPrice": "121", "executePrice": "0",
                "triggerPriceType": 1}),
            "order/cancel_order": c.call("cancel", body={"orderId": lim}),
            "order/cancel_plan": c.call("cancel_plan", body={"orderId": plan}),
            "order/historyPlan": c.call("history_plan", {"symbol": SYM}),
            "order/cancelAllOrders": c.call("cancel_all", body={"symbol": SYM,
                                                                "cancelOrderType": "plan"}),
            "order/closePositions": c.call("close_positions", body={"symbol": SYM}),
            "account/position/singlePosition": c.call("single_position", {"symbol": SYM}),
            "order/uploadAiLog": c.call("upload_ai_log", body={
                "orderId": None, "stage": "SCAN", "model": "m", "input": {"prompt": "p", "data": {}},
                "output": {}, "explanation": "e"}),
        }  # fmt: skip
        got["order/placeOrder"] = placed
        got["account/leverage"] = lev
        got["order/placeTpSlOrder"] = tpsl
        got["order/plan_order"] = planned
        return got


DOCUMENTED = _documented()
# keys the loopback adds to a documented answer, or documented keys it lacks, and why
EXTRA_OK = {"market/ticker": set(), "account/position/allPosition": {"symbol", "marginSize",
            "contractVal", "unrealizePnl", "liquidatePrice"}}  # fmt: skip


@pytest.mark.parametrize("path", sorted(DOCUMENTED))
def test_loopback_answers_in_the_documented_shape(answers: dict[str, Any], path: str) -> None:
    if path not in answers:
        pytest.fail(f"no loopback call for documented {path}")
    doc, got = DOCUMENTED[path], answers[path]
    assert type(got) is type(doc), path
    if path == "account/settings":  # keyed by symbol: compare the inner object
        doc, got = next(iter(doc.values())), next(iter(got.values()))
    d, g = _shape(doc), _shape(got)
    if isinstance(d, list):
        if not d or not g:
            return  # an empty documented or loopback list has no row shape to compare
        d, g = d[0], g[0]
    if isinstance(d, dict):
        extra = EXTRA_OK.get(path, set())
        assert set(d) <= set(g), f"{path} lacks {set(d) - set(g)}"
        assert set(g) - set(d) <= extra, f"{path} adds {set(g) - set(d) - extra}"
