"""Build the memo for (symbol, at): the facts, signals and unknowns an agent meeting argues over.

Pure and deterministic: the memo reads only a :class:`MarketData` sliced at ``at`` (bars closed
at or before ``at``, headlines published at or before ``at``), so the same data give the same
memo JSON, and nothing after ``at`` can change it. Fact ids come from the catalogue in
:mod:`memos.models`; every fact names its source.

Headlines are untrusted text: they appear only as JSON-quoted data inside a fact's text.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from memos import models as m
from memos.market import BTC, Bars, MarketData
from tools.correlation import (
    CorrelationSignal,
    adjacent_log_returns,
    corr_beta,
    lead_lag_signal,
)
from tools.hashing import stable_hash
from tools.indicators import (
    MIN_BARS,
    IndicatorSnapshot,
    annualisation,
    snapshot,
)
from tools.sentiment import bias_core
from tools.timeutil import iso, parse_utc, timeframe_delta

HOUR_NS = 3_600_000_000_000


class MemoError(ValueError):
    """A memo cannot be built for this symbol/moment (unknown symbol, no data before ``at``)."""


class MemoConfig(BaseModel):
    """The memo's windows and thresholds (part of what a memo's hash depends on)."""

    model_config = ConfigDict(frozen=True)

    lookback_bars: int = 200  # memo-timeframe bars fed to the indicators
    levels_lookback: int = 48  # bars for support / resistance
    vol_window_hours: float = 24.0  # realised vol, gap scan, BTC corr/beta on the finest bars
    lead_lag_window_hours: float = 6.0
    max_lag: int = 5
    min_corr_bars: int = 120  # correlation / lead-lag use at least this many finest bars
    news_window_hours: float = 48.0
    half_life_hours: float = 6.0
    no_news_hours: float = 24.0
    top_headlines: int = 5
    stale_after_minutes: float = 15.0  # or two finest bars, whichever is longer
    return_windows_hours: tuple[float, ...] = (1.0, 4.0, 24.0, 168.0)


DEFAULT_CONFIG = MemoConfig()
_RET_IDS = {1.0: m.F_RET_1H, 4.0: m.F_RET_4H, 24.0: m.F_RET_24H, 168.0: m.F_RET_7D}


def _r(x: float, digits: int = 8) -> float:
    """Round to ``digits`` significant figures: stable JSON, readable values."""
    return float(f"{x:.{digits}g}")


def _price(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.2f}"
    if abs(x) >= 1:
        return f"{x:,.4f}".rstrip("0").rstrip(".")
    return f"{x:.6g}"


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


def _window(hours: float) -> str:
    return f"{int(hours / 24)}d" if hours >= 48 and hours % 24 == 0 else f"{hours:g}h"


class _Hasher:
    """sha256 over exactly the input slices a memo reads (the memo's ``data_hash``)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def add(self, *arrays: np.ndarray) -> None:
        for a in arrays:
            self._h.update(np.ascontiguousarray(a).tobytes())

    def text(self, s: str) -> None:
        self._h.update(s.encode("utf-8") + b"\x00")

    def hexdigest(self) -> str:
        return self._h.hexdigest()[:16]


def build_memo(
    symbol: str,
    at: str | datetime | pd.Timestamp,
    *,
    market: MarketData | None = None,
    timeframe: str = "1h",
    config: MemoConfig = DEFAULT_CONFIG,
) -> m.Memo:
    """The memo for ``symbol`` at ``at`` from bars closed and news published at or before ``at``.

    Without ``market`` the data are loaded from the store, each symbol from the stored set that
    covers ``at`` (slow: replay should build one :class:`MarketData` and pass it).
    """
    at_ts = parse_utc(at).floor("us")  # Memo.at is a datetime (µs); flooring never adds data
    if market is None:
        market = MarketData.from_store([symbol], at=at_ts)
    if not market.has(symbol):
        stored = market.stored_ranges.get(symbol)
        if stored:
            have = "; ".join(f"{tf}: {iso(a)} to {iso(b)}" for tf, a, b in stored)
            raise MemoError(f"at {iso(at_ts)} is outside the stored {symbol} candles ({have})")
        raise MemoError(
            f"symbol {symbol!r} has no candles (have: {', '.join(market.symbols) or 'none'})"
        )
    at_ns = int(at_ts.value)
    base = market.base(symbol)
    n_base = base.closed(at_ns)
    if n_base == 0:
        first = iso(pd.Timestamp(int(base.ts[0]) + base.bar_ns, tz="UTC"))
        raise MemoError(
            f"at {iso(at_ts)}: no {symbol} bar has closed yet (first {base.timeframe} bar closes {first})"
        )
    b = _Builder(symbol, at_ts, at_ns, market, timeframe, config)
    return b.build(base, n_base)


class _Builder:
    def __init__(
        self,
        symbol: str,
        at: pd.Timestamp,
        at_ns: int,
        market: MarketData,
        timeframe: str,
        config: MemoConfig,
    ) -> None:
        self.symbol, self.at, self.at_ns = symbol, at, at_ns
        self.market, self.tf, self.cfg = market, timeframe, config
        self.facts: dict[str, m.Fact] = {}
        self.signals: list[m.Signal] = []
        self.unknowns: dict[str, m.Unknown] = {}
        self.h = _Hasher()
        self.h.text(f"{symbol}|{at_ns}|{timeframe}|{config.model_dump_json()}")

    # --- helpers ------------------------------------------------------------------------------
    def fact(
        self, fid: str, kind: m.FactKind, text: str, value: float | str | None, source: str
    ) -> None:
        if isinstance(value, float):
            value = _r(value)
        if fid not in self.facts:  # first writer wins: merged and de-duplicated by id
            self.facts[fid] = m.Fact(id=fid, kind=kind, text=text, value=value, source=source)

    def unknown(self, uid: str, kind: str, text: str) -> None:
        """Record an unknown; a second one with the same id is merged into its text."""
        old = self.unknowns.get(uid)
        self.unknowns[uid] = m.Unknown(
            id=uid, kind=kind, text=text if old is None else f"{old.text}; {text}"
        )

    # --- the memo -----------------------------------------------------------------------------
    def build(self, base: Bars, n_base: int) -> m.Memo:
        self.market_facts(base, n_base)
        snap = self.technical_facts(base)
        self.news_facts()
        lead = self.correlation_facts(base, n_base)
        self.derive_signals(snap, lead)
        draft = m.Memo(
            id="",
            symbol=self.symbol,
            at=self.at.to_pydatetime(),
            timeframe=self.tf,
            facts=sorted(self.facts.values(), key=lambda f: _KIND_ORDER.get(f.kind, 9)),
            signals=self.signals,
            unknowns=sorted(self.unknowns.values(), key=lambda u: u.id),
            data_hash=self.h.hexdigest(),
        )
        return draft.model_copy(
            update={"id": stable_hash(draft.model_dump(mode="json", exclude={"id"}))}
        )

    def market_facts(self, base: Bars, n: int) -> None:
        cfg, sym, src = self.cfg, self.symbol, base.source
        last = n - 1
        price = float(base.close[last])
        last_close_ns = int(base.ts[last]) + base.bar_ns
        self.h.add(base.ts[last : last + 1], base.close[last : last + 1])
        self.price = price
        self.fact(
            m.F_PRICE,
            "market",
            f"{sym} last price {_price(price)} (close of the {base.timeframe} bar ending {iso(pd.Timestamp(last_close_ns, tz='UTC'))})",
            price,
            src,
        )
        self.fact(
            m.F_AS_OF,
            "market",
            f"Latest {base.timeframe} bar closed at {iso(pd.Timestamp(last_close_ns, tz='UTC'))}",
            iso(pd.Timestamp(last_close_ns, tz="UTC")),
            src,
        )
        stale_ns = max(int(cfg.stale_after_minutes * 60e9), 2 * base.bar_ns)
        lag_ns = self.at_ns - last_close_ns
        if lag_ns > stale_ns:
            self.unknown(
                m.U_STALE,
                "stale",
                f"Stale data: the latest {sym} {base.timeframe} bar closed {_dur(lag_ns)} before {iso(self.at)}; prices may have moved since",
            )

        missing_windows = []
        for hours in cfg.return_windows_hours:
            fid = _RET_IDS.get(hours, f"market.return_{_window(hours)}")
            k = base.closed(self.at_ns - int(hours * HOUR_NS))
            if k == 0:
                missing_windows.append(_window(hours))
                continue
            ref = float(base.close[k - 1])
            self.h.add(base.ts[k - 1 : k], base.close[k - 1 : k])
            ret = price / ref - 1.0
            self.fact(
                fid,
                "market",
                f"Return over the last {_window(hours)}: {_pct(ret)} (from {_price(ref)})",
                ret,
                src,
            )
        if missing_windows:
            self.unknown(
                m.U_SHORT_HISTORY,
                "history",
                f"Too little {sym} history before {iso(self.at)} for the {', '.join(missing_windows)} return(s)",
            )

        # the finest bars of the last vol window: realised vol, gaps, halted (zero-volume) bars
        lo = base.closed(self.at_ns - int(cfg.vol_window_hours * HOUR_NS))
        ts, close, vol = base.ts[lo:n], base.close[lo:n], base.volume[lo:n]
        self.h.add(ts, close, vol)
        win = _window(cfg.vol_window_hours)
        # one-bar returns only: the return across a gap (e.g. the 80-minute halt) is not a
        # one-bar move and would swamp the estimate
        r = adjacent_log_returns(ts, close, base.bar_ns)
        r = r[np.isfinite(r)]
        if len(r) >= 2:
            rv = float(r.std(ddof=1)) * annualisation(timeframe_delta(base.timeframe))
            self.fact(
                m.F_VOL,
                "market",
                f"Realised volatility over the last {win} of {base.timeframe} returns: {rv * 100:.1f} % annualised (365-day year, {len(r)} one-bar returns, none across a gap)",
                rv,
                src,
            )
        self.scan_gaps(ts, vol, base, f"the last {win}", m.U_DATA_GAP)

    def scan_gaps(self, ts: np.ndarray, vol: np.ndarray, bars: Bars, where: str, uid: str) -> None:
        if len(ts) < 2:
            return
        d = np.diff(ts)
        holes = d > bars.bar_ns
        if holes.any():
            missing = int(((d[holes] // bars.bar_ns) - 1).sum())
            i = int(np.argmax(d))
            a, b = pd.Timestamp(int(ts[i]), tz="UTC"), pd.Timestamp(int(ts[i + 1]), tz="UTC")
            self.unknown(
                uid,
                "data_gap",
                f"Data gap in {self.symbol} {bars.timeframe} bars within {where}: {missing} missing bar(s); largest between {iso(a)} and {iso(b)} (exchange halt or outage); indicators across it are less reliable",
            )
        zero = int((vol == 0).sum())
        if zero and uid == m.U_DATA_GAP:
            self.unknown(
                m.U_HALTED,
                "data_gap",
                f"{zero} zero-volume {bars.timeframe} bar(s) in {where} ({self.symbol}): trading may have been halted; flat prices there are not real quotes",
            )

    def technical_facts(self, base: Bars) -> IndicatorSnapshot | None:
        cfg, sym, tf = self.cfg, self.symbol, self.tf
        if timeframe_delta(tf) < timeframe_delta(base.timeframe):
            self.unknown(
                m.U_TIMEFRAME,
                "history",
                f"Memo timeframe {tf} is finer than the stored {base.timeframe} bars of {sym}; no indicators",
            )
            return None
        bars = self.market.bars(sym, tf)
        n = bars.closed(self.at_ns)
        lo = max(0, n - cfg.lookback_bars)
        h, lw, c, v = bars.high[lo:n], bars.low[lo:n], bars.close[lo:n], bars.volume[lo:n]
        self.h.add(bars.ts[lo:n], h, lw, c, v)
        if n - lo < MIN_BARS:
            self.unknown(
                m.U_SHORT_HISTORY,
                "history",
                f"Only {n - lo} closed {tf} bars of {sym} before {iso(self.at)} (need {MIN_BARS}) for EMA(50)/MACD/RSI",
            )
            if n - lo == 0:
                return None
        self.scan_gaps(
            bars.ts[lo:n],
            v,
            bars,
            f"the {tf} lookback ({n - lo} bars)",
            m.U_DATA_GAP_TF.format(tf=tf),
        )
        s = snapshot(h, lw, c, v, levels_lookback=cfg.levels_lookback)
        src, p = bars.source, self.price
        if s.atr_14 is not None:
            self.fact(
                m.F_ATR,
                "market",
                f"ATR(14) on {tf} is {_price(s.atr_14)} ({s.atr_14 / p * 100:.2f} % of price): the typical {tf} range",
                s.atr_14,
                src,
            )
            self.fact(
                m.F_ATR_PCT,
                "market",
                f"ATR(14) on {tf} is {s.atr_14 / p * 100:.2f} % of price",
                s.atr_14 / p,
                src,
            )
        if s.volume_z is not None:
            z = s.volume_z
            mood = "unusually heavy" if z >= 2 else "unusually light" if z <= -1.5 else "normal"
            self.fact(
                m.F_VOLUME_Z,
                "market",
                f"Last {tf} bar volume is {z:+.2f} σ vs its 20-bar average: {mood}",
                z,
                src,
            )
        if s.rsi_14 is not None:
            r = s.rsi_14
            mood = (
                "overbought"
                if r >= 70
                else "oversold"
                if r <= 30
                else "bullish"
                if r >= 55
                else "bearish"
                if r <= 45
                else "neutral"
            )
            self.fact(m.F_RSI, "technical", f"RSI(14) on {tf} is {r:.1f}: {mood}", r, src)
        if s.macd_hist is not None:
            hist = s.macd_hist
            mood = (
                "bullish momentum (MACD above its signal)"
                if hist > 0
                else "bearish momentum (MACD below its signal)"
                if hist < 0
                else "no momentum"
            )
            self.fact(
                m.F_MACD_HIST,
                "technical",
                f"MACD(12,26,9) histogram on {tf} is {hist:+.4g}: {mood}",
                hist,
                src,
            )
        for fid, val, name in (
            (m.F_EMA_FAST, s.ema_20, "EMA(20)"),
            (m.F_EMA_SLOW, s.ema_50, "EMA(50)"),
        ):
            if val is not None:
                side = "above" if p > val else "below" if p < val else "at"
                self.fact(
                    fid,
                    "technical",
                    f"{name} on {tf} is {_price(val)}; price is {abs(p / val - 1) * 100:.2f} % {side} it",
                    val,
                    src,
                )
        if s.ema_20 is not None and s.ema_50 is not None:
            why = {
                "up": "close > EMA(20) > EMA(50)",
                "down": "close < EMA(20) < EMA(50)",
                "flat": "EMAs and price not stacked",
            }[s.trend]
            self.fact(m.F_TREND, "technical", f"Trend on {tf} is {s.trend}: {why}", s.trend, src)
        if s.bb_pctb is not None:
            b = s.bb_pctb
            mood = (
                "above the upper band"
                if b > 1
                else "below the lower band"
                if b < 0
                else "near the upper band"
                if b >= 0.8
                else "near the lower band"
                if b <= 0.2
                else "mid-band"
            )
            self.fact(
                m.F_BB_PCTB, "technical", f"Bollinger(20,2) %b on {tf} is {b:.2f}: {mood}", b, src
            )
        nl = min(cfg.levels_lookback, n - lo)
        self.fact(
            m.F_SUPPORT,
            "technical",
            f"Support (lowest low of the last {nl} {tf} bars) at {_price(s.support)}, {(1 - s.support / p) * 100:.2f} % below price",
            s.support,
            src,
        )
        self.fact(
            m.F_RESISTANCE,
            "technical",
            f"Resistance (highest high of the last {nl} {tf} bars) at {_price(s.resistance)}, {(s.resistance / p - 1) * 100:.2f} % above price",
            s.resistance,
            src,
        )
        return s

    def news_facts(self) -> None:
        cfg, sym = self.cfg, self.symbol
        view = self.market.news_view(sym)
        hi = int(np.searchsorted(view.ts, self.at_ns, side="right"))
        lo = int(
            np.searchsorted(view.ts, self.at_ns - int(cfg.news_window_hours * HOUR_NS), side="left")
        )
        ages = (self.at_ns - view.ts[lo:hi]) / HOUR_NS
        items = view.item[lo:hi]
        self.h.add(view.ts[lo:hi], view.score[lo:hi], view.base_weight[lo:hi])
        for i in items.tolist():
            self.h.text(self.market.news_items[i].title)
        score, direction, strength, w, contrib, order = bias_core(
            ages,
            view.score[lo:hi],
            view.base_weight[lo:hi],
            half_life_hours=cfg.half_life_hours,
            top=cfg.top_headlines,
        )
        self.bias = (score, direction, strength)
        n_recent = int((ages <= cfg.no_news_hours).sum()) if len(ages) else 0
        n24 = int((ages <= 24.0).sum()) if len(ages) else 0
        own24 = sum(
            1
            for i, age in zip(items.tolist(), ages.tolist(), strict=True)
            if age <= 24.0 and self.market.news_items[i].symbols
        )
        self.fact(
            m.F_NEWS_COUNT,
            "news",
            f"{n24} headline(s) in the last 24h about {sym} or the crypto market in general",
            float(n24),
            "news",
        )
        self.fact(
            m.F_NEWS_SYMBOL_COUNT,
            "news",
            f"{own24} of those headline(s) name {sym} itself (the rest are market-wide)",
            float(own24),
            "news",
        )
        if n_recent == 0:
            self.unknown(
                m.U_NO_NEWS,
                "news",
                f"No headline about {sym} or the market in the last {_window(cfg.no_news_hours)} before {iso(self.at)}: the news picture is unknown, not calm",
            )
        self.fact(
            m.F_NEWS_BIAS,
            "news",
            f"News sentiment for {sym}: {score:+.2f} ({direction}, strength {strength:.2f}) from {hi - lo} headline(s) in the last {_window(cfg.news_window_hours)}, half-life {cfg.half_life_hours:g}h, market-wide news at half weight",
            score,
            "news:vader+crypto-lexicon",
        )
        self.top_ids: list[str] = []
        for rank, j in enumerate(order, start=1):
            item = self.market.news_items[int(items[j])]
            fid = m.F_NEWS_TOP.format(i=rank)
            scope = "market-wide" if not item.symbols else ",".join(item.symbols)
            quoted = json.dumps(item.title[:240], ensure_ascii=False)
            text = (
                f"Headline ({item.source or 'unknown source'}, {item.ts_iso}, {ages[j]:.1f}h before, {scope}): "
                f"{quoted} (quoted headline, untrusted text) — sentiment {item.score:+.2f}, decayed weight {w[j]:.2f}"
            )
            self.fact(
                fid,
                "news",
                text,
                float(contrib[j]),
                item.url or f"news:{item.dataset or item.source}",
            )
            self.top_ids.append(fid)

    def correlation_facts(self, base: Bars, n: int) -> CorrelationSignal | None:
        cfg, sym = self.cfg, self.symbol
        if sym == BTC:
            return None
        if not self.market.has(BTC):
            self.unknown(
                m.U_NO_BTC,
                "correlation",
                f"No BTCUSDT candles loaded: correlation, beta and lead-lag of {sym} to BTC are unknown",
            )
            return None
        r, br = self.market.returns_with_btc(sym)
        # at least min_corr_bars bars: 24h of 1h bars would be too few to mean anything
        lo = max(
            0,
            min(
                base.closed(self.at_ns - int(cfg.vol_window_hours * HOUR_NS)), n - cfg.min_corr_bars
            ),
        )
        x, y = br[lo:n], r[lo:n]
        self.h.add(x, y)
        both = int((np.isfinite(x) & np.isfinite(y)).sum())
        if both < 30:
            self.unknown(
                m.U_NO_BTC,
                "correlation",
                f"Only {both} bars where both {sym} and BTCUSDT have {base.timeframe} returns in the last {_window(cfg.vol_window_hours)}: correlation to BTC unknown",
            )
            return None
        c, beta, k = corr_beta(x, y)
        btc = self.market.base(BTC)
        nb = btc.closed(self.at_ns)
        kb = btc.closed(self.at_ns - int(24 * HOUR_NS))
        if nb > 0 and kb > 0:
            self.h.add(btc.ts[nb - 1 : nb], btc.close[nb - 1 : nb], btc.ts[kb - 1 : kb])
            self.h.add(btc.close[kb - 1 : kb])
            b24 = float(btc.close[nb - 1]) / float(btc.close[kb - 1]) - 1.0
            self.fact(
                m.F_BTC_RET_24H,
                "correlation",
                f"BTCUSDT moved {_pct(b24)} over the last 24h (cross-asset context at the desk's horizon)",
                b24,
                f"candles:{BTC}_{btc.timeframe}",
            )
        src = f"candles:{sym}_{base.timeframe}+{BTC}_{base.timeframe}"
        win = _window(cfg.vol_window_hours)
        if c == c:
            self.fact(
                m.F_BTC_CORR,
                "correlation",
                f"Correlation of {sym} {base.timeframe} returns with BTC: {c:.2f} ({k} bars, last {win} or more)",
                c,
                src,
            )
            self.fact(
                m.F_BTC_BETA,
                "correlation",
                f"Beta of {sym} to BTC: {beta:.2f} ({sym} moves ~{beta:.2f} % per 1 % BTC move; {k} {base.timeframe} bars)",
                beta,
                src,
            )
        ll = max(
            0,
            min(
                base.closed(self.at_ns - int(cfg.lead_lag_window_hours * HOUR_NS)),
                n - cfg.min_corr_bars,
            ),
        )
        sig = lead_lag_signal(sym, r[ll:n], br[ll:n], max_lag=cfg.max_lag, bar=base.timeframe)
        if sig.best_lag is None:
            return None
        unit = "min" if base.timeframe == "1m" else f"× {base.timeframe}"
        win = _window(cfg.lead_lag_window_hours)
        verdict = (
            f"predicts {sym} {sig.direction}, strength {sig.strength:.2f}"
            if sig.direction != "NEUTRAL"
            else "no usable lead (NEUTRAL)"
        )
        self.fact(
            m.F_BTC_LEAD,
            "correlation",
            f"BTC lead-lag over the last {win} (or {cfg.min_corr_bars} bars): best lag {sig.best_lag} {unit}, corr {sig.correlation:+.3f} (n={sig.samples}, significant above {sig.significance:.3f}); BTC moved {_pct(sig.btc_move)} over the last {sig.best_lag} bar(s): {verdict}",
            sig.signed_strength,
            src,
        )
        return sig

    def derive_signals(self, s: IndicatorSnapshot | None, lead: CorrelationSignal | None) -> None:
        if s is not None and s.ema_20 is not None and s.ema_50 is not None:
            spread = (s.ema_20 - s.ema_50) / s.atr_14 if s.atr_14 else 0.0
            d: m.Direction = {"up": "LONG", "down": "SHORT", "flat": "NEUTRAL"}[s.trend]  # type: ignore[assignment]
            strength = min(1.0, abs(spread) / 2.0) if d != "NEUTRAL" else 0.0
            self.signals.append(
                m.Signal(
                    name=m.S_TREND,
                    direction=d,
                    strength=_r(strength, 4),
                    evidence=[m.F_TREND, m.F_EMA_FAST, m.F_EMA_SLOW, m.F_PRICE],
                    text=f"{self.tf} trend {s.trend}; EMA(20)-EMA(50) spread {spread:+.2f} ATR",
                )
            )
        if s is not None and s.rsi_14 is not None and s.macd_hist is not None and s.atr_14:
            rsi_part = max(-1.0, min(1.0, (s.rsi_14 - 50.0) / 20.0))
            macd_part = max(-1.0, min(1.0, s.macd_hist / (0.1 * s.atr_14)))
            mom = 0.5 * rsi_part + 0.5 * macd_part
            d = "LONG" if mom > 0.15 else "SHORT" if mom < -0.15 else "NEUTRAL"
            self.signals.append(
                m.Signal(
                    name=m.S_MOMENTUM,
                    direction=d,
                    strength=_r(min(1.0, abs(mom)) if d != "NEUTRAL" else 0.0, 4),
                    evidence=[m.F_RSI, m.F_MACD_HIST],
                    text=f"RSI {s.rsi_14:.1f} and MACD histogram {s.macd_hist:+.4g} combine to {mom:+.2f}",
                )
            )
        score, direction, strength = self.bias
        self.signals.append(
            m.Signal(
                name=m.S_SENTIMENT,
                direction=direction,
                strength=_r(strength, 4),
                evidence=[m.F_NEWS_BIAS, *self.top_ids],
                text=f"decayed news sentiment {score:+.2f}",
            )
        )
        if lead is not None:
            self.signals.append(
                m.Signal(
                    name=m.S_CORRELATION,
                    direction=lead.direction,
                    strength=_r(lead.strength, 4),
                    evidence=[m.F_BTC_LEAD, m.F_BTC_CORR],
                    text=f"BTC lead at lag {lead.best_lag}: corr {lead.correlation:+.3f}, BTC move {_pct(lead.btc_move)}",
                )
            )


_KIND_ORDER = {"market": 0, "technical": 1, "news": 2, "correlation": 3}


def _dur(ns: int) -> str:
    minutes = ns / 60e9
    return (
        f"{minutes:.0f} min"
        if minutes < 120
        else f"{minutes / 60:.1f} h"
        if minutes < 2880
        else f"{minutes / 1440:.1f} days"
    )


def memo_json(memo: m.Memo) -> dict[str, Any]:
    """The memo as a JSON-ready dict (the form written to runs/ and printed by --json)."""
    return memo.model_dump(mode="json")


__all__ = ["DEFAULT_CONFIG", "MemoConfig", "MemoError", "build_memo", "memo_json"]
