"""The meeting graph and the one call the CLI, replay and the benchmark use to hold a meeting.

``graph`` (compiled without a checkpointer, as ``langgraph dev`` requires) is what
``langgraph.json`` names; ``build_meeting_graph(checkpointer=…)`` is for everything that needs
pauses and resumes (human approval).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict

from agents.roles import Roster, load_roster
from graph import nodes
from graph.context import MeetingContext, coerce_context
from graph.services import (
    MeetingServices,
    advance_exchange,
    exchange_for,
    market_for,
    register_services,
    unregister_services,
)
from graph.state import InputState, MeetingState
from tools.paths import runs_dir
from tools.timeutil import parse_utc

MeetingGraph = CompiledStateGraph[Any, Any, Any, Any]


def build_meeting_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None, roster: Roster | None = None
) -> MeetingGraph:
    """open -> [analysts ‖ risk seat] -> (review -> resolve)* -> chair -> validate
    -> [approval] -> gate -> execute. Seats come from the roster (default: agents/roster.json).
    A risk seat that reads no turns (``reads_turns: false``) opens beside the analysts, from
    the memo, the desk and the account, so the opening is one step of parallel calls; one that
    reads them waits for every analyst."""
    roster = roster or load_roster()
    risk, chair = roster.risk, roster.chair
    g = StateGraph(MeetingState, input_schema=InputState, context_schema=MeetingContext)
    g.add_node("open", nodes.logged("open", nodes.open_meeting))
    for a in roster.analysts:
        g.add_node(a.id, nodes.logged(a.id, nodes.seat_turn(a), seat="analyst"))
    g.add_node(risk.id, nodes.logged(risk.id, nodes.seat_turn(risk), seat="risk"))
    analysts = [a.id for a in roster.analysts]
    openers = analysts if risk.reads_turns else [*analysts, risk.id]
    for seat_id in openers:
        g.add_edge("open", seat_id)
    if risk.reads_turns:
        g.add_edge(analysts, risk.id)  # waits for every analyst
    g.add_node("review", nodes.logged("review", nodes.review))
    g.add_node("resolve", nodes.logged("resolve", nodes.resolve))
    g.add_node(chair.id, nodes.logged(chair.id, nodes.chair_decides(chair), seat="chair"))
    g.add_node("validate", nodes.logged("validate", nodes.validate))
    g.add_node("approval", nodes.logged("approval", nodes.approval))
    g.add_node("gate", nodes.logged("gate", nodes.gate))
    g.add_node("execute", nodes.logged("execute", nodes.execute))

    g.add_edge(START, "open")
    # the opening seats end in one step, so the review (or, with no round to hold, the chair)
    # runs once after all of them
    for seat_id in [risk.id] if risk.reads_turns else openers:
        g.add_conditional_edges(
            seat_id, _after_debate_step("review", chair.id), ["review", chair.id]
        )
    g.add_conditional_edges(
        "review", _after_debate_step("resolve", chair.id), ["resolve", chair.id]
    )
    g.add_conditional_edges("resolve", _after_debate_step("review", chair.id), ["review", chair.id])
    g.add_edge(chair.id, "validate")
    g.add_conditional_edges(
        "validate", _after_validate(chair.id), [chair.id, "approval", "gate", END]
    )
    g.add_edge("approval", "gate")
    g.add_edge("gate", "execute")
    g.add_edge("execute", END)
    return g.compile(checkpointer=checkpointer, name="meeting")


def _after_debate_step(go_on: str, chair: str) -> Any:
    def route(state: MeetingState) -> str:
        return chair if state.get("ended_by") else go_on

    return route


def _after_validate(chair: str) -> Any:
    def route(state: MeetingState, runtime: Any = None) -> str:
        if state.get("decision") is None:
            return chair
        ctx = coerce_context(getattr(runtime, "context", None))
        if ctx.decide_only:
            return END
        if ctx.require_approval and state["decision"]["action"] != "FLAT":
            return "approval"
        return "gate"

    return route


graph = build_meeting_graph()


# --- running one meeting ----------------------------------------------------------------
class MeetingResult(BaseModel):
    """What one meeting said and did, for the CLI, replay and the benchmark."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    run_dir: str
    thread_id: str
    meeting_id: str | None
    symbol: str
    at: str
    status: str  # done | awaiting_approval | model_unavailable | budget_exhausted
    memo: dict[str, Any] | None
    turns: list[dict[str, Any]]
    interrupts: list[dict[str, Any]]
    ended_by: str | None
    decision: dict[str, Any] | None
    fallback: str | None
    approval: dict[str, Any] | None
    pending_approval: dict[str, Any] | None
    gate: dict[str, Any] | None
    manage: dict[str, Any] | None = None
    execution: dict[str, Any] | None
    usage: dict[str, Any] = {}
    """Model calls, cached calls, prompt/completion tokens and cost of the meeting."""
    abstained: list[dict[str, Any]] = []
    """Seats that abstained (no valid reply after one repair) or that a budget skipped."""

    @classmethod
    def from_state(
        cls, state: dict[str, Any], *, thread_id: str, home: Path | None, pending: Any = None
    ) -> MeetingResult:
        run_id = state["run_id"]
        return cls(
            run_id=run_id,
            run_dir=str(runs_dir(home) / run_id),
            thread_id=thread_id,
            meeting_id=state.get("meeting_id"),
            symbol=state["symbol"],
            at=state["at"],
            status="awaiting_approval" if pending is not None else state.get("status") or "done",
            memo=state.get("memo"),
            turns=list(state.get("turns", [])),
            interrupts=list(state.get("interrupts", [])),
            ended_by=state.get("ended_by") or None,
            decision=state.get("decision"),
            fallback=state.get("fallback"),
            approval=state.get("approval"),
            pending_approval=pending,
            gate=state.get("gate"),
            manage=state.get("manage"),
            execution=state.get("execution"),
            usage={**(state.get("usage") or {}), "cached_calls": state.get("cache_hits", 0)},
            abstained=list(state.get("abstained", [])),
        )


@contextmanager
def _services(services: MeetingServices | None, ctx: MeetingContext) -> Iterator[MeetingContext]:
    if services is None:
        yield ctx
        return
    key = f"run-meeting-{uuid.uuid4().hex}"
    register_services(key, services)
    ctx.services_key = key
    try:
        yield ctx
    finally:
        unregister_services(key)
        ctx.services_key = None


def run_meeting(
    symbol: str,
    at: str,
    config: MeetingContext | dict[str, Any] | None = None,
    *,
    services: MeetingServices | None = None,
    graph_: MeetingGraph | None = None,
    thread_id: str | None = None,
    advance_bars: int = 0,
) -> MeetingResult:
    """Hold one meeting and return what happened.

    ``advance_bars`` > 0 feeds that many stored bars after ``at`` to a virtual exchange once
    the graph has finished, so an entry placed at ``at`` shows its fill (it fills at the next
    bar's open); the journal keeps the state at decision time.
    With ``require_approval`` the graph needs a checkpointer (pass ``graph_``) and the result
    comes back ``awaiting_approval``; continue it with :func:`resume_meeting`.
    """
    ctx = coerce_context(config)
    g = graph_ or graph
    tid = thread_id or uuid.uuid4().hex
    cfg: RunnableConfig = {"configurable": {"thread_id": tid}}
    with _services(services, ctx) as c:
        if not nodes.talks_to_a_model(c):
            cfg["max_concurrency"] = 1  # the offline desk: nothing to overlap, one thread
        state = g.invoke({"symbol": symbol, "at": at}, cfg, context=c)
        pending = _pending(state)
        if pending is None and advance_bars > 0:
            state = _advance(state, c, services, advance_bars)
    return MeetingResult.from_state(state, thread_id=tid, home=_home(ctx), pending=pending)


def resume_meeting(
    thread_id: str,
    approve: bool,
    config: MeetingContext | dict[str, Any] | None = None,
    *,
    graph_: MeetingGraph,
    services: MeetingServices | None = None,
    note: str = "",
    advance_bars: int = 0,
) -> MeetingResult:
    """Continue a meeting paused for approval with the human's answer."""
    ctx = coerce_context(config)
    cfg: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    snap = graph_.get_state(cfg)
    if not snap.next:
        raise ValueError(f"thread {thread_id!r} is not waiting for approval")
    with _services(services, ctx) as c:
        state = graph_.invoke(Command(resume={"approve": approve, "note": note}), cfg, context=c)
        pending = _pending(state)
        if pending is None and advance_bars > 0:
            state = _advance(state, c, services, advance_bars)
    return MeetingResult.from_state(state, thread_id=thread_id, home=_home(ctx), pending=pending)


def _pending(state: dict[str, Any]) -> Any:
    intr = state.get("__interrupt__")
    return intr[0].value if intr else None


def _home(ctx: MeetingContext) -> Path | None:
    return Path(ctx.home).resolve() if ctx.home else None


def _advance(
    state: dict[str, Any], ctx: MeetingContext, services: MeetingServices | None, bars: int
) -> dict[str, Any]:
    execution = state.get("execution") or {}
    if not execution.get("entry_order_id"):
        return state
    from exchange.executor import ExecutionReport, refresh
    from graph.services import services_for

    svc = services_for(ctx)
    exchange = exchange_for(ctx, svc, state["run_id"])
    at = parse_utc(state["at"])
    market = market_for(ctx, svc, state["symbol"], at)
    if market.has(state["symbol"]):
        span = market.base(state["symbol"]).bar_ns
        until = at + pd.Timedelta(span * bars, unit="ns")
        advance_exchange(exchange, market, state["symbol"], at, until)
    fields = ExecutionReport.model_fields
    report = refresh(
        ExecutionReport.model_validate({k: v for k, v in execution.items() if k in fields}),
        exchange,
    )
    # the plan's levels and the record's kind stay: the report adds what the exchange did
    return {**state, "execution": {**execution, **report.model_dump(mode="json")}}
