"""The QUALIFY stage of a replay step, runnable in a worker process: one meeting, decide only.

A worker loads the market once (``init_worker``) and then holds meetings on request
(``hold_meeting``): memo, debate and decision through the meeting graph, stopped after the
decision. It sees the desk's account as the desk sent it and never touches the exchange: the
desk vets and carries out the decision itself, in symbol order, so a step's meetings can run in
parallel while the account stays one account. The meeting's AI-log records come back with the
decision and the desk appends them to the run's log in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.ailog import AILogCollector, secrets_from_env
from graph.context import MeetingContext
from graph.meeting import run_meeting
from graph.services import MeetingServices
from memos.market import MarketData
from tools.timeutil import parse_utc

_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class MeetingTask:
    """One meeting to hold: where, when, how, and the desk's account as the seats see it."""

    symbol: str
    at: str
    run_id: str
    context: dict[str, Any]
    account: dict[str, Any]


@dataclass
class MeetingOutcome:
    """What the meeting decided, for the desk to vet and carry out."""

    symbol: str
    at: str
    meeting_id: str
    memo: dict[str, Any]
    decision: dict[str, Any]
    turns: list[dict[str, Any]]
    interrupts: list[dict[str, Any]]
    ended_by: str | None
    fallback: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)


def init_worker(store: str, symbols: list[str], at: str, timeframe: str) -> None:
    """Load and warm the market once per process (the window's stored set covering ``at``)."""
    md = MarketData.from_store(symbols, store=Path(store), at=parse_utc(at))
    _STATE["market"] = md.warm([s for s in symbols if md.has(s)], timeframe)


def use_market(market: MarketData) -> None:
    """In-process replay: meetings use this market (already loaded by the caller)."""
    _STATE["market"] = market


def hold_meeting(task: MeetingTask) -> MeetingOutcome:
    """Hold one decide-only meeting (QUALIFY) and return its decision and AI-log records."""
    collector = AILogCollector(secrets_from_env())
    services = MeetingServices(market=_STATE["market"], account=task.account, ailog=collector)
    ctx = MeetingContext(
        **{**task.context, "decide_only": True, "journal": False, "run_id": task.run_id}
    )
    r = run_meeting(task.symbol, task.at, ctx, services=services)
    return MeetingOutcome(
        symbol=r.symbol,
        at=r.at,
        meeting_id=r.meeting_id or f"{r.symbol}-{r.at}",
        memo=r.memo or {},
        decision=r.decision or {},
        turns=r.turns,
        interrupts=r.interrupts,
        ended_by=r.ended_by,
        fallback=r.fallback,
        records=collector.records,
        usage=dict(r.usage or {}),
    )
