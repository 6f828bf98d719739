"""The meeting's configuration, passed as LangGraph's runtime context (``context_schema``).

Everything here is plain JSON so ``langgraph dev`` can take it from a request; fields left at
their defaults fall back to environment variables:

    AURAQUANT_MODEL             default model for every seat ("offline")
    AURAQUANT_MEETING_BUDGET    interrupts the whole meeting may spend (6)
    AURAQUANT_MAX_ROUNDS        review rounds before the chair closes (2)
    AURAQUANT_REQUIRE_APPROVAL  1/true: stop for a human before the gate
    AURAQUANT_ROSTER            a roster JSON (see agents.roles)
    AURAQUANT_ROLE_MODELS       per-seat models, e.g. "cto=openai:gpt-4o,market_analyst=openai:gpt-4o-mini"
    AURAQUANT_LLM_TIMEOUT       seconds per model request (30)
    AURAQUANT_LLM_MAX_RETRIES   retries of a transient provider error (2), backoff + Retry-After
    AURAQUANT_LLM_METHOD        structured output: auto | json_schema | json_mode | function_calling
    AURAQUANT_LLM_CACHE         0/off: no LLM call cache (default on for real models)
    AURAQUANT_LLM_CACHE_PREFIX  Redis key prefix of the cache ("auraquant:llm:")
    AURAQUANT_MAX_CALLS, AURAQUANT_MAX_TOKENS, AURAQUANT_MAX_COST, AURAQUANT_MAX_SECONDS
                                the meeting's model-call budgets (0 = no limit)
    AURAQUANT_LLM_PRICES        JSON {"model": [usd_in, usd_out] per 1M tokens} over the defaults
"""

from __future__ import annotations

import json
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


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


DEFAULT_PRICES: dict[str, list[float]] = {
    "gpt-4o-mini": [0.15, 0.60],
    "gpt-4o": [2.50, 10.00],
    "gpt-4.1-mini": [0.40, 1.60],
    "gpt-4.1": [2.00, 8.00],
    "gemini-2.5-flash": [0.30, 2.50],
    "gemini-2.5-pro": [1.25, 10.00],
}
"""USD per 1M (input, output) tokens; ``AURAQUANT_LLM_PRICES`` adds or overrides entries."""


def _role_models(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        role, sep, model = part.partition("=")
        if not sep or not role.strip() or not model.strip():
            raise ValueError(f"AURAQUANT_ROLE_MODELS: {part!r} is not role=provider:model")
        out[role.strip()] = model.strip()
    return out


def _prices(raw: str) -> dict[str, list[float]]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"AURAQUANT_LLM_PRICES={raw!r} is not JSON ({exc})") from exc
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v)
        for v in data.values()
    ):
        raise ValueError(
            f'AURAQUANT_LLM_PRICES={raw!r}: expected {{"model": [usd_in, usd_out]}} per 1M tokens'
        )
    return {str(k): [float(v[0]), float(v[1])] for k, v in data.items()}


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
    llm_timeout: float = -1
    """Seconds per model request (-1 = $AURAQUANT_LLM_TIMEOUT or 30)."""
    llm_max_retries: int = -1
    """Retries of a transient provider error (-1 = $AURAQUANT_LLM_MAX_RETRIES or 2)."""
    llm_backoff: float = -1
    """First backoff in seconds, doubled per retry (-1 = $AURAQUANT_LLM_BACKOFF or 0.5)."""
    llm_method: str = ""
    """Structured-output method ('' = $AURAQUANT_LLM_METHOD or 'auto': the provider's best)."""
    llm_cache: bool | None = None
    """Cache real models' calls (None = $AURAQUANT_LLM_CACHE, default on)."""
    llm_cache_prefix: str = ""
    """Redis key prefix of the LLM call cache ('' = $AURAQUANT_LLM_CACHE_PREFIX or the default)."""
    max_calls: int = -1
    """Model calls the meeting may make (-1 = $AURAQUANT_MAX_CALLS or 0 = no limit)."""
    max_tokens: int = -1
    """Prompt + completion tokens the meeting may spend (-1 = $AURAQUANT_MAX_TOKENS or 0)."""
    max_cost: float = -1
    """USD the meeting may spend (-1 = $AURAQUANT_MAX_COST or 0 = no limit)."""
    max_seconds: float = -1
    """Wall-clock seconds for the meeting's model calls (-1 = $AURAQUANT_MAX_SECONDS or 0)."""
    concurrent: bool = True
    """Seats that speak in the same step call their models together (False: one by one)."""
    prices: dict[str, list[float]] = field(default_factory=dict)
    """USD per 1M (input, output) tokens by model (over DEFAULT_PRICES and $AURAQUANT_LLM_PRICES)."""

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
        if not self.models and os.environ.get("AURAQUANT_ROLE_MODELS"):
            self.models = _role_models(os.environ["AURAQUANT_ROLE_MODELS"])
        if self.llm_timeout < 0:
            self.llm_timeout = _env_float("AURAQUANT_LLM_TIMEOUT", 30.0)
        if self.llm_max_retries < 0:
            self.llm_max_retries = _env_int("AURAQUANT_LLM_MAX_RETRIES", 2)
        if self.llm_backoff < 0:
            self.llm_backoff = _env_float("AURAQUANT_LLM_BACKOFF", 0.5)
        if not self.llm_method:
            self.llm_method = os.environ.get("AURAQUANT_LLM_METHOD") or "auto"
        if self.llm_cache is None:
            raw = os.environ.get("AURAQUANT_LLM_CACHE", "").strip().lower()
            self.llm_cache = raw not in {"0", "false", "no", "off"}
        if not self.llm_cache_prefix:
            self.llm_cache_prefix = os.environ.get("AURAQUANT_LLM_CACHE_PREFIX") or "auraquant:llm:"
        if self.max_calls < 0:
            self.max_calls = _env_int("AURAQUANT_MAX_CALLS", 0)
        if self.max_tokens < 0:
            self.max_tokens = _env_int("AURAQUANT_MAX_TOKENS", 0)
        if self.max_cost < 0:
            self.max_cost = _env_float("AURAQUANT_MAX_COST", 0.0)
        if self.max_seconds < 0:
            self.max_seconds = _env_float("AURAQUANT_MAX_SECONDS", 0.0)
        prices = dict(DEFAULT_PRICES)
        if os.environ.get("AURAQUANT_LLM_PRICES"):
            prices.update(_prices(os.environ["AURAQUANT_LLM_PRICES"]))
        prices.update(self.prices)
        self.prices = prices
        if self.llm_timeout <= 0:
            raise ValueError(f"llm_timeout must be > 0 seconds, got {self.llm_timeout}")
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
