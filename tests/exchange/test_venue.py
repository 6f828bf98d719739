"""Venue-true accounting (issue 9): average entry price (FIFO as an option), isolated margin,
funding from the isolated margin, maintenance tiers, order-size filters and the profiles."""

from __future__ import annotations

import pandas as pd
import pytest

from exchange.errors import OrderRejected
from exchange.instruments import Instrument
from exchange.types import OrderRequest
from exchange.virtual import ExchangeConfig, VirtualExchange
from tests.exchange.kit import FREE, SYM, make, mkt, run

FLAT = (100.0, 100.0, 100.0, 100.0)


@pytest.mark.parametrize(
    ("accounting", "realized", "liquidation"),
    [("average", 15.0, 94.97), ("fifo", 20.0, 99.50)],
)
def test_average_entry_price_is_the_default_and_fifo_an_option(
    accounting: str, realized: float, liquidation: float
) -> None:
    """Long 1 @ 100 and 1 @ 110 at 10x, then sell 1 @ 120: the venues book +15 against the
    average 105 and leave 1 @ 105 with half the margin (liquidation (105 - 10.5) / 0.995 =
    94.97); FIFO books +20 against the oldest lot and leaves 1 @ 110 (99.50)."""
    ex = make(position_accounting=accounting)
    bars = [FLAT, FLAT, (110.0, 110, 110, 110), (120.0, 120, 120, 120)]
    run(
        ex,
        bars,
        {0: [mkt("BUY", leverage=10)], 1: [mkt("BUY", leverage=10)], 2: [mkt("SELL")]},
    )
    assert ex.fills()[-1].realized_pnl == pytest.approx(realized)
    pos = ex.position(SYM)
    assert pos is not None and pos.quantity == 1.0
    assert pos.liquidation_price == pytest.approx(liquidation, abs=0.005)
    assert ExchangeConfig().position_accounting == "average"


def test_isolated_margin_unrealised_profit_funds_no_other_order() -> None:
    """BTC long 0.1 @ 28000 at 10x (margin 280) marked at 30500: +250 unrealised. Available is
    1000 - 280 = 720, so a 0.4 ETH @ 2000 order (800 at 1x) is refused; counting the +250
    (970) would have accepted it."""
    ex = VirtualExchange(ExchangeConfig(starting_balance=1000.0, **FREE))
    t0 = pd.Timestamp("2023-04-20T01:00:00Z")
    ex.on_bar("BTCUSDT", t0, 28000.0, 28000.0, 28000.0, 28000.0)
    ex.place(OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.1, leverage=10))
    ex.on_bar("BTCUSDT", t0 + pd.Timedelta(minutes=1), 28000.0, 30500.0, 28000.0, 30500.0)
    bal = ex.balance()
    assert (bal.equity, bal.margin_used, bal.available) == pytest.approx((1250.0, 280.0, 720.0))
    with pytest.raises(OrderRejected, match=r"needs 800.00 USDT .* but 720.00 is available"):
        ex.place(
            OrderRequest(symbol="ETHUSDT", side="BUY", type="LIMIT", quantity=0.4, price=2000.0)
        )
    ex.place(OrderRequest(symbol="ETHUSDT", side="BUY", type="LIMIT", quantity=0.35, price=2000))


@pytest.mark.parametrize(
    ("from_margin", "liquidation"), [(True, 91.0 / 0.995), (False, 90 / 0.995)]
)
def test_funding_is_paid_from_the_isolated_margin_and_moves_the_liquidation_price(
    from_margin: bool, liquidation: float
) -> None:
    """Long 1 @ 100 at 10x (margin 10) through the 08:00 funding at rate 0.01: it pays 1.00.
    From the margin (WEEX) the margin is 9 and the liquidation price (100 - 9) / 0.995;
    from the wallet it stays (100 - 10) / 0.995."""
    ex = make(funding_rate=0.01, funding_from_margin=from_margin)
    t = pd.Timestamp("2023-04-20T07:58:00Z")
    ex.on_bar(SYM, t, *FLAT)
    ex.place(mkt("BUY", leverage=10))
    ex.on_bar(SYM, t + pd.Timedelta(minutes=1), *FLAT)  # fills at 100
    ex.on_bar(SYM, t + pd.Timedelta(minutes=2), *FLAT)  # 08:00: funding
    assert [p.amount for p in ex.funding_payments()] == [pytest.approx(-1.0)]
    pos = ex.position(SYM)
    assert pos is not None
    assert pos.margin == pytest.approx(9.0 if from_margin else 10.0)
    assert pos.liquidation_price == pytest.approx(liquidation)
    assert ex.balance().wallet == pytest.approx(1_000_000.0 - 1.0)


def test_binance_btcusdt_maintenance_tiers_set_the_liquidation_price() -> None:
    """Binance profile, 2 BTC long @ 30000 at 10x: notional 60,000 is in the second bracket
    (rate 0.5 %, amount 50), margin 6000: (60000 - 6000 - 50) / (2 x 0.995) = 27110.55."""
    ex = VirtualExchange(ExchangeConfig.for_venue("binance", starting_balance=100_000.0))
    t0 = pd.Timestamp("2023-04-20T01:00:00Z")
    ex.on_bar("BTCUSDT", t0, 30000.0, 30000.0, 30000.0, 30000.0)
    ex.place(OrderRequest(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=2, leverage=10))
    ex.on_bar("BTCUSDT", t0 + pd.Timedelta(minutes=1), 30000.0, 30000.0, 30000.0, 30000.0)
    pos = ex.position("BTCUSDT")
    assert pos is not None and pos.entry_price == 30000.0
    assert pos.liquidation_price == pytest.approx((60000 - 6000 - 50) / (2 * 0.995))


def test_min_notional_max_quantity_and_the_limit_price_band() -> None:
    ex = VirtualExchange(ExchangeConfig.for_venue("binance", starting_balance=100_000.0))
    t0 = pd.Timestamp("2023-04-20T01:00:00Z")
    ex.on_bar("ETHUSDT", t0, 3000.0, 3000.0, 3000.0, 3000.0)
    ex.on_bar("BTCUSDT", t0, 30000.0, 30000.0, 30000.0, 30000.0)
    with pytest.raises(OrderRejected, match=r"notional of 3\.00, below the minimum 5"):
        ex.place(OrderRequest(symbol="ETHUSDT", side="BUY", type="MARKET", quantity=0.001))
    ex.place(OrderRequest(symbol="ETHUSDT", side="BUY", type="MARKET", quantity=0.002))
    with pytest.raises(OrderRejected, match="more than 5% above the mark 30000"):
        ex.place(OrderRequest(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=1, price=31600))
    with pytest.raises(OrderRejected, match="more than 5% below the mark 30000"):
        ex.place(OrderRequest(symbol="BTCUSDT", side="SELL", type="LIMIT", quantity=1, price=28400))
    ex.place(OrderRequest(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=1, price=31500))
    capped = Instrument(symbol=SYM, tick_size=0.1, step_size=0.001, min_quantity=0.001,
                        max_quantity=5.0)  # fmt: skip
    ex2 = make(instruments={SYM: capped})
    run(ex2, [FLAT])
    with pytest.raises(
        OrderRejected, match="6 is above the SYNTH-BTCUSDT maximum order quantity 5"
    ):
        ex2.place(mkt("BUY", 6))
    order = ex2.place(mkt("BUY", 5))
    with pytest.raises(OrderRejected, match="maximum order quantity"):
        ex2.modify(order.id, quantity=6)


def test_venue_profiles() -> None:
    weex, binance = ExchangeConfig.for_venue("weex"), ExchangeConfig.for_venue("binance")
    assert weex == ExchangeConfig()  # WEEX is the default venue
    assert (weex.maker_fee, weex.taker_fee, weex.funding_from_margin) == (0.0002, 0.0006, True)
    assert (binance.maker_fee, binance.taker_fee, binance.venue) == (0.0002, 0.0005, "binance")
    assert binance.instruments["BTCUSDT"].maintenance_tiers[1] == (250_000.0, 0.005, 50.0)
    assert ExchangeConfig.for_venue("binance", taker_fee=0.0004).taker_fee == 0.0004
    with pytest.raises(ValueError, match="venue: unknown venue 'ftx'"):
        ExchangeConfig.for_venue("ftx")  # type: ignore[arg-type]
