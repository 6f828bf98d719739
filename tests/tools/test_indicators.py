"""Indicators against hand-computed values (worked out in the comments) and pandas formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tools.indicators import (
    atr,
    bollinger,
    ema,
    macd,
    realized_vol_array,
    realized_volatility,
    rsi,
    snapshot_frame,
    trend_label,
    volume_zscore,
)


def test_ema_by_hand() -> None:
    # span 3 -> alpha = 2/(3+1) = 0.5, seeded with the first value:
    # 1; 0.5*1 + 0.5*2 = 1.5; 0.5*1.5 + 0.5*3 = 2.25; 0.5*2.25 + 0.5*4 = 3.125
    out = ema(pd.Series([1.0, 2.0, 3.0, 4.0]), 3)
    assert out.tolist() == pytest.approx([1.0, 1.5, 2.25, 3.125])


def test_rsi_wilder_by_hand() -> None:
    # closes 10 11 12 11 13 -> changes +1 +1 -1 +2 ; period 3
    # seed (after 3 changes): avg gain (1+1+0)/3 = 2/3, avg loss (0+0+1)/3 = 1/3 -> RS 2 -> RSI 66.667
    # next: gain (2/3*2 + 2)/3 = 10/9, loss (1/3*2 + 0)/3 = 2/9 -> RS 5 -> RSI 100 - 100/6 = 83.333
    out = rsi(pd.Series([10.0, 11.0, 12.0, 11.0, 13.0]), 3)
    assert out.iloc[:3].isna().all()
    assert out.iloc[3] == pytest.approx(200 / 3)
    assert out.iloc[4] == pytest.approx(250 / 3)


def test_rsi_is_100_when_there_are_no_losses_and_50_when_flat() -> None:
    assert rsi(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), 3).iloc[-1] == 100.0
    assert rsi(pd.Series([2.0] * 6), 3).iloc[-1] == 50.0


def test_atr_wilder_by_hand() -> None:
    # bars (high, low, close): (10,8,9) (11,9,10) (12,10,11) (13,9,10)
    # TR: 10-8 = 2 ; max(11-9, |11-9|, |9-9|) = 2 ; max(12-10, |12-10|, |10-10|) = 2 ;
    #     max(13-9, |13-11|, |9-11|) = 4
    # ATR(3): seed = (2+2+2)/3 = 2 at bar 3 ; then (2*2 + 4)/3 = 8/3
    bars = pd.DataFrame(
        {"high": [10.0, 11, 12, 13], "low": [8.0, 9, 10, 9], "close": [9.0, 10, 11, 10]}
    )
    out = atr(bars, 3)
    assert math.isnan(out.iloc[1])
    assert out.iloc[2] == pytest.approx(2.0)
    assert out.iloc[3] == pytest.approx(8 / 3)


def test_bollinger_by_hand() -> None:
    # window 3 on 1 2 3: mid 2, population std sqrt(((1-2)^2+0+(3-2)^2)/3) = sqrt(2/3) = 0.81650
    # upper = 2 + 2*0.81650 = 3.63299, lower = 0.36701, %b = (3 - 0.36701)/(3.26599) = 0.80619
    bb = bollinger(pd.Series([1.0, 2.0, 3.0]), 3, 2.0)
    last = bb.iloc[-1]
    assert last["mid"] == pytest.approx(2.0)
    assert last["upper"] == pytest.approx(2 + 2 * math.sqrt(2 / 3))
    assert last["lower"] == pytest.approx(2 - 2 * math.sqrt(2 / 3))
    assert last["pctb"] == pytest.approx(0.806186, abs=1e-6)


def test_realized_vol_by_hand() -> None:
    # daily closes 100 110 99: log returns ln(1.1) = 0.0953102, ln(0.9) = -0.1053605
    # mean -0.0050252; deviations +-0.1003354 -> sample std = sqrt(2*0.1003354^2/1) = 0.1418956
    # annualised with 365 days: 0.1418956 * sqrt(365) = 2.710913
    close = np.array([100.0, 110.0, 99.0])
    assert realized_vol_array(close, pd.Timedelta(days=1)) == pytest.approx(2.710913, rel=1e-6)
    # 1m bars: sqrt(365*24*60) = 724.98 bars-per-year root
    rv = realized_volatility(pd.Series(close), pd.Timedelta(minutes=1), 2)
    assert rv.iloc[-1] == pytest.approx(0.1418956 * math.sqrt(525600), rel=1e-6)


def test_volume_zscore_by_hand() -> None:
    # window 3 on 1 2 6: mean 3, sample std sqrt((4+1+9)/2) = sqrt(7) -> z = (6-3)/sqrt(7) = 1.133893
    z = volume_zscore(pd.Series([1.0, 2.0, 6.0]), 3)
    assert z.iloc[-1] == pytest.approx(3 / math.sqrt(7))


def test_ema_and_macd_match_the_pandas_formula() -> None:
    rng = np.random.default_rng(7)
    close = pd.Series(100 + rng.normal(0, 1, 300).cumsum())
    pd_ema = close.ewm(span=20, adjust=False).mean()
    np.testing.assert_allclose(ema(close, 20).to_numpy(), pd_ema.to_numpy(), rtol=1e-12)
    line = close.ewm(span=12, adjust=False).mean() - close.ewm(span=26, adjust=False).mean()
    sig = line.ewm(span=9, adjust=False).mean()
    got = macd(close)
    np.testing.assert_allclose(got["macd"].to_numpy(), line.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(got["hist"].to_numpy(), (line - sig).to_numpy(), atol=1e-10)


def test_rsi_matches_pandas_wilder_formula_after_seed() -> None:
    rng = np.random.default_rng(3)
    close = pd.Series(100 + rng.normal(0, 1, 200).cumsum())
    d = close.diff()
    gain, loss = d.clip(lower=0), (-d).clip(lower=0)
    # Wilder = EMA with alpha 1/14 seeded by the SMA of the first 14 changes
    g = gain.copy()
    lo = loss.copy()
    g.iloc[14] = gain.iloc[1:15].mean()
    lo.iloc[14] = loss.iloc[1:15].mean()
    ag = g.iloc[14:].ewm(alpha=1 / 14, adjust=False).mean()
    al = lo.iloc[14:].ewm(alpha=1 / 14, adjust=False).mean()
    expected = 100 - 100 / (1 + ag / al)
    np.testing.assert_allclose(rsi(close).iloc[14:].to_numpy(), expected.to_numpy(), rtol=1e-10)


def test_snapshot_of_a_rising_market_is_an_up_trend() -> None:
    n = 120
    close = np.linspace(100, 160, n)
    bars = pd.DataFrame(
        {"open": close - 0.2, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0}
    )
    snap = snapshot_frame(bars)
    assert snap.trend == "up"
    assert snap.rsi_14 == 100.0
    assert snap.macd_hist is not None
    assert snap.resistance == pytest.approx(161.0)
    assert snap.support == pytest.approx(close[n - 48] - 1)
    assert snap.volume_z == 0.0  # constant volume: no surprise


def test_snapshot_with_short_history_leaves_slow_indicators_out() -> None:
    bars = pd.DataFrame({"high": [2.0] * 10, "low": [1.0] * 10, "close": [1.5] * 10, "volume": 1.0})
    snap = snapshot_frame(bars)
    assert snap.ema_50 is None and snap.macd_hist is None and snap.rsi_14 is None
    assert snap.trend == "flat"


def test_trend_label() -> None:
    assert trend_label(10, 9, 8) == "up"
    assert trend_label(7, 8, 9) == "down"
    assert trend_label(9, 10, 8) == "flat"
    assert trend_label(9, None, 8) == "flat"


def test_wilder_long_arrays_use_the_same_recursion() -> None:
    from tools import indicators

    x = np.random.default_rng(3).gamma(2.0, 1.0, indicators._EWM_FROM + 500)
    fast = indicators.wilder_array(x, 14)
    loop = np.full(len(x), np.nan)
    avg = float(x[:14].mean())
    loop[13] = avg
    for i in range(14, len(x)):
        avg = (avg * 13 + x[i]) / 14
        loop[i] = avg
    assert np.isnan(fast[:13]).all()
    np.testing.assert_allclose(fast[13:], loop[13:], rtol=1e-12, atol=0)
