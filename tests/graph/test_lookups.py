"""A clarify is answered by a real tool call: the offline model asks for the look-up, the tool
runs on the meeting's market, and it sees nothing after the meeting's moment."""

from __future__ import annotations

import numpy as np
import pandas as pd
from langchain_core.messages import HumanMessage

from agents.offline import OfflineChatModel
from agents.prompts import block, read_blocks
from agents.schemas import LookUp
from graph import lookups
from memos.market import MarketData

AT = pd.Timestamp("2021-03-10T12:00:00Z")


def _market(seed: int = 1, future_factor: float = 1.0) -> MarketData:
    idx = pd.date_range("2021-01-01", periods=24 * 90, freq="1h", tz="UTC")
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, len(idx))))
    future = idx + pd.Timedelta(hours=1) > AT
    close = np.where(future, close * future_factor, close)
    df = pd.DataFrame(
        {"open": close, "high": close * 1.004, "low": close * 0.996, "close": close,
         "volume": rng.uniform(1, 2, len(idx))}, index=idx,
    )  # fmt: skip
    news = pd.DataFrame(columns=["ts", "title", "source", "url", "symbols"])
    return MarketData(candles={"ETHUSDT": df}, news=news)


def _clarify_prompt() -> list[HumanMessage]:
    memo = {"symbol": "ETHUSDT", "at": "2021-03-10T12:00:00Z", "facts": {}}
    text = "\n\n".join([
        block("seat", {"id": "technical_analyst", "lens": "technical"}), block("memo", memo),
        block("interrupt", {"kind": "clarify", "proposal": "timeframe=4h", "evidence": []}),
    ])  # fmt: skip
    return [HumanMessage(text)]


def _choice() -> LookUp:
    out = (
        OfflineChatModel()
        .with_structured_output(LookUp)
        .invoke(lookups.lookup_messages(_clarify_prompt()))
    )
    assert isinstance(out, LookUp)
    return out


def test_the_offline_seat_asks_for_the_indicators_tool_and_gets_the_result_back() -> None:
    choice = _choice()
    assert (choice.tool, choice.timeframe) == ("technical_indicators", "4h")
    looked = lookups.run_lookup(choice, lookups.seat_tools(_market(), AT), "ETHUSDT", str(AT))
    assert looked is not None and looked["args"]["timeframe"] == "4h"
    result = looked["result"]
    assert result["trend"] in ("up", "down", "flat") and result["timeframe"] == "4h"
    msgs = lookups.with_result(_clarify_prompt(), looked)
    assert read_blocks(str(msgs[-1].content))["tool_result"]["trend"] == result["trend"]
    none = LookUp(tool="none", timeframe=None, reason="the memo answers it")
    assert lookups.run_lookup(none, lookups.seat_tools(_market(), AT), "ETHUSDT", str(AT)) is None


def test_the_look_up_sees_nothing_after_the_meeting() -> None:
    choice = _choice()
    at = "2021-03-10T12:00:00Z"
    a = lookups.run_lookup(choice, lookups.seat_tools(_market(), AT), "ETHUSDT", at)
    b = lookups.run_lookup(
        choice, lookups.seat_tools(_market(future_factor=3.0), AT), "ETHUSDT", at
    )
    assert a is not None and b is not None
    assert a["result"] == b["result"]  # the future tripled; the look-up did not move
    assert a["result"]["last_bar_close"] <= at
    # a look-up of a moment after the meeting is refused
    early = pd.Timestamp("2021-03-09T12:00:00Z")
    late = lookups.run_lookup(choice, lookups.seat_tools(_market(), early), "ETHUSDT", at)
    assert late is not None and "after the meeting time" in str(late["result"])
