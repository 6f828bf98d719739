"""The meeting's state: plain JSON data (so it checkpoints and shows in ``langgraph dev``), and a
``messages`` list of LangChain messages (``graph.messages``) a person reads turn by turn.
``typing_extensions.TypedDict`` so ``langgraph dev`` can build the input form from it.

Models (memo, turns, interrupts, decision, gate result) are stored as their JSON dumps; the
services that read the world (market data, the exchange, the AI-log writer) are never in
state — they come from the runtime context (``graph.context``).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


def _sum_usage(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer of the meeting's model usage: numbers add up (seats of one step report apart)."""
    out: dict[str, Any] = dict(a or {})
    for k, v in (b or {}).items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            total = out.get(k, 0) + v
            out[k] = round(total, 8) if isinstance(total, float) else total
        else:
            out[k] = v
    return out


class InputState(TypedDict):
    """What a meeting is asked: one symbol at one moment (ISO-8601 UTC, e.g. 2023-04-20T12:00:00Z)."""

    symbol: str
    at: str


class MeetingState(InputState, total=False):
    """Everything the meeting has said and decided so far."""

    run_id: str
    meeting_id: str
    memo: dict[str, Any]
    account: dict[str, Any]
    exchange_sync: dict[str, Any]  # what bringing the exchange to `at` did (open, once)
    turns: Annotated[list[dict[str, Any]], operator.add]  # Turn dumps, in speaking order
    interrupts: Annotated[list[dict[str, Any]], operator.add]  # Interrupt dumps, as closed
    round: int  # review rounds held
    pending: list[dict[str, Any]]  # admitted interrupts awaiting their target's answer
    spent: dict[str, int]  # interrupt budget spent: "__meeting__" and per role
    ended_by: str  # why the debate closed: convergence | budget | rounds
    draft: dict[str, Any] | None  # the chair's last draft decision (None if unparseable)
    draft_error: str | None  # why the last draft was invalid
    revisions: int  # revise turns the chair has had
    decision: dict[str, Any]  # the validated Decision
    fallback: str | None  # set when the decision is a recorded FLAT fallback
    approval: dict[str, Any] | None  # the human's answer when approval was required
    gate: dict[str, Any]  # GateResult dump
    manage: dict[str, Any] | None  # ManagePlan dump when a position was open (hold/close/tighten)
    execution: dict[str, Any]  # ExecutionReport dump
    usage: Annotated[dict[str, Any], _sum_usage]  # model calls, tokens, cost, cached calls
    cache_hits: Annotated[int, operator.add]  # model calls answered by the LLM call cache
    abstained: Annotated[list[dict[str, Any]], operator.add]  # seats that abstained / were skipped
    chair_failed: str | None  # "abstained" | "budget_exhausted" when the chair gave no draft
    speculative: dict[str, Any] | None  # the chair's draft asked during the last review
    status: str  # done | model_unavailable | budget_exhausted (a failure raises, see errors)
    # what each seat said, readable turn by turn in Studio (AIMessage, name = the seat's role id)
    messages: Annotated[list[AnyMessage], add_messages]


MEETING_BUDGET_KEY = "__meeting__"
