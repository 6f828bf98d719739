"""The executor on the real VirtualExchange: bracket placed, filled next bar, OCO children,
rejections reported, DENIED places nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from decisions.account import account_state_from_exchange
from decisions.limits import RiskLimits
from decisions.market import MarketSnapshot
from decisions.risk_gate import risk_gate
from decisions.schema import GateResult
from exchange.executor import execute, execute_gate_result, refresh
from exchange.types import OrderPlan, OrderStatus, OrderType, Side
from exchange.virtual import ExchangeConfig, VirtualExchange
from tests.decisions.builders import decision

SYM = "BTCUSDT"
T0 = pd.Timestamp("2023-04-20T01:00:00Z")
FREE = {"maker_fee": 0.0, "taker_fee": 0.0, "slippage_bps": 0.0, "funding_rate": 0.0}


def ts(k: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=k)


@pytest.fixture()
def ex() -> VirtualExchange:
    """A cost-free exchange with 10 000 USDT that has seen one BTCUSDT bar closing at 30000."""
    e = VirtualExchange(ExchangeConfig(starting_balance=10_000.0, **FREE))
    e.on_bar(SYM, ts(0), 30000.0, 30050.0, 29950.0, 30000.0, 10.0)
    return e


def gate(ex: VirtualExchange, **kw: object) -> GateResult:
    market = MarketSnapshot(symbol=SYM, at=ts(1).to_pydatetime(), price=30000.0, atr=150.0)
    return risk_gate(decision(**kw), market, account_state_from_exchange(ex), RiskLimits())


def test_approved_plan_becomes_a_bracket_filled_at_the_next_open(ex: VirtualExchange) -> None:
    result = gate(ex)
    assert result.verdict == "APPROVED"
    report = execute_gate_result(result, ex, client_order_id="run-1/0001")
    assert report.status == "PLACED"
    assert report.entry_status is OrderStatus.NEW
    assert report.stop_loss_order_id is None and report.take_profit_order_id is None
    entry = ex.get_order(report.entry_order_id or "")
    assert entry.request.client_order_id == "run-1/0001"
    assert (entry.request.type, entry.request.side, entry.request.quantity) == (
        OrderType.MARKET,
        Side.BUY,
        0.166,
    )
    assert (entry.request.stop_loss, entry.request.take_profit, entry.request.leverage) == (
        29700.0,
        30600.0,
        3.0,
    )

    ex.on_bar(SYM, ts(1), 30010.0, 30060.0, 29990.0, 30020.0, 10.0)
    report = refresh(report, ex)
    assert report.status == "FILLED"
    assert [(f.order_id, f.price, f.quantity) for f in report.fills] == [(entry.id, 30010.0, 0.166)]
    sl = ex.get_order(report.stop_loss_order_id or "")
    tp = ex.get_order(report.take_profit_order_id or "")
    assert (sl.request.type, sl.request.trigger_price, sl.request.side) == (
        OrderType.STOP_MARKET,
        29700.0,
        Side.SELL,
    )
    assert (tp.request.type, tp.request.price, tp.request.side) == (
        OrderType.LIMIT,
        30600.0,
        Side.SELL,
    )
    assert sl.request.reduce_only and tp.request.reduce_only
    assert sl.parent_id == tp.parent_id == entry.id
    assert (sl.oco_id, tp.oco_id) == (tp.id, sl.id)
    assert report.order_ids == [entry.id, sl.id, tp.id]

    ex.on_bar(SYM, ts(2), 30020.0, 30700.0, 30000.0, 30650.0, 10.0)
    report = refresh(report, ex)
    assert report.status == "CLOSED"
    assert (report.take_profit_status, report.stop_loss_status) == (
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
    )
    assert [(f.order_id, f.price) for f in report.fills] == [(entry.id, 30010.0), (tp.id, 30600.0)]
    assert ex.positions() == []


def test_stop_loss_leg_closes_the_trade_and_counts_a_loss(ex: VirtualExchange) -> None:
    report = execute_gate_result(gate(ex), ex, client_order_id="c-1")
    ex.on_bar(SYM, ts(1), 30000.0, 30010.0, 29990.0, 30000.0, 10.0)
    ex.on_bar(SYM, ts(2), 29990.0, 30000.0, 29600.0, 29650.0, 10.0)
    report = refresh(report, ex)
    assert report.status == "CLOSED"
    assert (report.stop_loss_status, report.take_profit_status) == (
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
    )
    assert report.fills[-1].price == 29700.0
    acct = account_state_from_exchange(ex)
    assert acct.consecutive_losses == 1
    assert acct.open_notional == {}
    assert acct.equity == pytest.approx(10_000.0 - 0.166 * 300.0)


def test_short_limit_bracket(ex: VirtualExchange) -> None:
    result = gate(
        ex,
        action="SHORT",
        entry_type="limit",
        entry=30100.0,
        stop_loss=30400.0,
        take_profit=29500.0,
    )
    report = execute_gate_result(result, ex, client_order_id="c-2")
    assert report.status == "PLACED"
    entry = ex.get_order(report.entry_order_id or "")
    assert (entry.request.type, entry.request.price, entry.request.side) == (
        OrderType.LIMIT,
        30100.0,
        Side.SELL,
    )
    ex.on_bar(SYM, ts(1), 30000.0, 30050.0, 29950.0, 30000.0, 10.0)
    assert refresh(report, ex).status == "PLACED"  # limit not reached yet
    ex.on_bar(SYM, ts(2), 30000.0, 30150.0, 29990.0, 30120.0, 10.0)
    report = refresh(report, ex)
    assert report.status == "FILLED"
    assert report.fills[0].price == 30100.0
    assert report.stop_loss_order_id and report.take_profit_order_id


def _plan(**kw: object) -> OrderPlan:
    base: dict[str, object] = dict(
        symbol=SYM,
        side=Side.BUY,
        quantity=0.1,
        leverage=3.0,
        entry_type=OrderType.MARKET,
        entry_price=30000.0,
        stop_loss=29700.0,
        take_profit=30600.0,
        notional=3000.0,
        risk_amount=30.0,
    )
    base.update(kw)
    return OrderPlan(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"quantity": 0.0005}, "quantity: 0.0005 is not a multiple of the BTCUSDT size step 0.001"),
        (
            {"quantity": 5.0},
            "quantity: 5 BTCUSDT needs 50000.00 USDT (margin + taker fee) but "
            "10000.00 is available",
        ),
        ({"stop_loss": 30100.0}, "stop_loss: 30100 must be below the BUY entry price 30000"),
        ({"symbol": "PEPEUSDT"}, "symbol: unknown symbol 'PEPEUSDT'"),
    ],
)
def test_rejected_order_is_reported_with_its_reason(
    ex: VirtualExchange, kw: dict[str, object], reason: str
) -> None:
    report = execute(_plan(**kw), ex, client_order_id="c-3")
    assert report.status == "REJECTED"
    assert report.rejection_reason is not None and report.rejection_reason.startswith(reason)
    assert report.entry_order_id is None
    assert ex.open_orders() == [] and ex.fills() == []


def test_denied_result_places_nothing(ex: VirtualExchange) -> None:
    result = gate(ex, action="FLAT")
    assert result.verdict == "DENIED"
    report = execute_gate_result(result, ex, client_order_id="c-4")
    assert report.status == "NOT_EXECUTED"
    assert report.note == "not executed: DENIED"
    assert report.order_ids == [] and report.fills == []
    assert ex.orders() == []


def test_entry_interval_blocks_a_second_entry_after_a_fill(ex: VirtualExchange) -> None:
    """The account read back from the exchange feeds R05 and R11: the gate sees its own trade."""
    execute_gate_result(gate(ex), ex, client_order_id="c-5")
    ex.on_bar(SYM, ts(1), 30000.0, 30010.0, 29990.0, 30000.0, 10.0)
    acct = account_state_from_exchange(ex)
    assert acct.last_entry_at == {SYM: ts(1).to_pydatetime()}
    assert acct.open_notional[SYM] == pytest.approx(0.166 * 30000.0)
    again = gate(ex)
    assert again.verdict == "DENIED"
    assert [r.rule for r in again.reasons if not r.passed] == ["R05_entry_interval"]


def test_report_is_json_serialisable(ex: VirtualExchange) -> None:
    report = execute_gate_result(gate(ex), ex, client_order_id="c-6")
    ex.on_bar(SYM, ts(1), 30000.0, 30010.0, 29990.0, 30000.0, 10.0)
    report = refresh(report, ex)
    again = type(report).model_validate_json(report.model_dump_json())
    assert again == report
