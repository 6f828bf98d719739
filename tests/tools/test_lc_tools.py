"""The LangChain tools: typed args an agent can read, JSON results, no look-ahead, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools.lc_tools import make_tools

AT = "2023-01-02T12:30:00Z"


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(4)
    n = 2 * 24 * 60
    idx = pd.date_range("2023-01-01", periods=n, freq="1min", tz="UTC")
    btc = rng.normal(0, 1e-3, n)
    eth = 0.5 * btc + rng.normal(0, 5e-4, n)
    eth[1:] += 0.8 * btc[:-1]
    out = {}
    for sym, r, p0 in (("BTCUSDT", btc, 20000.0), ("ETHUSDT", eth, 1500.0)):
        c = p0 * np.exp(np.cumsum(r))
        out[sym] = pd.DataFrame(
            {"open": c, "high": c * 1.001, "low": c * 0.999, "close": c, "volume": 5.0}, index=idx
        )
    return out


NEWS = pd.DataFrame(
    {
        "ts": pd.to_datetime(["2023-01-02T11:00:00Z", "2023-01-02T13:00:00Z"], utc=True),
        "title": ["Ethereum hacked, funds drained", "Ethereum ETF approval"],
        "source": "example.com",
        "url": ["u1", "u2"],
        "symbols": [[], []],
    }
)


def _resample(df: pd.DataFrame, tf: str) -> pd.DataFrame:
    if tf == "1m":
        return df
    g = df.resample(pd.Timedelta(tf.replace("m", "min")), label="left", closed="left")
    return pd.DataFrame(
        {
            "open": g["open"].first(),
            "high": g["high"].max(),
            "low": g["low"].min(),
            "close": g["close"].last(),
            "volume": g["volume"].sum(),
        }
    ).dropna()


def honest(frames):
    def candles(sym, tf, start, end):
        df = _resample(frames[sym], tf)
        bar = pd.Timedelta(tf.replace("m", "min"))
        return df.loc[(df.index >= start) & (df.index + bar <= end)]

    def news(start, end):
        return NEWS.loc[(NEWS["ts"] >= start) & (NEWS["ts"] <= end)]

    return candles, news


def leaky(frames):
    """Loaders that ignore `end` and hand over the future: the tools must drop it."""

    def candles(sym, tf, start, end):
        if sym not in frames:
            raise LookupError(f"no candles stored for {sym}")
        return _resample(frames[sym], tf)

    return candles, lambda start, end: NEWS


def _by_name(tools):
    return {t.name: t for t in tools}


def test_tools_have_typed_args_and_readable_descriptions() -> None:
    tools = _by_name(make_tools(*honest(_frames())))
    assert set(tools) == {
        "technical_indicators",
        "btc_correlation_signal",
        "news_sentiment",
        "universe_ranking",
    }
    schema = tools["technical_indicators"].args
    assert set(schema) == {"symbol", "at", "timeframe"}
    assert "ISO-8601 UTC" in schema["at"]["description"]
    assert "RSI(14" in tools["technical_indicators"].description


def test_results_and_no_look_ahead_even_with_a_leaky_loader() -> None:
    frames = _frames()
    good = _by_name(make_tools(*honest(frames)))
    bad = _by_name(make_tools(*leaky(frames)))
    calls = {
        "technical_indicators": {"symbol": "ETHUSDT", "at": AT, "timeframe": "5m"},
        "btc_correlation_signal": {"symbol": "ETHUSDT", "at": AT, "max_lag": 3},
        "news_sentiment": {"symbol": "ETHUSDT", "at": AT},
        "universe_ranking": {"at": AT, "lookback_hours": 12},
    }
    for name, args in calls.items():
        a, b = good[name].invoke(args), bad[name].invoke(args)
        assert a == b, name
    ind = good["technical_indicators"].invoke(calls["technical_indicators"])
    assert ind["last_bar_close"] == "2023-01-02T12:30:00Z" and 0 <= ind["rsi_14"] <= 100
    corr = good["btc_correlation_signal"].invoke(calls["btc_correlation_signal"])
    assert corr["best_lag"] == 1 and corr["correlation"] > 0.3
    sent = good["news_sentiment"].invoke(calls["news_sentiment"])
    assert sent["direction"] == "SHORT"  # the ETF headline comes after `at`
    assert [h["title"] for h in sent["headlines"]] == ["Ethereum hacked, funds drained"]
    uni = good["universe_ranking"].invoke(calls["universe_ranking"])
    assert [e["symbol"] for e in uni["entries"]][:1] in (["BTCUSDT"], ["ETHUSDT"])
    assert "BNBUSDT" in uni["missing"]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "technical_indicators",
            {"symbol": "ETHUSDT", "at": "noon"},
            "at: time 'noon' is not ISO-8601 (e.g. 2023-04-20T12:00:00Z)",
        ),
        (
            "news_sentiment",
            {"symbol": "FOO", "at": AT},
            "symbol 'FOO' is not one of BTCUSDT, ETHUSDT, SOLUSDT, DOGEUSDT, XRPUSDT, ADAUSDT, BNBUSDT, LTCUSDT",
        ),
        (
            "btc_correlation_signal",
            {"symbol": "BTCUSDT", "at": AT},
            "the BTC lead-lag of BTCUSDT to itself is meaningless; pick another pair",
        ),
    ],
)
def test_bad_arguments_come_back_as_one_clear_message(name, args, message) -> None:
    tool = _by_name(make_tools(*honest(_frames())))[name]
    assert tool.invoke(args) == message


def test_a_meeting_s_tools_refuse_a_later_moment() -> None:
    at = pd.Timestamp(AT)
    tools = _by_name(make_tools(*honest(_frames()), not_after=at))
    later = (at + pd.Timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("technical_indicators", "btc_correlation_signal", "news_sentiment"):
        assert tools[name].invoke({"symbol": "ETHUSDT", "at": later}) == (
            f"at: {later} is after the meeting time {AT}; the tools see nothing later"
        )
    assert tools["universe_ranking"].invoke({"at": later}).startswith("at: ")
    assert tools["technical_indicators"].invoke({"symbol": "ETHUSDT", "at": AT})["at"] == AT


@pytest.mark.data
def test_tools_on_the_real_store(real_store) -> None:
    tools = _by_name(make_tools(store=real_store))
    ind = tools["technical_indicators"].invoke({"symbol": "BTCUSDT", "at": "2023-04-20T12:30:00Z"})
    assert ind["last_bar_close"] == "2023-04-20T12:00:00Z"  # the 12:00 1h bar is not closed yet
    assert ind["enough_history"] is True
    sig = tools["btc_correlation_signal"].invoke(
        {"symbol": "ETHUSDT", "at": "2023-04-20T12:30:00Z"}
    )
    assert sig["samples"] > 300
    sent = tools["news_sentiment"].invoke({"symbol": "ETHUSDT", "at": "2023-04-20T12:30:00Z"})
    assert sent["count"] > 0
