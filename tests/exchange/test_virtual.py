"""VirtualExchange: validation, money reconciled by hand, markets, determinism, the skip contract."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import pytest

from exchange.errors import BarRejected, OrderNotOpen, OrderRejected, UnknownOrder
from exchange.protocol import Exchange
from exchange.types import OrderRequest
from exchange.virtual import ExchangeConfig, VirtualExchange
from tests.exchange.kit import FREE, SYM, T0, brief, lim, make, mkt, run, stop, stop_lim, ts

FLAT = (100.0, 100.0, 100.0, 100.0)


def test_implements_the_exchange_protocol() -> None:
    assert isinstance(make(), Exchange)


def test_config_defaults_are_locked() -> None:
    cfg = ExchangeConfig()
    assert (cfg.starting_balance, cfg.maker_fee, cfg.taker_fee) == (10_000.0, 0.0002, 0.0006)
    assert (cfg.slippage_bps, cfg.funding_rate, cfg.maintenance_margin_rate) == (1.0, 0.0001, 0.005)
    assert cfg.sl_tp_same_bar == "pessimistic" and cfg.reject_immediate_stops is True
    assert len(cfg.instruments) >= 8


# ---------------------------------------------------------------- validation


@pytest.fixture()
def quiet() -> VirtualExchange:
    """10,000 USDT, no costs, one bar at 100 seen (mark 100), flat."""
    ex = VirtualExchange(ExchangeConfig(**FREE))
    ex.on_bar(SYM, ts(0), *FLAT)
    return ex


KNOWN = "ADAUSDT, BNBUSDT, BTCUSDT, DOGEUSDT, ETHUSDT, LTCUSDT, SOLUSDT, XRPUSDT"

REJECTIONS = [
    (
        "unknown_symbol",
        dict(symbol="FOOUSDT", side="BUY", type="MARKET", quantity=1),
        f"symbol: unknown symbol 'FOOUSDT' (known: {KNOWN})",
    ),
    (
        "zero_quantity",
        dict(side="BUY", type="MARKET", quantity=0),
        "quantity: must be > 0, got 0.0",
    ),
    (
        "negative_quantity",
        dict(side="BUY", type="MARKET", quantity=-1),
        "quantity: must be > 0, got -1.0",
    ),
    (
        "quantity_off_step",
        dict(side="BUY", type="MARKET", quantity=0.0015),
        "quantity: 0.0015 is not a multiple of the SYNTH-BTCUSDT size step 0.001",
    ),
    (
        "price_off_tick",
        dict(side="BUY", type="LIMIT", quantity=1, price=99.95),
        "price: 99.95 is not on the SYNTH-BTCUSDT tick 0.1",
    ),
    (
        "non_positive_price",
        dict(side="BUY", type="LIMIT", quantity=1, price=-5),
        "price: must be > 0, got -5.0",
    ),
    (
        "limit_without_price",
        dict(side="BUY", type="LIMIT", quantity=1),
        "price: a LIMIT order needs a price",
    ),
    (
        "market_with_price",
        dict(side="BUY", type="MARKET", quantity=1, price=100),
        "price: a MARKET order takes no price, got 100.0",
    ),
    (
        "stop_without_trigger",
        dict(side="SELL", type="STOP_MARKET", quantity=1),
        "trigger_price: a STOP_MARKET order needs a trigger_price",
    ),
    (
        "buy_stop_below_market",
        dict(side="BUY", type="STOP_MARKET", quantity=1, trigger_price=99),
        "trigger_price: a BUY stop at 99 must be above the market price 100 (it would trigger immediately)",
    ),
    (
        "sell_stop_above_market",
        dict(side="SELL", type="STOP_MARKET", quantity=1, trigger_price=101),
        "trigger_price: a SELL stop at 101 must be below the market price 100 (it would trigger immediately)",
    ),
    (
        "sell_stop_at_market",
        dict(side="SELL", type="STOP_LIMIT", quantity=1, trigger_price=100, price=99),
        "trigger_price: a SELL stop at 100 must be below the market price 100 (it would trigger immediately)",
    ),
    (
        "reduce_only_at_flat",
        dict(side="SELL", type="MARKET", quantity=1, reduce_only=True),
        "reduce_only: no SYNTH-BTCUSDT position to reduce (flat)",
    ),
    (
        "leverage_above_cap",
        dict(side="BUY", type="MARKET", quantity=1, leverage=25),
        "leverage: must be between 1 and 20 for SYNTH-BTCUSDT, got 25.0",
    ),
    (
        "stop_loss_above_buy_entry",
        dict(side="BUY", type="LIMIT", quantity=1, price=99, stop_loss=99.5),
        "stop_loss: 99.5 must be below the BUY entry price 99",
    ),
    (
        "take_profit_above_sell_entry",
        dict(side="SELL", type="MARKET", quantity=1, take_profit=101),
        "take_profit: 101 must be below the SELL entry price 100",
    ),
    (
        "insufficient_margin",
        dict(side="BUY", type="MARKET", quantity=101),
        "quantity: 101 SYNTH-BTCUSDT needs 10100.00 USDT (margin + taker fee) but 10000.00 is available",
    ),
]


@pytest.mark.parametrize(("name", "fields", "message"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_bad_request_is_rejected_with_exact_message_and_changes_nothing(
    quiet: VirtualExchange, name: str, fields: dict, message: str
) -> None:
    before = quiet.state_dict()
    with pytest.raises(OrderRejected) as err:
        quiet.place(OrderRequest(**{"symbol": SYM, **fields}))
    assert str(err.value) == message
    assert isinstance(err.value, ValueError)
    assert quiet.state_dict() == before
    assert quiet.place(lim("BUY", 90)).id == "O-000001"  # a rejection consumes no id


def test_reduce_only_that_would_increase_is_rejected(quiet: VirtualExchange) -> None:
    quiet.place(mkt("SELL"))
    quiet.on_bar(SYM, ts(1), *FLAT)
    with pytest.raises(
        OrderRejected,
        match=r"^reduce_only: a SELL would increase the SHORT SYNTH-BTCUSDT position$",
    ):
        quiet.place(mkt("SELL", reduce_only=True))


def test_cancel_unknown_and_modify_or_cancel_filled_are_rejected(quiet: VirtualExchange) -> None:
    quiet.place(mkt("BUY"))
    quiet.on_bar(SYM, ts(1), *FLAT)
    before = quiet.state_dict()
    with pytest.raises(UnknownOrder) as e1:
        quiet.cancel("O-999999")
    assert str(e1.value) == "order_id: unknown order 'O-999999'"
    with pytest.raises(OrderNotOpen) as e2:
        quiet.modify("O-000001", quantity=2)
    assert str(e2.value) == "order_id: O-000001 is FILLED and can no longer be modified"
    with pytest.raises(OrderNotOpen) as e3:
        quiet.cancel("O-000001")
    assert str(e3.value) == "order_id: O-000001 is FILLED and can no longer be canceled"
    with pytest.raises(UnknownOrder):
        quiet.get_order("O-999999")
    assert quiet.state_dict() == before


def test_modify_validates_like_place(quiet: VirtualExchange) -> None:
    quiet.place(mkt("BUY"))
    quiet.on_bar(SYM, ts(1), *FLAT)
    sl = quiet.place(stop("SELL", 95, reduce_only=True))
    with pytest.raises(OrderRejected) as err:
        quiet.modify(sl.id, price=101)
    assert str(err.value) == (
        "trigger_price: a SELL stop at 101 must be below the market price 100 (it would trigger immediately)"
    )
    with pytest.raises(OrderRejected) as err2:
        quiet.modify(sl.id, quantity=0.0005)
    assert (
        str(err2.value) == "quantity: 0.0005 is not a multiple of the SYNTH-BTCUSDT size step 0.001"
    )
    moved = quiet.modify(sl.id, price=96)
    assert moved.request.trigger_price == 96 and moved.status.value == "NEW"


def test_modified_limit_fills_at_its_new_price() -> None:
    ex = make()
    fills = run(
        ex,
        [FLAT, (100, 100.5, 99.5, 100), (100, 100, 97, 98)],
        {0: [lim("BUY", 95)], 1: [lambda e: e.modify("O-000001", price=97.5)]},
    )
    assert brief(fills) == [(2, "BUY", 1.0, 97.5, "MAKER")]


def test_cancel_removes_the_order_from_matching() -> None:
    ex = make()
    fills = run(
        ex,
        [FLAT, (100, 100.5, 99.5, 100), (100, 100, 90, 91)],
        {0: [lim("BUY", 95)], 1: [lambda e: e.cancel("O-000001")]},
    )
    assert fills == []
    assert ex.get_order("O-000001").status.value == "CANCELED"
    assert ex.get_order("O-000001").reason == "canceled by user"


def test_bars_out_of_order_or_inconsistent_are_rejected(quiet: VirtualExchange) -> None:
    with pytest.raises(BarRejected, match="is not after the last SYNTH-BTCUSDT bar"):
        quiet.on_bar(SYM, ts(0), *FLAT)
    with pytest.raises(BarRejected, match="need 0 < low <= open, close <= high"):
        quiet.on_bar(SYM, ts(1), 100, 99, 98, 100)
    with pytest.raises(BarRejected, match="no timezone"):
        quiet.on_bar(SYM, pd.Timestamp("2023-04-20T02:00:00"), *FLAT)


# ---------------------------------------------------------------- money by hand


def test_two_trades_reconcile_to_the_cent() -> None:
    """Hand calculation (maker 2 bps, taker 6 bps, slippage 2 bps, 10x):

    A long 0.5 market at O=30000 -> 30000 x 1.0002 = 30006.0, fee 0.5 x 30006 x 0.0006 = 9.0018;
      TP limit 30600 (maker) fee 0.5 x 30600 x 0.0002 = 3.06; gross 0.5 x 594 = 297.0;
      net 297.0 - 9.0018 - 3.06 = 284.9382.
    B short 0.25 resting limit 31000 (maker) fee 1.55; stop 31500 -> 31500 x 1.0002 = 31506.3,
      fee 0.25 x 31506.3 x 0.0006 = 4.725945; gross 0.25 x (31000 - 31506.3) = -126.575;
      net -126.575 - 1.55 - 4.725945 = -132.850945.
    Wallet 10000 + 284.9382 - 132.850945 = 10152.087255.
    """
    ex = VirtualExchange(
        ExchangeConfig(maker_fee=0.0002, taker_fee=0.0006, slippage_bps=2, funding_rate=0)
    )
    quiet = (30000.0, 30000.0, 30000.0, 30000.0)
    fills = run(
        ex,
        [
            quiet,
            (30000, 30100, 29950, 30050),
            (30050, 30650, 30000, 30500),
            (30500, 31050, 30450, 30900),
            (30900, 31600, 30800, 31550),
        ],
        {
            0: [mkt("BUY", 0.5, leverage=10, take_profit=30600)],
            2: [lim("SELL", 31000, 0.25, leverage=10)],
            3: [stop("BUY", 31500, 0.25, reduce_only=True)],
        },
    )
    got = [
        (k, f.side.value, f.quantity, f.price, f.liquidity, f.fee, f.realized_pnl) for k, f in fills
    ]
    want = [
        (1, "BUY", 0.5, 30006.0, "TAKER", 9.0018, 0.0),
        (2, "SELL", 0.5, 30600.0, "MAKER", 3.06, 297.0),
        (3, "SELL", 0.25, 31000.0, "MAKER", 1.55, 0.0),
        (4, "BUY", 0.25, 31506.3, "TAKER", 4.725945, -126.575),
    ]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[:3] == w[:3] and g[4] == w[4]
        assert g[3] == pytest.approx(w[3], abs=1e-9)
        assert g[5] == pytest.approx(w[5], abs=1e-9)
        assert g[6] == pytest.approx(w[6], abs=1e-9)
    wallet = ex.balance().wallet
    assert round(wallet, 2) == 10152.09
    assert wallet == pytest.approx(10152.087255, abs=1e-8)
    net = sum(f.realized_pnl - f.fee for _, f in fills)
    assert 10_000 + net == pytest.approx(wallet, abs=1e-9)
    assert ex.positions() == [] and ex.balance().margin_used == 0


def test_open_position_margin_and_unrealized_pnl_by_hand() -> None:
    """Long 2 @100 at 5x: margin 2 x 100 / 5 = 40; marked at 103: uPnL +6; equity +6."""
    ex = make(starting_balance=1000.0)
    run(ex, [FLAT, (100, 103, 99, 103)], {0: [mkt("BUY", 2, leverage=5)]})
    pos = ex.position(SYM)
    assert pos is not None
    assert (pos.quantity, pos.entry_price, pos.margin, pos.leverage) == (2.0, 100.0, 40.0, 5.0)
    assert pos.unrealized_pnl == pytest.approx(6.0)
    bal = ex.balance()
    assert (bal.wallet, bal.equity, bal.margin_used) == (1000.0, 1006.0, 40.0)
    assert bal.available == pytest.approx(1000.0 - 40.0)  # isolated: the +6 funds nothing


def _up_chop_down() -> tuple[list[tuple[float, float, float, float]], dict]:
    up = [(100.0 + i, 101.0 + i, 99.9 + i, 101.0 + i) for i in range(10)]  # bars 1..10
    chop = [
        (110, 110.4, 108, 108.5),
        (108.5, 109.5, 108.2, 109),
        (109, 109.4, 108.6, 109),
    ]  # 11..13
    down = [
        (105, 105.5, 103, 103.5),
        (103.5, 104, 100, 100.5),
        (100.5, 101, 96, 96.5),
        (96.5, 97, 94.5, 95),
    ]  # 14..17
    bars = [FLAT, *up, *chop, *down]
    orders = {
        0: [mkt("BUY", take_profit=110)],
        10: [lim("BUY", 108)],
        11: [lim("SELL", 109.5, reduce_only=True)],
        13: [mkt("SELL", stop_loss=111, take_profit=95)],
    }
    return bars, orders


def test_up_chop_down_market_pnl_equals_hand_calculation() -> None:
    """Maker 2 bps, taker 6 bps, no slippage, no funding.

    Up:   buy 1 @100 (taker 0.06), TP 110 (maker 0.022)          -> +10 - 0.082   = 9.918
    Chop: buy-limit 108 (maker 0.0216), sell-limit 109.5 (0.0219) -> +1.5 - 0.0435 = 1.4565
    Down: sell 1 @105 at the gapped open (taker 0.063), TP 95 (maker 0.019)
                                                                   -> +10 - 0.082   = 9.918
    Total 21.2925; the untouched SL 111 is canceled when the short closes.
    """
    ex = VirtualExchange(
        ExchangeConfig(maker_fee=0.0002, taker_fee=0.0006, slippage_bps=0, funding_rate=0)
    )
    bars, orders = _up_chop_down()
    fills = run(ex, bars, orders)
    assert brief(fills) == [
        (1, "BUY", 1.0, 100.0, "TAKER"),
        (10, "SELL", 1.0, 110.0, "MAKER"),
        (11, "BUY", 1.0, 108.0, "MAKER"),
        (12, "SELL", 1.0, 109.5, "MAKER"),
        (14, "SELL", 1.0, 105.0, "TAKER"),
        (17, "BUY", 1.0, 95.0, "MAKER"),
    ]
    assert ex.balance().wallet == pytest.approx(10_000 + 9.918 + 1.4565 + 9.918, abs=1e-9)
    assert ex.get_order("O-000006").role == "stop_loss"
    assert ex.get_order("O-000006").status.value == "CANCELED"
    assert ex.open_orders() == [] and ex.positions() == []


def test_same_bars_and_orders_give_identical_fills_every_time() -> None:
    bars, orders = _up_chop_down()
    cfg = ExchangeConfig(slippage_bps=3, funding_rate=0.0001)
    runs = []
    for _ in range(3):
        ex = VirtualExchange(cfg)
        fills = run(ex, bars, orders)
        runs.append(([f.model_dump() for _, f in fills], ex.state_dict()))
    assert runs[0] == runs[1] == runs[2]
    assert [f["id"] for f in runs[0][0]] == [f"F-{i:06d}" for i in range(1, 7)]


# ---------------------------------------------------------------- liquidation and funding


def test_long_liquidation_loses_exactly_the_isolated_margin() -> None:
    """Long 1 @100 at 10x, mmr 0.5%: margin 10, liq = (100 - 10) / (1 - 0.005) = 90.4523."""
    ex = make(starting_balance=1000.0, maintenance_margin_rate=0.005)
    run(ex, [FLAT, (100, 100, 99, 99.5)], {0: [mkt("BUY", leverage=10, stop_loss=80)]})
    pos = ex.position(SYM)
    assert pos is not None and pos.liquidation_price == pytest.approx(90 / 0.995)
    levels = ex.active_levels(SYM)
    assert levels.below == pytest.approx(90 / 0.995)  # liquidation is above the stop at 80
    fills = ex.on_bar(SYM, ts(2), 99, 99.5, 85, 86)
    assert len(fills) == 1
    liq = fills[0]
    assert liq.price == pytest.approx(90 / 0.995) and liq.side.value == "SELL"
    assert liq.realized_pnl == pytest.approx(90 / 0.995 - 100)
    assert liq.realized_pnl - liq.fee == pytest.approx(-10.0)
    assert ex.get_order(liq.order_id).role == "liquidation"
    assert ex.balance().wallet == pytest.approx(990.0)
    assert ex.position(SYM) is None
    assert ex.get_order("O-000002").status.value == "CANCELED"  # the stop at 80 went with it


def test_short_liquidation_on_a_gap_caps_the_loss_at_the_margin() -> None:
    """Short 1 @100 at 10x: liq = (100 + 10) / 1.005 = 109.45; a gap open at 120 loses 10 only."""
    ex = make(starting_balance=1000.0)
    run(ex, [FLAT, (100, 100, 99, 99.5)], {0: [mkt("SELL", leverage=10)]})
    assert ex.position(SYM).liquidation_price == pytest.approx(110 / 1.005)
    fills = ex.on_bar(SYM, ts(2), 120, 121, 119, 120)
    assert fills[0].price == 120.0 and fills[0].realized_pnl == -10.0 and fills[0].fee == 0.0
    assert ex.balance().wallet == pytest.approx(990.0)


@pytest.mark.parametrize(("side", "expected"), [("BUY", -0.0101), ("SELL", 0.0101)])
def test_positive_funding_debits_longs_and_credits_shorts(side: str, expected: float) -> None:
    """Position of 1 held into 08:00 UTC; price 101 at 08:00; rate 0.0001 -> 1 x 101 x 0.0001."""
    ex = VirtualExchange(ExchangeConfig(**{**FREE, "funding_rate": 0.0001}))
    t = pd.Timestamp("2023-04-20T07:58:00Z")
    ex.on_bar(SYM, t, *FLAT)
    ex.place(mkt(side))
    ex.on_bar(SYM, t + pd.Timedelta(minutes=1), *FLAT)  # fills at 07:59
    levels = ex.active_levels(SYM)
    assert levels.next_event_time == pd.Timestamp("2023-04-20T08:00:00Z")
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T08:00:00Z"), 101, 101, 101, 101)
    pays = ex.funding_payments(SYM)
    assert len(pays) == 1
    assert pays[0].amount == pytest.approx(expected) and pays[0].ts == pd.Timestamp(
        "2023-04-20T08:00:00Z"
    )
    assert ex.balance().wallet == pytest.approx(10_000 + expected)
    assert ex.active_levels(SYM).next_event_time == pd.Timestamp("2023-04-20T16:00:00Z")


def test_funding_missed_in_a_data_hole_is_settled_on_the_next_bar() -> None:
    ex = VirtualExchange(ExchangeConfig(**{**FREE, "funding_rate": 0.001}))
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T07:58:00Z"), *FLAT)
    ex.place(mkt("BUY"))
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T07:59:00Z"), *FLAT)
    ex.on_bar(
        SYM, pd.Timestamp("2023-04-20T16:30:00Z"), 50, 50, 50, 50
    )  # hole over 08:00 and 16:00
    assert [p.amount for p in ex.funding_payments()] == pytest.approx([-0.05, -0.05])


def test_no_funding_while_flat() -> None:
    ex = VirtualExchange(ExchangeConfig(**{**FREE, "funding_rate": 0.01}))
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T07:59:00Z"), *FLAT)
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T08:00:00Z"), *FLAT)
    assert ex.funding_payments() == [] and ex.active_levels(SYM).next_event_time is None


# ---------------------------------------------------------------- the skip contract


def _random_session(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-04-20T07:00:00Z")
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    opens = np.concatenate([[100.0], closes[:-1]]) * (1 + rng.normal(0, 0.0003, n))
    highs = np.maximum(opens, closes) * (1 + np.abs(rng.normal(0, 0.001, n)))
    lows = np.minimum(opens, closes) * (1 - np.abs(rng.normal(0, 0.001, n)))
    bars = [
        (
            start + pd.Timedelta(minutes=i),
            *(round(float(x), 4) for x in (opens[i], highs[i], lows[i], closes[i])),
        )
        for i in range(n)
    ]
    plans = {
        int(k): int(rng.integers(0, 6)) for k in rng.choice(n - 1, size=n // 12, replace=False)
    }
    return bars, plans


def _act(ex: VirtualExchange, kind: int) -> None:
    """Place something sensible around the mark (ignored when the exchange refuses it)."""
    m = ex.mark_price(SYM)
    assert m is not None
    r = lambda x: round(x, 1)  # noqa: E731
    pos = ex.position(SYM)
    reqs = [
        mkt("BUY", 1, leverage=5, stop_loss=r(m * 0.99), take_profit=r(m * 1.01)),
        mkt("SELL", 1, leverage=5, stop_loss=r(m * 1.01), take_profit=r(m * 0.99)),
        lim("BUY", r(m * 0.998), 1, leverage=3, stop_loss=r(m * 0.99), take_profit=r(m * 1.005)),
        stop("SELL", r(m * 0.997), 1, leverage=2),
        stop_lim("BUY", r(m * 1.002), r(m * 1.003), 1, leverage=2),
        mkt("SELL" if pos and pos.quantity > 0 else "BUY", 1, reduce_only=True),
    ]
    with contextlib.suppress(OrderRejected):
        ex.place(reqs[kind])


def _compare_skipping(bars: list, plans: dict[int, int]) -> tuple[int, int]:
    """Feed every bar to one exchange and only the touched ones to another; compare."""
    cfg = ExchangeConfig(slippage_bps=2, funding_rate=0.0005, starting_balance=1_000_000)
    full, fast = VirtualExchange(cfg), VirtualExchange(cfg)
    full_fills, fast_fills = [], []
    skipped: tuple | None = None
    n_skipped = 0
    for i, (t, o, h, lo, c) in enumerate(bars):
        full_fills += full.on_bar(SYM, t, o, h, lo, c)
        lv = fast.active_levels(SYM)
        untouched = (
            not lv.pending_market
            and lo > lv.below
            and h < lv.above
            and (lv.next_event_time is None or t + pd.Timedelta(minutes=1) <= lv.next_event_time)
        )
        if untouched:
            skipped = (t, c)
            n_skipped += 1
        else:
            if skipped is not None:
                fast.mark_bar(SYM, *skipped)
                skipped = None
            fast_fills += fast.on_bar(SYM, t, o, h, lo, c)
        if i in plans:
            if skipped is not None:
                fast.mark_bar(SYM, *skipped)
                skipped = None
            _act(full, plans[i])
            _act(fast, plans[i])
    if skipped is not None:
        fast.mark_bar(SYM, *skipped)
    assert [f.model_dump() for f in fast_fills] == [f.model_dump() for f in full_fills]
    assert fast.state_dict() == full.state_dict()
    return n_skipped, len(full_fills)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_skipping_untouched_bars_gives_the_identical_state(seed: int) -> None:
    bars, plans = _random_session(seed)
    n_skipped, n_fills = _compare_skipping(bars, plans)
    assert n_skipped > len(bars) // 4  # the test exercises skipping
    assert n_fills > 5


@pytest.mark.data
def test_skipping_on_real_btc_bars_across_the_binance_halt(shared_data) -> None:
    """Real 1m BTC around the 2023-03-24 halt (80 missing minutes): no matching inside the hole,
    funding at 16:00 settled, and skipping still gives the identical state."""
    frame = pd.read_csv(shared_data / "candles" / "BTCUSDT_1m.csv.gz", parse_dates=["ts"])
    frame = frame[(frame.ts >= "2023-03-24T09:00:00Z") & (frame.ts < "2023-03-24T17:00:00Z")]
    bars = [(r.ts, r.open, r.high, r.low, r.close) for r in frame.itertuples()]
    assert len(bars) == 480 - 80
    rng = np.random.default_rng(7)
    plans = {int(k): int(rng.integers(0, 6)) for k in rng.choice(len(bars) - 1, 60, replace=False)}
    n_skipped, n_fills = _compare_skipping(bars, plans)
    assert n_skipped > 100 and n_fills > 10


def test_an_untouched_bar_changes_only_the_mark() -> None:
    ex = make()
    run(ex, [FLAT, (100, 100.5, 99.5, 100)], {0: [mkt("BUY", stop_loss=95, take_profit=105)]})
    lv = ex.active_levels(SYM)
    assert (lv.below, lv.above, lv.pending_market) == (95.0, 105.0, False)
    before = ex.state_dict()
    assert ex.on_bar(SYM, ts(2), 100, 104.9, 95.1, 101) == []
    after = ex.state_dict()
    assert after["books"][0]["mark"] == 101
    after["books"][0]["mark"], after["books"][0]["last_ts"] = (
        before["books"][0]["mark"],
        before["books"][0]["last_ts"],
    )
    after["now_ns"] = before["now_ns"]
    assert after == before


def test_mark_bar_refuses_a_bar_with_a_pending_event() -> None:
    ex = make()
    ex.on_bar(SYM, ts(0), *FLAT)
    ex.place(mkt("BUY"))
    with pytest.raises(BarRejected, match="pending event"):
        ex.mark_bar(SYM, ts(1), 100)


def test_pending_market_and_time_accessors() -> None:
    ex = make()
    assert ex.now is None and ex.mark_price(SYM) is None
    ex.on_bar(SYM, ts(0), *FLAT)
    ex.place(mkt("BUY"))
    assert ex.active_levels(SYM).pending_market is True
    assert ex.now == T0 + pd.Timedelta(minutes=1) and ex.now_for(SYM) == ex.now
    assert ex.mark_price(SYM) == 100.0
    assert math.isinf(ex.active_levels("ETHUSDT").below)


def test_feed_accepts_a_candle_frame() -> None:
    ex = make()
    idx = pd.date_range(T0, periods=3, freq="1min", tz="UTC")
    frame = pd.DataFrame(
        {
            "open": [100, 100, 98],
            "high": [100, 101, 99],
            "low": [100, 99, 97],
            "close": [100, 100, 98],
            "volume": [1.0, 1.0, 1.0],
        },
        index=idx,
    )
    ex.on_bar(SYM, idx[0] - pd.Timedelta(minutes=1), *FLAT)
    ex.place(lim("BUY", 98))
    fills = ex.feed(SYM, frame)
    assert [(f.price, f.ts) for f in fills] == [(98.0, idx[2])]


def test_messages_print_prices_and_ticks_in_plain_decimals() -> None:
    ex = VirtualExchange(ExchangeConfig(**FREE))
    with pytest.raises(OrderRejected) as err:
        ex.place(
            OrderRequest(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=0.001, price=27123.45)
        )
    assert str(err.value) == "price: 27123.45 is not on the BTCUSDT tick 0.1"
    with pytest.raises(OrderRejected) as err2:
        ex.place(
            OrderRequest(symbol="DOGEUSDT", side="BUY", type="LIMIT", quantity=100, price=0.082345)
        )
    assert str(err2.value) == "price: 0.082345 is not on the DOGEUSDT tick 0.00001"


def test_trusted_request_equals_the_validated_request() -> None:
    """``records.trusted_request`` (a backtest's unvalidated request) is exactly the model
    pydantic builds from the same values: a field added to ``OrderRequest`` breaks it here."""
    from exchange.records import trusted_request
    from exchange.types import OrderRequest, OrderType, Side

    fast = trusted_request(
        "BTCUSDT", Side.SELL, OrderType.LIMIT, 2.5, 101.5, False, 3.0, 105.0, 90.0
    )
    slow = OrderRequest(symbol="BTCUSDT", side="SELL", type="LIMIT", quantity=2.5, price=101.5,
                        leverage=3.0, stop_loss=105.0, take_profit=90.0)  # fmt: skip
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == set(OrderRequest.model_fields)
    assert trusted_request("BTCUSDT", Side.BUY, OrderType.MARKET, 1.0, reduce_only=True) == (
        OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=1.0, reduce_only=True)
    )
