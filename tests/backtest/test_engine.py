"""The engine: decision feeds become brackets, skipping bars changes nothing, the end of data
closes at the last close, and a strategy never trades on a bar it could not have seen."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import backtest.engine as engine
from backtest.assumptions import decision_bar_index
from backtest.engine import BacktestInputError, run_decisions, run_strategy
from backtest.strategies import get_strategy
from exchange.types import OrderPlan, OrderType, Side
from tests.backtest.helpers import START, cfg, flat, make_bars
from tests.backtest.test_strategies import random_walk


def plan(side: Side, sl: float, tp: float, qty: float = 1.0) -> OrderPlan:
    return OrderPlan(
        symbol="BTCUSDT",
        side=side,
        quantity=qty,
        leverage=1,
        entry_type=OrderType.MARKET,
        entry_price=100.0,
        stop_loss=sl,
        take_profit=tp,
        notional=100.0 * qty,
        risk_amount=abs(100.0 - sl) * qty,
    )


def test_decision_feed_runs_a_bracket_to_its_take_profit() -> None:
    # decided at 00:03 (bar 2 closed) -> market buy fills at bar 3's open 100 (taker 0.1 %: 0.1);
    # bar 5 reaches 106 >= TP 105 -> maker fill at 105 (0.05 %: 0.0525). net = 5 - 0.1525 = 4.8475
    bars = make_bars([*flat(5), (100, 106, 99.5, 104), *flat(3, 104)])
    res = run_decisions(
        bars,
        [(START + pd.Timedelta(minutes=3), plan(Side.BUY, 95, 105))],
        symbol="BTCUSDT",
        exchange_config=cfg(),
    )
    (t,) = res.trades
    assert (t.entry_ts, t.entry_price, t.exit_ts, t.exit_price) == (
        "2023-01-01T00:03:00Z",
        100.0,
        "2023-01-01T00:05:00Z",
        105.0,
    )
    assert t.exit_reason == "take_profit" and t.initial_stop == 95.0
    assert t.net_pnl == pytest.approx(4.8475)
    assert t.r_multiple == pytest.approx(4.8475 / 5)
    assert res.equity.iloc[-1] == pytest.approx(10_000 + 4.8475)
    assert not res.end_of_data_close
    # position held from the entry bar's close through the exit bar's open: bars 3 and 4
    assert res.position.tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_decision_feed_short_stopped_out_reconciles_to_the_cent() -> None:
    # short 2 at 100 (fee 0.2); stop 103 hit by bar 4's high 104 -> buy 2 at 103 (taker 0.206)
    # net = -6 - 0.406 = -6.406 = final wallet - 10,000
    bars = make_bars([*flat(3), (100, 100.5, 99.5, 100), (100, 104, 99.8, 103.5), *flat(2, 103.5)])
    res = run_decisions(
        bars,
        [(START + pd.Timedelta(minutes=3), plan(Side.SELL, 103, 90, qty=2))],
        symbol="BTCUSDT",
        exchange_config=cfg(),
    )
    (t,) = res.trades
    assert (t.side, t.exit_reason, t.exit_price) == ("SHORT", "stop_loss", 103.0)
    assert t.net_pnl == pytest.approx(-6.406)
    assert sum(x.net_pnl for x in res.trades) == pytest.approx(res.equity.iloc[-1] - 10_000)
    assert t.r_multiple == pytest.approx(-6.406 / 6)


def test_end_of_data_closes_at_the_last_close() -> None:
    # long from bar 2's open 100; data ends at bar 5 with close 101 -> closed there, taker fee
    bars = make_bars([*flat(4), (100, 101.5, 99.5, 101)])
    res = run_decisions(
        bars,
        [(START + pd.Timedelta(minutes=2), plan(Side.BUY, 90, 120))],
        symbol="BTCUSDT",
        exchange_config=cfg(),
    )
    (t,) = res.trades
    assert t.exit_reason == "end_of_data" and t.exit_price == 101.0
    assert t.net_pnl == pytest.approx(1.0 - 0.1 - 0.101)
    assert res.end_of_data_close
    assert res.equity.iloc[-1] == pytest.approx(10_000 + t.net_pnl)


def test_decision_for_another_symbol_or_before_the_data_is_refused() -> None:
    bars = make_bars(flat(3))
    p = plan(Side.BUY, 95, 105)
    with pytest.raises(
        BacktestInputError,
        match=r"decisions\[0\]\.symbol: 'BTCUSDT' is not the backtest symbol 'ETHUSDT'",
    ):
        run_decisions(bars, [(START, p)], symbol="ETHUSDT")
    with pytest.raises(
        BacktestInputError,
        match=r"decisions\[0\]\.decided_at: 2023-01-01T00:00:30Z is before the first bar closed",
    ):
        run_decisions(bars, [(START + pd.Timedelta(seconds=30), p)], symbol="BTCUSDT")


def test_skipping_inactive_bars_gives_the_same_result_as_stepping_every_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bars = random_walk(4000, seed=3) * 300
    strat = get_strategy("sma_cross_atr")
    fast = run_strategy(bars, strat, symbol="BTCUSDT", exchange_config=cfg(funding_rate=0.0001))
    monkeypatch.setattr(engine, "next_touch", lambda *args: args[4])  # every bar: start
    slow = run_strategy(bars, strat, symbol="BTCUSDT", exchange_config=cfg(funding_rate=0.0001))
    assert slow.bars_stepped == len(bars) and fast.bars_stepped < len(bars) / 2
    assert len(fast.trades) >= 10
    assert [t.to_dict() for t in fast.trades] == [t.to_dict() for t in slow.trades]
    np.testing.assert_allclose(fast.equity.to_numpy(), slow.equity.to_numpy(), rtol=0, atol=1e-9)


def test_a_strategy_never_trades_on_a_bar_it_could_not_see() -> None:
    # every entry fills at the open of the bar after its signal bar, and changing bars after
    # bar 2000 leaves every trade that started before it untouched
    bars = random_walk(4000, seed=5) * 300
    strat = get_strategy("sma_cross_atr")
    res = run_strategy(bars, strat, symbol="BTCUSDT", exchange_config=cfg())
    sig = strat.signals(bars)
    signal_times = set(bars.index[np.flatnonzero(sig.entry)] + pd.Timedelta(minutes=1))
    assert res.trades and all(pd.Timestamp(t.entry_ts) in signal_times for t in res.trades)
    shocked = bars.copy()
    shocked.iloc[2000:, :4] *= 1.3
    other = run_strategy(shocked, strat, symbol="BTCUSDT", exchange_config=cfg())
    cut = bars.index[2000]
    before = [t.to_dict() for t in res.trades if pd.Timestamp(t.exit_ts) < cut]
    assert before and before == [t.to_dict() for t in other.trades if pd.Timestamp(t.exit_ts) < cut]


def test_strategy_timeframe_decides_after_its_last_1m_bar() -> None:
    ts = pd.date_range("2023-01-01", periods=10, freq="1min", tz="UTC").as_unit("ns").asi8
    # a 5m bar opening 00:00 closes 00:05: act after the 1m bar 00:04 (index 4)
    assert decision_bar_index(ts, np.array([ts[0] + 5 * 60 * 10**9])).tolist() == [4]
    bars = random_walk(600, seed=9) * 300
    res = run_strategy(
        bars,
        get_strategy("sma_cross", fast=3, slow=8),
        symbol="BTCUSDT",
        timeframe="5m",
        exchange_config=cfg(),
    )
    assert res.trades and all(pd.Timestamp(t.entry_ts).minute % 5 == 0 for t in res.trades)


def test_bad_candles_are_refused_by_name() -> None:
    bars = make_bars(flat(3))
    with pytest.raises(BacktestInputError, match="bars: bar times must be strictly increasing"):
        run_strategy(bars.iloc[::-1], get_strategy("buy_and_hold"), symbol="BTCUSDT")
    with pytest.raises(BacktestInputError, match="bars: no candles in the requested window"):
        run_strategy(bars.iloc[:0], get_strategy("buy_and_hold"), symbol="BTCUSDT")


def _reconciliation_gap(res: engine.BacktestResult) -> float:
    """Σ trade net PnL + Σ funding − (final wallet − starting balance); 0 when they agree."""
    pnl = math.fsum(t.net_pnl for t in res.trades)
    return pnl + res.funding - (float(res.equity.iloc[-1]) - res.initial_equity)


def test_a_liquidation_on_a_gap_books_the_capped_loss_in_the_trade() -> None:
    # long 1 @ 100 at 10x (margin 10; liquidation ~90.45) from 00:03, held through the 08:00
    # funding (-1 x 100 x 0.0001 = -0.01), then bar 600 (10:00) opens at 80, far past the
    # liquidation level. By price the loss is 20, but isolated margin caps it at the margin:
    # 10 less the 0.01 funding paid from it (WEEX), so the wallet loses 9.99 + the 0.1 entry
    # fee + 0.01 funding, and the trade row must say the same.
    bars = make_bars([*flat(600), (80.0, 80.5, 79.0, 80.0), *flat(5, 80.0)])
    p = plan(Side.BUY, sl=70.0, tp=150.0).model_copy(update={"leverage": 10.0})
    res = run_decisions(
        bars,
        [(START + pd.Timedelta(minutes=3), p)],
        symbol="BTCUSDT",
        exchange_config=cfg(funding_rate=0.0001),
    )
    (t,) = res.trades
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("liquidation", "2023-01-01T10:00:00Z", 80.0)
    assert t.gross_pnl == pytest.approx(-9.99) and t.net_pnl == pytest.approx(-10.09)
    assert res.funding == pytest.approx(-0.01)
    assert res.equity.iloc[-1] == pytest.approx(10_000 - 10.10)
    assert abs(_reconciliation_gap(res)) < 1e-9


@pytest.mark.data
def test_trades_and_funding_reconcile_with_the_wallet_on_real_btc(real_store: Path) -> None:
    from tools.candles import load_candles

    bars = load_candles(
        "BTCUSDT", "1m", "2023-04-10T00:00:00Z", "2023-04-13T00:00:00Z", store=real_store
    )
    res = run_strategy(bars, get_strategy("sma_cross_atr"), symbol="BTCUSDT")
    assert len(res.trades) > 10 and res.funding != 0.0
    assert abs(_reconciliation_gap(res)) < 1e-9


def test_strategy_bars_come_from_the_store_resampler_and_drop_partial_windows() -> None:
    # 1m data from 00:03 to 00:17 (15 bars): the 5m windows 00:00 and 00:15 are partial and
    # dropped; 00:05 and 00:10 are the aggregates of their five minutes
    rows = [(100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i) for i in range(15)]
    bars = make_bars(rows)
    bars.index = bars.index + pd.Timedelta(minutes=3)
    out = engine.resample(bars, "5m")
    assert [t.strftime("%H:%M") for t in out.index] == ["00:05", "00:10"]
    first = out.iloc[0]
    # 00:05..00:09 are rows 2..6
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        102.0,
        107.0,
        101.0,
        106.5,
        5.0,
    )
    assert engine.resample(bars, "1m") is bars


def test_next_touch_is_first_touch() -> None:
    """The Python scan of the first bars plus numpy's search finds the bar ``first_touch`` finds,
    near (inside the scan) and far (past it), and ``stop`` when nothing is reached."""
    from exchange.clock import first_touch

    rng = np.random.default_rng(5)
    low = 100 + rng.standard_normal(3000).cumsum()
    high = low + rng.uniform(0, 2, len(low))
    lo_l, hi_l = low.tolist(), high.tolist()
    for start in (0, 7, 1000):
        for below, above in ((low[start] - 0.5, high[start] + 0.5), (50.0, 400.0), (-np.inf, np.inf),
                             (low[start] - 8, np.inf), (-np.inf, high[start] + 9)):  # fmt: skip
            for stop in (start, start + 10, start + 200, len(low)):
                want = first_touch(low, high, start, stop, below, above)
                assert engine.next_touch(lo_l, hi_l, low, high, start, stop, below, above) == want
