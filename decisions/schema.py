"""The CTO's decision and the gate's verdict (DESIGN.md §3).

The schema validates shape and obvious sense (types, confidence in 0..1, positive prices); it
deliberately does NOT enforce risk limits: an absurd leverage must reach the gate, which clamps
it and records the clamp.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from exchange.types import OrderPlan

SCHEMA_VERSION = 1

Action = Literal["LONG", "SHORT", "FLAT"]
Verdict = Literal["APPROVED", "CLAMPED", "DENIED"]


class Decision(BaseModel):
    """What the meeting decided. Every field is required so LLM structured output is portable."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    action: Action
    symbol: str
    entry_type: Literal["market", "limit"]
    entry: float | None = Field(description="limit price, or the reference price for market")
    stop_loss: float | None
    take_profit: float | None
    confidence: float = Field(ge=0.0, le=1.0)
    horizon: str = Field(description="how long the idea holds, e.g. '4h'")
    leverage: float = Field(gt=0)
    main_path: str
    backup_path: str
    triggers: list[str]
    rationale: str
    dissent: list[str]
    memo_id: str


class GateReason(BaseModel):
    """One rule's finding: the rule id, the numbers, and what it did."""

    model_config = ConfigDict(frozen=True)

    rule: str
    message: str
    passed: bool


class Clamp(BaseModel):
    """A value the gate shrank: always ``after`` no larger in risk than ``before``."""

    model_config = ConfigDict(frozen=True)

    rule: str
    field: str
    before: float | None
    after: float | None


class GateResult(BaseModel):
    """The gate's verdict on one decision."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    verdict: Verdict
    reasons: list[GateReason]
    clamps: list[Clamp]
    plan: OrderPlan | None
