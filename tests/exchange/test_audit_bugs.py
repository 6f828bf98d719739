"""Regression tests for the seven defects the audit of ``exchange/`` found (issue 9), each built
from the issue's own numbers."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from backtest.report import equity_csv, equity_daily
from exchange.errors import OrderRejected
from exchange.executor import execute, refresh
from exchange.types import OrderPlan, OrderStatus, OrderType, Side
from exchange.virtual import ExchangeConfig, VirtualExchange
from tests.exchange.kit import FREE, SYM, lim, make, mkt, run, stop_lim

START = 1_000_000.0


def _equity(ex: VirtualExchange) -> float:
    return ex.balance().equity - START


@pytest.mark.parametrize(
    ("policy", "pnl", "filled"), [("pessimistic", -5.5, False), ("optimistic", -4.0, True)]
)
def test_bug1_reduce_only_stop_limit_takes_the_two_path_walk(
    policy: str, pnl: float, filled: bool
) -> None:
    """Short 1 @ 100, buy stop-limit 105/104 (reduce-only), bar O 100 H 106 L 99 C 105.5:
    O->H->L->C triggers at 105 and fills the limit at 104 on the way down (-4.00);
    O->L->H->C triggers on the way up and never comes back to 104 (-5.50)."""
    ex = make(sl_tp_same_bar=policy)
    flat = (100.0, 100.0, 100.0, 100.0)
    run(ex, [flat, flat], {0: [mkt("SELL")], 1: [stop_lim("BUY", 105, 104, reduce_only=True)]})
    run(ex, [(100.0, 106.0, 99.0, 105.5)], start=2)
    assert _equity(ex) == pytest.approx(pnl)
    assert (ex.get_order("O-000002").status is OrderStatus.FILLED) is filled
    assert (ex.position(SYM) is None) is filled


def test_bug2a_a_gapped_bracket_stop_limit_entry_gets_no_take_profit_in_its_bar() -> None:
    """Sell stop-limit 106.1/105.5 with TP 102.6; the bar opens at 105 (trigger passed in the
    gap, limit not marketable) and spans 102.5..105.8. P6: the entry fills at 105.5, the TP is
    granted only if reached on both orderings, and O->L->H->C reaches 102.6 before the entry."""
    ex = make()
    run(
        ex,
        [(107.0, 107.0, 107.0, 107.0)],
        {0: [stop_lim("SELL", 106.1, 105.5, take_profit=102.6)]},
    )
    fills = run(ex, [(105.0, 105.8, 102.5, 103.5)], start=1)
    assert [(f.side.value, f.price, f.liquidity) for _, f in fills] == [("SELL", 105.5, "MAKER")]
    assert _equity(ex) == pytest.approx(2.0)  # not the +2.90 of the take-profit


def test_bug2b_a_gapped_reduce_only_stop_limit_does_not_hide_the_liquidation() -> None:
    """Long 1 @ 100 at 10x (liquidation (100 - 10) / 0.995 = 90.4523), reduce-only sell
    stop-limit 93/91.5; the bar opens at 91 (gapped, limit not marketable) and spans 90..92.
    O->H->L->C fills the limit at 91.5 (-8.5); O->L->H->C is liquidated (-10): pessimistic
    keeps the liquidation."""
    ex = make()
    flat = (100.0, 100.0, 100.0, 100.0)
    run(
        ex,
        [flat, flat],
        {0: [mkt("BUY", leverage=10)], 1: [stop_lim("SELL", 93, 91.5, reduce_only=True)]},
    )
    fills = run(ex, [(91.0, 92.0, 90.0, 91.0)], start=2)
    assert len(fills) == 1
    liq = fills[0][1]
    assert liq.price == pytest.approx(90.0 / 0.995) == pytest.approx(90.4523, abs=1e-4)
    assert ex.get_order(liq.order_id).role == "liquidation"
    assert ex.get_order("O-000002").status is OrderStatus.CANCELED
    assert _equity(ex) == pytest.approx(-10.0)


def test_bug3_refresh_after_a_liquidation_reports_it_with_the_bracket_ids() -> None:
    ex = VirtualExchange(ExchangeConfig(starting_balance=10_000.0, **FREE))
    t0 = pd.Timestamp("2023-04-20T01:00:00Z")
    ex.on_bar("BTCUSDT", t0, 30000.0, 30050.0, 29950.0, 30000.0)
    plan = OrderPlan(
        symbol="BTCUSDT",
        side=Side.BUY,
        quantity=0.1,
        leverage=10,
        entry_type=OrderType.MARKET,
        stop_loss=26000.0,  # below the liquidation price (~27135): the venue gets there first
        take_profit=33000.0,
        notional=3000.0,
        risk_amount=400.0,
    )
    report = execute(plan, ex, client_order_id="run/1")
    ex.on_bar("BTCUSDT", t0 + pd.Timedelta(minutes=1), 30000.0, 30010.0, 29990.0, 30000.0)
    live = refresh(report, ex)
    assert live.status == "FILLED" and live.stop_loss_order_id and live.take_profit_order_id
    ex.on_bar("BTCUSDT", t0 + pd.Timedelta(minutes=2), 30000.0, 30000.0, 27000.0, 27100.0)
    after = refresh(live, ex)
    assert after.status == "LIQUIDATED"
    assert (after.stop_loss_order_id, after.take_profit_order_id) == (
        live.stop_loss_order_id,
        live.take_profit_order_id,
    )
    assert after.stop_loss_status is OrderStatus.CANCELED
    assert after.take_profit_status is OrderStatus.CANCELED
    roles = [ex.get_order(f.order_id).role for f in after.fills]
    assert roles == ["entry", "liquidation"]
    # a report written before the entry filled finds the legs too
    assert refresh(report, ex).stop_loss_order_id == live.stop_loss_order_id


def test_bug4_modify_quantity_applies_the_margin_check_of_place() -> None:
    ex = make(starting_balance=10_000.0)
    run(ex, [(100.0, 100.0, 100.0, 100.0)])
    with pytest.raises(OrderRejected) as placed:
        ex.place(lim("BUY", 100, 1000))
    assert placed.value.field == "quantity"
    order = ex.place(lim("BUY", 100, 1))
    before = ex.balance()
    with pytest.raises(OrderRejected) as modified:
        ex.modify(order.id, quantity=1000)
    assert modified.value.field == "quantity"
    assert "needs 100000.00 USDT" in str(modified.value)
    assert ex.get_order(order.id).request.quantity == 1
    assert ex.balance() == before and before.available == pytest.approx(9_900.0)
    # within the margin it still works, and the order's own reservation counts as free
    assert ex.modify(order.id, quantity=99).request.quantity == 99
    assert ex.balance().available == pytest.approx(100.0)


def test_bug5_a_flipped_position_starts_with_no_realised_pnl() -> None:
    ex = make()
    run(
        ex,
        [(100.0, 100.0, 100.0, 100.0), (100.0, 100.0, 100.0, 100.0), (110.0, 110, 110, 110)],
        {0: [mkt("BUY")], 1: [mkt("SELL", 2)]},
    )
    pos = ex.position(SYM)
    assert pos is not None and pos.quantity == -1.0 and pos.entry_price == 110.0
    assert pos.realized_pnl == 0.0
    assert ex.fills()[-1].realized_pnl == pytest.approx(10.0)  # the closed leg's, on its fill


def test_bug6_values_near_the_grid_are_snapped_and_taker_fills_land_on_the_tick() -> None:
    ex = make(slippage_bps=1.0)
    run(ex, [(28000.0, 28000.0, 28000.0, 28000.0)])
    o = ex.place(lim("BUY", 27000.00000001, 0.0010000000001))
    assert (o.request.price, o.request.quantity) == (27000.0, 0.001)
    ex.cancel(o.id)
    ex.place(mkt("BUY", 0.001))
    buy = run(ex, [(28000.1, 28100.0, 27900.0, 28000.0)], start=1)[0][1]
    assert buy.price == 28003.0  # 28000.1 x 1.0001 = 28002.90001, on the tick against the buyer
    ex.place(mkt("SELL", 0.001))
    sell = run(ex, [(28890.2, 28900.0, 28800.0, 28890.0)], start=2)[0][1]
    assert sell.price == 28887.3  # 28890.2 x 0.9999 = 28887.31098, down for the seller


def test_bug7_equity_csv_round_trips_and_daily_equity_is_keyed_by_its_time() -> None:
    idx = pd.date_range("2023-01-01T23:58:00Z", periods=4, freq="1min")
    equity = pd.Series([10_000.123456789012, 10_001.0, 10_002.000000000002, 9_999.5], index=idx)
    daily = equity_daily(equity)
    assert list(daily.index) == [
        pd.Timestamp("2023-01-02T00:00:00Z"),  # the close of 23:59, the day's last bar
        pd.Timestamp("2023-01-02T00:02:00Z"),  # data end: the close of 00:01
    ]
    assert list(daily) == [10_001.0, 9_999.5]

    result = SimpleNamespace(equity=equity, position=[0.0, 1.0, 1.0, 0.0])
    text = equity_csv(result)  # type: ignore[arg-type]
    values = [float(line.split(",")[1]) for line in text.splitlines()[1:]]
    assert values == list(equity)
