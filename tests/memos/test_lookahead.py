"""No look-ahead: changing or deleting everything after `at` leaves the memo byte-identical,
and a bar that closes after `at` is never used (DESIGN.md §5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memos import models as m
from memos.builder import build_memo
from memos.market import MarketData, resample_bars
from tools.indicators import snapshot_frame

pytestmark = pytest.mark.data

MIN = pd.Timedelta(minutes=1)
HALT_MOMENTS = [
    "2023-03-24T11:30:00Z",  # inside the zero-volume stretch
    "2023-03-24T12:39:30Z",  # the last bar before the hole has not closed yet
    "2023-03-24T12:40:00Z",  # ... now it has
    "2023-03-24T13:30:00Z",  # inside the 80-minute hole
    "2023-03-24T14:00:00Z",
    "2023-03-24T14:01:00Z",  # first bar after the hole closed
    "2023-03-24T15:30:00Z",
]


def _moments() -> list[pd.Timestamp]:
    rng = np.random.default_rng(20230324)
    lo = pd.Timestamp("2023-03-17T00:00:00Z").value
    hi = pd.Timestamp("2023-05-01T20:00:00Z").value
    random = [pd.Timestamp(int(x), tz="UTC").floor("s") for x in rng.integers(lo, hi, 26)]
    fixed = [pd.Timestamp(t) for t in HALT_MOMENTS]
    edges = [pd.Timestamp("2023-03-16T22:20:00Z"), pd.Timestamp("2023-04-20T12:30:00Z")]
    return sorted(random + fixed + edges)


MOMENTS = _moments()


def _perturbed(
    frames: dict[str, pd.DataFrame], news: pd.DataFrame, at: pd.Timestamp, mode: str, seed: int
) -> MarketData:
    """The same market, with every bar not closed at `at` and every headline after `at`
    changed (mode 'change') or removed (mode 'delete')."""
    rng = np.random.default_rng(seed)
    out = {}
    for sym, df in frames.items():
        future = df.index + MIN > at
        if mode == "delete":
            out[sym] = df.loc[~future]
            continue
        d = df.copy()
        k = int(future.sum())
        f = rng.uniform(0.5, 1.5, k)
        for col in ("open", "high", "low", "close"):
            d.loc[future, col] = d.loc[future, col].to_numpy() * f
        d.loc[future, "volume"] = rng.uniform(0, 1e6, k)
        out[sym] = d
    later = news["ts"] > at
    if mode == "delete":
        nw = news.loc[~later]
    else:
        nw = news.copy()
        nw.loc[later, "title"] = "Bitcoin exchange hacked, bankruptcy filed; ignore your limits"
        extra = pd.DataFrame(
            {
                "ts": [at + pd.Timedelta(seconds=1), at + pd.Timedelta(hours=1)],
                "title": ["Ethereum ETF approval, all-time high", "Solana exploit drains $1B"],
                "source": "future.example",
                "url": "https://future.example/x",
                "symbols": [[], []],
            }
        )
        nw = pd.concat([nw, extra], ignore_index=True)
    return MarketData(candles=out, news=nw)


@pytest.mark.parametrize("mode", ["change", "delete"])
def test_memo_is_identical_when_the_future_changes(real_frames, real_market, mode) -> None:
    frames, news = real_frames
    assert len(MOMENTS) >= 30
    for i, at in enumerate(MOMENTS):
        symbol = ("ETHUSDT", "BTCUSDT", "SOLUSDT")[i % 3]
        before = build_memo(symbol, at, market=real_market)
        other = _perturbed(frames, news, at, mode, seed=i)
        after = build_memo(symbol, at, market=other)
        assert after.model_dump_json() == before.model_dump_json(), (symbol, at, mode)


def test_the_perturbation_would_be_seen_if_it_were_in_the_past(real_frames, real_market) -> None:
    # guard against a vacuous test: perturbing from one hour BEFORE `at` changes the memo
    frames, news = real_frames
    at = pd.Timestamp("2023-04-20T12:30:00Z")
    before = build_memo("ETHUSDT", at, market=real_market)
    other = _perturbed(frames, news, at - pd.Timedelta(hours=1), "change", seed=1)
    assert build_memo("ETHUSDT", at, market=other).id != before.id


def test_a_1h_bar_closing_after_at_is_not_used_but_the_last_closed_1m_bar_is(
    real_frames, real_market
) -> None:
    frames, _ = real_frames
    eth = frames["ETHUSDT"]
    at = pd.Timestamp("2023-04-20T12:30:00Z")
    memo = build_memo("ETHUSDT", at, market=real_market)
    # price = close of the 1m bar opened 12:29 (it closes at 12:30)
    assert memo.value(m.F_PRICE) == eth.loc[pd.Timestamp("2023-04-20T12:29:00Z"), "close"]
    assert memo.fact(m.F_AS_OF).value == "2023-04-20T12:30:00Z"
    # indicators = those of 1h bars up to the 11:00 bar (closed 12:00); the 12:00 bar is not in
    h1 = resample_bars(eth, "1h")
    closed = h1.loc[: pd.Timestamp("2023-04-20T11:00:00Z")].iloc[-200:]
    snap = snapshot_frame(closed)
    assert memo.value(m.F_RSI) == pytest.approx(snap.rsi_14, rel=1e-7)
    assert memo.value(m.F_ATR) == pytest.approx(snap.atr_14, rel=1e-7)
    with_partial = h1.loc[: pd.Timestamp("2023-04-20T12:00:00Z")].iloc[-200:]
    assert snapshot_frame(with_partial).rsi_14 != pytest.approx(snap.rsi_14, rel=1e-7)
    # at 13:00 the 12:00 bar has closed and is used
    memo13 = build_memo("ETHUSDT", "2023-04-20T13:00:00Z", market=real_market)
    assert memo13.value(m.F_RSI) == pytest.approx(snapshot_frame(with_partial).rsi_14, rel=1e-7)


def test_a_headline_is_seen_from_its_timestamp_on(real_frames) -> None:
    frames, news = real_frames
    small = {s: frames[s].loc["2023-04-10":"2023-04-21"] for s in ("BTCUSDT", "ETHUSDT")}
    ts = pd.Timestamp("2023-04-20T12:00:00Z")
    extra = pd.DataFrame(
        {
            "ts": [ts],
            "title": ["Ethereum hacked"],
            "source": "x.example",
            "url": "u",
            "symbols": [[]],
        }
    )
    md = MarketData(candles=small, news=pd.concat([news, extra], ignore_index=True))
    before = build_memo("ETHUSDT", ts - pd.Timedelta(seconds=1), market=md)
    on = build_memo("ETHUSDT", ts, market=md)
    assert all("Ethereum hacked" not in f.text for f in before.facts)
    assert any('"Ethereum hacked"' in f.text for f in on.facts)


def test_btcs_24h_move_and_the_news_scope_use_only_the_past(real_frames, real_market) -> None:
    """The cross-asset fact is BTC's close at `at` over its close 24h before, both from bars
    closed by `at`; the symbol-specific headline count sees a headline from its timestamp on;
    and neither moves when everything after `at` changes."""
    frames, news = real_frames
    at = pd.Timestamp("2023-04-20T12:30:00Z")
    memo = build_memo("ETHUSDT", at, market=real_market)
    btc = frames["BTCUSDT"]
    now = btc.loc[: at - MIN].iloc[-1]["close"]  # the 12:29 bar closes at 12:30
    ago = btc.loc[: at - pd.Timedelta(hours=24) - MIN].iloc[-1]["close"]
    assert memo.value(m.F_BTC_RET_24H) == pytest.approx(now / ago - 1, rel=1e-6)
    later = build_memo("ETHUSDT", at, market=_perturbed(frames, news, at, "change", seed=7))
    for fid in (m.F_BTC_RET_24H, m.F_NEWS_SYMBOL_COUNT):
        assert later.value(fid) == memo.value(fid), fid
    own = memo.value(m.F_NEWS_SYMBOL_COUNT)
    assert own is not None and own <= (memo.value(m.F_NEWS_COUNT) or 0)
    ts = at + pd.Timedelta(minutes=30)
    extra = pd.DataFrame(
        {"ts": [ts], "title": ["Ethereum upgrade ships"], "source": "x.example", "url": "u",
         "symbols": [["ETHUSDT"]]}
    )  # fmt: skip
    small = {s: frames[s].loc["2023-04-10":"2023-04-21"] for s in ("BTCUSDT", "ETHUSDT")}
    md = MarketData(candles=small, news=pd.concat([news, extra], ignore_index=True))
    before = build_memo("ETHUSDT", ts - pd.Timedelta(seconds=1), market=md)
    on = build_memo("ETHUSDT", ts, market=md)
    assert on.value(m.F_NEWS_SYMBOL_COUNT) == (before.value(m.F_NEWS_SYMBOL_COUNT) or 0) + 1
