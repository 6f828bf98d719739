"""Strategies are causal: truncating the future leaves every earlier signal unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.strategies import STRATEGIES, atr, crossings, get_strategy
from tools.indicators import atr as memo_atr


def random_walk(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0, 0.001, n)) * close
    idx = pd.date_range("2023-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + wick,
            "low": np.minimum(open_, close) - wick,
            "close": close,
            "volume": 1.0,
        },
        index=idx,
    )


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_truncating_the_future_leaves_earlier_signals_unchanged(name: str) -> None:
    bars = random_walk()
    strat = get_strategy(name)
    full = strat.signals(bars)
    assert np.count_nonzero(full.entry) >= 1
    for cut in (1, 61, 500, 1777, 2999):
        part = strat.signals(bars.iloc[:cut])
        for field in ("entry", "exit", "stop_loss", "take_profit"):
            np.testing.assert_array_equal(getattr(part, field), getattr(full, field)[:cut])
    # and changing the future (bars after 1500) changes nothing before it
    shocked = bars.copy()
    shocked.iloc[1500:, :4] *= 1.5
    again = strat.signals(shocked)
    np.testing.assert_array_equal(again.entry[:1500], full.entry[:1500])
    np.testing.assert_array_equal(again.stop_loss[:1500], full.stop_loss[:1500])


def test_crossings_are_strict_like_backtesting_lib() -> None:
    fast = np.array([np.nan, 1.0, 2.0, 2.0, 1.0, 0.5])
    slow = np.array([np.nan, 1.5, 1.5, 2.0, 1.5, 1.5])
    # bar 2 crosses up (1 < 1.5, 2 > 1.5); bar 3 touches (2 == 2) is no cross; bar 4 is not
    # a cross down either (previous bar equal); bar 5 stays below
    assert crossings(fast, slow).tolist() == [0, 0, 1, 0, 0, 0]


def test_sma_cross_atr_levels_are_atr_multiples_from_the_close() -> None:
    bars = random_walk()
    s = get_strategy("sma_cross_atr", sl_atr=1.5, tp_atr=4.0).signals(bars)
    i = int(np.flatnonzero(s.entry)[0])
    c = bars["close"].iloc[i]
    d = float(s.entry[i])
    assert s.stop_loss[i] == pytest.approx(c - d * 1.5 * s.atr[i])
    assert s.take_profit[i] == pytest.approx(c + d * 4.0 * s.atr[i])


def test_the_backtest_atr_is_the_memo_atr() -> None:
    # one ATR in the project: Wilder's, seeded with the mean of the first 14 true ranges
    bars = random_walk(500, seed=11)
    ours = atr(bars, 14)
    np.testing.assert_array_equal(ours, memo_atr(bars, 14).to_numpy())
    assert np.isnan(ours[:13]).all() and np.isfinite(ours[13:]).all()
    # seed: true ranges of the first 14 bars (the first is high - low), averaged
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    tr = np.maximum.reduce([h[1:14] - lo[1:14], abs(h[1:14] - c[:13]), abs(lo[1:14] - c[:13])])
    assert ours[13] == pytest.approx((h[0] - lo[0] + tr.sum()) / 14)


def test_a_cross_without_a_usable_atr_is_not_traded() -> None:
    # ATR(200) is unknown before bar 199: crosses there get no bracket, so no entry either
    bars = random_walk(400, seed=2)
    crosses = get_strategy("sma_cross", fast=3, slow=8).signals(bars).entry
    s = get_strategy("sma_cross_atr", fast=3, slow=8, atr_period=200).signals(bars)
    assert np.count_nonzero(crosses[:199]) > 0 and np.count_nonzero(s.entry[:199]) == 0
    assert np.isnan(s.stop_loss[:199]).all()
    np.testing.assert_array_equal(s.entry[199:], crosses[199:])
    assert np.isfinite(s.stop_loss[199:][s.entry[199:] != 0]).all()


def test_unknown_strategy_and_parameter_are_named() -> None:
    with pytest.raises(
        ValueError, match="strategy 'rsi' is not one of buy_and_hold, sma_cross, sma_cross_atr"
    ):
        get_strategy("rsi")
    with pytest.raises(ValueError, match="strategy 'sma_cross' has no parameter sl_atr"):
        get_strategy("sma_cross", sl_atr=2.0)
    with pytest.raises(ValueError, match=r"fast \(60\) must be positive and below slow \(20\)"):
        get_strategy("sma_cross", fast=60, slow=20)
