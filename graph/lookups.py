"""A clarify answered by a real tool call: before it writes its ``Resolution``, the interrupted
seat is asked which look-up answers the question (``agents.schemas.LookUp``: a tool of
``tools.lc_tools`` and its timeframe, or none); the LangChain tool runs on the meeting's market
view — closed bars at or before the meeting's moment only — and its result goes back to the seat
as a ``<tool_result>`` block.

The choice is asked like every other seat call (``graph.calls.ask``): budgeted, retried, logged
in the AI log and replayable from a cassette, on any provider. Only a clarify gets a look-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import BaseTool

from agents.prompts import block
from agents.schemas import LookUp
from memos.market import MarketData
from tools.lc_tools import make_tools

SEAT_TOOLS = ("technical_indicators",)
"""The tools the seats may call: those the meeting's market view can serve."""
TASK_LOOKUP = """TASK: before you answer the interrupt above, say which look-up answers it: \
"technical_indicators" on a timeframe (the indicators of the meeting's symbol at the meeting's \
moment, from closed bars only), or "none" when the memo already answers it."""


def market_candles(market: MarketData) -> Any:
    """A ``CandleLoader`` over the meeting's in-memory market (bars opened in [start, end])."""

    def load(symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        b = market.bars(symbol, timeframe)
        lo = int(np.searchsorted(b.ts, start.value, side="left"))
        hi = int(np.searchsorted(b.ts, end.value, side="right"))
        return pd.DataFrame(
            {"open": b.open[lo:hi], "high": b.high[lo:hi], "low": b.low[lo:hi],
             "close": b.close[lo:hi], "volume": b.volume[lo:hi]},
            index=pd.to_datetime(b.ts[lo:hi], utc=True),
        )  # fmt: skip

    return load


def _no_news(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame(columns=["ts", "title", "source", "url", "currencies"])


def seat_tools(market: MarketData, at: pd.Timestamp) -> dict[str, BaseTool]:
    """The seats' tools on ``market`` by name, refusing any moment after ``at``."""
    tools = make_tools(market_candles(market), _no_news, not_after=at)
    return {t.name: t for t in tools if t.name in SEAT_TOOLS}


def lookup_messages(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The resolve prompt with the look-up task after it (the prompt itself unchanged)."""
    return [*messages, HumanMessage(TASK_LOOKUP)]


def run_lookup(
    choice: LookUp, tools: Mapping[str, BaseTool], symbol: str, at: str
) -> dict[str, Any] | None:
    """Call the chosen tool for the meeting's symbol and moment (None: no look-up)."""
    if choice.tool == "none" or choice.timeframe is None or choice.tool not in tools:
        return None
    args = {"symbol": symbol, "at": at, "timeframe": choice.timeframe}
    result = tools[choice.tool].invoke(args)
    return {"tool": choice.tool, "args": args, "result": result}


def with_result(messages: list[BaseMessage], looked: Mapping[str, Any]) -> list[BaseMessage]:
    """The resolve prompt with the look-up's result appended as a ``<tool_result>`` block."""
    result = looked["result"]
    body = {**result, "tool": looked["tool"]} if isinstance(result, dict) else str(result)
    return [*messages, HumanMessage(block("tool_result", body))]
