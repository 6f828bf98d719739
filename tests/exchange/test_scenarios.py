"""The ten scenarios of the contract notes (§16), table-driven in freqtrade's BTContainer style.

Each case: bars ``k:(O,H,L,C)``, the orders placed at the close of bar k (working from O[k+1]),
the exact fills expected as (bar, side, quantity, price, liquidity), and order statuses.
Quantity 1, no fees, no slippage, unless the case says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from exchange.errors import OrderRejected
from tests.exchange.kit import (
    FINE_TICK,
    SYM,
    Action,
    Bar,
    brief,
    lim,
    make,
    mkt,
    run,
    stop,
    stop_lim,
    ts,
)


@dataclass
class Case:
    name: str
    bars: list[Bar]
    orders: dict[int, list[Action]]
    fills: list[tuple[int, str, float, float, str]]
    statuses: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    position: float = 0.0
    fees: list[float] | None = None


FLAT = (100.0, 100.0, 100.0, 100.0)
ENTRY = (100.0, 100.5, 99.5, 100.0)


def _oco_exit(ex: Any) -> None:
    ex.place_oco(lim("SELL", 120, 2, reduce_only=True), stop("SELL", 95, 2, reduce_only=True))


CASES = [
    # S1 market timing, taker fee, slippage clamp
    Case(
        "S1_market_next_open_taker_fee_slippage",
        [(100, 101, 99, 100), (100.5, 102, 100.2, 101)],
        {0: [mkt("BUY")]},
        [(1, "BUY", 1.0, 100.6005, "TAKER")],
        {"O-000001": "FILLED"},
        {"taker_fee": 0.0005, "slippage_bps": 10, **FINE_TICK},
        position=1.0,
        fees=[100.6005 * 0.0005],
    ),
    Case(
        "S1_slippage_clamped_to_high",
        [(100, 101, 99, 100), (100.5, 102, 100.2, 101)],
        {0: [mkt("BUY")]},
        [(1, "BUY", 1.0, 102.0, "TAKER")],
        {"O-000001": "FILLED"},
        {"taker_fee": 0.0005, "slippage_bps": 200},
        position=1.0,
        fees=[102.0 * 0.0005],
    ),
    # S2 long: SL and TP inside one bar
    Case(
        "S2_long_sl_tp_same_bar_pessimistic",
        [FLAT, ENTRY, (101, 106, 94, 100)],
        {0: [mkt("BUY", stop_loss=95, take_profit=105)]},
        [(1, "BUY", 1.0, 100.0, "TAKER"), (2, "SELL", 1.0, 95.0, "TAKER")],
        {"O-000001": "FILLED", "O-000002": "FILLED", "O-000003": "CANCELED"},
    ),
    Case(
        "S2_long_sl_tp_same_bar_optimistic",
        [FLAT, ENTRY, (101, 106, 94, 100)],
        {0: [mkt("BUY", stop_loss=95, take_profit=105)]},
        [(1, "BUY", 1.0, 100.0, "TAKER"), (2, "SELL", 1.0, 105.0, "MAKER")],
        {"O-000002": "CANCELED", "O-000003": "FILLED"},
        {"sl_tp_same_bar": "optimistic"},
    ),
    # S3 short: SL and TP inside one bar
    Case(
        "S3_short_sl_tp_same_bar_pessimistic",
        [FLAT, ENTRY, (99, 106, 94, 100)],
        {0: [mkt("SELL", stop_loss=105, take_profit=95)]},
        [(1, "SELL", 1.0, 100.0, "TAKER"), (2, "BUY", 1.0, 105.0, "TAKER")],
        {"O-000002": "FILLED", "O-000003": "CANCELED"},
    ),
    Case(
        "S3_short_sl_tp_same_bar_optimistic",
        [FLAT, ENTRY, (99, 106, 94, 100)],
        {0: [mkt("SELL", stop_loss=105, take_profit=95)]},
        [(1, "SELL", 1.0, 100.0, "TAKER"), (2, "BUY", 1.0, 95.0, "MAKER")],
        {"O-000002": "CANCELED", "O-000003": "FILLED"},
        {"sl_tp_same_bar": "optimistic"},
    ),
    # S4 gap through a stop fills at the open
    Case(
        "S4a_gap_through_stop_fills_at_open",
        [FLAT, ENTRY, (90, 92, 88, 91)],
        {0: [mkt("BUY", stop_loss=95)]},
        [(1, "BUY", 1.0, 100.0, "TAKER"), (2, "SELL", 1.0, 90.0, "TAKER")],
        {"O-000002": "FILLED"},
    ),
    Case(
        "S4b_gap_through_stop_bar_back_above_stop",
        [FLAT, ENTRY, (90, 97, 88, 96)],
        {0: [mkt("BUY", stop_loss=95)]},
        [(1, "BUY", 1.0, 100.0, "TAKER"), (2, "SELL", 1.0, 90.0, "TAKER")],
    ),
    Case(
        "S4_gap_stop_slippage_clamped_to_low",
        [FLAT, ENTRY, (90, 92, 88, 91)],
        {0: [mkt("BUY", stop_loss=95)]},
        [(1, "BUY", 1.0, 100.5, "TAKER"), (2, "SELL", 1.0, 88.0, "TAKER")],
        config={"slippage_bps": 300},
    ),
    # S5 limit across a gap: resting vs arriving
    Case(
        "S5a_resting_limit_gapped_fills_at_limit_maker",
        [FLAT, (99.5, 100, 99, 99.8), (96, 97, 95, 96)],
        {0: [lim("BUY", 98)]},
        [(2, "BUY", 1.0, 98.0, "MAKER")],
        {"O-000001": "FILLED"},
        position=1.0,
    ),
    Case(
        "S5b_arriving_limit_through_open_fills_at_open_taker",
        [FLAT, (99.5, 100, 99, 99.8), (96, 97, 95, 96)],
        {1: [lim("BUY", 98)]},
        [(2, "BUY", 1.0, 96.0, "TAKER")],
        position=1.0,
    ),
    # S6 limit touch
    Case(
        "S6_limit_touch_fills_maker",
        [FLAT, (100, 101, 98, 99)],
        {0: [lim("BUY", 98)]},
        [(1, "BUY", 1.0, 98.0, "MAKER")],
        position=1.0,
    ),
    Case(
        "S6_limit_not_reached_stays_new",
        [FLAT, (100, 101, 98.1, 99)],
        {0: [lim("BUY", 98)]},
        [],
        {"O-000001": "NEW"},
    ),
    # S7 stop-limit triggered by a gap, limit not marketable at the open
    Case(
        "S7_stop_limit_gap_then_limit_maker",
        [FLAT, (103, 104, 102.4, 103.5)],
        {0: [stop_lim("BUY", 102, 102.5)]},
        [(1, "BUY", 1.0, 102.5, "MAKER")],
        {"O-000001": "FILLED"},
        position=1.0,
    ),
    Case(
        "S7_stop_limit_triggered_limit_never_reached",
        [FLAT, (103, 104, 102.8, 103.5)],
        {0: [stop_lim("BUY", 102, 102.5)]},
        [],
        {"O-000001": "NEW"},
    ),
    # S8 market entry and its stop in the same bar
    Case(
        "S8_entry_and_stop_same_bar",
        [FLAT, (100, 101, 94, 96)],
        {0: [mkt("BUY", stop_loss=95)]},
        [(1, "BUY", 1.0, 100.0, "TAKER"), (1, "SELL", 1.0, 95.0, "TAKER")],
        {"O-000002": "FILLED"},
    ),
    # S9 limit entry with children inside one bar
    Case(
        "S9a_limit_entry_children_no_tp_this_bar",
        [FLAT, (100, 102, 97, 101), (101, 101.2, 100.8, 101)],
        {0: [lim("BUY", 98, stop_loss=96, take_profit=101.5)]},
        [(1, "BUY", 1.0, 98.0, "MAKER")],
        {"O-000001": "FILLED", "O-000002": "NEW", "O-000003": "NEW"},
        position=1.0,
    ),
    Case(
        "S9b_limit_entry_then_stop_same_bar",
        [FLAT, (100, 102, 95, 101)],
        {0: [lim("BUY", 98, stop_loss=96, take_profit=101.5)]},
        [(1, "BUY", 1.0, 98.0, "MAKER"), (1, "SELL", 1.0, 96.0, "TAKER")],
        {"O-000002": "FILLED", "O-000003": "CANCELED"},
    ),
    # S10 reduce-only, OCO, flat-cancel, FIFO
    Case(
        "S10_tp_fills_both_lots_sl_canceled",
        [FLAT, (100, 100, 100, 100), (110, 110, 110, 110), (115, 121, 114, 118)],
        {0: [mkt("BUY")], 1: [mkt("BUY")], 2: [_oco_exit]},
        [
            (1, "BUY", 1.0, 100.0, "TAKER"),
            (2, "BUY", 1.0, 110.0, "TAKER"),
            (3, "SELL", 2.0, 120.0, "MAKER"),
        ],
        {"O-000003": "FILLED", "O-000004": "CANCELED"},
    ),
    Case(
        "S10_reduce_only_clamped_to_position",
        [FLAT, (100, 100, 100, 100), (110, 110, 110, 110), (115, 126, 114, 118)],
        {0: [mkt("BUY")], 1: [mkt("BUY")], 2: [lim("SELL", 125, 3, reduce_only=True)]},
        [
            (1, "BUY", 1.0, 100.0, "TAKER"),
            (2, "BUY", 1.0, 110.0, "TAKER"),
            (3, "SELL", 2.0, 125.0, "MAKER"),
        ],
        {"O-000003": "FILLED"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario(case: Case) -> None:
    ex = make(**case.config)
    fills = run(ex, case.bars, case.orders)
    expected = [(k, s, q, pytest.approx(p, abs=1e-9), liq) for k, s, q, p, liq in case.fills]
    assert brief(fills) == expected
    for oid, status in case.statuses.items():
        assert ex.get_order(oid).status.value == status, oid
    pos = ex.position(SYM)
    assert (pos.quantity if pos else 0.0) == pytest.approx(case.position)
    if case.fees is not None:
        assert [f.fee for _, f in fills] == pytest.approx(case.fees, abs=1e-12)


def test_s1_fee_rounds_to_the_notes_figure() -> None:
    ex = make(taker_fee=0.0005, slippage_bps=10, **FINE_TICK)
    fills = run(ex, [(100, 101, 99, 100), (100.5, 102, 100.2, 101)], {0: [mkt("BUY")]})
    assert round(fills[0][1].fee, 4) == 0.0503
    assert fills[0][1].reference_price == 100.5
    assert fills[0][1].slippage == pytest.approx(0.1005)


def test_s7_triggered_stop_limit_is_flagged_not_a_new_status() -> None:
    ex = make()
    run(ex, [FLAT, (103, 104, 102.8, 103.5)], {0: [stop_lim("BUY", 102, 102.5)]})
    order = ex.get_order("O-000001")
    assert order.status.value == "NEW"
    assert order.triggered_at is not None


def test_s9a_next_quiet_bar_changes_nothing() -> None:
    ex = make()
    run(ex, [FLAT, (100, 102, 97, 101)], {0: [lim("BUY", 98, stop_loss=96, take_profit=101.5)]})
    before = ex.state_dict()
    assert ex.on_bar(SYM, ts(2), 101, 101.2, 100.8, 101) == []
    after = ex.state_dict()
    for key in ("orders", "fills", "wallet", "books"):
        if key == "books":

            def strip(bs):
                return [{k: v for k, v in b.items() if k not in ("mark", "last_ts")} for b in bs]

            assert strip(after[key]) == strip(before[key])
        else:
            assert after[key] == before[key]


def test_s10_reduce_only_buy_while_long_is_rejected() -> None:
    ex = make()
    run(ex, [FLAT, (100, 100, 100, 100), (110, 110, 110, 110)], {0: [mkt("BUY")], 1: [mkt("BUY")]})
    with pytest.raises(OrderRejected) as err:
        ex.place(mkt("BUY", reduce_only=True))
    assert str(err.value) == "reduce_only: a BUY would increase the LONG SYNTH-BTCUSDT position"


def test_s10_fifo_lots_give_plus_20_and_plus_10() -> None:
    from exchange.margin import Lot, apply_fill

    effect = apply_fill([Lot(1.0, 100.0, 100.0), Lot(1.0, 110.0, 110.0)], -2.0, 120.0, 1.0)
    assert effect.closed_lots == [(1.0, 100.0, 20.0), (1.0, 110.0, 10.0)]
    assert effect.realized_pnl == 30.0
    ex = make()
    fills = run(
        ex,
        [FLAT, (100, 100, 100, 100), (110, 110, 110, 110), (115, 121, 114, 118)],
        {0: [mkt("BUY")], 1: [mkt("BUY")], 2: [_oco_exit]},
    )
    assert fills[-1][1].realized_pnl == 30.0
    assert ex.get_order("O-000004").reason == "OCO partner O-000003 filled"
