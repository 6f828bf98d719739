"""What the roles say, as typed structured outputs (DESIGN.md §3: Turn, Interrupt, Decision).

Two kinds of model here:

- *drafts* are what a chat model is asked to return (``with_structured_output``). They are
  portable across providers: every field is required (nullable where it may be empty),
  enums are ``Literal``, there are no free-form dicts and no numeric bounds the provider
  might not enforce. The meeting, not the model, fills in who spoke and when.
- *records* (``Turn``, ``Interrupt``) are what the meeting keeps: a draft plus its speaker,
  round and id. They are JSON-serialisable so they live in graph state and checkpoints.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Stance = Literal["LONG", "SHORT", "FLAT"]
InterruptKind = Literal["clarify", "counterevidence", "reframe", "veto_to_revise"]
INTERRUPT_KINDS: tuple[InterruptKind, ...] = (
    "clarify",
    "counterevidence",
    "reframe",
    "veto_to_revise",
)
Outcome = Literal["answered", "maintained", "revised"]
ASK_ONCE: frozenset[str] = frozenset({"clarify", "reframe"})
"""Kinds a seat raises on a role once per meeting: a question answered is not asked again.
A veto or counterevidence may recur, because a revised proposal can still break the rule."""


class TurnDraft(BaseModel):
    """One role's view of the market: a stance, how sure, why, and the facts that say so."""

    model_config = ConfigDict(extra="forbid")

    stance: Stance
    confidence: float = Field(description="0..1, how sure the role is")
    horizon: str = Field(description="how long the view holds, e.g. '4h' or '24h'")
    argument: str = Field(description="the reasoning, in a few sentences")
    evidence: list[str] = Field(description="memo fact ids the argument rests on")
    entry: float | None = Field(description="proposed entry price, or null")
    stop_loss: float | None = Field(description="proposed stop-loss price, or null")
    take_profit: float | None = Field(description="proposed take-profit price, or null")


class Turn(TurnDraft):
    """A draft as the meeting records it: who said it, in which round, under which id."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="'<role>#<n>': the role's n-th turn")
    role: str
    round: int
    revises: str | None = Field(description="the id of the turn this one revises, or null")


class InterruptDraft(BaseModel):
    """A role cutting into another's turn."""

    model_config = ConfigDict(extra="forbid")

    kind: InterruptKind
    target: str = Field(description="the id of the turn interrupted, e.g. 'technical_analyst#1'")
    text: str = Field(description="the question, objection or proposal")
    evidence: list[str] = Field(description="memo fact ids (or unknown ids) it rests on")
    proposal: str = Field(description="the concrete change asked for, e.g. 'horizon=4h', or ''")


class Review(BaseModel):
    """A role's review of the turns so far: the interrupts it raises (possibly none)."""

    model_config = ConfigDict(extra="forbid")

    interrupts: list[InterruptDraft]


class Resolution(BaseModel):
    """The target's answer to an interrupt; when ``outcome`` is 'revised' the view fields are
    its new turn, otherwise they repeat the old one."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    answer: str
    evidence: list[str]
    stance: Stance
    confidence: float
    horizon: str
    entry: float | None
    stop_loss: float | None
    take_profit: float | None


class Interrupt(BaseModel):
    """An interrupt as the meeting records it, with what became of it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="'i<n>' in the order raised")
    kind: InterruptKind
    by: str
    target: str
    target_role: str
    round: int
    text: str
    evidence: list[str]
    proposal: str
    status: Literal["resolved", "over_budget", "refused", "abstained"]
    resolution: str | None = Field(
        description="the target's answer; for an interrupt not admitted, why not"
    )
    outcome: Outcome | None
    revised_turn: str | None = Field(description="the id of the revised turn, or null")


class DecisionDraft(BaseModel):
    """The CTO's closing decision as the model returns it; the meeting adds symbol and memo id
    and validates it against ``decisions.schema.Decision``."""

    model_config = ConfigDict(extra="forbid")

    action: Stance
    entry_type: Literal["market", "limit"]
    entry: float | None
    stop_loss: float | None
    take_profit: float | None
    confidence: float
    horizon: str
    leverage: float
    main_path: str
    backup_path: str
    triggers: list[str]
    rationale: str
    dissent: list[str]


class LookUp(BaseModel):
    """A seat's look-up before it answers a clarify: which tool to call (``tools.lc_tools``) and
    on which timeframe, or ``none`` when the memo already answers the question."""

    model_config = ConfigDict(extra="forbid")

    tool: Literal["technical_indicators", "none"]
    timeframe: Literal["1h", "4h", "1d"] | None = Field(
        description="the bars the tool reads, or null for no look-up"
    )
    reason: str = Field(description="why this look-up answers the question")
