"""The client's requests and parsing against WEEX's documented shapes, replayed from a cassette
made of the documented examples (network blocked). Each replayed request must carry valid
ACCESS-* headers signed over exactly the bytes it sent, and its JSON body must equal the
documented request body."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import vcr
from pydantic import SecretStr

from exchange.weex.client import WeexClient
from exchange.weex.config import WeexConfig
from exchange.weex.errors import WeexNotFound
from exchange.weex.models import usdt_asset
from exchange.weex.signing import sign, verify
from tests.exchange.weex.kit import FAST, SECRETS

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "weex"
SECRET = "cassette-secret-9d2f"


def _json_body(r1: Any, r2: Any) -> None:
    a, b = (r.body.decode() if isinstance(r.body, bytes) else r.body or "" for r in (r1, r2))
    assert (json.loads(a) if a else None) == (json.loads(b) if b else None)


def _signed(r1: Any, r2: Any) -> None:
    """The live request (the one with headers) is signed over what it sends."""
    live = r1 if r1.headers else r2
    h = {k.lower(): v for k, v in live.headers.items()}
    if "access-sign" not in h:  # public market endpoint
        assert "/market/" in live.path
        return
    body = live.body.decode() if isinstance(live.body, bytes) else live.body or ""
    query = live.uri.split("?", 1)[1] if "?" in live.uri else ""
    assert h["access-key"] == "cassette-key" and h["access-passphrase"] == "cassettepass"
    assert len(h["access-timestamp"]) == 13 and h["content-type"] == "application/json"
    assert verify(SECRET, h["access-sign"], h["access-timestamp"], live.method, live.path,
                  query, body)  # fmt: skip


replay = vcr.VCR(record_mode="none", cassette_library_dir=str(CASSETTES),
                 match_on=["method", "host", "path", "query", "json_body", "signed"])  # fmt: skip
replay.register_matcher("json_body", _json_body)
replay.register_matcher("signed", _signed)


@pytest.fixture()
def client():
    events: list[dict[str, Any]] = []
    cfg = WeexConfig(api_key=SecretStr("cassette-key"), api_secret=SecretStr(SECRET),
                     passphrase=SecretStr("cassettepass"), limits=FAST, retries=0)  # fmt: skip
    c = WeexClient(cfg, on_event=events.append)
    c.events = events  # type: ignore[attr-defined]
    with replay.use_cassette("weex_v2_documented.yaml", allow_playback_repeats=True):
        yield c


def test_market_endpoints_parse_the_documented_shapes(client: WeexClient) -> None:
    assert client.server_time().timestamp == 1716710918113
    c = client.contracts("cmt_btcusdt")["cmt_btcusdt"]
    assert (c.size_increment, c.tick_size, c.min_order_size) == (4, 1, Decimal("0.0001"))
    t = client.ticker("cmt_btcusdt")
    assert (t.last, t.mark_price) == (Decimal("90755.3"), Decimal("90755.2"))
    assert client.depth("cmt_btcusdt")["bids"][0] == ["7466.0", "499"]
    rows = client.candles("cmt_btcusdt", limit=2)
    assert [r[0] for r in rows] == ["1716707460000", "1716707520000"]  # sorted oldest first
    assert client.funding_rate("cmt_btcusdt") == Decimal("-0.0001036")


def test_account_endpoints(client: WeexClient) -> None:
    usdt = usdt_asset(client.assets())
    assert (usdt.equity, usdt.available) == (Decimal("5696.49288823"), Decimal("5413.06877369"))
    assert client.leverage_settings("cmt_ethusdt")["cross_leverage"] == "20.00"
    client.set_leverage("cmt_btcusdt", 10)
    pos = client.positions()
    assert pos[0].side == "LONG" and pos[0].size == 0 and pos[0].entry_price == 0
    assert client.positions("cmt_btcusdt") == []


def test_order_endpoints_send_the_documented_bodies(client: WeexClient) -> None:
    placed = client.place_order(symbol="cmt_btcusdt", client_oid="test", size=Decimal("0.0001"),
                                type=1, match_price=0, price=Decimal("100000.0"))  # fmt: skip
    assert placed.order_id == "596471064624628269" and not placed.recovered
    sent = client.events[-1]["body"]  # type: ignore[attr-defined]
    # byte for byte the body of the reference's signature vector
    assert sign("test-secret", "1561022985382", "POST", "/capi/v2/order/placeOrder", "", sent) == (
        "8GbBOfQEmr6uIzR6kHe+Xz5JkEALsCj8wzblpPo4rHw="
    )
    preset = client.place_order(symbol="cmt_bchusdt", client_oid="111111111222222",
                                size=Decimal(1), type=1, match_price=0, price=Decimal(100),
                                preset_take_profit=Decimal(105),
                                preset_stop_loss=Decimal(95))  # fmt: skip
    assert preset.order_id == "596471064624628270"
    assert client.cancel_order("596471064624628269")["result"] is True
    assert client.cancel_all("cmt_btcusdt") == [{"orderId": 696026685023191898, "success": True}]
    closed = client.close_positions("cmt_btcusdt")
    assert closed[0]["successOrderId"] == 696023766399976282  # > 2^53, exact
    d = client.order_detail("686643264626885530")
    assert (d.status, d.type, d.order_type, d.price) == ("filled", "open_long", "ioc", 0)
    assert d.preset_stop_loss_price == Decimal("10000.0")
    assert client.open_orders("cmt_btcusdt")[0].price == Decimal("88888.0")
    f = client.fills("cmt_btcusdt")[0]
    assert f.price == Decimal("90050") and f.order_side == "BUY"
    with pytest.raises(WeexNotFound) as e:
        client.order_detail("1")
    assert e.value.code == "50005"


def test_plan_and_tpsl_endpoints(client: WeexClient) -> None:
    p = client.plan_order(symbol="cmt_bchusdt", client_oid="11111111111111", size=Decimal(1),
                          type=1, trigger_price=Decimal(100),
                          execute_price=Decimal(100))  # fmt: skip
    assert p.order_id == "596480271352594989"
    assert client.cancel_plan(p.order_id)["result"] is True
    plans = client.current_plans("cmt_btcusdt")
    assert (plans[0].status, plans[0].type, plans[0].trigger_price) == ("1", "1", Decimal(48000))
    assert client.history_plans("cmt_btcusdt")[0].order_id == "461234125"
    tp = client.place_tpsl(symbol="cmt_btcusdt", client_oid="123456789", plan_type="profit_plan",
                           trigger_price=Decimal(50000), size=Decimal(1),
                           position_side="long")  # fmt: skip
    assert tp.order_id == "696073048050107226"  # a JSON number above 2^53, kept exact
    client.modify_tpsl("596471064624628269", Decimal(51000))


def test_ai_log_upload_sends_one_object(client: WeexClient) -> None:
    from tests.cassettes.weex.make_cassettes import AI_LOG

    assert client.upload_ai_log(AI_LOG)["data"] == "upload success"
    with pytest.raises(ValueError, match="one object"):
        client.upload_ai_log([AI_LOG])  # type: ignore[arg-type]


def test_no_secret_in_the_cassettes() -> None:
    text = "".join(p.read_text() for p in CASSETTES.glob("*.yaml"))
    for s in (*SECRETS, SECRET, "cassette-key", "cassettepass"):
        assert s not in text
