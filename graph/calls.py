"""A seat asking its model, inside a meeting: the model, the method, the meeting's budgets,
and one AI-log record per model call.

``ask`` is the only way a node talks to a model. It builds (or reuses) the seat's chat model
with the meeting's timeout and the LLM call cache, checks the meeting's budgets (calls, tokens,
cost, wall time) before every call, calls through ``agents.llm.call_structured`` (retries,
tolerant parsing, one repair turn, abstain), and writes one ``llm_call`` record per call.

Budgets are kept by a per-meeting :class:`Meter` (thread-safe: the seats of one step call
concurrently). A call starts only while the spend *plus the estimates of the calls in flight*
is under every limit, so a meeting overruns a limit by at most one call; every seat but the
chair also leaves room for one chair call, so on exhaustion the chair still closes with what it
has. A chair that cannot be called ends the meeting FLAT with ``budget_exhausted``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from agents.llm import (
    Answer,
    CallPolicy,
    CallRecord,
    Method,
    ModelCallError,
    call_structured,
    method_for,
)
from agents.models import ModelSpecError, cached_chat_model, parse_model_id
from graph.ailog import stage_for
from graph.context import MeetingContext
from graph.services import (
    MeetingServices,
    ailog_for,
    home_of,
    model_id_for,
)
from graph.state import _sum_usage
from tools.paths import home_dir

EST_COMPLETION_TOKENS = 600
"""A call's completion, estimated before it is made (its prompt is known: ~4 chars a token)."""
USAGE_KEYS = ("calls", "cached_calls", "prompt_tokens", "completion_tokens", "cost", "abstained")


merge_usage = _sum_usage
"""The state reducer of the meeting's model usage: sums per key."""


class Timings:
    """Time spent inside node bodies and inside chat-model calls, for the latency benchmark
    (the rest of a meeting's wall time is LangGraph's own). Off unless ``enabled``."""

    enabled = False
    nodes = 0.0
    models = 0.0

    @classmethod
    def reset(cls) -> None:
        cls.nodes = cls.models = 0.0


# --- budgets -------------------------------------------------------------------------------
@dataclass
class Meter:
    """One meeting's spend and limits; ``reserve``/``settle`` bracket each call."""

    max_calls: int = 0
    max_tokens: int = 0
    max_cost: float = 0.0
    max_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    inflight_calls: int = 0
    inflight_tokens: int = 0
    inflight_cost: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def reserve(self, est_tokens: int, est_cost: float, *, chair: bool) -> str | None:
        """Admit one call (returns None) or say which budget refuses it."""
        with self._lock:
            keep = 0 if chair else 1  # every other seat leaves one call for the chair
            if self.max_calls and self.calls + self.inflight_calls + 1 + keep > self.max_calls:
                return f"budget_exhausted: calls ({self.calls} of {self.max_calls} made)"
            t_keep = 0 if chair else est_tokens
            if self.max_tokens and self.tokens + self.inflight_tokens + t_keep >= self.max_tokens:
                return f"budget_exhausted: tokens ({self.tokens} of {self.max_tokens} spent)"
            c_keep = 0.0 if chair else est_cost
            if self.max_cost and self.cost + self.inflight_cost + c_keep >= self.max_cost:
                return f"budget_exhausted: cost (${self.cost:.4f} of ${self.max_cost:.4f} spent)"
            if self.max_seconds and not chair and self.elapsed() >= self.max_seconds:
                return (
                    f"budget_exhausted: wall time ({self.elapsed():.1f} s of "
                    f"{self.max_seconds:g} s)"
                )
            self.inflight_calls += 1
            self.inflight_tokens += est_tokens
            self.inflight_cost += est_cost
            return None

    def release(self, est_tokens: int, est_cost: float) -> None:
        """Give back a reservation whose call failed before it was counted."""
        with self._lock:
            self.inflight_calls -= 1
            self.inflight_tokens -= est_tokens
            self.inflight_cost -= est_cost

    def settle(self, est_tokens: int, est_cost: float, tokens: int, cost: float) -> None:
        with self._lock:
            self.inflight_calls -= 1
            self.inflight_tokens -= est_tokens
            self.inflight_cost -= est_cost
            self.calls += 1
            self.tokens += tokens
            self.cost += cost


_METERS: dict[str, Meter] = {}
_METERS_LOCK = threading.Lock()


def meter_key(ctx: MeetingContext, state: Mapping[str, Any]) -> str:
    return f"{home_of(ctx)}|{state.get('run_id')}|{state.get('meeting_id')}"


def start_meter(ctx: MeetingContext, state: Mapping[str, Any]) -> Meter:
    """A fresh meter for a meeting that is opening."""
    m = Meter(ctx.max_calls, ctx.max_tokens, ctx.max_cost, ctx.max_seconds)
    with _METERS_LOCK:
        _METERS[meter_key(ctx, state)] = m
        while len(_METERS) > 256:
            _METERS.pop(next(iter(_METERS)))
    return m


def meter_for(ctx: MeetingContext, state: Mapping[str, Any]) -> Meter:
    """The meeting's meter; a meeting resumed in another process starts one from its state."""
    key = meter_key(ctx, state)
    with _METERS_LOCK:
        m = _METERS.get(key)
    if m is not None:
        return m
    m = start_meter(ctx, state)
    usage = state.get("usage") or {}
    m.calls = int(usage.get("calls", 0))
    m.tokens = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
    m.cost = float(usage.get("cost", 0.0))
    return m


# --- models --------------------------------------------------------------------------------
def policy_for(ctx: MeetingContext) -> CallPolicy:
    return CallPolicy(
        timeout=ctx.llm_timeout, max_retries=ctx.llm_max_retries, backoff=ctx.llm_backoff
    )


def llm_cache_of(ctx: MeetingContext, model_id: str) -> BaseCache | None:
    """The LLM call cache for a real model (Redis when ``REDIS_URL`` is set, else SQLite under
    ``$AURAQUANT_HOME``); None for the offline desk or when the cache is switched off."""
    if not ctx.llm_cache or parse_model_id(model_id)[0] == "offline":
        return None
    from agents.llm_cache import llm_cache_for

    home = home_of(ctx) or home_dir()
    return llm_cache_for(
        home=Path(home),
        redis_url=os.environ.get("REDIS_URL") or None,
        namespace=f"{model_id}|{ctx.base_url or ''}",
        prefix=ctx.llm_cache_prefix,
    )


def chat_model_of(
    ctx: MeetingContext, services: MeetingServices, role_id: str, model_id: str
) -> BaseChatModel:
    """The seat's chat model; failing to build one (no key, no package) is a provider failure."""
    if role_id in services.chat_models:
        return services.chat_models[role_id]
    try:
        return cached_chat_model(
            model_id, ctx.base_url, ctx.llm_timeout, llm_cache_of(ctx, model_id)
        )
    except ModelSpecError:
        raise
    except Exception as exc:
        from agents.llm import error_kind

        kind = error_kind(exc)
        raise ModelCallError(
            seat=role_id,
            model_id=model_id,
            kind="credentials" if kind == "error" else kind,
            error_class=type(exc).__name__,
            message=str(exc),
        ) from exc


_BOUND: dict[tuple[int, str, str], Any] = {}


def _bound(model: Any, schema: type[BaseModel], method: str) -> Any:
    from agents.llm import bind_structured

    key = (id(model), schema.__name__, method)
    b = _BOUND.get(key)
    if b is None:
        b = bind_structured(model, schema, method)  # type: ignore[arg-type]
        if len(_BOUND) > 512:  # the bindings hold their models: bound the memory
            _BOUND.clear()
        _BOUND[key] = b
    return b


_DOWNGRADED: dict[tuple[int, str], Method] = {}


def _downgrade(exc: ModelCallError, ctx: MeetingContext, method: str) -> bool:
    """Fall back to JSON mode when the server rejected the request's structured-output part
    (a 400 naming it), unless a method was configured explicitly."""
    text = exc.message.lower()
    return (
        exc.kind == "bad_request"
        and method != "json_mode"
        and ctx.llm_method == "auto"
        and any(w in text for w in ("response_format", "json_schema", "tool", "unsupported"))
    )


# --- asking --------------------------------------------------------------------------------
@dataclass
class Asked:
    """A seat's answer and what the node records of it."""

    role: str
    model_id: str
    answer: Answer
    usage: dict[str, Any]


def _estimate(messages: Sequence[BaseMessage]) -> int:
    return sum(len(str(m.content)) for m in messages) // 4 + EST_COMPLETION_TOKENS


def ask(
    ctx: MeetingContext,
    services: MeetingServices,
    state: Mapping[str, Any],
    *,
    node: str,
    role_id: str,
    schema: type[BaseModel],
    messages: Sequence[BaseMessage],
    chair: bool = False,
    stage_seat: str | None = None,
) -> Asked:
    """Ask ``role_id``'s model for ``schema``; budget-checked, retried, repaired, logged."""
    model_id = model_id_for(ctx, services, role_id)
    real_id = (
        model_id
        if not model_id.startswith("injected:")
        else model_id.removeprefix("injected:") or model_id
    )
    model = chat_model_of(ctx, services, role_id, model_id)
    provider = model_id.partition(":")[0]
    method = method_for(
        "offline" if provider in ("offline", "injected") else provider, ctx.llm_method
    )
    meter = meter_for(ctx, state)
    est = _estimate(messages)
    from agents.llm import cost_of

    est_cost = cost_of(ctx.prices, real_id, est - EST_COMPLETION_TOKENS, EST_COMPLETION_TOKENS)

    held = [0]  # reservations not yet settled (a call that raises leaves one)

    def budget() -> str | None:
        refused = meter.reserve(est, est_cost, chair=chair)
        if refused is None:
            held[0] += 1
        return refused

    def on_call(c: CallRecord) -> None:
        held[0] -= 1
        meter.settle(est, est_cost, c.prompt_tokens + c.completion_tokens, c.cost)

    def release() -> None:
        while held[0] > 0:
            held[0] -= 1
            meter.release(est, est_cost)

    t0 = time.perf_counter() if Timings.enabled else 0.0
    method = _DOWNGRADED.get((id(model), method), method)
    try:
        answer = call_structured(
            model, schema, messages, seat=role_id, model_id=model_id, method=method,
            policy=policy_for(ctx), prices=ctx.prices, budget=budget, on_call=on_call,
            bound=_bound(model, schema, method),
        )  # fmt: skip
    except ModelCallError as exc:
        release()
        if not _downgrade(exc, ctx, method):
            raise
        # the server refused the structured-output request itself (some local servers lack
        # json_schema or tool_choice): JSON mode, with the schema in the prompt, from now on
        _DOWNGRADED[(id(model), method)] = "json_mode"
        method = "json_mode"
        answer = call_structured(
            model, schema, messages, seat=role_id, model_id=model_id, method=method,
            policy=policy_for(ctx), prices=ctx.prices, budget=budget, on_call=on_call,
            bound=_bound(model, schema, method),
        )  # fmt: skip
    if Timings.enabled:
        Timings.models += time.perf_counter() - t0
    usage = {
        "calls": len(answer.calls),
        "cached_calls": sum(c.cached for c in answer.calls),
        "prompt_tokens": sum(c.prompt_tokens for c in answer.calls),
        "completion_tokens": sum(c.completion_tokens for c in answer.calls),
        "cost": round(sum(c.cost for c in answer.calls), 8),
        "abstained": int(answer.abstained),
    }
    _log_calls(ctx, services, state, node, role_id, answer, stage_seat)
    return Asked(role=role_id, model_id=model_id, answer=answer, usage=usage)


def _log_calls(
    ctx: MeetingContext,
    services: MeetingServices,
    state: Mapping[str, Any],
    node: str,
    role_id: str,
    answer: Answer,
    seat: str | None,
) -> None:
    run_id = state["run_id"]
    writer = ailog_for(ctx, services, run_id)
    for c in answer.calls:
        tokens = f"{c.prompt_tokens}+{c.completion_tokens} tokens"
        what = "valid" if c.parse_error is None else f"invalid ({c.parse_error})"
        writer.write(
            run_id=run_id,
            node=f"{node}.llm_call",
            stage=stage_for(node, seat=seat),
            model=c.model_id,
            input={
                "seat": role_id,
                "schema": c.schema,
                "method": c.method,
                "attempt": c.attempt,
                "prompt_sha256": c.prompt_sha256,
                "prompt_chars": c.prompt_chars,
                "memo_id": (state.get("memo") or {}).get("id"),
            },
            output={
                "model_version": c.model_version,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "cached_prompt_tokens": c.cached_prompt_tokens,
                "started": c.started,
                "latency_s": c.latency_s,
                "cost": c.cost,
                "cached": c.cached,
                "transport_attempts": c.transport_attempts,
                "parse_error": c.parse_error,
                "reply": c.reply,
            },
            explanation=(
                f"{role_id} asked {c.model_id} ({c.model_version or 'version not reported'}) for "
                f"{c.schema} via {c.method}, attempt {c.attempt}: {tokens}, {c.latency_s:.2f} s, "
                f"${c.cost:.6f}{', from the cache' if c.cached else ''}; reply {what}."
            ),
            extra={
                "kind": "llm_call",
                "meeting_id": state.get("meeting_id"),
                "symbol": state.get("symbol"),
                "at": state.get("at"),
            },
        )
