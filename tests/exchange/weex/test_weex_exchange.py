"""``WeexExchange`` on the loopback WEEX: the protocol, preset TP/SL with fallback, closing by
order types 3/4 with a cool-down, local stops, max hold, reconciliation, the executor."""

from __future__ import annotations

import json
from typing import Any

import pytest

from exchange.executor import execute
from exchange.protocol import Exchange
from exchange.types import OrderPlan, OrderRequest, OrderStatus, OrderType, Side
from exchange.weex.exchange import WeexExchange
from exchange.weex.mock.config import FaultRule
from tests.exchange.weex.kit import client_for, loopback


@pytest.fixture()
def env():
    with loopback(starting_balance=10_000.0) as (server, mock):
        events: list[dict[str, Any]] = []
        sleeps: list[float] = []
        ex = WeexExchange(client_for(server, events), sleep=sleeps.append)
        yield ex, mock, events, sleeps


def _bodies(events: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [json.loads(e["body"]) for e in events if e["path"].endswith(path) and e["body"]]


def buy(qty: float = 0.1, **kw: Any) -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=qty, **kw)


def test_it_is_an_exchange(env) -> None:
    ex, *_ = env
    assert isinstance(ex, Exchange)


def test_market_open_sets_leverage_and_rounds_to_the_contract(env) -> None:
    ex, _mock, events, _ = env
    o = ex.place(buy(0.1239, leverage=5))
    assert o.status is OrderStatus.FILLED and o.filled_quantity == pytest.approx(0.123)
    assert _bodies(events, "/account/leverage") == [
        {"symbol": "cmt_btcusdt", "marginMode": 1, "longLeverage": "5", "shortLeverage": "5"}
    ]
    body = _bodies(events, "/order/placeOrder")[0]
    assert (body["size"], body["type"], body["match_price"], body["order_type"]) == (
        "0.123",
        "1",
        "1",
        "0",
    )
    assert float(body["price"]) > 0  # the last price travels with a market order
    [pos] = ex.positions()
    assert pos.symbol == "BTCUSDT" and pos.quantity == pytest.approx(0.123) and pos.leverage == 5
    assert pos.entry_price == pytest.approx(o.average_price)
    bal = ex.balance()
    assert bal.margin_used == pytest.approx(pos.margin) and bal.wallet < 10_000  # fee paid


def test_competition_rules_are_enforced_at_the_edge(env) -> None:
    ex, *_ = env
    from exchange.errors import OrderRejected

    with pytest.raises(OrderRejected, match="leverage: exceeds the cap 20"):
        ex.place(buy(leverage=25))
    with pytest.raises(OrderRejected, match="cmt_trxusdt is not an allowed pair"):
        ex.place(buy().model_copy(update={"symbol": "TRXUSDT"}))
    with pytest.raises(OrderRejected, match=r"quantity: below the minimum 0\.001"):
        ex.place(buy(0.0004))


def test_a_business_refusal_is_a_rejected_order_with_weex_code(env) -> None:
    ex, *_ = env
    o = ex.place(OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET,
                              quantity=0.1, reduce_only=True))  # fmt: skip
    assert o.status is OrderStatus.REJECTED
    assert o.reason is not None and o.reason.startswith("WEEX 40015: position side invalid")


def test_preset_tpsl_rides_on_the_opening_order(env) -> None:
    ex, _mock, events, _ = env
    o = ex.place(buy(stop_loss=95.0, take_profit=110.0))
    body = _bodies(events, "/order/placeOrder")[0]
    assert (body["presetStopLossPrice"], body["presetTakeProfitPrice"]) == ("95.0", "110.0")
    assert o.status is OrderStatus.FILLED and ex.preset_enabled
    triggers = sorted(o.request.trigger_price or o.request.price for o in ex.open_orders())
    assert triggers == [95.0, 110.0]  # the exchange holds both legs


def test_a_rejected_preset_falls_back_to_server_side_tpsl_and_is_disabled(env) -> None:
    ex, mock, events, _ = env
    mock.faults.set([FaultRule(kind="reject_preset", path="/order/placeOrder")])
    o = ex.place(buy(stop_loss=95.0, take_profit=110.0))
    assert o.status is OrderStatus.FILLED and not ex.preset_enabled
    assert "preset TP/SL rejected" in ex.notes[0]
    sent = _bodies(events, "/order/placeOrder")
    assert "presetStopLossPrice" in sent[0] and "presetStopLossPrice" not in sent[1]
    tpsl = _bodies(events, "/order/placeTpSlOrder")
    assert [(b["planType"], b["triggerPrice"], b["positionSide"]) for b in tpsl] == [
        ("loss_plan", "95.0", "long"),
        ("profit_plan", "110.0", "long"),
    ]
    roles = {x.role: x for x in ex.open_orders("BTCUSDT")}
    assert set(roles) == {"stop_loss", "take_profit"}
    assert roles["stop_loss"].parent_id == o.id
    ex.place(buy(stop_loss=90.0))  # the next bracket goes straight to server-side orders
    assert "presetStopLossPrice" not in _bodies(events, "/order/placeOrder")[-1]


def test_a_limit_entry_gets_its_stops_once_it_fills(env) -> None:
    ex, mock, _events, _ = env
    mock.faults.set([FaultRule(kind="reject_preset", path="/order/placeOrder")])
    ex.place(buy(stop_loss=95.0))  # disables presets
    ex.close_position("BTCUSDT")
    last = float(ex.client.ticker("cmt_btcusdt").last)
    lim = ex.place(OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                                quantity=0.1, price=round(last + 5, 1), stop_loss=90.0))  # fmt: skip
    assert lim.status is OrderStatus.NEW
    mock.advance(1)
    placed = ex.sync()
    assert len(placed) == 1 and ex.get_order(placed[0]).role == "stop_loss"


def test_server_side_stop_moves_with_modify_tpsl(env) -> None:
    ex, _mock, events, _ = env
    ex.preset_enabled = False
    ex.place(buy(stop_loss=95.0))
    [sl] = [o for o in ex.open_orders() if o.role == "stop_loss"]
    moved = ex.move_stop(sl.id, 97.0)
    assert moved.id == sl.id and moved.request.trigger_price == 97.0
    assert _bodies(events, "/order/modifyTpSlOrder")[0]["triggerPrice"] == "97.0"
    assert [float(p.trigger_price or 0) for p in ex.client.current_plans()] == [97.0]


def test_close_cancels_orders_first_then_closes_with_type_3(env) -> None:
    ex, _mock, events, _ = env
    ex.place(buy(0.2, stop_loss=95.0, take_profit=110.0))
    assert ex.close_position("BTCUSDT")
    assert ex.positions() == [] and ex.open_orders() == []
    order = [e["path"].rsplit("/", 1)[1] for e in events if e["path"].startswith("/capi/v2/order/")
             and e["method"] == "POST"][-3:]  # fmt: skip
    assert order == ["cancelAllOrders", "cancelAllOrders", "placeOrder"]
    close = _bodies(events, "/order/placeOrder")[-1]
    assert (close["type"], close["match_price"], close["size"]) == ("3", "1", "0.2")


def test_a_refused_close_is_retried_after_a_cooldown_then_close_positions(env) -> None:
    ex, mock, events, sleeps = env
    ex.place(OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, quantity=0.1))
    ex.config = ex.config.model_copy(update={"close_cooldown_s": 2.0, "close_attempts": 2})
    clock = iter([100.0, 100.5, 100.5, 101.0, 101.0, 101.0])
    ex._clock = lambda: next(clock)
    refuse = [{"kind": "status", "status": 400, "path": "/order/placeOrder", "count": 2}]
    mock.faults.set([FaultRule.model_validate(r) for r in refuse])
    ids = ex.close_position("BTCUSDT")
    assert ids and ex.positions() == []
    assert sleeps == [pytest.approx(1.5)]  # the second attempt waited out the cool-down
    assert len(ex.notes) == 2 and all("refused" in n for n in ex.notes)
    assert _bodies(events, "/order/closePositions") == [{"symbol": "cmt_btcusdt"}]


def test_local_stop_is_the_last_resort(env) -> None:
    ex, _mock, _events, _ = env
    ex.preset_enabled = False
    ex.place(buy(0.1))
    last = float(ex.client.ticker("cmt_btcusdt").last)
    assert ex.check_local_stops("BTCUSDT", stop_loss=last - 50, take_profit=None) is None
    assert ex.check_local_stops("BTCUSDT", stop_loss=last + 1, take_profit=None) == (
        "local_stop_loss"
    )
    assert ex.positions() == []
    ex.place(buy(0.1, stop_loss=last - 20))  # a working server-side stop: no local action
    assert ex.check_local_stops("BTCUSDT", stop_loss=last + 1, take_profit=None) is None


def test_max_hold_closes_old_positions(env) -> None:
    ex, *_ = env
    ex.config = ex.config.model_copy(update={"max_hold_s": 60.0})
    ex.place(buy(0.1))
    assert ex.enforce_max_hold() == []
    created = ex.client.positions()[0].created_time
    assert created is not None and ex.client.positions()[0].created_time == created  # stable
    assert ex.enforce_max_hold(now_ms=created + 59_000) == []
    assert ex.enforce_max_hold(now_ms=created + 61_000) == ["BTCUSDT"]
    assert ex.positions() == []


def test_reconcile_on_a_fresh_process_resumes_the_position(env) -> None:
    ex, _mock, _events, _ = env
    ex.place(buy(0.3, leverage=3, stop_loss=95.0, take_profit=110.0))
    fresh = WeexExchange(ex.client)
    r = fresh.reconcile()
    assert r.symbols_to_manage() == ["BTCUSDT"]
    [m] = r.positions
    assert m.position.quantity == pytest.approx(0.3) and m.protected
    assert len(m.stop_loss_ids) == 1 and len(m.take_profit_ids) == 1
    assert fresh.get_order(m.stop_loss_ids[0]).role == "stop_loss"
    assert r.balance.equity > 0 and len(r.open_orders) == 2


def test_the_executor_runs_a_plan_on_weex(env) -> None:
    ex, *_ = env
    last = float(ex.client.ticker("cmt_btcusdt").last)
    plan = OrderPlan(symbol="BTCUSDT", side=Side.BUY, quantity=0.05, leverage=2,
                     entry_type=OrderType.MARKET, entry_price=last, stop_loss=round(last - 5, 1),
                     take_profit=round(last + 5, 1), notional=0.05 * last,
                     risk_amount=0.25)  # fmt: skip
    report = execute(plan, ex, client_order_id="plan-1")
    assert report.status == "FILLED"
    assert report.stop_loss_order_id and report.take_profit_order_id
    assert report.fills[0].quantity == pytest.approx(0.05)


def test_a_refused_server_side_stop_keeps_the_entry_and_watches_locally(env) -> None:
    ex, mock, _events, _ = env
    ex.preset_enabled = False
    mock.faults.set([FaultRule(kind="status", status=400, count=None,
                               path="/order/placeTpSlOrder")])  # fmt: skip
    last = float(ex.client.ticker("cmt_btcusdt").last)
    o = ex.place(buy(0.1, stop_loss=round(last - 30, 1)))
    assert o.status is OrderStatus.FILLED  # the entry is not reported as rejected
    assert ex.local_stops == {"BTCUSDT": (round(last - 30, 1), None)}
    assert "watched locally" in ex.notes[-1]
    assert ex.check_local_stops("BTCUSDT") is None  # not crossed
    ex.local_stops["BTCUSDT"] = (last + 1, None)
    assert ex.check_local_stops("BTCUSDT") == "local_stop_loss"
    assert ex.positions() == [] and ex.local_stops == {}
