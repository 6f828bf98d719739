"""The desk: what remembers between meetings.

One exchange account, its circuit-breaker state, the decision ledger, and per symbol where the
trading cycle stands (``graph.cycle``). The same desk object runs a single ``auraquant meet``
(its exchange is the one ``auraquant exchange positions`` shows) and every step of a replay.

A desk step for one symbol at ``at``:

1. ``sync``: advance the exchange over the stored bars to ``at`` (``exchange.clock.advance``),
   then ``observe``: an entry that filled moves ENTER -> MANAGE, a position that went flat moves
   MANAGE -> EXIT -> RECONCILE -> SCAN, a position past the maximum hold is closed; ``book``
   folds the new fills into the ledger and the breaker (daily drawdown, losing streak).
2. the meeting (QUALIFY): the graph, or a replay worker's decide-only graph.
3. ``conclude``: the decision vetted and carried out (``graph.vetting``), the cycle moved, the
   decision recorded in the ledger with the weights in force.

Every cycle transition is an AI-log record with its stage, so MANAGE and EXIT appear in the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from decisions.circuit_breaker import BreakerState, on_equity, on_fills
from decisions.ledger import DecisionRow, Ledger
from decisions.limits import RiskLimits
from decisions.manage import manage_max_hold
from decisions.schema import Decision
from exchange.clock import Advanced, BarSeries, advance
from exchange.closing import close_position, open_position
from graph.ailog import AILogWriter, Stage
from graph.cycle import SymbolCycle, begin_meeting
from graph.vetting import Vetting, carry_out, vet
from memos.models import F_ATR, F_PRICE, Memo
from tools.timeutil import iso, parse_utc

_ORDER_STAGES = ("ENTER", "MANAGE", "EXIT", "RECONCILE")
DESK_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
DEFAULT_DESK = "default"


class DeskError(ValueError):
    """A desk that cannot be used as asked; the message names the value."""


def check_desk_name(name: str) -> str:
    """Desk names and run ids: ``[A-Za-z0-9._-]{1,64}`` and not ``.``/``..`` (they name files)."""
    if not DESK_NAME.fullmatch(name) or name in (".", ".."):
        raise DeskError(f"desk: {name!r} must match [A-Za-z0-9._-]{{1,64}}")
    return name


def meeting_extra(
    *,
    memo: dict[str, Any] | None,
    turns: list[dict[str, Any]],
    interrupts: list[dict[str, Any]],
    ended_by: str | None,
    fallback: str | None,
) -> dict[str, Any]:
    """What the ledger keeps of a meeting beside its decision: the memo's id, price and ATR
    (the review loop scores from them), each seat's last stance, the interrupts."""
    facts = {f["id"]: f.get("value") for f in (memo or {}).get("facts", [])}
    stances: dict[str, dict[str, Any]] = {}
    for t in turns:  # in speaking order: a revision replaces the seat's earlier stance
        stances[t["role"]] = {"stance": t["stance"], "confidence": t["confidence"]}
    return {
        "memo_id": (memo or {}).get("id"),
        "price": facts.get(F_PRICE),
        "atr": facts.get(F_ATR),
        "stances": dict(sorted(stances.items())),
        "interrupts": [
            {"kind": i["kind"], "by": i["by"], "status": i.get("status")} for i in interrupts
        ],
        "ended_by": ended_by,
        "fallback": fallback,
    }


def _closing_order(symbol: str, fills: list[Any]) -> dict[str, str]:
    """``{"order_id": …}`` of the last of ``fills`` on ``symbol`` (what closed the position),
    or nothing when none of them is on ``symbol``."""
    last = next((f.order_id for f in reversed(fills) if f.symbol == symbol), None)
    return {} if last is None else {"order_id": last}


def _ts(at: datetime | pd.Timestamp | str) -> pd.Timestamp:
    return parse_utc(at) if isinstance(at, str) else pd.Timestamp(at).tz_convert("UTC")


@dataclass
class Desk:
    """One account, its breaker, its ledger and its cycles (see the module docstring)."""

    name: str
    exchange: Any
    limits: RiskLimits = field(default_factory=RiskLimits)
    ledger: Ledger | None = None
    run_id: str = ""
    ailog: AILogWriter | None = None
    breaker: BreakerState = field(default_factory=BreakerState)
    cycles: dict[str, SymbolCycle] = field(default_factory=dict)
    fills_booked: int = 0
    order_owner: dict[str, str] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    on_trade_closed: Any = None
    on_decision: Any = None
    concluded: list[str] = field(default_factory=list)
    """Decision ids concluded since the desk was loaded."""
    p_win_for: Any = None
    """Called with the meeting's record (decision, stances…) for the learned P(win) the gate
    may require (``RiskLimits.min_p_win``)."""
    """Called with (desk, decision_id, symbol, at, record) when a decision is concluded (the
    review loop scores it once its horizon has passed)."""
    """Called with (desk, decision_id, symbol, pnl, at) when a position's exit is reconciled
    (the review loop's P(win) learner)."""

    def __post_init__(self) -> None:
        check_desk_name(self.name)

    # --- persistence -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "breaker": self.breaker.model_dump(mode="json"),
            "cycles": {s: c.model_dump(mode="json") for s, c in sorted(self.cycles.items())},
            "fills_booked": self.fills_booked,
            "order_owner": dict(sorted(self.order_owner.items())),
        }

    def load_state(self, state: dict[str, Any] | None) -> None:
        if not state:
            return
        self.breaker = BreakerState.model_validate(state.get("breaker") or {})
        self.cycles = {
            s: SymbolCycle.model_validate(c) for s, c in (state.get("cycles") or {}).items()
        }
        self.fills_booked = int(state.get("fills_booked", 0))
        self.order_owner = dict(state.get("order_owner") or {})

    def save_state(self) -> None:
        if self.ledger is not None:
            self.ledger.save_desk_state(self.name, self.state_dict())

    # --- reads -----------------------------------------------------------------------------
    def cycle(self, symbol: str) -> SymbolCycle:
        return self.cycles.get(symbol) or SymbolCycle(symbol=symbol)

    def opened_at(self, symbol: str) -> datetime | None:
        c = self.cycles.get(symbol)
        return None if c is None or c.opened_at is None else parse_utc(c.opened_at).to_pydatetime()

    def account_summary(self) -> dict[str, Any]:
        bal = self.exchange.balance()
        return {
            "equity": round(bal.equity, 2),
            "available": round(bal.available, 2),
            "positions": [
                {"symbol": p.symbol, "quantity": p.quantity, "entry_price": p.entry_price}
                for p in self.exchange.positions()
                if p.quantity
            ],
            "open_orders": len(self.exchange.open_orders()),
        }

    # --- the AI log ------------------------------------------------------------------------
    def log(
        self,
        stage: Stage,
        node: str,
        symbol: str,
        at: str,
        explanation: str,
        output: dict[str, Any],
        order_id: str | None = None,
        input: dict[str, Any] | None = None,
    ) -> None:
        if self.ailog is None:
            return
        self.ailog.write(
            run_id=self.run_id, node=node, stage=stage, model="deterministic:graph.desk",
            input=input or {"desk": self.name, "symbol": symbol, "at": at}, output=output,
            explanation=explanation, order_id=order_id,
            extra={"meeting_id": None, "symbol": symbol, "at": at, "desk": self.name},
        )  # fmt: skip

    def _move(self, symbol: str, cycle: SymbolCycle, at: str, why: str, **out: Any) -> None:
        """Record a transition: the new cycle in memory and one AI-log record of its stage.
        A record of a stage that holds an order (ENTER, MANAGE, EXIT, RECONCILE) names it:
        the order given, else the cycle's entry order."""
        before = self.cycle(symbol).stage
        self.cycles[symbol] = cycle
        order_id = out.get("order_id") or (
            cycle.entry_order_id if cycle.stage in _ORDER_STAGES else None
        )
        self.log(
            cycle.stage, f"cycle.{cycle.stage.lower()}", symbol, at,
            f"{symbol}: {before} -> {cycle.stage}. {why}",
            {"from": before, "to": cycle.stage, **out},
            order_id=order_id,
        )  # fmt: skip

    # --- 1. sync, observe, book ------------------------------------------------------------
    def sync(self, symbol: str, bars: BarSeries | None, at: datetime | pd.Timestamp) -> Advanced:
        """Advance the exchange to ``at`` over ``bars``, then observe and book what happened."""
        t = _ts(at)
        done = advance(self.exchange, symbol, bars, int(t.value))
        self.observe(symbol, t)
        return done

    def book(self, at: pd.Timestamp) -> list[Any]:
        """Fold fills not booked yet into the ledger and the breaker; returns them."""
        fills = self.exchange.fills()
        new = fills[self.fills_booked :]
        if new:
            for f in new:
                self._own(f)
            if self.ledger is not None:
                self.ledger.record_fills(self.name, self.run_id, new, self.order_owner)
            self.breaker = on_fills(self.breaker, new, self.limits)
            self.fills_booked = len(fills)
        equity = float(self.exchange.balance().equity)
        self.breaker = on_equity(self.breaker, at.to_pydatetime(), equity, self.limits)
        return new

    def _own(self, fill: Any) -> None:
        """Link a fill's order to its decision: a bracket leg the exchange created when the
        entry filled belongs to the entry's decision; any other order on a symbol whose cycle
        holds a decision (a liquidation, a close) belongs to that one."""
        if fill.order_id in self.order_owner:
            return
        owner = None
        try:
            parent = self.exchange.get_order(fill.order_id).parent_id
        except Exception:  # an order the venue no longer reports
            parent = None
        if parent is not None and parent in self.order_owner:
            owner = self.order_owner[parent]
        else:
            c = self.cycles.get(fill.symbol)
            owner = None if c is None else c.decision_id
        if owner is not None:
            self.order_owner[fill.order_id] = owner

    def observe(self, symbol: str, at: pd.Timestamp) -> None:
        """Move the symbol's cycle to what the exchange now says (fills, exits, max hold)."""
        at_s = iso(at)
        new_fills = self.book(at)
        c = self.cycle(symbol)
        pos = open_position(self.exchange, symbol)
        if c.stage == "ENTER":
            entry = self.exchange.get_order(c.entry_order_id) if c.entry_order_id else None
            filled = entry is not None and entry.filled_quantity > 0
            if entry is not None and filled and pos is not None:
                first = next(
                    (f for f in self.exchange.fills(symbol) if f.order_id == entry.id), None
                )
                opened = iso(first.ts) if first is not None else at_s
                self._move(symbol, c.to("MANAGE", opened_at=opened), at_s,
                           f"entry {entry.id} filled; the bracket works", order_id=entry.id)  # fmt: skip
            elif entry is not None and filled and pos is None:
                self._exit(symbol, c, at_s, "entered and exited between two looks", new_fills)
            elif entry is None or entry.status.value in ("CANCELED", "EXPIRED", "REJECTED"):
                self._move(symbol, c.to("SCAN", decision_id=None, entry_order_id=None), at_s,
                           "the entry did not fill", order_id=c.entry_order_id)  # fmt: skip
            return
        if c.stage == "MANAGE":
            if pos is None:
                self._exit(symbol, c, at_s, "the position is flat (stop, target or liquidation)",
                           new_fills)  # fmt: skip
                return
            plan = manage_max_hold(
                symbol=symbol, opened_at=self.opened_at(symbol), at=at.to_pydatetime(),
                limits=self.limits,
            )  # fmt: skip
            if plan is not None:
                rep = close_position(
                    self.exchange, symbol, client_order_id=f"{c.decision_id or symbol}-maxhold"
                )
                self._move(symbol, c.to("EXIT"), at_s, f"close: {plan.reason}",
                           order_id=rep.order_id, manage=rep.model_dump(mode="json"))  # fmt: skip
            return
        if c.stage == "EXIT" and pos is None:
            self._reconcile(symbol, c, at_s, new_fills)

    def _exit(self, symbol: str, c: SymbolCycle, at_s: str, why: str, fills: list[Any]) -> None:
        mine = [f.model_dump(mode="json") for f in fills if f.symbol == symbol]
        self._move(symbol, c.to("EXIT"), at_s, why, fills=mine, **_closing_order(symbol, fills))
        self._reconcile(symbol, self.cycle(symbol), at_s, fills)

    def _reconcile(self, symbol: str, c: SymbolCycle, at_s: str, fills: list[Any]) -> None:
        """EXIT -> RECONCILE -> SCAN: the trade's PnL booked against its decision (the record
        names the order that closed it when its fill is among ``fills``)."""
        pnl = 0.0
        if c.decision_id is not None and self.ledger is not None:
            own = self.ledger.fills(decision_id=c.decision_id)
            pnl = sum(f["realized_pnl"] - f["fee"] for f in own)
            self.ledger.update_decision(c.decision_id, trade={"net_pnl": pnl, "closed_at": at_s})
        else:
            pnl = sum(f.realized_pnl - f.fee for f in fills if f.symbol == symbol)
        self._move(symbol, c.to("RECONCILE"), at_s,
                   f"trade closed, net PnL {pnl:.2f}; breaker {self.breaker.consecutive_losses} "
                   "losses in a row" + (f", tripped until {iso(self.breaker.tripped_until)}"
                                        if self.breaker.tripped_until else ""),
                   net_pnl=pnl, breaker=self.breaker.model_dump(mode="json"),
                   **_closing_order(symbol, fills))  # fmt: skip
        if self.on_trade_closed is not None and c.decision_id is not None:
            self.on_trade_closed(self, c.decision_id, symbol, pnl, at_s)
        self._move(symbol, self.cycle(symbol).to("SCAN", decision_id=None, entry_order_id=None,
                                                 opened_at=None), at_s, "ready for the next meeting")  # fmt: skip

    # --- 2. the meeting --------------------------------------------------------------------
    def begin(self, symbol: str, at: str) -> bool:
        """SCAN/ENTER/MANAGE -> QUALIFY; False (nothing done) when a meeting is already held."""
        c = begin_meeting(self.cycle(symbol))
        if c is None:
            return False
        self._move(symbol, c, at, "meeting opens")
        return True

    # --- 3. conclude -----------------------------------------------------------------------
    def vet_and_carry_out(
        self,
        memo: Memo,
        decision: Decision,
        at: pd.Timestamp,
        *,
        client_order_id: str,
        dry_run: bool = False,
        past: bool = False,
        clock_note: str = "",
        record: dict[str, Any] | None = None,
    ) -> tuple[Vetting, dict[str, Any]]:
        """ENTER or MANAGE for a decision taken outside the graph (a replay worker's)."""
        p_win = None
        if self.p_win_for is not None and record is not None:
            p_win = float(self.p_win_for(record))
        vetting = vet(
            decision, memo, self.exchange, self.limits, at=at.to_pydatetime(), past=past,
            clock_note=clock_note, breaker=self.breaker, opened_at=self.opened_at(memo.symbol),
            p_win=p_win,
        )  # fmt: skip
        execution = carry_out(
            vetting, self.exchange, symbol=memo.symbol, client_order_id=client_order_id,
            dry_run=dry_run,
        )  # fmt: skip
        return vetting, execution

    def conclude(
        self,
        *,
        symbol: str,
        at: str,
        meeting_id: str,
        decision: dict[str, Any] | None,
        gate: dict[str, Any] | None,
        manage: dict[str, Any] | None,
        execution: dict[str, Any] | None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Move the cycle after the meeting and record the decision; returns its ledger id."""
        decision_id = f"{self.name}:{self.run_id}:{meeting_id}"
        self.concluded.append(decision_id)
        c = self.cycle(symbol)
        if c.stage != "QUALIFY":  # a meeting held without begin() (langgraph dev, a test)
            c = begin_meeting(c) or c
        ex = execution or {}
        back = c.resume_stage or "SCAN"
        if ex.get("kind") == "manage":
            action = ex.get("action")
            placed = ex.get("status") in ("PLACED", "MODIFIED")
            if action == "close" and placed:
                if ex.get("order_id"):
                    self.order_owner[ex["order_id"]] = c.decision_id or decision_id
                nxt, why = c.to("EXIT"), "the meeting closes the position"
            else:
                nxt, why = c.to("MANAGE"), f"manage: {action} ({ex.get('status')})"
        elif ex.get("entry_order_id") and ex.get("status") in ("PLACED", "FILLED", "CLOSED"):
            for k in ("entry_order_id", "stop_loss_order_id", "take_profit_order_id"):
                if ex.get(k):
                    self.order_owner[ex[k]] = decision_id
            nxt, why = (
                c.to("ENTER", decision_id=decision_id, entry_order_id=ex["entry_order_id"]),
                (f"entry {ex['entry_order_id']} placed"),
            )
        else:
            target = "SCAN" if back == "SCAN" else back
            nxt = c.to(target)
            why = f"no order ({ex.get('status') or 'no execution'}); back to {target}"
        self._move(symbol, nxt.model_copy(update={"resume_stage": None}), at, why,
                   order_id=ex.get("entry_order_id") or ex.get("order_id"))  # fmt: skip
        if self.ledger is not None:
            d = decision or {}
            record = {
                "decision": decision,
                "gate": gate,
                "manage": manage,
                "execution": execution,
                "weights": dict(sorted(self.weights.items())),
                **(extra or {}),
            }
            row = DecisionRow(
                id=decision_id, desk=self.name, run_id=self.run_id, meeting_id=meeting_id,
                symbol=symbol, at=at, kind="manage" if manage else "entry",
                action=str(d.get("action", "FLAT")), confidence=d.get("confidence"),
                verdict=(gate or {}).get("verdict"), status=ex.get("status"), record=record,
            )  # fmt: skip
            self.ledger.record_decision(row)
        if self.on_decision is not None:
            record = {"decision": decision, "gate": gate, **(extra or {})}
            self.on_decision(self, decision_id, symbol, at, record)
        # the order may have filled already (a market entry on a fed bar): look again
        self.observe(symbol, _ts(at))
        return decision_id
