"""The trading cycle of one symbol on a desk, as an explicit state machine.

    SCAN --meeting--> QUALIFY --order placed--> ENTER --entry filled--> MANAGE --exit--> EXIT
      ^                  |                        |                       |  ^            |
      |                  | FLAT / denied          | entry canceled        |  | hold /     v
      +------------------+------------------------+                       +--+ tighten  RECONCILE
      +-----------------------------------------------------------------------------------+

- SCAN: nothing held, nothing working; the next meeting is due.
- QUALIFY: the meeting is being held (memo, debate, decision, gate). A second tick while a
  symbol is in QUALIFY does nothing (``begin_meeting`` refuses it).
- ENTER: an entry order is working.
- MANAGE: a position is open; each bar the exchange works its stop and target, the desk checks
  the maximum hold, and the next meeting decides hold / close / tighten.
- EXIT: the position went flat (stop, target, liquidation, close decision, maximum hold).
- RECONCILE: the exit's fills and PnL are booked (ledger, breaker, learner); back to SCAN.

Every transition is one AI-log record with its stage (``graph.desk``). An illegal transition
raises: a cycle is never silently in two states.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Stage = Literal["SCAN", "QUALIFY", "ENTER", "MANAGE", "EXIT", "RECONCILE"]

TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    "SCAN": frozenset({"QUALIFY"}),
    "QUALIFY": frozenset({"SCAN", "ENTER", "MANAGE", "EXIT"}),
    "ENTER": frozenset({"MANAGE", "SCAN", "QUALIFY", "EXIT"}),
    "MANAGE": frozenset({"MANAGE", "QUALIFY", "EXIT"}),
    "EXIT": frozenset({"RECONCILE"}),
    "RECONCILE": frozenset({"SCAN"}),
}
"""QUALIFY -> MANAGE: a meeting held over an open position (hold / tighten); QUALIFY -> EXIT:
it decided to close. ENTER -> QUALIFY: the next meeting while the entry still works. ENTER ->
EXIT: filled and stopped out between two looks."""


class IllegalTransition(RuntimeError):
    """A cycle asked to move where the state machine has no edge."""


class SymbolCycle(BaseModel):
    """Where one symbol stands in the cycle, and what it is holding or working."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    stage: Stage = "SCAN"
    decision_id: str | None = None  # the decision whose order is working or whose position is held
    entry_order_id: str | None = None
    opened_at: str | None = None  # when the position's entry filled (ISO UTC)
    resume_stage: Stage | None = None  # where a meeting held in MANAGE / ENTER returns to

    def to(self, stage: Stage, **changes: object) -> SymbolCycle:
        """The cycle after the transition to ``stage``; raises on an illegal one."""
        if stage not in TRANSITIONS[self.stage]:
            raise IllegalTransition(f"{self.symbol}: {self.stage} -> {stage} is not a transition")
        return self.model_copy(update={"stage": stage, **changes})

    @property
    def holding(self) -> bool:
        return self.stage == "MANAGE" or (self.stage == "QUALIFY" and self.resume_stage == "MANAGE")


def begin_meeting(cycle: SymbolCycle) -> SymbolCycle | None:
    """SCAN / ENTER / MANAGE -> QUALIFY; None when a meeting is already in progress (a second
    tick does nothing) or the cycle is mid-exit."""
    if cycle.stage not in ("SCAN", "ENTER", "MANAGE"):
        return None
    return cycle.to("QUALIFY", resume_stage=cycle.stage)
