"""The meeting's nodes. Each one is a plain step over the state, wrapped by :func:`logged` so that
every node transition writes exactly one AI-log record when it completes.

open -> [analysts ‖ the risk seat if it reads no turns] -> [the risk seat if it reads them]
     -> (review -> resolve)* -> chair -> validate -> [approval] -> gate -> execute
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from agents import prompts
from agents.desk_limits import desk_limits
from agents.llm import prompt_hash
from agents.roles import RoleSpec, Roster
from agents.schemas import (
    DecisionDraft,
    Interrupt,
    LookUp,
    Outcome,
    Resolution,
    Review,
    Turn,
    TurnDraft,
)
from decisions.journal import journal_entry, write_journal
from decisions.manage import ManagePlan
from decisions.schema import Decision, GateResult
from exchange.clock import exchange_now_ns, is_clocked
from exchange.executor import ExecutionReport
from graph import errors, lookups, protocol
from graph.ailog import redact_obj, stage_for
from graph.calls import Asked, Timings, ask, merge_usage, start_meter
from graph.context import MeetingContext, coerce_context
from graph.errors import MeetingFailed, failure_record
from graph.messages import draft_message, interrupt_message, turn_message, turn_messages
from graph.services import (
    ExchangeSync,
    MeetingServices,
    ailog_for,
    exchange_for,
    home_of,
    market_for,
    model_id_for,
    roster_for,
    services_for,
    sync_exchange,
)
from graph.state import MeetingState
from graph.vetting import Vetting, carry_out, vet
from memos.models import F_NEWS_BIAS, F_PRICE, F_TREND, Memo
from tools.hashing import git_commit
from tools.paths import runs_dir
from tools.timeutil import iso, parse_utc


@dataclass
class Step:
    """A node's state update and what its AI-log record says."""

    update: dict[str, Any]
    model: str
    input: dict[str, Any]
    output: dict[str, Any]
    explanation: str
    order_id: str | None = None


NodeBody = Callable[[MeetingState, MeetingContext, MeetingServices], Step]
NodeFn = Callable[[MeetingState, Runtime[MeetingContext]], dict[str, Any]]


def logged(name: str, body: NodeBody, seat: str | None = None) -> Any:
    """Run ``body`` and append its AI-log record; a node that pauses for a human writes nothing,
    so there is exactly one record per completed transition. A node that raises writes one
    ``error`` record and the journal with status ``error``, then raises :class:`MeetingFailed`."""

    def node(state: MeetingState, runtime: Runtime[MeetingContext]) -> dict[str, Any]:
        t0 = time.perf_counter() if Timings.enabled else 0.0
        ctx = coerce_context(runtime.context)
        services = services_for(ctx)
        try:
            step = body(state, ctx, services)
        except (GraphBubbleUp, MeetingFailed):
            raise
        except Exception as exc:
            raise record_failure(state, ctx, services, name, seat, exc) from exc
        run_id = step.update.get("run_id") or state["run_id"]
        usage = step.update.get("usage")
        if usage and "cached_calls" in usage:  # kept apart: a cached re-run has the same journal
            step.update["usage"] = {k: v for k, v in usage.items() if k != "cached_calls"}
            step.update["cache_hits"] = usage["cached_calls"]
        if name == "open":
            start_meter(ctx, {**state, **step.update})
        ailog_for(ctx, services, run_id).write(
            run_id=run_id,
            node=name,
            stage=stage_for(name, seat=seat, order_placed=step.order_id is not None),
            model=step.model,
            input=step.input,
            output=step.output,
            explanation=step.explanation,
            order_id=step.order_id,
            extra={
                "meeting_id": step.update.get("meeting_id") or state.get("meeting_id"),
                "symbol": state["symbol"],
                "at": state["at"],
            },
        )
        if Timings.enabled:
            Timings.nodes += time.perf_counter() - t0
        return step.update

    node.__name__ = name
    return node


def _run_id_of(state: Mapping[str, Any], ctx: MeetingContext) -> str:
    if state.get("run_id"):
        return str(state["run_id"])
    if ctx.run_id:
        return ctx.run_id
    try:
        symbol = str(state["symbol"]).strip().upper()
        return f"meet-{_meeting_id(symbol, parse_utc(state['at']))}"
    except Exception:
        return "meet-failed"


def record_failure(
    state: Mapping[str, Any],
    ctx: MeetingContext,
    services: MeetingServices,
    name: str,
    seat: str | None,
    exc: BaseException,
) -> MeetingFailed:
    """Write the ``error`` record (AI log) and the journal with status ``error``; return the
    exception the node raises."""
    run_id = _run_id_of(state, ctx)
    writer = ailog_for(ctx, services, run_id)
    record = failure_record(exc, node=name, seat=seat, secrets=writer.secrets)
    record["run_id"] = run_id
    record["run_dir"] = str(runs_dir(home_of(ctx)) / run_id)
    writer.write(
        run_id=run_id,
        node="error",
        stage=stage_for(name, seat=seat),
        model=record.get("model") or "none",
        input={"node": name, "seat": record.get("seat")},
        output=record,
        explanation=errors.one_line(record),
        extra={
            "kind": "error",
            "meeting_id": state.get("meeting_id"),
            "symbol": state.get("symbol"),
            "at": state.get("at"),
        },
    )
    if ctx.journal:
        entry = journal_entry(
            memo=state.get("memo"),
            turns=state.get("turns", []),
            interrupts=state.get("interrupts", []),
            decision=None,
            gate_result=None,
            symbol=state.get("symbol"),
            at=state.get("at"),
            meeting_id=state.get("meeting_id"),
            ended_by=state.get("ended_by"),
            status="error",
            error=record,
            usage=state.get("usage") or {},
            abstained=state.get("abstained", []),
        )
        write_journal(
            run_id,
            [redact_obj(entry, writer.secrets)],
            meta=journal_meta(ctx, {**state, "run_id": run_id}),
            home=home_of(ctx),
        )
    return MeetingFailed(record)


# --- shared helpers ---------------------------------------------------------------------
@lru_cache(maxsize=256)
def _memo(memo_json: str) -> tuple[Memo, str]:
    memo = Memo.model_validate_json(memo_json)
    return memo, prompts.render_memo(memo)


_BY_IDENTITY: dict[int, tuple[Any, Memo, str]] = {}


def memo_of(state: MeetingState) -> tuple[Memo, str]:
    """The state's memo as a model and its prompt block, parsed once per memo: by the state
    dict's identity while a meeting runs (no re-serialising), else by its content."""
    raw = state["memo"]
    hit = _BY_IDENTITY.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1], hit[2]
    memo, block = _memo(json.dumps(raw, sort_keys=True))
    if len(_BY_IDENTITY) > 64:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(raw)] = (raw, memo, block)
    return memo, block


def desk_for(ctx: MeetingContext) -> dict[str, float]:
    """The desk's working numbers (``agents.desk_limits``), inside the gate's limits."""
    lim = ctx.limits()
    return desk_limits(
        min_stop_atr=lim.min_stop_atr,
        max_stop_atr=lim.max_stop_atr,
        min_reward_risk=lim.min_reward_risk,
        leverage_cap=lim.leverage_cap,
        min_confidence=lim.min_confidence,
    )


def account_summary(exchange: Any) -> dict[str, Any]:
    bal = exchange.balance()
    return {
        "equity": round(bal.equity, 2),
        "available": round(bal.available, 2),
        "positions": [
            {"symbol": p.symbol, "quantity": p.quantity, "entry_price": p.entry_price}
            for p in exchange.positions()
            if p.quantity
        ],
        "open_orders": len(exchange.open_orders()),
    }


def _concurrently(jobs: list[Callable[[], Any]], parallel: bool) -> list[Any]:
    """Run the seats that speak in one step together (threads: model calls wait on I/O); in
    order, results in job order. The offline desk runs them in turn (no I/O to overlap)."""
    if not parallel or len(jobs) < 2:
        return [j() for j in jobs]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(j) for j in jobs]
        return [f.result() for f in futures]


def _parallel(ctx: MeetingContext, services: MeetingServices, roles: list[str]) -> bool:
    """Concurrent calls pay off when some seat talks to a real model (not the offline desk)."""
    return ctx.concurrent and any(
        not model_id_for(ctx, services, r).startswith(("offline", "injected:auraquant-offline"))
        for r in roles
    )


def talks_to_a_model(ctx: MeetingContext) -> bool:
    """Whether any seat of the meeting speaks through a real model (not the offline desk)."""
    services = services_for(ctx)
    return _parallel(ctx, services, [r.id for r in roster_for(services).roles])


def _chair_messages(
    state: Mapping[str, Any], ctx: MeetingContext, services: MeetingServices
) -> list[Any]:
    """The chair's closing prompt as ``chair_decides`` builds it for ``state``."""
    memo, memo_block = memo_of(state)  # type: ignore[arg-type]
    roster = roster_for(services)
    return prompts.decide_messages(
        roster.chair, memo.symbol, memo_block,
        [dict(t) for t in protocol.latest_turns(state.get("turns", [])).values()],
        list(state.get("interrupts", [])), _context_blocks(ctx, roster, state),  # type: ignore[arg-type]
    )  # fmt: skip


def _speculates(ctx: MeetingContext, services: MeetingServices, state: Mapping[str, Any]) -> bool:
    """Ask the chair during a review that follows answers (it usually raises nothing and ends
    the debate): its decision is kept only if the debate did end and its prompt is exactly the
    one the chair would get, so the meeting is the same, one model latency shorter. Not with
    model budgets (the extra call would be charged) or one-by-one calls."""
    chair = roster_for(services).chair.id
    budgets = ctx.max_calls or ctx.max_tokens or ctx.max_cost or ctx.max_seconds
    return int(state.get("round", 0)) >= 1 and not budgets and _parallel(ctx, services, [chair])


def _abstention(asked: Asked, node: str) -> dict[str, Any]:
    ans = asked.answer
    return {
        "role": asked.role,
        "node": node,
        "kind": "skipped" if ans.skipped else "abstained",
        "reason": ans.skipped or ans.error,
    }


def _prompt_log(messages: list[Any], memo_id: str) -> dict[str, Any]:
    """The prompt as logged: the seat's task and its data; the shared prefix (rules and memo,
    logged by ``open``) by its hash and the memo's id."""
    return {
        "memo_id": memo_id,
        "prompt_sha256": hashlib.sha256(
            "\x00".join(str(m.content) for m in messages).encode()
        ).hexdigest(),
        "prefix_sha256": hashlib.sha256(str(messages[0].content).encode()).hexdigest(),
        "prompt": str(messages[-1].content),
    }


def _meeting_id(symbol: str, at: pd.Timestamp) -> str:
    return f"{symbol}-{at.strftime('%Y%m%dT%H%M%SZ')}"


# --- open -------------------------------------------------------------------------------
def open_meeting(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    symbol = str(state["symbol"]).strip().upper()
    at = parse_utc(state["at"])
    meeting_id = _meeting_id(symbol, at)
    run_id = state.get("run_id") or ctx.run_id or f"meet-{meeting_id}"
    market = market_for(ctx, services, symbol, at)
    memo = services.memo_builder(symbol, at, market=market, timeframe=ctx.timeframe)
    if ctx.decide_only and services.account is not None:
        # a replay worker: the desk synced its exchange to `at` and sent its account
        clock = ExchangeSync("desk", iso(at), note="synced by the desk before the meeting")
        account = services.account
    else:
        exchange = exchange_for(ctx, services, run_id)
        clock = sync_exchange(exchange, market, symbol, at)
        account = account_summary(exchange)
    data = prompts.memo_data(memo)
    facts = {k: v["value"] for k, v in data["facts"].items()}
    price, trend, bias = facts.get(F_PRICE), facts.get(F_TREND), facts.get(F_NEWS_BIAS)
    return Step(
        update={
            "symbol": symbol,
            "at": iso(at),
            "run_id": run_id,
            "meeting_id": meeting_id,
            "memo": memo.model_dump(mode="json"),
            "account": account,
            "round": 0,
            "spent": {},
            "revisions": 0,
            "ended_by": protocol.before_debate(max_rounds=ctx.max_rounds) or "",
            "exchange_sync": clock.as_log(),
        },
        model="deterministic:memos.build_memo",
        input={"symbol": symbol, "at": iso(at), "timeframe": ctx.timeframe},
        output={
            "memo_id": memo.id,
            "data_hash": memo.data_hash,
            "facts": facts,
            "signals": data["signals"],
            "unknowns": list(data["unknowns"]),
            "headlines": [h["untrusted_text"] for h in data["untrusted_headlines"]],
            "account": account,
            "exchange_sync": clock.as_log(),
        },
        explanation=(
            f"Opened the {symbol} meeting at {iso(at)}: memo {memo.id} with {len(memo.facts)} facts "
            f"(price {price}, trend {trend}, news bias {bias}) and {len(memo.unknowns)} unknowns; "
            f"account equity {account['equity']}."
            + (f" Warning: {clock.note}; no order will be placed." if clock.past else "")
        ),
    )


# --- the seats' opening turns -----------------------------------------------------------
def seat_turn(role: RoleSpec) -> NodeBody:
    def body(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
        memo, memo_block = memo_of(state)
        # the meeting's blocks are in every call's shared prefix (agents.prompts)
        blocks = _context_blocks(ctx, roster_for(services), state)
        if role.seat == "risk" and role.reads_turns:  # else it opens beside the analysts
            blocks["turns"] = [
                dict(t) for t in protocol.latest_turns(state.get("turns", [])).values()
            ]
        messages = prompts.turn_messages(role, memo.symbol, state["at"], memo_block, blocks)
        asked = ask(
            ctx, services, state, node=role.id, role_id=role.id, schema=TurnDraft,
            messages=messages, stage_seat=role.seat,
        )  # fmt: skip
        draft = asked.answer.value
        if draft is None:
            gone = _abstention(asked, role.id)
            verb = "was not called" if gone["kind"] == "skipped" else "abstained"
            return Step(
                update={"abstained": [gone], "usage": asked.usage},
                model=asked.model_id,
                input=_prompt_log(messages, memo.id),
                output={"abstained": gone},
                explanation=f"{role.title} {verb}: {gone['reason']}",
            )
        assert isinstance(draft, TurnDraft)
        turn = Turn(
            **draft.model_dump(),
            id=protocol.next_turn_id(state.get("turns", []), role.id),
            role=role.id,
            round=0,
            revises=None,
        ).model_dump()
        return Step(
            update={"turns": [turn], "usage": asked.usage, "messages": [turn_message(turn)]},
            model=asked.model_id,
            input=_prompt_log(messages, memo.id),
            output=turn,
            explanation=f"{role.title}: {turn['stance']} ({turn['confidence']:.2f}, {turn['horizon']}). {turn['argument']}",
        )

    return body


# --- review and resolve -----------------------------------------------------------------
def _context_blocks(ctx: MeetingContext, roster: Roster, state: MeetingState) -> dict[str, Any]:
    return {
        "desk": desk_for(ctx),
        "lenses": {r.id: r.lens for r in roster.roles},
        "weights": {r.id: ctx.weights.get(r.id, r.weight) for r in roster.roles},
        "risk_role": roster.risk.id,
        "account": state.get("account", {}),
    }


def review(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    memo, memo_block = memo_of(state)
    roster = roster_for(services)
    budgets = protocol.Budgets.from_roster(roster, ctx.budget, ctx.role_budgets)
    spent = dict(state.get("spent", {}))
    turns = list(state.get("turns", []))
    current = [dict(t) for t in protocol.latest_turns(turns).values()]
    history = list(state.get("interrupts", []))
    reviewers = protocol.may_review(roster, budgets, spent)
    prompts_of: dict[str, list[Any]] = {}
    for rid in reviewers:
        role = roster.get(rid)
        blocks = {**_context_blocks(ctx, roster, state), "may_raise": list(role.may_raise)}
        prompts_of[rid] = prompts.review_messages(
            role, memo.symbol, memo_block, current, history, budgets.left(spent, rid), blocks
        )

    def job(rid: str) -> Callable[[], Asked]:
        return lambda: ask(
            ctx, services, state, node="review", role_id=rid, schema=Review,
            messages=prompts_of[rid],
        )  # fmt: skip

    parallel = _parallel(ctx, services, reviewers)
    jobs: list[Callable[[], Asked]] = [job(r) for r in reviewers]
    chair = roster.chair
    spec_messages = (
        _chair_messages(state, ctx, services) if _speculates(ctx, services, state) else None
    )
    if spec_messages is not None:
        jobs.append(
            lambda: ask(
                ctx,
                services,
                state,
                node="review",
                role_id=chair.id,
                schema=DecisionDraft,
                messages=spec_messages,
                chair=True,
                stage_seat="chair",
            )
        )
    results = _concurrently(jobs, parallel)
    answers = results[: len(reviewers)]
    raised: list[tuple[str, Mapping[str, Any]]] = []
    asked: dict[str, Any] = {}
    gone: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    for rid, a in zip(reviewers, answers, strict=True):
        usage = merge_usage(usage, a.usage)
        asked[rid] = {"model": a.model_id, "prompt": _prompt_log(prompts_of[rid], memo.id)}
        out = a.answer.value
        if out is None:
            gone.append(_abstention(a, "review"))
            asked[rid]["error"] = gone[-1]["reason"]
            continue
        assert isinstance(out, Review)
        raised += [(rid, d.model_dump()) for d in out.interrupts]
    adm = protocol.admit(
        raised, roster=roster, budgets=budgets, spent=spent, turns=turns, earlier=history
    )
    n = len(history)
    pending, refused = [], []
    for d in adm.admitted:
        n += 1
        pending.append({**d, "id": f"i{n}"})
    for d in adm.refused:
        n += 1
        refused.append(
            Interrupt(
                id=f"i{n}", kind=d["kind"], by=d["by"], target=str(d["target"]),
                target_role=d["target_role"], round=state.get("round", 0) + 1, text=d["text"],
                evidence=list(d["evidence"]), proposal=d["proposal"], status=d["status"],
                resolution=d["reason"], outcome=None, revised_turn=None,
            ).model_dump()
        )  # fmt: skip
    ended = protocol.after_review(
        admitted=len(pending), spent=adm.spent, budgets=budgets, roster=roster,
        reviewers=len(reviewers), silent=len(gone),
        skipped=any(g["kind"] == "skipped" for g in gone),
    )  # fmt: skip
    speculative = None
    if spec_messages is not None:
        spec = results[-1]
        usage = merge_usage(usage, spec.usage)
        final = _chair_messages({**state, "interrupts": history + refused}, ctx, services)
        if (
            ended
            and spec.answer.value is not None
            and prompt_hash(final) == prompt_hash(spec_messages)
        ):
            speculative = {
                "prompt_sha256": prompt_hash(spec_messages),
                "draft": spec.answer.value.model_dump(),
                "model": spec.model_id,
            }
    said = "; ".join(f"{p['by']} -> {p['target']}: {p['kind']}" for p in pending) or "no interrupts"
    if gone:
        said += "; " + "; ".join(f"{g['role']} {g['kind']}" for g in gone)
    return Step(
        update={
            "pending": pending,
            "interrupts": refused,
            "spent": adm.spent,
            "round": state.get("round", 0) + 1,
            "ended_by": ended or "",
            "abstained": gone,
            "usage": usage,
            "speculative": speculative,
            "messages": [interrupt_message(p) for p in pending],
        },
        model=",".join(sorted({a["model"] for a in asked.values()})) or "none",
        input={"reviewers": asked, "budget_left": budgets.left(spent)},
        output={
            "admitted": pending,
            "refused": refused,
            "spent": adm.spent,
            "ended_by": ended,
            "abstained": gone,
        },
        explanation=(
            f"Review round {state.get('round', 0) + 1}: {said}"
            + (f"; {len(refused)} not admitted" if refused else "")
            + (f". Debate ends by {ended}." if ended else ".")
        ),
    )


def _answer_for(
    state: MeetingState,
    ctx: MeetingContext,
    services: MeetingServices,
    roster: Roster,
    memo: Memo,
    memo_block: str,
    role_id: str,
    items: list[dict[str, Any]],
) -> list[tuple[dict[str, Any], Asked, list[Any], dict[str, Any]]]:
    """One seat answers its interrupts in order (an answer may revise the turn the next one
    targets); returns (interrupt, answer, prompt, the seat's turn it answered from)."""
    role = roster.get(role_id)
    turns = list(state.get("turns", []))
    own = dict(protocol.latest_turns(turns)[role.id])
    out = []
    for intr in items:
        messages = prompts.resolve_messages(
            role, memo.symbol, memo_block, own, intr, _context_blocks(ctx, roster, state)
        )
        looked: dict[str, Any] = {}
        if intr["kind"] == "clarify":  # answered by a tool call (graph.lookups)
            messages, looked = _with_lookup(ctx, services, state, role.id, messages)
        a = ask(
            ctx, services, state, node="resolve", role_id=role.id, schema=Resolution,
            messages=messages,
        )  # fmt: skip
        a.usage = merge_usage(looked, a.usage) if looked else a.usage
        out.append((intr, a, messages, own))
        res = a.answer.value
        if isinstance(res, Resolution) and res.outcome != "answered":
            view = res.model_dump(exclude={"outcome", "answer", "evidence"})
            if any(view[k] != own.get(k) for k in view):
                own = {**own, **view, "argument": res.answer,
                       "evidence": res.evidence or list(own.get("evidence", []))}  # fmt: skip
    return out


def _with_lookup(
    ctx: MeetingContext,
    services: MeetingServices,
    state: MeetingState,
    role_id: str,
    messages: list[Any],
) -> tuple[list[Any], dict[str, Any]]:
    """The clarify's prompt with the seat's look-up result (``graph.lookups``), and the usage
    of asking which look-up."""
    a = ask(
        ctx, services, state, node="resolve", role_id=role_id, schema=LookUp,
        messages=lookups.lookup_messages(messages),
    )  # fmt: skip
    if not isinstance(a.answer.value, LookUp):
        return messages, a.usage
    at = parse_utc(state["at"])
    symbol = state["memo"]["symbol"]
    tools = lookups.seat_tools(market_for(ctx, services, symbol, at), at)
    looked = lookups.run_lookup(a.answer.value, tools, symbol, state["at"])
    return (lookups.with_result(messages, looked) if looked else messages), a.usage


def resolve(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    memo, memo_block = memo_of(state)
    roster = roster_for(services)
    budgets = protocol.Budgets.from_roster(roster, ctx.budget, ctx.role_budgets)
    turns = list(state.get("turns", []))
    pending = list(state.get("pending", []))
    by_role: dict[str, list[dict[str, Any]]] = {}
    for intr in pending:
        by_role.setdefault(intr["target_role"], []).append(intr)
    roles = list(by_role)

    def job(rid: str) -> Callable[[], Any]:
        return lambda: _answer_for(
            state, ctx, services, roster, memo, memo_block, rid, by_role[rid]
        )

    done = {
        rid: res
        for rid, res in zip(
            roles, _concurrently([job(r) for r in roles], _parallel(ctx, services, roles)),
            strict=True,
        )
    }  # fmt: skip
    answered = {intr["id"]: (a, msgs) for rid in roles for intr, a, msgs, _ in done[rid]}
    new_turns: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    models: set[str] = set()
    prompts_log: dict[str, Any] = {}
    gone: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    round_ = state.get("round", 1)
    for intr in pending:  # in the order raised, as before
        role = roster.get(intr["target_role"])
        own = dict(protocol.latest_turns(turns + new_turns)[role.id])
        a, messages = answered[intr["id"]]
        models.add(a.model_id)
        usage = merge_usage(usage, a.usage)
        prompts_log[intr["id"]] = _prompt_log(messages, memo.id)
        res = a.answer.value
        revised_id = None
        outcome: Outcome | None
        status: Literal["resolved", "over_budget", "abstained"] = "resolved"
        if res is None:
            g = _abstention(a, "resolve")
            gone.append(g)
            answer, outcome = (
                f"{g['kind'].upper()}: no answer from {a.model_id}: {g['reason']}",
                None,
            )
            status = "over_budget" if g["kind"] == "skipped" else "abstained"
        else:
            assert isinstance(res, Resolution)
            answer, outcome = res.answer, res.outcome
            view = res.model_dump(exclude={"outcome", "answer", "evidence"})
            changed = any(view[k] != own.get(k) for k in view)
            if outcome != "answered" and changed:
                turn = Turn(
                    **view,
                    argument=res.answer,
                    evidence=res.evidence or list(own.get("evidence", [])),
                    id=protocol.next_turn_id(turns + new_turns, role.id),
                    role=role.id,
                    round=round_,
                    revises=str(own["id"]),
                ).model_dump()
                new_turns.append(turn)
                revised_id = turn["id"]
        closed.append(
            Interrupt(
                id=intr["id"], kind=intr["kind"], by=intr["by"], target=str(intr["target"]),
                target_role=role.id, round=round_, text=intr["text"], evidence=list(intr["evidence"]),
                proposal=intr["proposal"], status=status, resolution=answer, outcome=outcome,
                revised_turn=revised_id,
            ).model_dump()
        )  # fmt: skip
    ended = protocol.after_resolve(
        round_=round_,
        max_rounds=ctx.max_rounds,
        spent=state.get("spent", {}),
        budgets=budgets,
        roster=roster,
        revised=len(new_turns),
    )
    if not ended and any(g["kind"] == "skipped" for g in gone):
        ended = "budget"
    said = "; ".join(f"{c['id']} {c['kind']} -> {c['target_role']}: {c['outcome']}" for c in closed)
    return Step(
        update={
            "turns": new_turns,
            "interrupts": closed,
            "pending": [],
            "ended_by": ended or "",
            "abstained": gone,
            "usage": usage,
            "messages": turn_messages(new_turns),
        },
        model=",".join(sorted(models)) or "none",
        input={"pending": pending, "prompts": prompts_log},
        output={"interrupts": closed, "revised_turns": new_turns, "ended_by": ended},
        explanation=f"Answers: {said or 'none'}." + (f" Debate ends by {ended}." if ended else ""),
    )


# --- the chair, validation, approval ----------------------------------------------------
def chair_decides(role: RoleSpec) -> NodeBody:
    def body(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
        memo, memo_block = memo_of(state)
        roster = roster_for(services)
        revising = state.get("revisions", 0) > 0
        error = state.get("draft_error") if revising else None
        messages = prompts.decide_messages(
            role, memo.symbol, memo_block,
            [dict(t) for t in protocol.latest_turns(state.get("turns", [])).values()],
            list(state.get("interrupts", [])), _context_blocks(ctx, roster, state), error,
        )  # fmt: skip
        spec = state.get("speculative")
        if not revising and spec and spec["prompt_sha256"] == prompt_hash(messages):
            # asked concurrently with the review that ended the debate, with this very prompt
            out = DecisionDraft.model_validate(spec["draft"]).model_dump()
            return Step(
                update={
                    "draft": out,
                    "draft_error": None,
                    "speculative": None,
                    "messages": [draft_message(role.id, out, revision=0)],
                },
                model=spec["model"],
                input=_prompt_log(messages, memo.id),
                output={"draft": out, "error": None, "revise": False, "asked_during_review": True},
                explanation=f"{role.title}: {out['action']} ({out['confidence']}), asked "
                f"concurrently with the last review. {out['rationale']}",
            )
        a = ask(
            ctx, services, state, node=role.id, role_id=role.id, schema=DecisionDraft,
            messages=messages, chair=True, stage_seat="chair",
        )  # fmt: skip
        draft = a.answer.value
        update: dict[str, Any] = {"usage": a.usage, "speculative": None}
        err: str | None = None
        if draft is None:
            g = _abstention(a, role.id)
            update["abstained"] = [g]
            err = f"{g['kind']}: {g['reason']}"
            update["chair_failed"] = "budget_exhausted" if g["kind"] == "skipped" else "abstained"
        drafted = draft.model_dump() if draft is not None else None
        update.update({"draft": drafted, "draft_error": err})
        if drafted is not None:
            update["messages"] = [
                draft_message(role.id, drafted, revision=state.get("revisions", 0))
            ]
        what = (
            f"{drafted['action']} ({drafted['confidence']})" if drafted else f"no decision: {err}"
        )
        return Step(
            update=update,
            model=a.model_id,
            input=_prompt_log(messages, memo.id),
            output={"draft": drafted, "error": err, "revise": revising},
            explanation=f"{role.title}{' (revise)' if revising else ''}: {what}. "
            + (drafted["rationale"] if drafted else ""),
        )

    return body


def _validation_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'decision'}: {e['msg']} (got {e.get('input')!r})"
        for e in exc.errors()
    )


def meeting_status(state: Mapping[str, Any], roster: Roster) -> str:
    """``model_unavailable`` when no seat said anything usable (every opening seat and the
    chair abstained), ``budget_exhausted`` when the chair could not be called, else ``done``."""
    failed = state.get("chair_failed")
    if failed == "budget_exhausted":
        return "budget_exhausted"
    if failed == "abstained":
        spoke = {t["role"] for t in state.get("turns", [])}
        if not spoke:
            return "model_unavailable"
    return "done"


def validate(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    memo, _ = memo_of(state)
    draft, error = state.get("draft"), state.get("draft_error")
    revisions = state.get("revisions", 0)
    decision: Decision | None = None
    if draft is not None and error is None:
        try:
            decision = Decision(**draft, symbol=memo.symbol, memo_id=memo.id)
        except (ValidationError, TypeError) as exc:
            error = _validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
    model = "pydantic:decisions.schema.Decision"
    if decision is not None:
        d = decision.model_dump(mode="json")
        return Step(
            update={"decision": d, "draft_error": None, "fallback": None, "status": "done"},
            model=model,
            input={"draft": draft},
            output={"valid": True, "decision": d},
            explanation=f"Decision valid: {d['action']} confidence {d['confidence']}.",
        )
    status = meeting_status(state, roster_for(services))
    if revisions < 1 and draft is not None:
        return Step(
            update={"decision": None, "draft_error": error, "revisions": revisions + 1},
            model=model,
            input={"draft": draft},
            output={"valid": False, "error": error, "next": "revise"},
            explanation=f"Decision invalid, sent back to the chair for one revise: {error}",
        )
    if status == "budget_exhausted":
        reason = f"FALLBACK FLAT (budget_exhausted): the chair could not be called: {error}"
    elif status == "model_unavailable":
        reason = f"FALLBACK FLAT (model_unavailable): every seat abstained; the chair: {error}"
    elif draft is None:
        reason = f"FALLBACK FLAT: the chair gave no usable decision: {error}"
    else:
        reason = f"FALLBACK FLAT: the chair's decision was invalid after one revise: {error}"
    flat = Decision(
        action="FLAT", symbol=memo.symbol, entry_type="market", entry=None, stop_loss=None,
        take_profit=None, confidence=0.0, horizon="n/a", leverage=1.0,
        main_path="Stand aside: no valid decision.", backup_path="Meet again at the next step.",
        triggers=[], rationale=reason[:2000], dissent=[], memo_id=memo.id,
    ).model_dump(mode="json")  # fmt: skip
    return Step(
        update={"decision": flat, "draft_error": error, "fallback": reason, "status": status},
        model=model,
        input={"draft": draft},
        output={
            "valid": False,
            "error": error,
            "next": "fallback",
            "decision": flat,
            "status": status,
        },
        explanation=reason,
    )


def approval(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    """Pause for a human (LangGraph ``interrupt``); resume with ``{"approve": true|false}``."""
    decision = state["decision"]
    answer = interrupt(
        {
            "question": f"Approve {decision['action']} {decision['symbol']}?",
            "meeting_id": state.get("meeting_id"),
            "run_id": state.get("run_id"),
            "decision": decision,
            "resume_with": {"approve": True, "note": "optional"},
        }
    )
    ok = bool(answer.get("approve")) if isinstance(answer, dict) else bool(answer)
    note = str(answer.get("note", "")) if isinstance(answer, dict) else ""
    record = {"approved": ok, "note": note, "by": "human"}
    update: dict[str, Any] = {"approval": record}
    if not ok:
        update["decision"] = {
            **decision,
            "action": "FLAT",
            "rationale": f"REJECTED by the human approver{': ' + note if note else ''}. Was: "
            f"{decision['action']} — {decision['rationale']}"[:2000],
        }
    return Step(
        update=update,
        model="human",
        input={"decision": decision},
        output=record,
        explanation=f"Human {'approved' if ok else 'rejected'} {decision['action']}{': ' + note if note else ''}.",
    )


# --- gate and execution -----------------------------------------------------------------
def clock_at_meeting(
    state: MeetingState, ctx: MeetingContext, services: MeetingServices, exchange: Any
) -> ExchangeSync:
    """Where the exchange's clock stands for the gate and the executor. ``open`` synced it once;
    it is synced again only when the exchange is behind the meeting (a meeting resumed in a new
    process on a fresh exchange), and reported ``past`` when something moved it beyond."""
    symbol, at = state["symbol"], parse_utc(state["at"])
    now = exchange_now_ns(exchange, symbol) if is_clocked(exchange) else None
    rec = state.get("exchange_sync")
    if rec is not None and (now is None or now == at.value):
        return ExchangeSync(**rec)
    return sync_exchange(exchange, market_for(ctx, services, symbol, at), symbol, at)


def gate(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    memo, _ = memo_of(state)
    decision = Decision.model_validate(state["decision"])
    limits = ctx.limits()
    exchange = exchange_for(ctx, services, state["run_id"])
    clock = clock_at_meeting(state, ctx, services, exchange)
    desk = services.desk
    at = parse_utc(state["at"])
    vetting = vet(
        decision,
        memo,
        exchange,
        limits,
        at=at.to_pydatetime(),
        past=clock.past,
        clock_note=clock.note,
        breaker=None if desk is None else desk.breaker,
        opened_at=None if desk is None else desk.opened_at(memo.symbol),
    )
    result = vetting.gate
    g = result.model_dump(mode="json")
    failed = [f"{r.rule}: {r.message}" for r in result.reasons if not r.passed]
    clamps = [f"{c.field} {c.before}->{c.after} ({c.rule})" for c in result.clamps]
    manage = None if vetting.manage is None else vetting.manage.model_dump(mode="json")
    return Step(
        update={"gate": g, "manage": manage},
        model="deterministic:decisions.risk_gate",
        input={
            "decision": state["decision"],
            "account": vetting.account,
            "limits": limits.model_dump(mode="json"),
            "exchange_sync": clock.as_log(),
        },
        output={**g, "manage": manage},
        explanation=f"Gate {result.verdict}"
        + (f"; failed: {'; '.join(failed)}" if failed else "")
        + (f"; clamped: {'; '.join(clamps)}" if clamps else "")
        + (
            f"; plan {result.plan.side} {result.plan.quantity} x{result.plan.leverage}, "
            f"stop {result.plan.stop_loss}, target {result.plan.take_profit}"
            if result.plan
            else ""
        ),
    )


def execute(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    result = GateResult.model_validate(state["gate"])
    manage = state.get("manage")
    exchange = exchange_for(ctx, services, state["run_id"])
    clock = clock_at_meeting(state, ctx, services, exchange)
    vetting = Vetting(
        gate=result,
        account={},
        manage=None if manage is None else ManagePlan.model_validate(manage),
    )
    if clock.past and (result.plan is not None or vetting.manage is not None):
        # the exchange moved past the meeting after the gate (a shared or resumed exchange)
        ex: dict[str, Any] = {
            "kind": "entry" if manage is None else "manage",
            **ExecutionReport(
                client_order_id=state["meeting_id"],
                symbol=state["symbol"],
                status="NOT_EXECUTED",
                note=f"not executed: {clock.note}",
            ).model_dump(mode="json"),
        }
    else:
        ex = carry_out(
            vetting,
            exchange,
            symbol=state["symbol"],
            client_order_id=state["meeting_id"],
            dry_run=ctx.dry_run,
        )
    if ctx.journal:
        entry = meeting_journal_entry({**state, "execution": ex}, exchange)
        write_journal(
            state["run_id"],
            [redact_obj(entry, ailog_for(ctx, services, state["run_id"]).secrets)],
            meta=journal_meta(ctx, state),
            home=home_of(ctx),
        )
    order_id = ex.get("entry_order_id") or ex.get("order_id")
    if ex.get("kind") == "manage":
        explanation = f"Manage {ex.get('action')}: {ex.get('status')}" + (
            f"; {ex['note']}" if ex.get("note") else ""
        )
    else:
        explanation = (
            f"Execution {ex['status']}"
            + (
                f": entry {ex['entry_order_id']} {ex.get('quantity')} @ "
                f"{ex.get('entry_price') or 'market'}, stop-loss {ex.get('stop_loss_price')} "
                f"(order {ex.get('stop_loss_order_id') or 'placed when the entry fills'}), "
                f"take-profit {ex.get('take_profit_price')} "
                f"(order {ex.get('take_profit_order_id') or 'placed when the entry fills'})"
                if ex.get("entry_order_id")
                else ""
            )
            + (f"; {ex['rejection_reason']}" if ex.get("rejection_reason") else "")
            + (f"; {ex['note']}" if ex.get("note") else "")
        )
    return Step(
        update={"execution": ex},
        model="deterministic:exchange.executor",
        input={"plan": state["gate"].get("plan"), "manage": manage},
        output={**ex, "exchange_sync": clock.as_log()},
        explanation=explanation,
        order_id=order_id if (order_id and ex.get("status") != "NOTHING") else None,
    )


def meeting_journal_entry(state: Mapping[str, Any], exchange: Any = None) -> dict[str, Any]:
    """The decision journal's record of one meeting (``decisions.journal`` format)."""
    execution = state.get("execution") or {}
    ids = [
        execution.get(k)
        for k in ("entry_order_id", "stop_loss_order_id", "take_profit_order_id", "order_id")
    ]
    orders = [exchange.get_order(i) for i in ids if i] if exchange is not None else []
    return journal_entry(
        memo=state.get("memo"),
        turns=state.get("turns", []),
        interrupts=state.get("interrupts", []),
        decision=state.get("decision"),
        gate_result=state.get("gate"),
        execution=execution,
        orders=orders,
        fills=execution.get("fills", []),
        symbol=state["symbol"],
        at=state["at"],
        meeting_id=state.get("meeting_id"),
        ended_by=state.get("ended_by"),
        fallback=state.get("fallback"),
        approval=state.get("approval"),
        status=state.get("status") or "done",
        usage=state.get("usage") or {},
        abstained=state.get("abstained", []),
    )


def journal_meta(ctx: MeetingContext, state: Mapping[str, Any]) -> dict[str, Any]:
    memo = state.get("memo") or {}
    return {
        # no run id or home: a rerun in another directory gives the same bytes
        "config": ctx.snapshot() | {"run_id": None, "home": None},
        "data_hash": memo.get("data_hash"),
        "git_commit": git_commit(),
        "prompt_version": prompts.PROMPT_VERSION,
    }
