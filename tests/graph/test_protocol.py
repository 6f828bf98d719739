"""The debate protocol's budget accounting and stopping rules (pure)."""

from __future__ import annotations

from agents.roles import load_roster
from graph import protocol
from graph.state import MEETING_BUDGET_KEY

ROSTER = load_roster()
TURNS = [
    {"id": "market_analyst#1", "role": "market_analyst"},
    {"id": "technical_analyst#1", "role": "technical_analyst"},
    {"id": "risk_manager#1", "role": "risk_manager"},
]


def draft(kind: str, target: str) -> dict[str, object]:
    return {"kind": kind, "target": target, "text": "t", "evidence": [], "proposal": ""}


def test_admission_charges_meeting_and_role_budgets_and_says_why_not() -> None:
    budgets = protocol.Budgets(total=3, per_role={"risk_manager": 2, "cto": 2, "market_analyst": 0})
    raised = [
        ("risk_manager", draft("veto_to_revise", "technical_analyst#1")),
        ("risk_manager", draft("clarify", "market_analyst#1")),
        ("risk_manager", draft("clarify", "technical_analyst#1")),  # role budget spent
        ("cto", draft("counterevidence", "market_analyst#1")),  # kind not allowed for the CTO
        ("cto", draft("reframe", "nobody#1")),  # no such turn
        ("cto", draft("reframe", "market_analyst#1")),
        ("cto", draft("reframe", "technical_analyst#1")),  # meeting budget spent
    ]
    adm = protocol.admit(raised, roster=ROSTER, budgets=budgets, spent={}, turns=TURNS)
    assert [(a["by"], a["kind"]) for a in adm.admitted] == [
        ("risk_manager", "veto_to_revise"), ("risk_manager", "clarify"), ("cto", "reframe"),
    ]  # fmt: skip
    assert adm.spent == {MEETING_BUDGET_KEY: 3, "risk_manager": 2, "cto": 1}
    reasons = [r["reason"] for r in adm.refused]
    assert reasons == [
        "over budget: risk_manager's 2 interrupts are spent",
        "refused: cto may not raise counterevidence",
        "refused: no turn 'nobody#1'",
        "over budget: the meeting's 3 interrupts are spent",
    ]
    assert [r["status"] for r in adm.refused] == [
        "over_budget",
        "refused",
        "refused",
        "over_budget",
    ]


def test_a_role_cannot_interrupt_itself_or_a_superseded_turn() -> None:
    budgets = protocol.Budgets.from_roster(ROSTER, 6)
    turns = [*TURNS, {"id": "technical_analyst#2", "role": "technical_analyst"}]
    adm = protocol.admit(
        [("risk_manager", draft("veto_to_revise", "risk_manager#1")),
         ("risk_manager", draft("veto_to_revise", "technical_analyst#1"))],
        roster=ROSTER, budgets=budgets, spent={}, turns=turns,
    )  # fmt: skip
    assert not adm.admitted
    assert [r["reason"] for r in adm.refused] == [
        "refused: a role cannot interrupt itself",
        "refused: technical_analyst#1 has been revised since",
    ]


def test_an_answered_question_is_not_asked_again_but_a_veto_may_recur() -> None:
    budgets = protocol.Budgets.from_roster(ROSTER, 6)
    turns = [*TURNS, {"id": "market_analyst#2", "role": "market_analyst"},
             {"id": "technical_analyst#2", "role": "technical_analyst"}]  # fmt: skip
    earlier = [
        {"id": "i1", "by": "risk_manager", "kind": "clarify", "target_role": "market_analyst",
         "status": "resolved"},
        {"id": "i2", "by": "risk_manager", "kind": "veto_to_revise",
         "target_role": "technical_analyst", "status": "resolved"},
    ]  # fmt: skip
    adm = protocol.admit(
        [("risk_manager", draft("clarify", "market_analyst#2")),
         ("risk_manager", draft("veto_to_revise", "technical_analyst#2"))],
        roster=ROSTER, budgets=budgets, spent={}, turns=turns, earlier=earlier,
    )  # fmt: skip
    assert [(a["kind"], a["target"]) for a in adm.admitted] == [
        ("veto_to_revise", "technical_analyst#2")
    ]
    assert [r["reason"] for r in adm.refused] == [
        "refused: asked and answered in i1 (risk_manager clarify market_analyst)"
    ]
    assert adm.spent["risk_manager"] == 1  # the refused question cost nothing


def test_the_debate_ends_by_convergence_budget_or_rounds() -> None:
    budgets = protocol.Budgets.from_roster(ROSTER, 2)
    kw = {"budgets": budgets, "roster": ROSTER}
    assert protocol.after_review(admitted=1, spent={}, **kw) is None
    assert protocol.after_review(admitted=0, spent={}, **kw) == "convergence"
    assert protocol.after_review(admitted=0, spent={MEETING_BUDGET_KEY: 2}, **kw) == "budget"
    assert protocol.after_resolve(round_=2, max_rounds=2, spent={}, **kw) == "rounds"
    assert (
        protocol.after_resolve(round_=1, max_rounds=2, spent={MEETING_BUDGET_KEY: 2}, **kw)
        == "budget"
    )
    assert protocol.after_resolve(round_=1, max_rounds=2, spent={}, **kw) is None
    assert protocol.Budgets.from_roster(ROSTER, 0).left({}, "cto") == 0
    assert protocol.next_turn_id(TURNS, "technical_analyst") == "technical_analyst#2"
