"""Rolling correlation/beta and the BTC lead-lag signal on series whose answer we know."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tools.correlation import (
    adjacent_log_returns,
    bar_returns,
    btc_lead_lag,
    corr_beta,
    lagged_correlations,
    lead_lag_signal,
    rolling_beta,
    rolling_correlation,
)

MIN = pd.Timedelta(minutes=1)


def _lagged_pair(lag: int, n: int = 600, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """BTC returns, and a symbol whose return is 0.8 x BTC's return ``lag`` bars earlier + noise."""
    rng = np.random.default_rng(seed)
    btc = rng.normal(0, 0.001, n)
    sym = rng.normal(0, 0.0005, n)
    sym[lag:] += 0.8 * btc[:-lag]
    return sym, btc


def test_best_lag_is_found_and_direction_follows_btc_move() -> None:
    sym, btc = _lagged_pair(2)
    btc[-2:] = 0.004  # BTC just jumped up 0.8 % in two minutes
    sig = lead_lag_signal("ETHUSDT", sym, btc, max_lag=5)
    assert sig.best_lag == 2
    assert sig.correlation > 0.7
    assert sig.direction == "LONG"
    assert sig.btc_move == pytest.approx(0.008)
    assert sig.strength == pytest.approx(1.0)  # huge corr and a > 2 sigma move
    assert sig.samples == 598
    assert sig.significance == pytest.approx(2 / math.sqrt(598))
    btc[-2:] = -0.004
    assert lead_lag_signal("ETHUSDT", sym, btc).direction == "SHORT"


def test_independent_series_give_neutral() -> None:
    rng = np.random.default_rng(5)
    sym, btc = rng.normal(0, 1e-3, 400), rng.normal(0, 1e-3, 400)
    sig = lead_lag_signal("SOLUSDT", sym, btc)
    assert abs(sig.correlation) < 0.15
    assert sig.direction == "NEUTRAL" and sig.strength == 0.0


def test_no_data_gives_neutral_without_lag() -> None:
    nan = np.full(10, np.nan)
    sig = lead_lag_signal("SOLUSDT", nan, nan)
    assert sig.best_lag is None and sig.samples == 0 and sig.direction == "NEUTRAL"


def test_lagged_correlations_by_hand() -> None:
    # btc = 1 2 3 4 5, sym = 0 1 2 3 4 -> sym[t] = btc[t-1]: corr at lag 1 over (1..4 vs 1..4) = 1
    lc = lagged_correlations(np.array([0, 1, 2, 3, 4.0]), np.array([1, 2, 3, 4, 5.0]), 2)
    assert lc[0][0] == 1 and lc[0][1] == pytest.approx(1.0) and lc[0][2] == 4


def test_corr_beta_by_hand() -> None:
    # y = 2x + 1 exactly -> corr 1, beta 2 ; NaN pairs are dropped
    x = np.array([1.0, 2.0, 3.0, np.nan, 5.0])
    c, b, n = corr_beta(x, 2 * x + 1)
    assert (c, b, n) == (pytest.approx(1.0), pytest.approx(2.0), 4)


def test_returns_across_a_gap_are_nan() -> None:
    # bars at 0, 1, 2 and 5 minutes: the 2 -> 5 return spans a gap
    ts = np.array([0, 1, 2, 5]) * MIN.value
    r = adjacent_log_returns(ts, np.array([100.0, 101.0, 102.0, 150.0]), MIN.value)
    assert math.isnan(r[0]) and math.isnan(r[3])
    assert r[1] == pytest.approx(math.log(1.01))


def test_rolling_correlation_and_beta() -> None:
    idx = pd.date_range("2023-04-01", periods=200, freq="1min", tz="UTC")
    rng = np.random.default_rng(2)
    b = pd.Series(rng.normal(0, 1e-3, 200), index=idx)
    r = 1.5 * b
    assert rolling_correlation(r, b, 50).iloc[-1] == pytest.approx(1.0)
    assert rolling_beta(r, b, 50).iloc[-1] == pytest.approx(1.5)
    # beta agrees with the pandas formula cov/var
    noisy = r + pd.Series(rng.normal(0, 1e-3, 200), index=idx)
    expected = noisy.iloc[-50:].cov(b.iloc[-50:]) / b.iloc[-50:].var()
    assert rolling_beta(noisy, b, 50).iloc[-1] == pytest.approx(expected)


def test_btc_lead_lag_from_close_series() -> None:
    sym, btc = _lagged_pair(1, 400, seed=9)
    idx = pd.date_range("2023-04-01", periods=400, freq="1min", tz="UTC")
    sym_close = pd.Series(100 * np.exp(np.cumsum(sym)), index=idx)
    btc_close = pd.Series(30000 * np.exp(np.cumsum(btc)), index=idx)
    sig = btc_lead_lag("ETHUSDT", sym_close, btc_close, window=300, max_lag=3)
    assert sig.best_lag == 1 and sig.correlation > 0.7 and sig.bar == "1m"
    assert bar_returns(sym_close, MIN).isna().sum() == 1
