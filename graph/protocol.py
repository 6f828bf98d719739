"""The debate protocol, as pure functions: who may interrupt whom, what it costs, when to stop.

Every interrupt costs one unit of the meeting's budget and one of the raiser's. An interrupt is
admitted only if its kind is one the raiser's seat may raise, it targets a turn that exists and
is not the raiser's own, and both budgets have a unit left; otherwise it is recorded as
``refused`` or ``over_budget`` with the reason, so the log shows budget exhaustion rather than
silence. The debate ends by *convergence* (a review round raised nothing, or a round of answers
revised no turn: the next review would see the same turns), *budget* (the meeting's interrupt
budget is spent, nobody has any left, or the model-call budget refused a seat), *rounds*
(``max_rounds`` reviews held) or *abstained* (every reviewer abstained: that is not agreement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents.roles import Roster
from agents.schemas import ASK_ONCE
from graph.state import MEETING_BUDGET_KEY

EndedBy = Literal["convergence", "budget", "rounds", "abstained"]
COST = 1


@dataclass(frozen=True)
class Budgets:
    """The meeting's interrupt budget and each seat's."""

    total: int
    per_role: Mapping[str, int]

    @classmethod
    def from_roster(
        cls, roster: Roster, total: int, overrides: Mapping[str, int] | None = None
    ) -> Budgets:
        per = {r.id: r.interrupt_budget for r in roster.roles}
        per.update({k: int(v) for k, v in (overrides or {}).items() if k in per})
        return cls(total=total, per_role=per)

    def left(self, spent: Mapping[str, int], role: str | None = None) -> int:
        """Units left for the meeting, or for ``role`` within what the meeting has left."""
        meeting = self.total - spent.get(MEETING_BUDGET_KEY, 0)
        if role is None:
            return max(0, meeting)
        return max(0, min(meeting, self.per_role.get(role, 0) - spent.get(role, 0)))


@dataclass(frozen=True)
class Admission:
    """The outcome of one review round's interrupts."""

    admitted: list[dict[str, Any]]
    refused: list[dict[str, Any]]  # each with "status" and "reason"
    spent: dict[str, int]


def latest_turns(turns: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each role's most recent turn (a revision replaces what it revises)."""
    out: dict[str, Mapping[str, Any]] = {}
    for t in turns:
        out[str(t["role"])] = t
    return out


def admit(
    raised: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    roster: Roster,
    budgets: Budgets,
    spent: Mapping[str, int],
    turns: Sequence[Mapping[str, Any]],
    earlier: Sequence[Mapping[str, Any]] = (),
) -> Admission:
    """Admit ``(raiser, draft)`` pairs in order, charging the budgets; refuse the rest.

    ``earlier`` is the meeting's interrupts so far: a clarify or reframe that a seat already
    had answered by the same role is refused ("asked and answered") and costs nothing.
    """
    answered = {
        (str(i["by"]), str(i["kind"]), str(i.get("target_role"))): str(i["id"])
        for i in earlier
        if i.get("status") == "resolved" and i.get("kind") in ASK_ONCE
    }
    spent_now = dict(spent)
    by_id = {str(t["id"]): t for t in turns}
    current = {str(t["id"]) for t in latest_turns(turns).values()}
    admitted: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for by, draft in raised:
        d = dict(draft)
        target = by_id.get(str(d.get("target")))
        key = (by, str(d.get("kind")), str(d.get("target")))
        reason = None
        if d.get("kind") not in roster.get(by).may_raise:
            reason = f"refused: {by} may not raise {d.get('kind')}"
        elif target is None:
            reason = f"refused: no turn {d.get('target')!r}"
        elif (by, str(d.get("kind")), str(target["role"])) in answered:
            prev = answered[(by, str(d.get("kind")), str(target["role"]))]
            reason = f"refused: asked and answered in {prev} ({by} {d['kind']} {target['role']})"
        elif d["target"] not in current:
            reason = f"refused: {d['target']} has been revised since"
        elif target["role"] == by:
            reason = "refused: a role cannot interrupt itself"
        elif key in seen:
            reason = "refused: raised twice in one review"
        elif budgets.left(spent_now) < COST:
            reason = f"over budget: the meeting's {budgets.total} interrupts are spent"
        elif budgets.left(spent_now, by) < COST:
            reason = f"over budget: {by}'s {budgets.per_role.get(by, 0)} interrupts are spent"
        seen.add(key)
        if reason is None:
            spent_now[MEETING_BUDGET_KEY] = spent_now.get(MEETING_BUDGET_KEY, 0) + COST
            spent_now[by] = spent_now.get(by, 0) + COST
            admitted.append({**d, "by": by, "target_role": target["role"] if target else ""})
        else:
            status = "over_budget" if reason.startswith("over budget") else "refused"
            refused.append(
                {
                    **d,
                    "by": by,
                    "target_role": target["role"] if target else "",
                    "status": status,
                    "reason": reason,
                }
            )
    return Admission(admitted=admitted, refused=refused, spent=spent_now)


def may_review(roster: Roster, budgets: Budgets, spent: Mapping[str, int]) -> list[str]:
    """The seats that can still raise something: a kind to raise and a unit left."""
    return [r.id for r in roster.roles if r.may_raise and budgets.left(spent, r.id) >= COST]


def before_debate(*, max_rounds: int) -> EndedBy | None:
    """Why the debate ends before its first review round: ``max_rounds`` 0 holds none (the CTO
    decides on the opening turns)."""
    return "rounds" if max_rounds <= 0 else None


def after_review(
    *,
    admitted: int,
    spent: Mapping[str, int],
    budgets: Budgets,
    roster: Roster,
    reviewers: int = 0,
    silent: int = 0,
    skipped: bool = False,
) -> EndedBy | None:
    """Why the debate ends after a review round, or None to go on to the answers.
    ``silent`` of the ``reviewers`` gave no usable review (``skipped``: a budget refused one)."""
    if admitted:
        return None
    if skipped:
        return "budget"
    if reviewers and silent >= reviewers:
        return "abstained"
    if budgets.left(spent) < COST or not may_review(roster, budgets, spent):
        return "budget"
    return "convergence"


def after_resolve(
    *,
    round_: int,
    max_rounds: int,
    spent: Mapping[str, int],
    budgets: Budgets,
    roster: Roster,
    revised: int | None = None,
) -> EndedBy | None:
    """Why the debate ends after the answers, or None for another review round. ``revised``:
    turns the answers revised (0 = nothing new to review: the debate has converged)."""
    if round_ >= max_rounds:
        return "rounds"
    if budgets.left(spent) < COST or not may_review(roster, budgets, spent):
        return "budget"
    if revised == 0:
        return "convergence"
    return None


def next_turn_id(turns: Iterable[Mapping[str, Any]], role: str) -> str:
    """``'<role>#<n>'`` for the role's next turn."""
    n = sum(1 for t in turns if t["role"] == role)
    return f"{role}#{n + 1}"
