"""The meeting's configuration, passed as LangGraph's runtime context (``context_schema``).

Everything here is plain JSON so ``langgraph dev`` can take it from a request; fields left at
their defaults fall back to environment variables:

    AURAQUANT_MODEL             default model for every seat ("offline")
    AURAQUANT_MEETING_BUDGET    interrupts the whole meeting may spend (6)
    AURAQUANT_MAX_ROUNDS        review rounds before the chair closes (2)
    AURAQUANT_REQUIRE_APPROVAL  1/true: stop for a human before the gate
    AURAQUANT_ROSTER            a roster JSON (see agents.roles)
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from decisions.limits import RiskLimits

TRUE = {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer") from exc


@dataclass
class MeetingContext:
    """How one meeting is run: models, budgets, rounds, approval, limits, where to write."""

    model: str = ""
    """Default ``provider:model`` for every seat ('' = $AURAQUANT_MODEL or 'offline')."""
    models: dict[str, str] = field(default_factory=dict)
    """Per-seat model overrides, by role id (beat the roster's and the default)."""
    base_url: str | None = None
    """OpenAI-compatible server for ``openai:`` models (else $OPENAI_BASE_URL)."""
    budget: int = -1
    """Interrupts the meeting may spend in total (-1 = $AURAQUANT_MEETING_BUDGET or 6)."""
    role_budgets: dict[str, int] = field(default_factory=dict)
    """Per-seat interrupt budgets (beat the roster's)."""
    max_rounds: int = -1
    """Review rounds before the chair closes (-1 = $AURAQUANT_MAX_ROUNDS or 2)."""
    require_approval: bool | None = None
    """Stop for a human before the gate (None = $AURAQUANT_REQUIRE_APPROVAL)."""
    risk_limits: dict[str, Any] = field(default_factory=dict)
    """Overrides of ``decisions.limits.RiskLimits`` fields."""
    weights: dict[str, float] = field(default_factory=dict)
    """Role weights for the chair (beat the roster's 1.0; the review loop will set them)."""
    timeframe: str = "1h"
    """The memo's timeframe."""
    run_id: str = ""
    """Where the AI log and journal go ('' = one run per meeting, named from its inputs)."""
    home: str | None = None
    """$AURAQUANT_HOME override (runs/ and store/ live under it)."""
    store: str | None = None
    """Store root override (default $AURAQUANT_HOME/store)."""
    services_key: str | None = None
    """A services bundle registered in-process (``graph.services.register_services``)."""
    journal: bool = True
    dry_run: bool = False
    """Hold the meeting and gate it, place nothing (``auraquant meet --dry-run``)."""
    decide_only: bool = False
    """End after the decision (QUALIFY): the desk's replay vets and executes it itself."""
    """Write ``runs/<run_id>/journal.json`` when the meeting ends (replay collects its own)."""

    def __post_init__(self) -> None:
        if not self.model:
            self.model = os.environ.get("AURAQUANT_MODEL") or "offline"
        if self.budget < 0:
            self.budget = _env_int("AURAQUANT_MEETING_BUDGET", 6)
        if self.max_rounds < 0:
            self.max_rounds = _env_int("AURAQUANT_MAX_ROUNDS", 2)
        if self.require_approval is None:
            self.require_approval = (
                os.environ.get("AURAQUANT_REQUIRE_APPROVAL", "").strip().lower() in TRUE
            )
        if self.budget < 0:
            raise ValueError(f"budget must be >= 0, got {self.budget}")
        if self.max_rounds < 0:
            raise ValueError(f"max_rounds must be >= 0, got {self.max_rounds}")

    def limits(self) -> RiskLimits:
        """The gate's limits: the defaults with this meeting's overrides."""
        return RiskLimits(**self.risk_limits)

    def snapshot(self) -> dict[str, Any]:
        """The configuration as recorded in the journal (no secrets live here)."""
        out = asdict(self)
        out.pop("services_key", None)
        return out


def coerce_context(ctx: MeetingContext | dict[str, Any] | None) -> MeetingContext:
    """The context as given, a dict built into one, or the defaults (``langgraph dev`` with none)."""
    if ctx is None:
        return MeetingContext()
    if isinstance(ctx, dict):
        return MeetingContext(**ctx)
    return ctx
