"""Prompt layout (``agents.prompts``): one shared prefix per meeting, the seat's part after it."""

from __future__ import annotations

from typing import Any

from agents import prompts
from agents.roles import load_roster
from tests.agents.test_offline_desk import memo

MEETING = {
    "desk": {"stop_atr": 1.5, "max_atr_pct": 0.03},
    "lenses": {"cto": "chair", "market_analyst": "market"},
    "weights": {"cto": 1.0, "market_analyst": 1.2},
    "risk_role": "risk_manager",
    "account": {"equity": 10_000.0, "positions": []},
}
TURN = {"id": "market_analyst#1", "role": "market_analyst", "stance": "LONG", "confidence": 0.6,
        "horizon": "4h", "argument": "up", "evidence": ["tech.trend"]}  # fmt: skip


def _every_kind_of_call() -> list[list[Any]]:
    roster = load_roster()
    analyst, chair = roster.analysts[0], roster.chair
    m = memo()
    block = prompts.render_memo(m)
    intr = {"id": "i1", "kind": "clarify", "by": "cto", "target": TURN["id"], "text": "why?"}
    return [
        prompts.turn_messages(analyst, m.symbol, "2023-04-19T12:00:00Z", block, dict(MEETING)),
        prompts.review_messages(chair, m.symbol, block, [TURN], [], 2,
                                {**MEETING, "may_raise": ["clarify"]}),
        prompts.resolve_messages(analyst, m.symbol, block, TURN, intr, dict(MEETING)),
        prompts.decide_messages(chair, m.symbol, block, [TURN], [intr], dict(MEETING)),
    ]  # fmt: skip


def test_every_call_of_a_meeting_shares_one_system_message_with_the_meeting_blocks() -> None:
    calls = _every_kind_of_call()
    systems = {str(c[0].content) for c in calls}
    assert len(systems) == 1  # byte-identical prefix: a provider's prefix cache applies
    system = systems.pop()
    at = [system.index(f"<{tag}>") for tag in prompts.MEETING_BLOCKS]
    assert system.index("<memo>") < at[0] and at == sorted(at)  # rules, memo, meeting blocks
    for c in calls:
        seat_part = str(c[-1].content)
        assert not any(f"<{tag}>" in seat_part for tag in prompts.MEETING_BLOCKS), seat_part
        assert seat_part.startswith("<seat>")


def test_the_offline_desk_reads_the_same_data_wherever_a_block_travels() -> None:
    """Moving a block into the prefix changes nothing the seats read: every block is still
    found once in the call's text."""
    for c in _every_kind_of_call():
        data = prompts.read_blocks("\n\n".join(str(m.content) for m in c))
        for tag in prompts.MEETING_BLOCKS:
            assert data[tag] == MEETING[tag], tag
        assert data["memo"]["symbol"] == memo().symbol
