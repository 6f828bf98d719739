"""The meeting's nodes. Each one is a plain step over the state, wrapped by :func:`logged` so that
every node transition writes exactly one AI-log record when it completes.

open -> [analysts in parallel] -> risk seat -> (review -> resolve)* -> chair -> validate
     -> [approval] -> gate -> execute
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
from langchain_core.exceptions import OutputParserException
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from agents import prompts
from agents.roles import RoleSpec, Roster
from agents.schemas import DecisionDraft, Interrupt, Outcome, Resolution, Review, Turn, TurnDraft
from decisions.journal import journal_entry, write_journal
from decisions.manage import ManagePlan
from decisions.schema import Decision, GateResult
from exchange.clock import exchange_now_ns, is_clocked
from exchange.executor import ExecutionReport
from graph import protocol
from graph.ailog import redact_obj, stage_for
from graph.context import MeetingContext, coerce_context
from graph.services import (
    ExchangeSync,
    MeetingServices,
    ailog_for,
    chat_model_for,
    exchange_for,
    home_of,
    market_for,
    model_id_for,
    roster_for,
    services_for,
    structured,
    sync_exchange,
)
from graph.state import MeetingState
from graph.vetting import Vetting, carry_out, vet
from memos.models import Memo
from tools.hashing import git_commit
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


class Timings:
    """Time spent inside node bodies and inside chat-model calls, for the latency benchmark
    (the rest of a meeting's wall time is LangGraph's own). Off unless ``enabled``."""

    enabled = False
    nodes = 0.0
    models = 0.0

    @classmethod
    def reset(cls) -> None:
        cls.nodes = cls.models = 0.0


def logged(name: str, body: NodeBody, seat: str | None = None) -> Any:
    """Run ``body`` and append its AI-log record; a node that raises (or pauses for a human)
    writes nothing, so there is exactly one record per completed transition."""

    def node(state: MeetingState, runtime: Runtime[MeetingContext]) -> dict[str, Any]:
        t0 = time.perf_counter() if Timings.enabled else 0.0
        ctx = coerce_context(runtime.context)
        services = services_for(ctx)
        step = body(state, ctx, services)
        run_id = step.update.get("run_id") or state["run_id"]
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
    """The desk's working numbers, inside the gate's limits (the Risk Manager is stricter)."""
    lim = ctx.limits()
    stop = min(max(1.5, lim.min_stop_atr), lim.max_stop_atr)
    return {
        "max_stop_atr": min(3.0, lim.max_stop_atr),
        "stop_atr": stop,
        "min_reward_risk": max(2.0, lim.min_reward_risk),
        "max_leverage": lim.leverage_cap,
        "max_atr_pct": 0.03,
        "max_vol": 1.5,
    }


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


def _invoke(
    model: Any, schema: type[BaseModel], messages: list[Any]
) -> tuple[BaseModel | None, str | None]:
    """Call for structured output; a parse failure comes back as an error string, not a raise."""
    t0 = time.perf_counter() if Timings.enabled else 0.0
    try:
        parsed = structured(model, schema).invoke(messages)
    except (OutputParserException, ValidationError, ValueError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1500]
    finally:
        if Timings.enabled:
            Timings.models += time.perf_counter() - t0
    if isinstance(parsed, dict):  # some providers hand back a dict for a pydantic schema
        try:
            parsed = schema.model_validate(parsed)
        except ValidationError as exc:
            return None, f"ValidationError: {exc}"[:1500]
    if not isinstance(parsed, schema):
        return None, f"the model returned no {schema.__name__} (got {type(parsed).__name__})"
    return parsed, None


def _prompt_log(messages: list[Any], memo_id: str) -> dict[str, Any]:
    """The prompt as logged: the task and its data, the shared memo by id (logged by ``open``)."""
    human = messages[-1].content
    task = "\n\n".join(p for p in human.split("\n\n") if not p.startswith("<memo>"))
    return {
        "memo_id": memo_id,
        "prompt_sha256": hashlib.sha256(
            "\x00".join(str(m.content) for m in messages).encode()
        ).hexdigest(),
        "prompt": task,
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
    price, trend, bias = facts.get("market.price"), facts.get("tech.trend"), facts.get("news.bias")
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
            "ended_by": "",
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
        blocks: dict[str, Any] = {"desk": desk_for(ctx)}
        if role.seat != "analyst":
            blocks["account"] = state.get("account", {})
            blocks["turns"] = [
                dict(t) for t in protocol.latest_turns(state.get("turns", [])).values()
            ]
        messages = prompts.turn_messages(role, memo.symbol, state["at"], memo_block, blocks)
        model_id = model_id_for(ctx, services, role.id)
        draft, err = _invoke(chat_model_for(ctx, services, role.id), TurnDraft, messages)
        if draft is None:
            draft = TurnDraft(
                stance="FLAT", confidence=0.0, horizon="4h",
                argument=f"FALLBACK: no valid turn from {model_id}: {err}",
                evidence=[], entry=None, stop_loss=None, take_profit=None,
            )  # fmt: skip
        turn = Turn(
            **draft.model_dump(),
            id=protocol.next_turn_id(state.get("turns", []), role.id),
            role=role.id,
            round=0,
            revises=None,
        ).model_dump()
        return Step(
            update={"turns": [turn]},
            model=model_id,
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
    raised: list[tuple[str, Mapping[str, Any]]] = []
    asked: dict[str, Any] = {}
    for rid in protocol.may_review(roster, budgets, spent):
        role = roster.get(rid)
        blocks = {**_context_blocks(ctx, roster, state), "may_raise": list(role.may_raise)}
        messages = prompts.review_messages(
            role, memo.symbol, memo_block, current, history, budgets.left(spent, rid), blocks
        )
        out, err = _invoke(chat_model_for(ctx, services, rid), Review, messages)
        asked[rid] = {
            "model": model_id_for(ctx, services, rid),
            "prompt": _prompt_log(messages, memo.id),
        }
        if out is None:
            asked[rid]["error"] = err
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
        admitted=len(pending), spent=adm.spent, budgets=budgets, roster=roster
    )
    said = "; ".join(f"{p['by']} -> {p['target']}: {p['kind']}" for p in pending) or "no interrupts"
    return Step(
        update={
            "pending": pending,
            "interrupts": refused,
            "spent": adm.spent,
            "round": state.get("round", 0) + 1,
            "ended_by": ended or "",
        },
        model=",".join(sorted({a["model"] for a in asked.values()})) or "none",
        input={"reviewers": asked, "budget_left": budgets.left(spent)},
        output={"admitted": pending, "refused": refused, "spent": adm.spent, "ended_by": ended},
        explanation=(
            f"Review round {state.get('round', 0) + 1}: {said}"
            + (f"; {len(refused)} not admitted" if refused else "")
            + (f". Debate ends by {ended}." if ended else ".")
        ),
    )


def resolve(state: MeetingState, ctx: MeetingContext, services: MeetingServices) -> Step:
    memo, memo_block = memo_of(state)
    roster = roster_for(services)
    budgets = protocol.Budgets.from_roster(roster, ctx.budget, ctx.role_budgets)
    turns = list(state.get("turns", []))
    new_turns: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    models: set[str] = set()
    prompts_log: dict[str, Any] = {}
    round_ = state.get("round", 1)
    for intr in state.get("pending", []):
        role = roster.get(intr["target_role"])
        own = dict(protocol.latest_turns(turns + new_turns)[role.id])
        messages = prompts.resolve_messages(
            role, memo.symbol, memo_block, own, intr, _context_blocks(ctx, roster, state)
        )
        model_id = model_id_for(ctx, services, role.id)
        models.add(model_id)
        prompts_log[intr["id"]] = _prompt_log(messages, memo.id)
        res, err = _invoke(chat_model_for(ctx, services, role.id), Resolution, messages)
        revised_id = None
        outcome: Outcome
        if res is None:
            answer, outcome = f"FALLBACK: no valid answer from {model_id}: {err}", "maintained"
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
                proposal=intr["proposal"], status="resolved", resolution=answer, outcome=outcome,
                revised_turn=revised_id,
            ).model_dump()
        )  # fmt: skip
    ended = protocol.after_resolve(
        round_=round_,
        max_rounds=ctx.max_rounds,
        spent=state.get("spent", {}),
        budgets=budgets,
        roster=roster,
    )
    said = "; ".join(f"{c['id']} {c['kind']} -> {c['target_role']}: {c['outcome']}" for c in closed)
    return Step(
        update={"turns": new_turns, "interrupts": closed, "pending": [], "ended_by": ended or ""},
        model=",".join(sorted(models)) or "none",
        input={"pending": state.get("pending", []), "prompts": prompts_log},
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
        model_id = model_id_for(ctx, services, role.id)
        draft, err = _invoke(chat_model_for(ctx, services, role.id), DecisionDraft, messages)
        out = draft.model_dump() if draft is not None else None
        what = f"{out['action']} ({out['confidence']})" if out else f"no parseable decision: {err}"
        return Step(
            update={"draft": out, "draft_error": err},
            model=model_id,
            input=_prompt_log(messages, memo.id),
            output={"draft": out, "error": err, "revise": revising},
            explanation=f"{role.title}{' (revise)' if revising else ''}: {what}. "
            + (out["rationale"] if out else ""),
        )

    return body


def _validation_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'decision'}: {e['msg']} (got {e.get('input')!r})"
        for e in exc.errors()
    )


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
            update={"decision": d, "draft_error": None, "fallback": None},
            model=model,
            input={"draft": draft},
            output={"valid": True, "decision": d},
            explanation=f"Decision valid: {d['action']} confidence {d['confidence']}.",
        )
    if revisions < 1:
        return Step(
            update={"decision": None, "draft_error": error, "revisions": revisions + 1},
            model=model,
            input={"draft": draft},
            output={"valid": False, "error": error, "next": "revise"},
            explanation=f"Decision invalid, sent back to the chair for one revise: {error}",
        )
    reason = f"FALLBACK FLAT: the chair's decision was invalid after one revise: {error}"
    flat = Decision(
        action="FLAT", symbol=memo.symbol, entry_type="market", entry=None, stop_loss=None,
        take_profit=None, confidence=0.0, horizon="n/a", leverage=1.0,
        main_path="Stand aside: no valid decision.", backup_path="Meet again at the next step.",
        triggers=[], rationale=reason[:2000], dissent=[], memo_id=memo.id,
    ).model_dump(mode="json")  # fmt: skip
    return Step(
        update={"decision": flat, "draft_error": error, "fallback": reason},
        model=model,
        input={"draft": draft},
        output={"valid": False, "error": error, "next": "fallback", "decision": flat},
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
