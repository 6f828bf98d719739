"""One step of the desk's trading cycle at ``t``: the same code for replay and the schedule.

1. ``sync_and_begin``: every symbol's exchange clock advanced to ``t`` over its bars and the
   cycle moved by what happened (``Desk.sync``); the symbols due a meeting move to QUALIFY.
2. the meetings (decide only) are held by the caller: in this process, a process pool, or
   Celery workers — ``meeting_tasks`` builds what each needs.
3. ``conclude_outcome``, in symbol order: the decision vetted and carried out on the one
   account, the gate's verdict logged, the cycle moved and the decision recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from backtest.replay_worker import MeetingOutcome, MeetingTask
from decisions.schema import Decision
from exchange.clock import BarSeries
from graph.ailog import AILogWriter
from graph.desk import Desk, meeting_extra
from graph.vetting import Vetting
from memos.models import Memo
from tools.timeutil import iso

CarryOut = Callable[[Desk, Memo, Decision, pd.Timestamp, dict[str, Any]], tuple[Vetting, dict]]


def sync_and_begin(
    desk: Desk,
    symbols: tuple[str, ...] | list[str],
    bases: Mapping[str, BarSeries | None],
    t: pd.Timestamp,
    *,
    due: Callable[[str], bool] | None = None,
) -> list[str]:
    """Sync every symbol to ``t``; open a meeting for each symbol due one (``due``: all)."""
    at = iso(t)
    began = []
    for s in symbols:
        desk.sync(s, bases.get(s), t)
        if (due is None or due(s)) and desk.begin(s, at):
            began.append(s)
    return began


def meeting_tasks(
    desk: Desk, began: list[str], t: pd.Timestamp, run_id: str, context: dict[str, Any]
) -> list[MeetingTask]:
    """The decide-only meetings to hold at ``t``, each seeing the desk's account now."""
    ctx = {**context, "weights": dict(desk.weights)}
    account = desk.account_summary()
    return [MeetingTask(s, iso(t), run_id, ctx, account) for s in began]


def outcome_extra(out: MeetingOutcome) -> dict[str, Any]:
    return meeting_extra(
        memo=out.memo, turns=out.turns, interrupts=out.interrupts,
        ended_by=out.ended_by, fallback=out.fallback,
    )  # fmt: skip


def default_carry_out(client_order_id: str) -> CarryOut:
    def run(
        desk: Desk, memo: Memo, decision: Decision, t: pd.Timestamp, record: dict[str, Any]
    ) -> tuple[Vetting, dict]:
        return desk.vet_and_carry_out(memo, decision, t, client_order_id=client_order_id,
                                      record=record)  # fmt: skip

    return run


def conclude_outcome(
    desk: Desk,
    out: MeetingOutcome,
    t: pd.Timestamp,
    *,
    ailog: AILogWriter | None,
    run_id: str,
    carry: CarryOut | None = None,
) -> tuple[Vetting, dict[str, Any], str]:
    """Vet, carry out, log the gate and conclude one meeting; returns (vetting, execution,
    decision id). ``carry`` replaces the plain vet-and-place (the schedule's find-before-place)."""
    at = iso(t)
    if ailog is not None:
        for rec in out.records:
            ailog.append(rec, run_id=run_id)
    memo = Memo.model_validate(out.memo)
    decision = Decision.model_validate(out.decision)
    extra = outcome_extra(out)
    run = carry or default_carry_out(out.meeting_id)
    vetting, execution = run(desk, memo, decision, t, {"decision": out.decision, **extra})
    gate = vetting.gate.model_dump(mode="json")
    manage = None if vetting.manage is None else vetting.manage.model_dump(mode="json")
    desk.log("QUALIFY", "gate", out.symbol, at,
             f"Gate {gate['verdict']}: " + "; ".join(
                 f"{r['rule']}: {r['message']}" for r in gate["reasons"] if not r["passed"]),
             {**gate, "manage": manage}, input={"decision": out.decision, "account": vetting.account})  # fmt: skip
    decision_id = desk.conclude(
        symbol=out.symbol, at=at, meeting_id=out.meeting_id, decision=out.decision,
        gate=gate, manage=manage, execution=execution, extra=extra,
    )  # fmt: skip
    return vetting, execution, decision_id
