"""ENTER and MANAGE, written once: what a meeting's decision becomes on the desk's account.

Both the meeting graph's ``gate`` / ``execute`` nodes and the desk's replay loop call these two
functions, so a decision is vetted and carried out by the same rules however the meeting ran.

- ``vet``: with a position open on the symbol the decision is a *manage* question (hold / close
  / tighten, ``decisions.manage``) and the gate denies a second entry (``R00_position_open``);
  otherwise the pre-gate blockers (``R00_clock``, ``R00_market``) and the risk gate decide, with
  the desk's breaker state so R04 and R05 see the desk's history.
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
from decisions.risk_gate import risk_gate
from decisions.schema import Decision, GateReason, GateResult
from exchange.closing import close_position, open_position, tighten_stop, working_stop
from exchange.executor import ExecutionReport, execute_gate_result
from memos.models import U_STALE, Memo

POSITION_OPEN = "R00_position_open"


@dataclass(frozen=True)
class Vetting:
    """The gate's verdict on a new entry, and the manage plan when a position was open."""

    gate: GateResult
    account: dict[str, Any]
    manage: ManagePlan | None = None


def market_blockers(memo: Memo, past: bool, clock_note: str) -> list[GateReason]:
    """Why no order may be sized at all, before the gate: the exchange is already past the
    meeting (an order would land in its future), or the memo has no usable or no fresh price."""
    out: list[GateReason] = []
    if past:
        out.append(GateReason(rule="R00_clock", message=clock_note, passed=False))
    price, atr = memo.value("market.price"), memo.value("market.atr_14")
    if price is None or atr is None or price <= 0 or atr <= 0:
        out.append(
            GateReason(rule="R00_market", message=f"no price/ATR in memo {memo.id}", passed=False)
        )
    for u in memo.unknowns:
        if u.id == U_STALE:
            out.append(
                GateReason(
                    rule="R00_market",
                    message=f"stale data in memo {memo.id} ({u.text}); no order is sized on "
                    "a stale price",
                    passed=False,
                )
            )
    return out


def p_win_blockers(p_win: float | None, limits: RiskLimits) -> list[GateReason]:
    """``R00_p_win``: with ``limits.min_p_win`` set, an entry needs the review loop's P(win)
    estimate at or above it (no estimate: denied, the check fails closed)."""
    if limits.min_p_win is None:
        return []
    if p_win is None or p_win < limits.min_p_win:
        got = "no estimate" if p_win is None else f"{p_win:.3f}"
        return [GateReason(rule="R00_p_win", message=f"P(win) {got} < minimum "
                           f"{limits.min_p_win:g}", passed=False)]  # fmt: skip
    return []


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
    """The decision against the account: a manage plan over an open position, else the gate."""
    account = account_state_from_exchange(exchange, breaker=breaker, limits=limits, at=at)
    acc = account.model_dump(mode="json")
    pos = open_position(exchange, decision.symbol)
    if pos is not None:
        stop = working_stop(exchange, decision.symbol, pos.quantity)
        plan = manage_position(
            decision,
            quantity=pos.quantity,
            current_stop=None if stop is None else stop.request.trigger_price,
            price=float(memo.value("market.price") or pos.entry_price),
            atr=float(memo.value("market.atr_14") or 0.0),
            opened_at=opened_at,
            at=at,
            limits=limits,
        )
        reason = GateReason(
            rule=POSITION_OPEN,
            message=f"{decision.symbol} position {pos.quantity:g} open: no second entry; "
            f"manage it ({plan.action}: {plan.reason})",
            passed=False,
        )
        denied = GateResult(verdict="DENIED", reasons=[reason], clamps=[], plan=None)
        return Vetting(gate=denied, account=acc, manage=plan)
    blockers = market_blockers(memo, past, clock_note) + p_win_blockers(p_win, limits)
    if blockers:
        return Vetting(
            gate=GateResult(verdict="DENIED", reasons=blockers, clamps=[], plan=None), account=acc
        )
    market = MarketSnapshot.model_validate(
        {
            "symbol": memo.symbol,
            "at": memo.at,
            "price": memo.value("market.price"),
            "atr": memo.value("market.atr_14"),
        }
    )  # qty step and tick default from the symbol's contract spec
    return Vetting(gate=risk_gate(decision, market, account, limits), account=acc)


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
