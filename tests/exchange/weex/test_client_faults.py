"""Retries, typed errors and never placing an order twice, against the loopback WEEX with
injected faults (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchange.weex.errors import (
    WeexAuthError,
    WeexBusinessError,
    WeexNetworkError,
    WeexRateLimited,
    WeexServerError,
)
from exchange.weex.mock.config import FaultRule
from tests.exchange.weex.kit import client_for, loopback

SYM = "cmt_btcusdt"


def _calls(events: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [e for e in events if e["path"].endswith(path)]


@pytest.fixture()
def env():
    with loopback() as (server, mock):
        events: list[dict[str, Any]] = []
        yield server, mock, client_for(server, events), events


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(kind="status", status=500, count=2),
        FaultRule(kind="status", status=521, count=1),
        FaultRule(kind="status", status=429, count=1),
        FaultRule(kind="drop", count=2),
    ],
    ids=["5xx", "521", "429", "drop"],
)
def test_reads_are_retried_until_they_succeed(env, fault: FaultRule) -> None:
    _server, mock, client, events = env
    mock.faults.set([fault.model_copy(update={"path": "/market/ticker"})])
    assert client.ticker(SYM).symbol == SYM
    assert len(_calls(events, "/market/ticker")) == (fault.count or 0) + 1


def test_retries_stop_and_the_error_is_typed(env) -> None:
    _server, mock, client, events = env
    mock.faults.set([FaultRule(kind="status", status=503, count=None, path="/market/time")])
    with pytest.raises(WeexServerError) as e:
        client.server_time()
    assert e.value.http_status == 503 and e.value.code == "503"
    assert len(_calls(events, "/market/time")) == client.config.retries + 1
    mock.faults.set([FaultRule(kind="status", status=429, count=None, path="/market/time")])
    with pytest.raises(WeexRateLimited):
        client.server_time()


def test_a_429_pauses_the_limiter(env) -> None:
    _server, mock, client, events = env
    mock.faults.set([FaultRule(kind="status", status=429, count=1, path="/market/time")])
    client.server_time()
    first, second = _calls(events, "/market/time")
    assert first["status"] == 429 and second["status"] == 200
    assert second["ts"] - first["ts"] >= 0.05  # after_429_s = 0.05 in the kit
    assert client.limiter.waited_s > 0


def test_auth_and_business_errors_are_typed_and_not_retried(env) -> None:
    server, _mock, client, events = env
    bad = client_for(server, events, api_secret="not-the-secret")
    with pytest.raises(WeexAuthError) as e:
        bad.assets()
    assert (e.value.code, e.value.http_status) == ("40009", 401)
    assert len(_calls(events, "/account/assets")) == 1
    with pytest.raises(WeexBusinessError) as b:
        client.place_order(symbol=SYM, client_oid="c1", size=Decimal("0.001"), type=3,
                           match_price=1, price=Decimal(100))  # fmt: skip
    assert b.value.code == "40015" and "position" in b.value.msg


def test_unreachable_is_a_network_error_not_ambiguous() -> None:
    from exchange.weex.client import WeexClient
    from tests.exchange.weex.kit import client_config

    client = WeexClient(client_config("http://127.0.0.1:1", retries=1))
    with pytest.raises(WeexNetworkError) as e:
        client.server_time()
    assert e.value.ambiguous is False and "cannot reach http://127.0.0.1:1" in str(e.value)


@pytest.mark.parametrize(
    ("fault", "recovered"),
    [
        (FaultRule(kind="lost_response"), True),  # placed, answer lost: found by client_oid
        (FaultRule(kind="timeout", delay_s=3.0), True),  # placed, answer too late
        (FaultRule(kind="drop"), False),  # never reached the book: sent again
        (FaultRule(kind="status", status=502), False),  # refused at the gateway: sent again
    ],
    ids=["lost_response", "timeout", "drop", "502"],
)
def test_an_order_is_never_placed_twice(env, fault: FaultRule, recovered: bool) -> None:
    server, mock, _, events = env
    client = client_for(server, events, timeout_s=1.0)
    mock.faults.set([fault.model_copy(update={"path": "/order/placeOrder"})])
    placed = client.place_order(symbol=SYM, client_oid="once-1", size=Decimal("0.01"), type=1,
                                match_price=1, price=Decimal(100))  # fmt: skip
    assert mock.placements == {"once-1": 1}
    assert placed.recovered is recovered
    assert client.order_detail(placed.order_id).client_oid == "once-1"
    lookups = _calls(events, "/order/current") + _calls(events, "/order/history")
    if fault.kind in ("lost_response", "timeout", "status"):
        assert lookups, "an ambiguous failure is looked up before any resend"
    sent = _calls(events, "/order/placeOrder")
    assert len(sent) == (1 if recovered else 2)
    assert all(e["body"] == sent[0]["body"] for e in sent)  # same client_oid, same body
    assert len(client.positions(SYM)) == 1 and client.positions(SYM)[0].size == Decimal("0.01")


def test_plan_and_tpsl_orders_are_never_placed_twice_either(env) -> None:
    _server, mock, client, events = env
    client.place_order(symbol=SYM, client_oid="o1", size=Decimal("0.01"), type=1,
                       match_price=1, price=Decimal(100))  # fmt: skip
    mock.faults.set([FaultRule(kind="lost_response", path="/order/placeTpSlOrder")])
    p = client.place_tpsl(symbol=SYM, client_oid="sl-1", plan_type="loss_plan",
                          trigger_price=Decimal(90), size=Decimal("0.01"),
                          position_side="long")  # fmt: skip
    assert p.recovered
    assert [x.order_id for x in client.current_plans(SYM)] == [p.order_id]
    assert len(_calls(events, "/order/placeTpSlOrder")) == 1


@pytest.mark.parametrize(("delay", "lookups", "recovered"), [(0.15, 5, True), (1.0, 1, False)])
def test_an_order_booked_late_is_still_placed_once(delay: float, lookups: int,
                                                   recovered: bool) -> None:  # fmt: skip
    """WEEX books the order after the client gave up on the answer: found by a later lookup,
    or, when the client re-sent first, the late copy is refused as a duplicate client_oid."""
    with loopback() as (server, mock):
        events: list[dict[str, Any]] = []
        client = client_for(server, events, lookup_attempts=lookups, backoff_s=0.04,
                            backoff_max_s=0.1)  # fmt: skip
        mock.faults.set([FaultRule(kind="late", delay_s=delay, path="/order/placeOrder")])
        placed = client.place_order(symbol=SYM, client_oid="late-1", size=Decimal("0.01"),
                                    type=1, match_price=1, price=Decimal(100))  # fmt: skip
        import time

        time.sleep(delay + 0.2)  # let the late copy land (or be refused)
        assert mock.placements == {"late-1": 1}
        assert placed.recovered is recovered
        assert client.positions(SYM)[0].size == Decimal("0.01")


def test_a_skewed_clock_is_aligned_on_40008() -> None:
    with loopback() as (server, _):
        events: list[dict[str, Any]] = []
        client = client_for(server, events)
        client.clock_offset_ms = -60_000  # our clock a minute behind WEEX's window
        assert client.assets()[0].coin_name == "USDT"
        statuses = [(e["path"].rsplit("/", 1)[1], e["status"]) for e in events]
        assert statuses == [("assets", 400), ("time", 200), ("assets", 200)]
        assert abs(client.clock_offset_ms) < 5_000
