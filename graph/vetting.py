"""ENTER and MANAGE, written once: what a meeting's decision becomes on the desk's account.

Both the meeting graph's ``gate`` / ``execute`` nodes and the desk's replay loop call these two
functions, so a decision is vetted and carried out by the same rules however the meeting ran.

- ``vet``: with a position open on the symbol the decision is a *manage* question (hold / close
  / tighten, ``decisions.manage``); the risk gate decides, its R00 rules
  (``decisions.preconditions``: ``R00_position_open``, ``R00_clock``, ``R00_market``,
  ``R00_p_win``) fed from the memo and the desk, with the desk's breaker state so R04 and R05 see
  the desk's history.
- ``carry_out``: place the gate's bracket, or close / tighten the position, or nothing on a dry
  run; a stale working entry is cancelled before a new one is placed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from decisions.account import account_state_from_exchange
from decisions.circuit_breaker import BreakerState
from decisions.limits import RiskLimits
from decisions.manage import ManagePlan, manage_position
from decisions.market import MarketSnapshot
from decisions.preconditions import GateInputs, OpenPosition
from decisions.risk_gate import risk_gate
from decisions.schema import Decision, GateResult
from exchange.closing import close_position, open_position, tighten_stop, working_stop
from exchange.executor import ExecutionReport, execute_gate_result
from memos.models import F_ATR, F_PRICE, U_STALE, Memo


@dataclass(frozen=True)
class Vetting:
    """The gate's verdict on a new entry, and the manage plan when a position was open."""

    gate: GateResult
    account: dict[str, Any]
    manage: ManagePlan | None = None


def gate_inputs(
    memo: Memo,
    *,
    past: bool = False,
    clock_note: str = "",
    p_win: float | None = None,
    open_position: OpenPosition | None = None,
) -> GateInputs:
    """The R00 rules' inputs (``decisions.preconditions``) read from the memo and the desk."""
    price, atr = memo.value(F_PRICE), memo.value(F_ATR)
    return GateInputs(
        memo_id=memo.id,
        market_missing=price is None or atr is None or price <= 0 or atr <= 0,
        stale=tuple(u.text for u in memo.unknowns if u.id == U_STALE),
        exchange_past=past,
        clock_note=clock_note,
        p_win=p_win,
        open_position=open_position,
    )


def vet(
    decision: Decision,
    memo: Memo,
    exchange: Any,
    limits: RiskLimits,
    *,
    at: datetime,
    past: bool = False,
    clock_note: str = "",
    breaker: BreakerState | None = None,
    opened_at: datetime | None = None,
    p_win: float | None = None,
) -> Vetting:
    """The decision against the account: a manage plan over an open position, else the gate
    (whose R00 rules deny a second entry, a past exchange clock, a missing or stale price)."""
    account = account_state_from_exchange(exchange, breaker=breaker, limits=limits, at=at)
    acc = account.model_dump(mode="json")
    pos = open_position(exchange, decision.symbol)
    plan: ManagePlan | None = None
    held: OpenPosition | None = None
    if pos is not None:
        stop = working_stop(exchange, decision.symbol, pos.quantity)
        plan = manage_position(
            decision,
            quantity=pos.quantity,
            current_stop=None if stop is None else stop.request.trigger_price,
            price=float(memo.value(F_PRICE) or pos.entry_price),
            atr=float(memo.value(F_ATR) or 0.0),
            opened_at=opened_at,
            at=at,
            limits=limits,
        )
        held = OpenPosition(
            symbol=decision.symbol,
            quantity=pos.quantity,
            manage_note=f"{plan.action}: {plan.reason}",
        )
    inputs = gate_inputs(memo, past=past, clock_note=clock_note, p_win=p_win, open_position=held)
    market = None
    if not inputs.market_missing:
        market = MarketSnapshot.model_validate(
            {"symbol": memo.symbol, "at": memo.at, "price": memo.value(F_PRICE),
             "atr": memo.value(F_ATR)}
        )  # fmt: skip  # qty step and tick default from the symbol's contract spec
    gate = risk_gate(decision, market, account, limits, inputs)
    return Vetting(gate=gate, account=acc, manage=plan)


def cancel_stale_entries(exchange: Any, symbol: str) -> list[str]:
    """Cancel working entries (not reduce-only) left from an earlier meeting on ``symbol``."""
    out = []
    for o in exchange.open_orders(symbol):
        if not o.request.reduce_only and o.parent_id is None:
            exchange.cancel(o.id)
            out.append(o.id)
    return out


def carry_out(
    vetting: Vetting,
    exchange: Any,
    *,
    symbol: str,
    client_order_id: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Do what the vetting allows on ``exchange``; returns the execution record (JSON)."""
    m = vetting.manage
    if m is not None:
        if dry_run or m.action == "hold":
            note = "dry run: nothing placed" if dry_run else f"hold: {m.reason}"
            return {"kind": "manage", "action": m.action, "status": "NOTHING",
                    "symbol": symbol, "note": note, "manage": m.model_dump(mode="json")}  # fmt: skip
        rep = (
            close_position(exchange, symbol, client_order_id=f"{client_order_id}-close")
            if m.action == "close"
            else tighten_stop(exchange, symbol, float(m.stop_loss or 0.0))
        )
        return {
            "kind": "manage",
            **rep.model_dump(mode="json"),
            "manage": m.model_dump(mode="json"),
        }
    gate = vetting.gate
    if dry_run and gate.plan is not None:
        report = ExecutionReport(
            client_order_id=client_order_id, symbol=symbol, status="NOT_EXECUTED",
            note="dry run: gated, nothing placed",
        )  # fmt: skip
    else:
        canceled = cancel_stale_entries(exchange, symbol) if gate.plan is not None else []
        report = execute_gate_result(gate, exchange, client_order_id=client_order_id)
        if canceled:
            report = report.model_copy(
                update={"note": f"canceled stale entries {', '.join(canceled)}"}
            )
    out = {"kind": "entry", **report.model_dump(mode="json")}
    if gate.plan is not None:  # the bracket's levels, named even before the children exist
        out["stop_loss_price"] = gate.plan.stop_loss
        out["take_profit_price"] = gate.plan.take_profit
        out["entry_price"] = gate.plan.entry_price
        out["quantity"] = gate.plan.quantity
    return out
