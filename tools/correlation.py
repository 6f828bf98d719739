"""How a symbol moves with BTC: rolling correlation and beta, and the BTC lead-lag signal.

The lead-lag question is "does BTC's move over the last few minutes predict this symbol's next
minute, and how strongly?". We measure it as the cross-correlation ``corr(btc[t - lag], sym[t])``
of one-bar log returns at lags 1..N over a trailing window, pick the lag with the largest
|correlation|, and read BTC's move over that many bars as the forecast's input.

Returns are taken only between adjacent bars (a return across a data gap, such as the
2023-03-24 Binance halt, is NaN and left out), so a gap never fakes a huge one-bar move.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tools.timeutil import TIMEFRAMES

Direction = Literal["LONG", "SHORT", "NEUTRAL"]

ONE_MINUTE = pd.Timedelta(minutes=1)
# |correlation| at which the lead-lag strength saturates: one-minute cross-correlations between
# crypto majors are small (typically 0.02-0.2), so 0.3 is already a very strong lead.
CORR_FULL_STRENGTH = 0.3
# BTC move (in standard deviations of its L-bar move) at which the strength saturates.
MOVE_FULL_STRENGTH = 2.0


class CorrelationSignal(BaseModel):
    """The BTC lead-lag reading for one symbol at one moment."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    direction: Direction = Field(description="predicted direction of the symbol's next move")
    strength: float = Field(ge=0.0, le=1.0)
    best_lag: int | None = Field(description="lag in bars (minutes on 1m bars) of the best |corr|")
    correlation: float = Field(description="corr(BTC return at t-lag, symbol return at t)")
    btc_move: float = Field(description="BTC's log return over the last best_lag bars")
    samples: int = Field(description="return pairs the best-lag correlation is computed on")
    significance: float = Field(description="|corr| needed to count (2/sqrt(samples))")
    bar: str = "1m"

    @property
    def signed_strength(self) -> float:
        """+strength for LONG, -strength for SHORT, 0 for NEUTRAL."""
        return {"LONG": 1.0, "SHORT": -1.0, "NEUTRAL": 0.0}[self.direction] * self.strength


# --- numpy cores ------------------------------------------------------------------------------
def adjacent_log_returns(ts_ns: np.ndarray, close: np.ndarray, bar_ns: int) -> np.ndarray:
    """One-bar log returns; NaN where the previous bar is not exactly one bar earlier."""
    out = np.full(len(close), math.nan)
    if len(close) > 1:
        adj = np.diff(ts_ns) == bar_ns
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.diff(np.log(close))
        out[1:] = np.where(adj, r, math.nan)
    return out


def align_to(ts_ns: np.ndarray, other_ts_ns: np.ndarray, other_values: np.ndarray) -> np.ndarray:
    """``other_values`` at the timestamps ``ts_ns`` (NaN where ``other`` has no such bar)."""
    if len(other_ts_ns) == 0:
        return np.full(len(ts_ns), math.nan)
    idx = np.searchsorted(other_ts_ns, ts_ns)
    idx_c = np.minimum(idx, len(other_ts_ns) - 1)
    hit = other_ts_ns[idx_c] == ts_ns
    return np.where(hit, other_values[idx_c], math.nan)


def corr_beta(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """(corr, beta of y on x, n) over the pairs where both are finite; NaNs when n < 3."""
    m = np.isfinite(x) & np.isfinite(y)
    n = int(m.sum())
    if n < 3:
        return math.nan, math.nan, n
    xs, ys = x[m], y[m]
    xd, yd = xs - xs.mean(), ys - ys.mean()
    sxx, syy, sxy = float(xd @ xd), float(yd @ yd), float(xd @ yd)
    if sxx <= 0 or syy <= 0:
        return math.nan, math.nan, n
    return sxy / math.sqrt(sxx * syy), sxy / sxx, n


def lagged_correlations(
    sym_ret: np.ndarray, btc_ret: np.ndarray, max_lag: int
) -> list[tuple[int, float, int]]:
    """[(lag, corr(btc[t-lag], sym[t]), n)] for lag 1..max_lag on aligned return arrays."""
    out = []
    for lag in range(1, max_lag + 1):
        if len(sym_ret) <= lag:
            out.append((lag, math.nan, 0))
            continue
        c, _, n = corr_beta(btc_ret[:-lag], sym_ret[lag:])
        out.append((lag, c, n))
    return out


def lead_lag_signal(
    symbol: str,
    sym_ret: np.ndarray,
    btc_ret: np.ndarray,
    *,
    max_lag: int = 5,
    bar: str = "1m",
) -> CorrelationSignal:
    """The lead-lag signal from aligned one-bar returns (oldest first, last = latest closed bar).

    Direction = sign(corr at best lag x BTC's move over the last best-lag bars). Strength =
    min(1, |corr|/0.3) x min(1, |move z|/2): a strong, significant lead and a BTC move that is
    large for its recent volatility. NEUTRAL when |corr| < 2/sqrt(n) (not significant) or BTC
    has not moved.
    """
    lags = [t for t in lagged_correlations(sym_ret, btc_ret, max_lag) if t[1] == t[1]]
    if not lags:
        return CorrelationSignal(
            symbol=symbol,
            direction="NEUTRAL",
            strength=0.0,
            best_lag=None,
            correlation=0.0,
            btc_move=0.0,
            samples=0,
            significance=1.0,
            bar=bar,
        )
    lag, c, n = max(lags, key=lambda t: (abs(t[1]), -t[0]))
    recent = btc_ret[-lag:]
    move = float(np.nansum(recent))
    sd = float(np.nanstd(btc_ret, ddof=1)) if np.isfinite(btc_ret).sum() > 2 else 0.0
    z = move / (sd * math.sqrt(lag)) if sd > 0 else 0.0
    sig = 2.0 / math.sqrt(n)
    strength = min(1.0, abs(c) / CORR_FULL_STRENGTH) * min(1.0, abs(z) / MOVE_FULL_STRENGTH)
    if abs(c) < sig or move == 0.0 or strength == 0.0:
        direction: Direction = "NEUTRAL"
        strength = 0.0
    else:
        direction = "LONG" if c * move > 0 else "SHORT"
    return CorrelationSignal(
        symbol=symbol,
        direction=direction,
        strength=float(strength),
        best_lag=lag,
        correlation=float(c),
        btc_move=move,
        samples=n,
        significance=sig,
        bar=bar,
    )


# --- pandas front ends ---------------------------------------------------------------------------
def bar_returns(close: pd.Series, bar: pd.Timedelta) -> pd.Series:
    """One-bar log returns of a close series indexed by bar open time; NaN across gaps."""
    ts = pd.DatetimeIndex(close.index).as_unit("ns").asi8
    r = adjacent_log_returns(ts, close.to_numpy(dtype=np.float64), int(bar.value))
    return pd.Series(r, index=close.index, name="ret")


def rolling_correlation(ret: pd.Series, btc_ret: pd.Series, window: int) -> pd.Series:
    """Rolling correlation of a symbol's returns with BTC's (aligned on timestamps)."""
    b = btc_ret.reindex(ret.index)
    return ret.rolling(window, min_periods=max(3, window // 2)).corr(b)


def rolling_beta(ret: pd.Series, btc_ret: pd.Series, window: int) -> pd.Series:
    """Rolling beta (cov / var of BTC) of a symbol's returns to BTC's."""
    b = btc_ret.reindex(ret.index)
    mp = max(3, window // 2)
    both = ret.notna() & b.notna()
    r2, b2 = ret.where(both), b.where(both)
    return r2.rolling(window, min_periods=mp).cov(b2) / b2.rolling(window, min_periods=mp).var()


def btc_lead_lag(
    symbol: str,
    sym_close: pd.Series,
    btc_close: pd.Series,
    *,
    bar: pd.Timedelta = ONE_MINUTE,
    window: int = 360,
    max_lag: int = 5,
) -> CorrelationSignal:
    """The lead-lag signal over the last ``window`` bars of two close series (closed bars only)."""
    r = bar_returns(sym_close, bar).iloc[-window:]
    b = bar_returns(btc_close, bar).reindex(r.index)
    label = next((k for k, v in TIMEFRAMES.items() if v == bar), str(bar))
    return lead_lag_signal(symbol, r.to_numpy(), b.to_numpy(), max_lag=max_lag, bar=label)
