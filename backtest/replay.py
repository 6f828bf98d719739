"""Replay: the desk's trading cycle over history, beside the baselines, into one report.

One step per cadence (``--every``), aligned to bar closes, from ``start`` to ``end``:

1. every symbol's exchange clock is advanced to the step over the stored bars (1m where they
   exist, else the finest stored: the 2017-2021 history is 1h), and the cycle observes what
   happened (fills, exits, the maximum hold) — ``Desk.sync``;
2. the meetings of all symbols at the step are held, in parallel over ``workers`` processes
   (decide only: QUALIFY), each seeing data known at the step and the desk's account;
3. in symbol order, each decision is vetted and carried out on the one shared account (ENTER /
   MANAGE) — its orders fill no earlier than the next bar.

The same loop runs twice: the desk as configured, and the desk without debate (interrupt
budget 0), so every replay shows whether the debate pays; beside them, buy-and-hold and the SMA
cross (``backtest.baselines``). With the offline models a replay is byte-for-byte reproducible:
``report.json`` and ``ledger.json`` carry no wall clock and no run directory name.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from backtest import baselines
from backtest.desk_step import conclude_outcome, meeting_tasks, sync_and_begin
from backtest.metrics import OrderRole, Trade, trades_from_fills
from backtest.replay_metrics import line_metrics
from backtest.replay_worker import (
    MeetingOutcome,
    hold_meeting,
    init_worker,
    use_market,
)
from decisions.ledger import Ledger
from decisions.limits import RiskLimits
from exchange.config import ExchangeConfig
from exchange.virtual import VirtualExchange
from graph.ailog import AILogWriter, secrets_from_env
from graph.desk import Desk
from memos.market import Bars, MarketData
from tools.hashing import git_commit, stable_hash
from tools.timeutil import iso, parse_utc, timeframe_delta

REPLAY_SCHEMA_VERSION = 1
LINES = ("desk", "desk_no_debate", "buy_and_hold", "sma_cross")
USAGE_TOTALS = ("calls", "cached_calls", "prompt_tokens", "completion_tokens", "cost")
"""The model usage a replay totals per desk line (the offline models count calls only)."""
ProgressFn = Callable[[str, int, int], None]


class ReplayInputError(ValueError):
    """A replay that cannot run as asked; the message names the option and the value."""


class ReplaySpec(BaseModel):
    """Everything besides data and code that decides a replay's result."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = REPLAY_SCHEMA_VERSION
    symbols: tuple[str, ...]
    start: str
    end: str
    every: str = "4h"
    timeframe: str = Field(default="1h", description="the memo's timeframe")
    model: str = "offline"
    base_url: str | None = None
    desk: str = "replay"
    budget: int | None = Field(default=None, description="interrupt budget (None: the default)")
    max_rounds: int | None = None
    learn: bool = Field(default=True, description="role weights from the review loop, in replay")
    min_p_win: float | None = Field(default=None, description="the gate's minimum P(win)")
    horizon: str = Field(default="1d", description="the horizon the weights learn from")
    initial: float = 10_000.0


@dataclass
class DeskLine:
    """One desk variant's replay: equity and exposure at the steps, per symbol and in all."""

    name: str
    equity: pd.Series
    exposure: pd.Series
    symbol_equity: dict[str, pd.Series]
    symbol_exposure: dict[str, pd.Series]
    trades: dict[str, list[Trade]]
    fees: dict[str, float]
    funding: dict[str, float]
    meetings: int
    decisions: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)


def step_times(start: pd.Timestamp, end: pd.Timestamp, every: str) -> pd.DatetimeIndex:
    """Every multiple of ``every`` (from the epoch) in ``[start, end]``: the meeting times."""
    step = timeframe_delta(every).value
    first = -(-start.value // step) * step
    if first > end.value:
        return pd.DatetimeIndex([], tz="UTC")
    return pd.DatetimeIndex(np.arange(first, end.value + 1, step, dtype=np.int64), tz="UTC")


def bars_frame(b: Bars) -> pd.DataFrame:
    return pd.DataFrame(
        {"open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume},
        index=pd.DatetimeIndex(b.ts, tz="UTC"),
    )


def data_hash(market: MarketData, symbols: tuple[str, ...], end: pd.Timestamp) -> str:
    """sha256 of every bar of the symbols known by ``end`` (what the replay could read)."""
    h = hashlib.sha256()
    for s in symbols:
        b = market.base(s)
        n = b.closed(int(end.value))
        h.update(s.encode())
        for arr in (b.ts, b.open, b.high, b.low, b.close, b.volume):
            h.update(np.ascontiguousarray(arr[:n]).tobytes())
    return h.hexdigest()


def check_window(market: MarketData, spec: ReplaySpec) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = parse_utc(spec.start), parse_utc(spec.end)
    if end <= start:
        raise ReplayInputError(f"--end: {spec.end} is not after --start {spec.start}")
    timeframe_delta(spec.every)  # raises on an unknown code
    for s in spec.symbols:
        if not market.has(s):
            stored = "; ".join(
                f"{tf} {iso(a)} .. {iso(b)}" for tf, a, b in market.stored_ranges.get(s, [])
            )
            raise ReplayInputError(
                f"--symbols: no stored {s} bars cover {spec.start} (stored: {stored or 'none'})"
            )
        first, last = market.coverage(s)
        if first > start or last < end:
            raise ReplayInputError(
                f"--start/--end: {s} is stored from {iso(first)} to {iso(last)}, which does not "
                f"cover {spec.start} .. {spec.end}"
            )
    return start, end


# --- one desk variant over the window -----------------------------------------------------
class _Tracker:
    """Per-symbol PnL and exposure of the shared account, sampled at each step."""

    def __init__(self, symbols: tuple[str, ...], sleeve: float) -> None:
        self.symbols, self.sleeve = symbols, sleeve
        self.booked = dict.fromkeys(symbols, 0.0)
        self.fills_seen = 0
        self.funding_seen = 0
        self.fees = dict.fromkeys(symbols, 0.0)
        self.funding = dict.fromkeys(symbols, 0.0)
        self.equity: dict[str, list[float]] = {s: [] for s in symbols}
        self.exposure: dict[str, list[float]] = {s: [] for s in symbols}
        self.total: list[float] = []
        self.any_open: list[float] = []

    def sample(self, ex: VirtualExchange) -> None:
        fills = ex.fills()
        for f in fills[self.fills_seen :]:
            self.booked[f.symbol] += f.realized_pnl - f.fee
            self.fees[f.symbol] += f.fee
        self.fills_seen = len(fills)
        pays = ex.funding_payments()
        for p in pays[self.funding_seen :]:
            self.booked[p.symbol] += p.amount
            self.funding[p.symbol] += p.amount
        self.funding_seen = len(pays)
        upnl = {p.symbol: (p.unrealized_pnl, p.quantity) for p in ex.positions() if p.quantity}
        for s in self.symbols:
            u, q = upnl.get(s, (0.0, 0.0))
            self.equity[s].append(self.sleeve + self.booked[s] + u)
            self.exposure[s].append(q)
        self.total.append(float(ex.balance().equity))
        self.any_open.append(float(bool(upnl)))


def _roles(
    ex: VirtualExchange, fills: list[Any], entries: dict[str, OrderRole]
) -> dict[str, OrderRole]:
    """Label every fill's order: entries with their initial stop; bracket legs, liquidations and
    closes from the exchange's own record (as the backtester does)."""
    roles = dict(entries)
    for f in fills:
        if f.order_id in roles:
            continue
        role, parent = ex.order_origin(f.order_id)
        stop = roles[parent].initial_stop if parent in roles else None
        roles[f.order_id] = OrderRole(role or "manage", stop)
    return roles


def run_desk_line(
    name: str,
    spec: ReplaySpec,
    market: MarketData,
    steps: pd.DatetimeIndex,
    *,
    run_id: str,
    ledger: Ledger | None,
    ailog: AILogWriter | None,
    budget: int | None,
    pool: ProcessPoolExecutor | None,
    progress: ProgressFn | None = None,
    learner: Any = None,
) -> DeskLine:
    """The desk's cycle over ``steps`` on one shared account."""
    symbols = spec.symbols
    config = ExchangeConfig(starting_balance=spec.initial)
    desk = Desk(
        name=spec.desk if name == "desk" else f"{spec.desk}.no_debate",
        exchange=VirtualExchange(config),
        limits=RiskLimits(min_p_win=spec.min_p_win), ledger=ledger, run_id=run_id, ailog=ailog,
    )  # fmt: skip
    if learner is not None:
        learner.attach(desk)
    tracker = _Tracker(symbols, spec.initial / len(symbols))
    entries: dict[str, OrderRole] = {}
    context: dict[str, Any] = {
        "model": spec.model,
        "base_url": spec.base_url,
        "timeframe": spec.timeframe,
    }
    if budget is not None:
        context["budget"] = budget
    if spec.max_rounds is not None:
        context["max_rounds"] = spec.max_rounds
    bases = {s: market.base(s) for s in symbols}
    meetings = 0
    usage: dict[str, float] = {}
    for k, t in enumerate(steps):
        began = sync_and_begin(desk, symbols, bases, t)
        if learner is not None:
            desk.weights = learner.weights_at(desk, t)
        tasks = meeting_tasks(desk, began, t, run_id, context)
        outs: list[MeetingOutcome] = list(
            pool.map(hold_meeting, tasks) if pool else map(hold_meeting, tasks)
        )
        for out in outs:
            meetings += 1
            for key in USAGE_TOTALS:
                usage[key] = usage.get(key, 0) + (out.usage.get(key) or 0)
            vetting, execution, _ = conclude_outcome(desk, out, t, ailog=ailog, run_id=run_id)
            plan = vetting.gate.plan
            if plan is not None and execution.get("entry_order_id"):
                entries[execution["entry_order_id"]] = OrderRole("entry", plan.stop_loss)
        tracker.sample(desk.exchange)
        if progress is not None:
            progress(name, k + 1, len(steps))
    ex = desk.exchange
    trades: dict[str, list[Trade]] = {}
    for s in symbols:
        fills = ex.fills(s)
        trades[s] = trades_from_fills(fills, _roles(ex, fills, entries))
    index = steps
    return DeskLine(
        name=name,
        equity=pd.Series(tracker.total, index=index),
        exposure=pd.Series(tracker.any_open, index=index),
        symbol_equity={s: pd.Series(tracker.equity[s], index=index) for s in symbols},
        symbol_exposure={s: pd.Series(tracker.exposure[s], index=index) for s in symbols},
        trades=trades,
        fees=tracker.fees,
        funding=tracker.funding,
        meetings=meetings,
        usage={k: round(v, 6) for k, v in usage.items()},
    )


# --- the whole replay ---------------------------------------------------------------------
@dataclass
class ReplayResult:
    spec: ReplaySpec
    run_id: str
    steps: pd.DatetimeIndex
    lines: dict[str, DeskLine]
    baselines: dict[str, dict[str, baselines.Sleeve]]
    market: MarketData
    data_sha256: str
    config_id: str

    @property
    def meetings(self) -> int:
        return sum(line.meetings for line in self.lines.values())


def base_run_id(spec: ReplaySpec, data_sha256: str) -> str:
    """``replay-<hash>`` of the configuration, the data and the code: identical inputs, same id."""
    cfg = spec.model_dump(mode="json")
    return f"replay-{stable_hash({'config': cfg, 'data': data_sha256, 'git': git_commit()}, 12)}"


def load_market(spec: ReplaySpec, store: Path) -> MarketData:
    start = parse_utc(spec.start)
    md = MarketData.from_store(list(spec.symbols), store=store, at=start)
    return md.warm([s for s in spec.symbols if md.has(s)], spec.timeframe)


def run_replay(
    spec: ReplaySpec,
    *,
    store: Path,
    run_id: str,
    ledger: Ledger | None,
    ailog_dir: Path | None,
    workers: int = 1,
    market: MarketData | None = None,
    progress: ProgressFn | None = None,
    learner_factory: Callable[[], Any] | None = None,
    pool: Any = None,
) -> ReplayResult:
    """Replay the desk and the desk without debate, and run the baselines, over the window.

    ``pool``: anything with ``map(hold_meeting, tasks)`` and ``shutdown()`` that holds the
    step's meetings elsewhere (``auraquant.schedule.celery_app.CeleryPool``); by default a
    process pool when ``workers`` > 1, else this process."""
    market = market or load_market(spec, store)
    start, end = check_window(market, spec)
    steps = step_times(start, end, spec.every)
    if len(steps) == 0:
        raise ReplayInputError(f"--every: no {spec.every} step between {spec.start} and {spec.end}")
    digest = data_hash(market, spec.symbols, end)
    use_market(market)
    if pool is None and workers > 1:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=init_worker,
            initargs=(str(store), list(spec.symbols), spec.start, spec.timeframe),
        )  # fmt: skip
    lines: dict[str, DeskLine] = {}
    try:
        for name, budget in (("desk", spec.budget), ("desk_no_debate", 0)):
            writer = None
            if ailog_dir is not None:
                fname = "ailog.ndjson" if name == "desk" else f"ailog.{name}.ndjson"
                writer = AILogWriter(ailog_dir / fname, secrets_from_env())
            try:
                lines[name] = run_desk_line(
                    name, spec, market, steps, run_id=run_id, ledger=ledger, ailog=writer,
                    budget=budget, pool=pool, progress=progress,
                    learner=learner_factory() if (learner_factory and spec.learn) else None,
                )  # fmt: skip
            finally:
                if writer is not None:
                    writer.close()
    finally:
        if pool is not None:
            pool.shutdown()
    config = ExchangeConfig(starting_balance=spec.initial)
    sleeve = spec.initial / len(spec.symbols)
    base: dict[str, dict[str, baselines.Sleeve]] = {}
    warm = baselines.warmup(spec.every)
    for bname, strategy in baselines.BASELINES.items():
        base[bname] = {}
        for s in spec.symbols:
            frame = bars_frame(market.base(s))
            frame = frame[(frame.index >= start - warm) & (frame.index < end)]
            base[bname][s] = baselines.run_baseline(
                strategy, frame, symbol=s, start=start, every=spec.every, steps=steps,
                sleeve=sleeve, config=config,
            )  # fmt: skip
        if progress is not None:
            progress(bname, 1, 1)
    return ReplayResult(spec, run_id, steps, lines, base, market, digest, base_run_id(spec, digest))


# --- the report ---------------------------------------------------------------------------
def _desk_metrics(line: DeskLine, symbol: str | None, initial: float, n: int) -> dict[str, Any]:
    if symbol is None:
        trades = [t for ts in line.trades.values() for t in ts]
        return line_metrics(line.equity, initial, trades, sum(line.fees.values()),
                            line.exposure, sum(line.funding.values()))  # fmt: skip
    return line_metrics(line.symbol_equity[symbol], initial / n, line.trades[symbol],
                        line.fees[symbol], line.symbol_exposure[symbol], line.funding[symbol])  # fmt: skip


def _baseline_metrics(
    sleeves: dict[str, baselines.Sleeve], symbol: str | None, initial: float, n: int
) -> dict[str, Any]:
    if symbol is None:
        eq = sum(
            (s.equity for s in sleeves.values()),
            start=pd.Series(0.0, index=next(iter(sleeves.values())).equity.index),
        )
        expo = sum(
            (s.position.abs() for s in sleeves.values()), start=pd.Series(0.0, index=eq.index)
        )
        trades = [t for s in sleeves.values() for t in s.trades]
        return line_metrics(eq, initial, trades, sum(s.fees for s in sleeves.values()), expo,
                            sum(s.funding for s in sleeves.values()))  # fmt: skip
    s = sleeves[symbol]
    return line_metrics(s.equity, initial / n, s.trades, s.fees, s.position, s.funding)


def equity_curves(result: ReplayResult) -> dict[str, pd.Series]:
    """Portfolio equity of each line at the steps."""
    out = {name: line.equity for name, line in result.lines.items()}
    for bname, sleeves in result.baselines.items():
        out[bname] = sum(
            (s.equity for s in sleeves.values()), start=pd.Series(0.0, index=result.steps)
        )
    return out


def build_replay_report(result: ReplayResult) -> dict[str, Any]:
    """report.json: deterministic, no wall clock, no run directory."""
    spec, n = result.spec, len(result.spec.symbols)
    results: dict[str, Any] = {}
    per_symbol: dict[str, dict[str, Any]] = {s: {} for s in spec.symbols}
    for name, line in result.lines.items():
        results[name] = _desk_metrics(line, None, spec.initial, n)
        for s in spec.symbols:
            per_symbol[s][name] = _desk_metrics(line, s, spec.initial, n)
    for bname, sleeves in result.baselines.items():
        results[bname] = _baseline_metrics(sleeves, None, spec.initial, n)
        for s in spec.symbols:
            per_symbol[s][bname] = _baseline_metrics(sleeves, s, spec.initial, n)
    desk = result.lines["desk"]
    return {
        "schema_version": REPLAY_SCHEMA_VERSION,
        "config_id": result.config_id,
        "config": spec.model_dump(mode="json"),
        "git_commit": git_commit(),
        "data_sha256": result.data_sha256,
        "steps": len(result.steps),
        "first_step": iso(result.steps[0]),
        "last_step": iso(result.steps[-1]),
        "meetings": result.meetings,
        "meetings_per_line": {k: v.meetings for k, v in result.lines.items()},
        "results": results,
        "per_symbol": per_symbol,
        "debate_pays": {
            "return_pct": _diff(
                results["desk"]["return_pct"], results["desk_no_debate"]["return_pct"]
            ),
            "sharpe": _diff(results["desk"]["sharpe"], results["desk_no_debate"]["sharpe"]),
        },
        "trades": {s: [t.to_dict() for t in desk.trades[s]] for s in spec.symbols},
        "equity": {
            name: {
                iso(ts): round(float(v), 6)
                for ts, v in zip(pd.DatetimeIndex(curve.index), curve.to_numpy(), strict=True)
            }
            for name, curve in equity_curves(result).items()
        },
    }


def _diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return round(a - b, 6)
