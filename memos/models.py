"""The memo contract (DESIGN.md §3): what crosses from ``memos/`` to the agents.

Fact ids are stable strings the agents cite as evidence. The catalogue below is the contract:
the memo builder emits these ids when it can compute them (and an ``Unknown`` when it cannot),
and the agents look facts up by these ids, never by position.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Direction = Literal["LONG", "SHORT", "NEUTRAL"]
FactKind = Literal["market", "technical", "news", "correlation"]

# --- The fact-id catalogue ------------------------------------------------------------------
# market (from the finest stored bars and the memo timeframe)
F_PRICE = "market.price"  # last close at or before `at`
F_RET_1H = "market.return_1h"  # fractional return, e.g. 0.012 = +1.2 %
F_RET_4H = "market.return_4h"
F_RET_24H = "market.return_24h"
F_RET_7D = "market.return_7d"
F_ATR = "market.atr_14"  # ATR(14) on memo-timeframe bars, in price units
F_ATR_PCT = "market.atr_pct"  # ATR / price
F_VOL = "market.realized_vol_24h"  # annualised (365-day) realised volatility of 1m/finest returns
F_VOLUME_Z = "market.volume_z"  # z-score of the last bar's volume vs the lookback
# technical (memo-timeframe bars)
F_RSI = "tech.rsi_14"
F_MACD_HIST = "tech.macd_hist"  # MACD(12,26,9) histogram, price units
F_EMA_FAST = "tech.ema_20"
F_EMA_SLOW = "tech.ema_50"
F_TREND = "tech.trend"  # value "up" | "down" | "flat"
F_BB_PCTB = "tech.bb_pctb"  # Bollinger(20,2) %b: 0 = lower band, 1 = upper band
F_SUPPORT = "tech.support"  # lowest low of the lookback
F_RESISTANCE = "tech.resistance"  # highest high of the lookback
# news
F_NEWS_BIAS = "news.bias"  # decayed sentiment score in [-1, 1]
F_NEWS_COUNT = "news.count_24h"
F_NEWS_SYMBOL_COUNT = "news.symbol_count_24h"  # headlines in 24h naming the symbol itself
F_NEWS_TOP = "news.top_{i}"  # news.top_1 .. news.top_5: a headline, value = decayed score
# correlation (absent for BTCUSDT itself)
F_BTC_CORR = "corr.btc_corr"
F_BTC_BETA = "corr.btc_beta"
F_BTC_LEAD = "corr.btc_lead_lag"  # value = signed predicted next move strength
F_BTC_RET_24H = "corr.btc_return_24h"  # BTC's own return over the last 24h (cross-asset context)

# signal names
S_TREND = "trend"
S_MOMENTUM = "momentum"
S_SENTIMENT = "sentiment_bias"
S_CORRELATION = "btc_lead_lag"


class Fact(BaseModel):
    """One checkable statement with a stable id the agents cite."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: FactKind
    text: str
    value: float | str | None = None
    source: str = Field(description="where it came from, e.g. 'candles:BTCUSDT_1m' or a URL")


class Signal(BaseModel):
    """A directional reading derived from facts."""

    model_config = ConfigDict(frozen=True)

    name: str
    direction: Direction
    strength: float = Field(ge=0.0, le=1.0)
    evidence: list[str] = Field(default_factory=list, description="fact ids")
    text: str = ""


class Unknown(BaseModel):
    """Something the memo could not establish: no recent news, a data gap, stale data."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    text: str


class Memo(BaseModel):
    """Facts, signals and unknowns for one symbol at one moment; ``id`` hashes the content."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    id: str
    symbol: str
    at: datetime
    timeframe: str = "1h"
    facts: list[Fact]
    signals: list[Signal]
    unknowns: list[Unknown]
    data_hash: str

    def fact(self, fact_id: str) -> Fact | None:
        """The fact with this id, or None."""
        for f in self.facts:
            if f.id == fact_id:
                return f
        return None

    def value(self, fact_id: str, default: float | None = None) -> float | None:
        """A numeric fact's value, or ``default`` when absent or not numeric."""
        f = self.fact(fact_id)
        if f is None or not isinstance(f.value, int | float):
            return default
        return float(f.value)

    def signal(self, name: str) -> Signal | None:
        """The signal with this name, or None."""
        for s in self.signals:
            if s.name == name:
                return s
        return None


# --- Catalogue additions (memo builder, issue 2) ----------------------------------------------
F_AS_OF = "market.as_of"  # value = ISO time the latest finest bar used closed (freshness)
# Further market return windows follow the same pattern: market.return_<N>h / market.return_<N>d.
# Unknown ids the builder emits (Unknown.id; kind in parentheses)
U_NO_NEWS = "unknown.no_news"  # (news) no headline about the symbol or the market in N hours
U_DATA_GAP = "unknown.data_gap"  # (data_gap) missing finest bars in the last 24h
U_DATA_GAP_TF = "unknown.data_gap_{tf}"  # (data_gap) missing memo-timeframe bars in the lookback
U_HALTED = "unknown.halted_bars"  # (data_gap) zero-volume bars in the last 24h (exchange halt)
U_STALE = "unknown.stale_data"  # (stale) latest bar closed long before `at`
U_SHORT_HISTORY = "unknown.short_history"  # (history) too few bars for a window or indicator
U_NO_BTC = "unknown.no_btc_data"  # (correlation) no BTC bars to correlate with
U_TIMEFRAME = "unknown.timeframe"  # (history) memo timeframe finer than the stored bars
