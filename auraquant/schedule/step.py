"""One scheduled desk step at ``t``, exactly once per (desk, symbol, t), crash-safe.

The per-step logic is replay's (``backtest.desk_step``): sync every symbol, open the meetings
due, hold them decide-only, vet and carry out in symbol order, conclude. Around it:

- each meeting is claimed (``schedule.claims``) before it is held; a finished one is never
  held again, an unfinished one (a crash, a stop) is resumed from its checkpoint;
- the gate's verdict is stored before an order is placed, the order carries the client id
  derived from the key, and the exchange's state is saved as soon as the order is on it; a
  retry finds the order by that id instead of placing another (find-before-place);
- before each step the desk is reconciled with the exchange: a cycle left in QUALIFY by a
  crash returns to where the exchange says it is (MANAGE with a position open), and a position
  the desk did not know of is managed, never doubled by a new entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from auraquant.desks import desk_snapshot_store, open_ledger
from auraquant.schedule import hooks
from auraquant.schedule.claims import FINAL, Claims
from auraquant.schedule.keys import client_order_id, meeting_key, thread_id
from auraquant.schedule.meeting import hold_checkpointed
from backtest.desk_step import conclude_outcome, meeting_tasks, sync_and_begin
from decisions.limits import RiskLimits
from decisions.manage import ManagePlan
from decisions.schema import Decision, GateResult
from exchange.closing import open_position, working_stop
from exchange.executor import ExecutionReport, refresh
from exchange.virtual import VirtualExchange
from graph.ailog import AILOG_FILE, AILogWriter, secrets_from_env
from graph.ailog_weex import attach
from graph.desk import Desk
from graph.vetting import Vetting, carry_out, vet
from memos.market import MarketData
from memos.models import Memo
from tools.paths import runs_dir
from tools.timeutil import iso, parse_utc


@dataclass(frozen=True)
class ScheduleConfig:
    """What a scheduled desk runs: which symbols, how often, how its meetings are held."""

    desk: str
    symbols: tuple[str, ...]
    every: str = "15m"
    timeframe: str = "1h"
    model: str = "offline"
    missed: str = "skip"  # "skip" | "late": what a restart or a beat outage does with the gap
    budget: int | None = None
    exchange: str = "virtual"  # "virtual" (fed from the store) | "weex" (the WEEX_* settings)

    @property
    def run_id(self) -> str:
        """One run per scheduled desk: its AI log and its decision ids are stable."""
        return f"schedule-{self.desk}"

    def context(self) -> dict[str, Any]:
        ctx: dict[str, Any] = {"model": self.model, "timeframe": self.timeframe}
        if self.budget is not None:
            ctx["budget"] = self.budget
        return ctx

    def to_dict(self) -> dict[str, Any]:
        return {"desk": self.desk, "symbols": list(self.symbols), "every": self.every,
                "timeframe": self.timeframe, "model": self.model, "missed": self.missed,
                "budget": self.budget, "exchange": self.exchange}  # fmt: skip


@dataclass
class StepReport:
    """What one step did, per symbol."""

    at: str
    held: list[dict[str, Any]] = field(default_factory=list)
    passed: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "held": self.held, "passed": self.passed, "stopped": self.stopped}


def vetting_dict(v: Vetting) -> dict[str, Any]:
    return {
        "gate": v.gate.model_dump(mode="json"),
        "account": v.account,
        "manage": None if v.manage is None else v.manage.model_dump(mode="json"),
    }


def vetting_from(d: dict[str, Any]) -> Vetting:
    m = d.get("manage")
    return Vetting(gate=GateResult.model_validate(d["gate"]), account=dict(d["account"]),
                   manage=None if m is None else ManagePlan.model_validate(m))  # fmt: skip


def orders_for_key(exchange: Any, symbol: str, cid: str) -> list[Any]:
    """Orders on the exchange whose client id is the meeting's (``cid``, ``cid-close``)."""
    return [o for o in exchange.orders(symbol) if (o.request.client_order_id or "").startswith(cid)]


def found_execution(exchange: Any, found: list[Any], vetting: Vetting, cid: str) -> dict[str, Any]:
    """The execution record of orders a crashed attempt placed (looked up, not placed again)."""
    mine = [o for o in found if o.parent_id is None]
    o = mine[0]
    if vetting.manage is not None:
        return {"kind": "manage", "action": vetting.manage.action, "symbol": o.request.symbol,
                "status": "PLACED", "order_id": o.id, "canceled": [],
                "note": f"found on the exchange by client id {o.request.client_order_id}",
                "manage": vetting.manage.model_dump(mode="json")}  # fmt: skip
    base = ExecutionReport(client_order_id=cid, symbol=o.request.symbol, status="PLACED",
                           entry_order_id=o.id, entry_status=o.status,
                           note=f"found on the exchange by client id {cid}")  # fmt: skip
    out: dict[str, Any] = {"kind": "entry", **refresh(base, exchange).model_dump(mode="json")}
    plan = vetting.gate.plan
    if plan is not None:
        out.update(stop_loss_price=plan.stop_loss, take_profit_price=plan.take_profit,
                   entry_price=plan.entry_price, quantity=plan.quantity)  # fmt: skip
    return out


def reconcile(desk: Desk, symbols: tuple[str, ...], at: str) -> list[str]:
    """Bring the cycles in line with the exchange before a step; returns the symbols moved."""
    moved = []
    for s in symbols:
        c = desk.cycle(s)
        pos = open_position(desk.exchange, s)
        if c.stage == "QUALIFY":  # a step stopped or killed after its meetings opened
            back = "MANAGE" if pos is not None else (c.resume_stage or "SCAN")
            if back == "ENTER" and not c.entry_order_id:
                back = "SCAN"
            desk._move(s, c.to(back, resume_stage=None), at,
                       f"restart: the interrupted meeting's cycle returns to {back} "
                       "(what the exchange holds)")  # fmt: skip
            moved.append(s)
        elif c.stage == "SCAN" and pos is not None:
            q = c.to("QUALIFY", resume_stage="SCAN")
            desk._move(s, q, at, "restart: a position the desk did not know of is on the exchange")
            desk._move(s, q.to("MANAGE", opened_at=at, resume_stage=None), at,
                       f"restart: managing the {pos.quantity:g} position found on the exchange; "
                       "no new entry while it is open",
                       **protecting_order(desk.exchange, s, pos.quantity))  # fmt: skip
            moved.append(s)
    return moved


def protecting_order(exchange: Any, symbol: str, quantity: float) -> dict[str, str]:
    """``{"order_id": …}`` of the order working on a position found on the exchange (its stop,
    else any open order of the symbol), or nothing when none works."""
    stop = working_stop(exchange, symbol, quantity)
    if stop is not None:
        return {"order_id": stop.id}
    other = next(iter(exchange.open_orders(symbol)), None)
    return {} if other is None else {"order_id": other.id}


def covers(market: MarketData, symbol: str, t: pd.Timestamp) -> bool:
    """Has the store a bar of ``symbol`` closing at or after ``t`` (the meeting's price)?"""
    return market.has(symbol) and market.coverage(symbol)[1] >= t


def no_data_reason(market: MarketData, symbol: str, t: pd.Timestamp) -> str:
    last = iso(market.coverage(symbol)[1]) if market.has(symbol) else "none stored"
    return (f"skipped: no stored {symbol} bar closes at {iso(t)} (last close: {last}); keep the "
            "store current with `auraquant data follow`")  # fmt: skip


class DeskRunner:
    """Runs a scheduled desk's steps (in-process loop or a Celery worker)."""

    def __init__(
        self,
        config: ScheduleConfig,
        *,
        home: Path,
        store: Path,
        claims: Claims,
        checkpointer: Any,
        database_url: str | None = None,
        limits: RiskLimits | None = None,
        exchange: Any | None = None,
        forward: Callable[[Any], Any] | None = None,
    ) -> None:
        self.config = config
        self.exchange = exchange  # a live venue (WEEX): used as is, never saved as a snapshot
        self.forward = forward  # each step's AI-log records are also given to it (WEEX upload)
        self.weex_ailog: Any = None  # the WEEX AI-log uploader on its queue slot (venue.WeexAILog)
        self.reconciled: Any = None  # what the live venue held at start
        self.home, self.store = home, store
        self.claims = claims
        self.checkpointer = checkpointer
        self.limits = limits or RiskLimits()
        self._market: MarketData | None = None

    # --- data ------------------------------------------------------------------------------
    def market_at(self, t: pd.Timestamp) -> MarketData:
        """The store's bars, reloaded when the cached set ends before ``t`` (new bars may exist)."""
        md = self._market
        syms = self.config.symbols
        stale = md is None or any(not md.has(s) or md.coverage(s)[1] < t for s in syms)
        if stale:
            md = MarketData.from_store(list(syms), store=self.store, at=t)
            md.warm([s for s in syms if md.has(s)], self.config.timeframe)
            self._market = md
        assert md is not None
        return md

    # --- one step --------------------------------------------------------------------------
    def step(
        self,
        t: pd.Timestamp | str,
        *,
        reason: str | None = None,
        should_stop: Callable[[], bool] | None = None,
        wait_for_data: float = 0.0,
    ) -> StepReport:
        """Hold the step at ``t`` (its unfinished meetings only); ``reason`` is recorded on each
        meeting claimed (a late run); ``should_stop`` is asked after each meeting; a symbol whose
        bar closing at ``t`` is not stored after ``wait_for_data`` seconds is skipped, with why."""
        t = parse_utc(t) if isinstance(t, str) else t
        cfg, at = self.config, iso(t)
        report = StepReport(at=at)
        store = desk_snapshot_store(cfg.desk)
        exchange: Any = self.exchange
        if exchange is None:
            state = store.load()
            exchange = VirtualExchange() if state is None else VirtualExchange.from_state(state)
        ledger = open_ledger(self.home)
        ailog = AILogWriter(runs_dir(self.home) / cfg.run_id / AILOG_FILE, secrets_from_env())
        if self.forward is not None:
            attach(ailog, self.forward)
        desk = Desk(name=cfg.desk, exchange=exchange, limits=self.limits, ledger=ledger,
                    run_id=cfg.run_id, ailog=ailog)  # fmt: skip

        def persist() -> None:
            if self.exchange is None:
                store.save(desk.exchange.state_dict())
            desk.save_state()

        try:
            desk.load_state(ledger.desk_state(cfg.desk))
            if self.exchange is not None:
                self._live_upkeep(self.exchange, at, desk)
            reconcile(desk, cfg.symbols, at)
            market = self.market_at(t)
            deadline = time.monotonic() + wait_for_data
            while not all(covers(market, s, t) for s in cfg.symbols) and (
                time.monotonic() < deadline
            ):  # on the wall clock the bar closing at t may still be on its way to the store
                time.sleep(1.0)
                self._market = None
                market = self.market_at(t)
            bases = {s: market.base(s) if market.has(s) else None for s in cfg.symbols}
            keys = {s: meeting_key(cfg.desk, s, at) for s in cfg.symbols}
            prior = {s: self.claims.get(keys[s]) for s in cfg.symbols}
            for s, c in prior.items():
                if c is not None and c.status in FINAL:
                    report.passed.append({"symbol": s, "status": c.status, "reason": c.reason})

            for s in cfg.symbols:  # no bar closing at t: no meeting on a stale price
                c = prior[s]
                if (c is None or c.status not in FINAL) and not covers(market, s, t):
                    why = no_data_reason(market, s, t)
                    self.claims.skip(keys[s], cfg.desk, s, at, why)
                    prior[s] = self.claims.get(keys[s])
                    report.passed.append({"symbol": s, "status": "skipped", "reason": why})

            def due(s: str) -> bool:
                c = prior[s]
                return c is None or c.status not in FINAL

            began = sync_and_begin(desk, cfg.symbols, bases, t, due=due)
            for s in cfg.symbols:
                if due(s) and s not in began:
                    report.passed.append(
                        {"symbol": s, "status": "busy", "reason": desk.cycle(s).stage}
                    )
            for s in began:
                self.claims.claim(keys[s], cfg.desk, s, at, reason)
            persist()
            tasks = meeting_tasks(desk, began, t, cfg.run_id, cfg.context())
            for task in tasks:
                key = keys[task.symbol]
                stage = (
                    runs_dir(self.home) / cfg.run_id / "staging" / f"{client_order_id(key)}.ndjson"
                )
                out = hold_checkpointed(task, thread=thread_id(key), checkpointer=self.checkpointer,
                                        market=market, stage=stage)  # fmt: skip
                carry = self._find_before_place(key, persist)
                vetting, execution, decision_id = conclude_outcome(
                    desk, out, t, ailog=ailog, run_id=cfg.run_id, carry=carry
                )
                persist()
                self.claims.done(key, decision_id)
                stage.unlink(missing_ok=True)
                report.held.append({
                    "symbol": task.symbol, "key": key, "decision_id": decision_id,
                    "action": out.decision.get("action"), "verdict": vetting.gate.verdict,
                    "status": execution.get("status"), "client_order_id": client_order_id(key),
                })  # fmt: skip
                if should_stop is not None and should_stop() and task is not tasks[-1]:
                    report.stopped = True
                    break
            persist()
        finally:
            ailog.close()
            ledger.close()
        return report

    def close(self, drain_s: float = 0.0) -> None:
        """Release what the runner holds: the claims, and the WEEX AI-log uploader after up to
        ``drain_s`` seconds of sending (what is left stays queued on disk)."""
        try:
            self.claims.close()
        finally:
            if self.weex_ailog is not None:
                self.weex_ailog.close(drain_s)
                self.weex_ailog = None

    def _live_upkeep(self, venue: Any, at: str, desk: Desk) -> None:
        """A live venue before a step: read what it holds (once, at start), then its stops and
        maximum hold (``venue.live_upkeep``); each is logged, one record per symbol naming the
        venue's order it is about."""
        from auraquant.schedule.venue import live_upkeep

        if self.reconciled is None:
            self.reconciled = venue.reconcile()
            self._log_reconciled(desk, at)
        for ev in live_upkeep(venue, self.config.symbols):
            desk.log("MANAGE", "venue.upkeep", ev.symbol, at,
                     f"live upkeep on {ev.symbol}: {ev.action.replace('_', ' ')}"
                     + (f" (orders {', '.join(ev.order_ids)})" if ev.order_ids else ""),
                     ev.to_dict(), order_id=ev.order_ids[0] if ev.order_ids else None)  # fmt: skip

    def _log_reconciled(self, desk: Desk, at: str) -> None:
        """One RECONCILE record per position the venue holds at start (naming its stop, else
        another of its orders), or one saying it holds none."""
        rec = self.reconciled
        n_orders = len(rec.open_orders)
        for m in rec.positions:
            sym = m.position.symbol
            held = {sym: {"quantity": m.position.quantity, "stop_loss_ids": m.stop_loss_ids,
                          "take_profit_ids": m.take_profit_ids}}  # fmt: skip
            ids = m.stop_loss_ids + m.take_profit_ids
            ids += [o.id for o in rec.open_orders if o.request.symbol == sym and o.id not in ids]
            desk.log("RECONCILE", "venue.reconcile", sym, at,
                     f"at start the venue holds a {m.position.quantity:g} {sym} position "
                     f"({len(rec.positions)} position(s), {n_orders} open order(s) in all)",
                     {"positions": held, "open_orders": n_orders},
                     order_id=ids[0] if ids else None)  # fmt: skip
        if not rec.positions:
            desk.log("RECONCILE", "venue.reconcile", ",".join(self.config.symbols), at,
                     f"at start the venue holds no position and {n_orders} open order(s)",
                     {"positions": {}, "open_orders": n_orders})  # fmt: skip

    def _find_before_place(self, key: str, persist: Callable[[], None]) -> Any:
        claims, cid = self.claims, client_order_id(key)

        def carry(
            desk: Desk, memo: Memo, decision: Decision, t: pd.Timestamp, record: dict[str, Any]
        ) -> tuple[Vetting, dict[str, Any]]:
            claim = claims.get(key)
            found = orders_for_key(desk.exchange, memo.symbol, cid)
            if claim is not None and claim.vetting is not None and found:
                vetting = vetting_from(claim.vetting)
                return vetting, found_execution(desk.exchange, found, vetting, cid)
            p_win = float(desk.p_win_for(record)) if desk.p_win_for is not None else None
            vetting = vet(decision, memo, desk.exchange, desk.limits, at=t.to_pydatetime(),
                          breaker=desk.breaker, opened_at=desk.opened_at(memo.symbol),
                          p_win=p_win)  # fmt: skip
            claims.vetted(key, vetting_dict(vetting))
            execution = carry_out(vetting, desk.exchange, symbol=memo.symbol, client_order_id=cid)
            persist()  # the order is on the exchange before the ledger records it
            for hook in hooks.AFTER_PLACE:
                hook(key)
            return vetting, execution

        return carry
