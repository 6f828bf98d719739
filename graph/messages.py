"""The meeting as a person reads it in Studio: one LangChain ``AIMessage`` per thing a seat said,
``name`` the seat's role id, in speaking order (``MeetingState.messages``).

The contracts in state (turns, interrupts, the draft) stay the record; these messages are their
readable echo and nothing reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.messages import AIMessage


def turn_message(turn: Mapping[str, Any]) -> AIMessage:
    """A seat's turn: stance, confidence, horizon, argument and the facts it cites."""
    revises = f" (revises {turn['revises']})" if turn.get("revises") else ""
    cites = ", ".join(turn.get("evidence") or []) or "none"
    return AIMessage(
        content=f"{turn['stance']} ({float(turn['confidence']):.2f}, {turn.get('horizon')})"
        f"{revises}: {turn['argument']} [cites: {cites}]",
        name=str(turn["role"]),
        id=f"turn-{turn['id']}",
    )


def interrupt_message(intr: Mapping[str, Any]) -> AIMessage:
    """An admitted interrupt, from the seat that raised it."""
    return AIMessage(
        content=f"{intr['kind']} -> {intr['target']}: {intr['text']}",
        name=str(intr["by"]),
        id=f"interrupt-{intr['id']}",
    )


def draft_message(role_id: str, draft: Mapping[str, Any], *, revision: int) -> AIMessage:
    """The chair's draft decision (``revision`` 0 for the first draft)."""
    revising = revision > 0
    again = " (revised)" if revising else ""
    return AIMessage(
        content=f"{draft['action']} ({float(draft['confidence']):.2f}){again}: "
        f"{draft.get('rationale', '')}",
        name=role_id,
        id=f"draft-{role_id}-{revision}",
    )


def turn_messages(turns: Iterable[Mapping[str, Any]]) -> list[AIMessage]:
    return [turn_message(t) for t in turns]
