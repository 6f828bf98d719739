"""Bringing the virtual exchange to the meeting's moment (``graph.services.sync_exchange``).

The old code jumped the exchange there with ``mark_bar`` and swallowed every ``BarRejected``:
funding never settled, a pending market order never filled, resting stops were jumped over,
and an exchange already past the meeting was silently left there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exchange.types import OrderRequest, OrderType, Side
from exchange.virtual import VirtualExchange
from graph.services import sync_exchange
from memos.market import MarketData

SYM = "BTCUSDT"
T0 = pd.Timestamp("2023-04-19T06:00:00Z")


def _bars(minutes: int, freq: str = "1min", seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 30_000 + np.cumsum(rng.normal(0, 15, minutes)).round(1)
    open_ = np.concatenate([[30_000.0], close[:-1]])
    high = np.maximum(open_, close) + rng.uniform(0, 10, minutes).round(1)
    low = np.minimum(open_, close) - rng.uniform(0, 10, minutes).round(1)
    idx = pd.date_range(T0, periods=minutes, freq=freq)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=idx
    )


def _long_at(ex: VirtualExchange, bars: pd.DataFrame, upto: int, **bracket: float) -> None:
    """Feed bars ``[0, upto)``, buy 0.01 at market and let the next bar fill it."""
    ex.feed(SYM, bars.iloc[:upto])
    ex.place(OrderRequest(symbol=SYM, side=Side.BUY, type=OrderType.MARKET, quantity=0.01,
                          leverage=5.0, **bracket))  # fmt: skip
    ex.feed(SYM, bars.iloc[upto : upto + 1])


def test_funding_due_before_the_meeting_is_settled_and_the_state_equals_feeding_every_bar() -> None:
    bars = _bars(240)  # 06:00-09:59, funding at 08:00
    market = MarketData(candles={SYM: bars})
    at = pd.Timestamp("2023-04-19T09:00:00Z")
    ex, reference = VirtualExchange(), VirtualExchange()
    for e in (ex, reference):
        _long_at(e, bars, 30)
    wallet_before = ex.balance().wallet

    sync = sync_exchange(ex, market, SYM, at)

    assert sync.status == "synced" and not sync.past and sync.exchange_now == "2023-04-19T09:00:00Z"
    [pay] = ex.funding_payments(SYM)
    funding_bar = bars.loc[pd.Timestamp("2023-04-19T08:00:00Z")]
    assert pay.amount == pytest.approx(-0.01 * funding_bar["open"] * 0.0001)
    assert ex.balance().wallet == pytest.approx(wallet_before + pay.amount, abs=1e-9)
    assert ex.now_for(SYM) == at and ex.mark_price(SYM) == bars["close"].iloc[179]
    assert sync.bars_fed < 10  # quiet runs are marked, not fed bar by bar
    reference.feed(SYM, bars.iloc[31:180])  # every bar up to `at`, one by one
    assert ex.state_dict() == reference.state_dict()


def test_a_pending_market_order_fills_and_a_stop_hit_on_the_way_is_not_jumped_over() -> None:
    bars = _bars(240)
    market = MarketData(candles={SYM: bars})
    ex, reference = VirtualExchange(), VirtualExchange()
    for e in (ex, reference):
        _long_at(e, bars, 30)
        entry = e.positions()[0].entry_price
        # a protective stop the path from 06:31 to 07:00 reaches (lowest low + a bit)
        stop = float(np.floor((bars["low"].iloc[31:60].min() + 1) * 10) / 10)
        assert stop < entry
        e.place(OrderRequest(symbol=SYM, side=Side.SELL, type=OrderType.STOP_MARKET,
                             quantity=0.01, trigger_price=stop, reduce_only=True))  # fmt: skip
        # and a market order still waiting for its bar
        e.place(OrderRequest(symbol=SYM, side=Side.BUY, type=OrderType.MARKET, quantity=0.002))
    n_fills = len(ex.fills())

    sync_exchange(ex, market, SYM, pd.Timestamp("2023-04-19T07:00:00Z"))

    new = ex.fills()[n_fills:]
    assert [f.side for f in new] == [Side.BUY, Side.SELL]  # the market order, then the stop
    assert not ex.open_orders(SYM)
    assert [p.quantity for p in ex.positions()] == [pytest.approx(0.002)]  # stop closed 0.01
    reference.feed(SYM, bars.iloc[31:60])
    assert ex.state_dict() == reference.state_dict()


def test_an_exchange_already_past_the_meeting_is_left_alone_and_says_so() -> None:
    bars = _bars(240)
    market = MarketData(candles={SYM: bars})
    ex = VirtualExchange()
    _long_at(ex, bars, 200)  # clock 09:21
    before = ex.state_dict()

    sync = sync_exchange(ex, market, SYM, pd.Timestamp("2023-04-19T09:00:00Z"))

    assert sync.past and sync.status == "past"
    assert sync.note == (
        "exchange clock 2023-04-19T09:21:00Z is past the meeting time 2023-04-19T09:00:00Z; "
        "an order now would land in the exchange's future"
    )
    assert ex.state_dict() == before


def test_a_fresh_exchange_is_marked_at_the_meeting() -> None:
    bars = _bars(240)
    ex = VirtualExchange()
    sync = sync_exchange(
        ex, MarketData(candles={SYM: bars}), SYM, pd.Timestamp("2023-04-19T07:00Z")
    )
    assert sync.status == "synced" and sync.bars_fed == 0
    assert ex.now_for(SYM) == pd.Timestamp("2023-04-19T07:00Z")
    assert ex.mark_price(SYM) == bars["close"].iloc[59]


def test_pending_funding_and_stops_advance_on_coarse_bars_when_no_1m_are_stored() -> None:
    """The 2017-2021 history is 1h: the exchange must replay on it (each coarse bar is shown to
    the exchange as its last minute, so its clock after the bar is the bar's close)."""
    fine = _bars(240)
    coarse = (
        fine.resample("5min", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )
    ex = VirtualExchange()
    _long_at(ex, fine, 30)
    at = pd.Timestamp("2023-04-19T09:00Z")
    sync = sync_exchange(ex, MarketData(candles={SYM: coarse}), SYM, at)
    assert sync.status == "synced" and ex.now_for(SYM) == at
    [pay] = ex.funding_payments(SYM)
    assert pay.amount == pytest.approx(-0.01 * coarse.loc["2023-04-19T08:00Z", "open"] * 0.0001)
    assert ex.mark_price(SYM) == coarse["close"].iloc[35]  # the 08:55 bar closed at 09:00


def test_a_pending_market_entry_past_the_stored_data_is_carried_not_an_error() -> None:
    bars = _bars(60)  # data ends 07:00
    ex = VirtualExchange()
    ex.feed(SYM, bars)
    ex.place(OrderRequest(symbol=SYM, side=Side.BUY, type=OrderType.MARKET, quantity=0.01))
    sync = sync_exchange(
        ex, MarketData(candles={SYM: bars}), SYM, pd.Timestamp("2023-04-19T08:00Z")
    )
    assert sync.status == "behind" and not sync.past
    assert ex.open_orders(SYM) and not ex.positions()  # still waiting for its bar
