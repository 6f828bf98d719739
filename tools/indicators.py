"""Technical indicators over closed bars: EMA, RSI, MACD, ATR, Bollinger, realised vol, volume z.

Each indicator has a numpy core (``*_array``, fast enough for the memo hot path, which builds
tens of thousands of memos in replay) and a pandas wrapper that keeps the bars' index. All of
them are pure: they read only the bars they are given, so a caller that passes only bars closed
at or before ``at`` can never look ahead.

Conventions (the textbook ones, so a trader's chart agrees with us):
- EMA: ``alpha = 2 / (span + 1)``, seeded with the first value (pandas ``adjust=False``).
- Wilder smoothing (RSI, ATR): seeded with the simple mean of the first ``period`` values, then
  ``avg = (avg * (period - 1) + x) / period``; NaN before the seed.
- Bollinger: population standard deviation (ddof=0), as John Bollinger defines it.
- Realised volatility: sample std (ddof=1) of log returns, annualised with a 365-day year
  (crypto trades every day).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

YEAR = pd.Timedelta(days=365)


# --- numpy cores ----------------------------------------------------------------------------
def ema_array(x: np.ndarray, span: int) -> np.ndarray:
    """EMA with ``alpha = 2/(span+1)`` seeded at ``x[0]``; NaNs in ``x`` carry the last value."""
    alpha = 2.0 / (span + 1.0)
    out = np.empty(len(x), dtype=np.float64)
    if len(x) == 0:
        return out
    prev = math.nan
    keep = 1.0 - alpha
    for i, v in enumerate(np.asarray(x, dtype=np.float64).tolist()):
        if v != v:  # NaN: hold the previous value
            out[i] = prev
            continue
        prev = v if prev != prev else keep * prev + alpha * v
        out[i] = prev
    return out


_EWM_FROM = 10_000
"""Above this many values the recursion runs in pandas' ewm (equal to ~1e-15 relative);
below it a plain loop is faster than pandas' call overhead (a memo smooths a few hundred)."""


def wilder_array(x: np.ndarray, period: int) -> np.ndarray:
    """Wilder's smoothing: SMA of the first ``period`` values, then ``(prev*(p-1)+x)/p``."""
    arr = np.asarray(x, dtype=np.float64)
    out = np.full(len(arr), math.nan)
    if len(arr) < period:
        return out
    if len(arr) >= _EWM_FROM:
        # the same recursion: ewm(alpha=1/p, adjust=False) seeded with the first SMA
        seeded = np.concatenate(([arr[:period].mean()], arr[period:]))
        out[period - 1 :] = pd.Series(seeded).ewm(alpha=1.0 / period, adjust=False).mean()
        return out
    vals = arr.tolist()
    avg = sum(vals[:period]) / period
    out[period - 1] = avg
    for i in range(period, len(vals)):
        avg = (avg * (period - 1) + vals[i]) / period
        out[i] = avg
    return out


def rsi_array(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Wilder's RSI; the first value is at index ``period`` (it needs ``period`` changes)."""
    close = np.asarray(close, dtype=np.float64)
    out = np.full(len(close), math.nan)
    if len(close) <= period:
        return out
    d = np.diff(close)
    gain = wilder_array(np.maximum(d, 0.0), period)
    loss = wilder_array(np.maximum(-d, 0.0), period)
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = gain / loss
        r = 100.0 - 100.0 / (1.0 + rs)
    r = np.where(loss == 0.0, np.where(gain == 0.0, 50.0, 100.0), r)
    r[np.isnan(gain)] = math.nan
    out[1:] = r
    return out


def macd_arrays(
    close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line (EMA fast - EMA slow), its signal EMA, and the histogram (line - signal)."""
    line = ema_array(close, fast) - ema_array(close, slow)
    sig = ema_array(line, signal)
    return line, sig, line - sig


def true_range_array(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """max(high-low, |high-prev close|, |low-prev close|); the first bar is high-low."""
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    tr = high - low
    if len(tr) > 1:
        prev = close[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(high[1:] - prev), np.abs(low[1:] - prev)])
    return tr


def atr_array(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Wilder's ATR: Wilder smoothing of the true range; first value at index ``period - 1``."""
    return wilder_array(true_range_array(high, low, close), period)


def bollinger_last(close: np.ndarray, window: int = 20, k: float = 2.0) -> tuple[float, ...]:
    """(middle, upper, lower, %b) of the last bar; NaNs when there are fewer than ``window``."""
    close = np.asarray(close, dtype=np.float64)
    if len(close) < window:
        return (math.nan,) * 4
    w = close[-window:]
    mid = float(w.mean())
    sd = float(w.std(ddof=0))
    upper, lower = mid + k * sd, mid - k * sd
    pctb = (float(close[-1]) - lower) / (upper - lower) if upper > lower else 0.5
    return mid, upper, lower, pctb


def log_returns_array(close: np.ndarray) -> np.ndarray:
    """Log returns between consecutive bars (length n-1)."""
    c = np.asarray(close, dtype=np.float64)
    return np.diff(np.log(c)) if len(c) > 1 else np.empty(0)


def annualisation(bar: pd.Timedelta) -> float:
    """sqrt(bars per 365-day year): scales a per-bar std to an annual one."""
    return math.sqrt(YEAR / bar)


def realized_vol_array(close: np.ndarray, bar: pd.Timedelta) -> float:
    """Annualised (365-day) realised volatility of log returns; NaN with fewer than 2 returns."""
    r = log_returns_array(close)
    if len(r) < 2:
        return math.nan
    return float(r.std(ddof=1)) * annualisation(bar)


def volume_z_last(volume: np.ndarray, window: int = 20) -> float:
    """z-score of the last bar's volume against the ``window`` bars ending with it (ddof=1)."""
    v = np.asarray(volume, dtype=np.float64)
    if len(v) < window:
        return math.nan
    w = v[-window:]
    sd = float(w.std(ddof=1))
    return (float(v[-1]) - float(w.mean())) / sd if sd > 0 else 0.0


# --- pandas wrappers --------------------------------------------------------------------------
def ema(close: pd.Series, span: int) -> pd.Series:
    """Exponential moving average (``adjust=False``)."""
    return pd.Series(ema_array(close.to_numpy(), span), index=close.index, name=f"ema_{span}")


def rsi(close: pd.Series, period: int = 14) -> pd.Series:
    """Wilder's RSI in 0..100."""
    return pd.Series(rsi_array(close.to_numpy(), period), index=close.index, name=f"rsi_{period}")


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """Columns ``macd``, ``signal``, ``hist``."""
    line, sig, hist = macd_arrays(close.to_numpy(), fast, slow, signal)
    return pd.DataFrame({"macd": line, "signal": sig, "hist": hist}, index=close.index)


def atr(bars: pd.DataFrame, period: int = 14) -> pd.Series:
    """Wilder's ATR(period) of OHLC bars, in price units."""
    a = atr_array(bars["high"].to_numpy(), bars["low"].to_numpy(), bars["close"].to_numpy(), period)
    return pd.Series(a, index=bars.index, name=f"atr_{period}")


def bollinger(close: pd.Series, window: int = 20, k: float = 2.0) -> pd.DataFrame:
    """Columns ``mid``, ``upper``, ``lower``, ``pctb`` (0 = lower band, 1 = upper band)."""
    roll = close.rolling(window)
    mid = roll.mean()
    sd = roll.std(ddof=0)
    upper, lower = mid + k * sd, mid - k * sd
    pctb = (close - lower) / (upper - lower)
    return pd.DataFrame({"mid": mid, "upper": upper, "lower": lower, "pctb": pctb})


def realized_volatility(close: pd.Series, bar: pd.Timedelta, window: int) -> pd.Series:
    """Rolling annualised (365-day) realised vol over ``window`` log returns."""
    r = np.log(close).diff()
    return r.rolling(window).std(ddof=1) * annualisation(bar)


def volume_zscore(volume: pd.Series, window: int = 20) -> pd.Series:
    """Rolling z-score of volume against the ``window`` bars ending with each bar."""
    roll = volume.rolling(window)
    return (volume - roll.mean()) / roll.std(ddof=1)


# --- one reading for an agent ------------------------------------------------------------------
class IndicatorSnapshot(BaseModel):
    """The indicators of the last closed bar in a window; NaN-free (None when not computable)."""

    model_config = ConfigDict(frozen=True)

    bars: int
    close: float
    ema_20: float | None
    ema_50: float | None
    rsi_14: float | None
    macd: float | None
    macd_signal: float | None
    macd_hist: float | None
    atr_14: float | None
    bb_mid: float | None
    bb_upper: float | None
    bb_lower: float | None
    bb_pctb: float | None
    volume_z: float | None
    support: float
    resistance: float
    trend: str  # "up" | "down" | "flat"


MIN_BARS = 60  # EMA(50) and MACD(26+9) need this much history to mean anything


def _opt(x: float) -> float | None:
    return None if x != x else float(x)


def trend_label(close: float, ema_fast: float | None, ema_slow: float | None) -> str:
    """``up`` when close > EMA20 > EMA50, ``down`` when close < EMA20 < EMA50, else ``flat``."""
    if ema_fast is None or ema_slow is None:
        return "flat"
    if close > ema_fast > ema_slow:
        return "up"
    if close < ema_fast < ema_slow:
        return "down"
    return "flat"


def snapshot(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    *,
    levels_lookback: int = 48,
) -> IndicatorSnapshot:
    """Every indicator of the memo for the last bar of these (closed, oldest-first) bars."""
    n = len(close)
    if n == 0:
        raise ValueError("snapshot needs at least one bar")
    c_last = float(close[-1])
    e20 = _opt(ema_array(close, 20)[-1]) if n >= 20 else None
    e50 = _opt(ema_array(close, 50)[-1]) if n >= 50 else None
    line, sig, hist = macd_arrays(close)
    has_macd = n >= 35
    mid, up, lo, pctb = bollinger_last(close)
    lv = slice(max(0, n - levels_lookback), n)
    return IndicatorSnapshot(
        bars=n,
        close=c_last,
        ema_20=e20,
        ema_50=e50,
        rsi_14=_opt(rsi_array(close, 14)[-1]),
        macd=_opt(line[-1]) if has_macd else None,
        macd_signal=_opt(sig[-1]) if has_macd else None,
        macd_hist=_opt(hist[-1]) if has_macd else None,
        atr_14=_opt(atr_array(high, low, close, 14)[-1]),
        bb_mid=_opt(mid),
        bb_upper=_opt(up),
        bb_lower=_opt(lo),
        bb_pctb=_opt(pctb),
        volume_z=_opt(volume_z_last(volume, 20)),
        support=float(np.min(low[lv])),
        resistance=float(np.max(high[lv])),
        trend=trend_label(c_last, e20, e50),
    )


def snapshot_frame(bars: pd.DataFrame, *, levels_lookback: int = 48) -> IndicatorSnapshot:
    """:func:`snapshot` of an OHLCV DataFrame (oldest first)."""
    return snapshot(
        bars["high"].to_numpy(dtype=np.float64),
        bars["low"].to_numpy(dtype=np.float64),
        bars["close"].to_numpy(dtype=np.float64),
        bars["volume"].to_numpy(dtype=np.float64),
        levels_lookback=levels_lookback,
    )
