"""Studio: the state is a ``typing_extensions.TypedDict`` (``langgraph dev`` builds its input form)
and carries a ``messages`` list a person reads turn by turn, each message named by its seat."""

from __future__ import annotations

import sqlite3
from typing import Any

import typing_extensions
from langchain_core.messages import AIMessage
from langgraph.checkpoint.sqlite import SqliteSaver

from graph.context import MeetingContext
from graph.meeting import build_meeting_graph, run_meeting
from graph.services import MeetingServices
from graph.state import InputState, MeetingState
from memos.market import MarketData
from tests.graph.conftest import DAY


def test_the_states_are_typing_extensions_typeddicts() -> None:
    assert typing_extensions.is_typeddict(MeetingState) and typing_extensions.is_typeddict(
        InputState
    )
    assert InputState.__required_keys__ == frozenset({"symbol", "at"})
    assert "messages" in MeetingState.__annotations__
    schema = build_meeting_graph().get_input_jsonschema()
    assert set(schema["required"]) == {"symbol", "at"}  # the form Studio builds


def test_each_seat_says_its_piece_as_a_named_message(real_market: MarketData, aq_home: Any) -> None:
    graph = build_meeting_graph(
        checkpointer=SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
    )
    r = run_meeting(
        "SOLUSDT", f"{DAY}T12:00:00Z", MeetingContext(run_id="studio", journal=False),
        graph_=graph, services=MeetingServices(market=real_market), thread_id="studio",
    )  # fmt: skip
    msgs = graph.get_state({"configurable": {"thread_id": "studio"}}).values["messages"]
    assert msgs and all(isinstance(m, AIMessage) and m.name for m in msgs)
    by_turn = {m.id: m for m in msgs}
    for t in r.turns:  # every turn, opening or revised, is a message from its seat
        m = by_turn[f"turn-{t['id']}"]
        assert m.name == t["role"] and t["argument"] in str(m.content)
        assert str(m.content).startswith(t["stance"])
    admitted = [i for i in r.interrupts if i["status"] not in ("refused", "over_budget")]
    assert admitted  # control: this meeting has a debate
    for i in admitted:  # every admitted interrupt, from the seat that raised it
        assert by_turn[f"interrupt-{i['id']}"].name == i["by"]
    assert msgs[-1].name == "cto" and str(msgs[-1].content).startswith(r.decision["action"])
    order = [m.id for m in msgs]
    assert order.index(f"turn-{r.turns[0]['id']}") == 0  # speaking order
