"""What the debate does to the offline desk's trading (JSON): interrupts per meeting by kind, how
often each kind changes a stance, the action and the executed plan, and the replay ablation.

    .venv/bin/python benchmarks/debate_effect.py [--quick] [--window tune|2021|2023|history|all]

Windows (the shared data, imported into a temporary store unless ``AURAQUANT_HOME`` has one):
- ``tune``: the 1h history every 4h for the eight symbols, 2020-09-01 .. 2021-01-01 — the only
  window the desk's parameters may be chosen on (one replay needs every symbol stored at its
  start: SOLUSDT's 1h bars begin 2020-08-11, so the 2017–2020 history shared by all eight starts
  2020-09-01);
- ``2021``: the same every 4h over 2021 (validation: never tuned on);
- ``2023``: the 1m window (2023-03-17 .. 2023-05-01) hourly for BTC, ETH, SOL, ADA, DOGE
  (validation: never tuned on);
- ``history``: ``tune`` and ``2021`` as one replay (2020-09-01 .. 2021-12-31).
``all`` is tune, 2021 and 2023. ``--quick``: three symbols over a few days or weeks of each.

Each window is one ``backtest.replay.run_replay``: the desk and the desk without debate
(interrupt budget 0) on their own accounts. Meetings are paired by (symbol, time). Per meeting:
- *stance changed*: an admitted interrupt whose target re-argued with another stance;
- *action changed*: the desk's decided action differs from the no-debate desk's;
- *plan added / removed / side, levels or size changed*: the gate's plan exists only with debate
  / only without / in both with another side, another entry, stop or target, or only another
  quantity (sizing reads the account's equity, which differs between the two lines).
A kind is credited with a meeting's action / plan change when it was admitted in that meeting
(``with_kind``), and separately when it was the only kind admitted (``only_kind``): this is
co-occurrence, not proof of cause. The two accounts diverge over time, so a later meeting's
account block differs between the lines; that is part of what debate changes. Measures only:
nothing here tunes a policy. ``calibration``: the Brier score and reliability table of each
line's decision confidence as P(direction right) at 4 h and 1 d (``decisions.review``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backtest.replay import ReplaySpec, build_replay_report, load_market, run_replay
from backtest.replay_worker import MeetingOutcome, MeetingTask
from decisions.ledger import Ledger
from decisions.review import review_decisions
from tools.paths import store_dir

KINDS = ("clarify", "counterevidence", "reframe", "veto_to_revise")
WINDOWS: dict[str, dict[str, Any]] = {
    "2023": {"symbols": ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "DOGEUSDT"),
             "start": "2023-03-17T00:00:00Z", "end": "2023-05-01T00:00:00Z", "every": "1h"},
    "history": {"symbols": ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT",
                            "DOGEUSDT", "LTCUSDT"),
                "start": "2020-09-01T00:00:00Z", "end": "2021-12-31T00:00:00Z", "every": "4h"},
}  # fmt: skip
WINDOWS["tune"] = {**WINDOWS["history"], "end": "2021-01-01T00:00:00Z"}
WINDOWS["2021"] = {**WINDOWS["history"], "start": "2021-01-01T00:00:00Z"}
QUICK: dict[str, dict[str, Any]] = {
    "2023": {"symbols": ("BTCUSDT", "ETHUSDT", "SOLUSDT"),
             "start": "2023-04-10T00:00:00Z", "end": "2023-04-14T00:00:00Z", "every": "1h"},
    "history": {"symbols": ("BTCUSDT", "ETHUSDT", "SOLUSDT"),
                "start": "2021-10-01T00:00:00Z", "end": "2021-10-15T00:00:00Z", "every": "4h"},
}  # fmt: skip
QUICK["tune"] = {**QUICK["history"], "start": "2020-09-01T00:00:00Z", "end": "2020-10-15T00:00:00Z"}
QUICK["2021"] = QUICK["history"]
ALL = ("tune", "2021", "2023")


class RecordingPool:
    """Holds the step's meetings in this process (as ``run_replay`` does without a pool) and
    keeps each outcome, keyed by line and (symbol, at)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[tuple[str, str], MeetingOutcome]] = defaultdict(dict)

    def map(
        self, fn: Callable[[MeetingTask], MeetingOutcome], tasks: Iterable[MeetingTask]
    ) -> list[MeetingOutcome]:
        outs = []
        for task in tasks:
            out = fn(task)
            line = "desk_no_debate" if task.context.get("budget") == 0 else "desk"
            self.outcomes[line][(task.symbol, task.at)] = out
            outs.append(out)
        return outs

    def shutdown(self) -> None:
        return None


def stance_changes(out: MeetingOutcome) -> Counter[str]:
    """Per kind: admitted interrupts whose target's revised turn took another stance."""
    turns = {t["id"]: t for t in out.turns}
    got: Counter[str] = Counter()
    for i in out.interrupts:
        rev = turns.get(i.get("revised_turn") or "")
        old = turns.get(i["target"])
        if rev is not None and old is not None and rev["stance"] != old["stance"]:
            got[i["kind"]] += 1
    return got


def _plan_of(row: Any) -> dict[str, Any] | None:
    gate = (row.record or {}).get("gate") or {}
    return gate.get("plan")


def plan_change(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str | None:
    """How the debate's plan ``a`` differs from the no-debate plan ``b`` (None: the same)."""
    if a is None and b is None:
        return None
    if b is None:
        return "added"
    if a is None:
        return "removed"
    if a.get("side") != b.get("side"):
        return "side_changed"
    levels = ("stop_loss", "take_profit", "entry_price")
    if any(a.get(k) != b.get(k) for k in levels):
        return "levels_changed"
    return "size_changed" if a.get("quantity") != b.get("quantity") else None


def r_per_trade(trades: Iterable[Any]) -> dict[str, Any]:
    """Per closed trade, in units of the risk it took (entry to initial stop x quantity): gross R
    (the price move before fees and slippage), cost R (fees + slippage) and net R (funding is
    booked on the account, not on a trade, so it is outside these)."""
    gross, cost, net = [], [], []
    for t in trades:
        if t.initial_stop is None or t.quantity <= 0:
            continue
        risk = abs(t.entry_price - t.initial_stop) * t.quantity
        if risk <= 0:
            continue
        gross.append((t.gross_pnl + t.slippage_cost) / risk)
        cost.append((t.fees + t.slippage_cost) / risk)
        net.append(t.net_pnl / risk)
    n = len(net)

    def mean(xs: list[float]) -> float | None:
        return round(sum(xs) / n, 4) if n else None

    return {"trades_with_stop": n, "gross_r": mean(gross), "cost_r": mean(cost), "net_r": mean(net)}


def measure(spec: ReplaySpec, store: Path) -> dict[str, Any]:
    market = load_market(spec, store)
    pool = RecordingPool()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite'}")
        t0 = time.perf_counter()
        result = run_replay(spec, store=store, run_id="debate-effect", ledger=ledger,
                            ailog_dir=None, market=market, pool=pool)  # fmt: skip
        wall = time.perf_counter() - t0
        rows = {
            line: {(r.symbol, r.at): r for r in ledger.decisions(desk=name)}
            for line, name in (("desk", spec.desk), ("desk_no_debate", f"{spec.desk}.no_debate"))
        }
        ledger.close()
    calib = {
        line: review_decisions(
            list(rows[line].values()), lambda s: market.bars(s, "1h"), horizons=("4h", "1d")
        )["calibration"]
        for line in rows
    }
    report = build_replay_report(result)
    debate, plain = pool.outcomes["desk"], pool.outcomes["desk_no_debate"]
    admitted: Counter[str] = Counter()
    raised: Counter[str] = Counter()
    stance: Counter[str] = Counter()
    with_kind: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    only_kind: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    overall: Counter[str] = Counter()
    plans: Counter[str] = Counter()
    ended: Counter[str] = Counter()
    paired = 0
    for key, out in debate.items():
        kinds = {i["kind"] for i in out.interrupts if i.get("status") == "resolved"}
        for i in out.interrupts:
            raised[i["kind"]] += 1
            if i.get("status") == "resolved":
                admitted[i["kind"]] += 1
        stance.update(stance_changes(out))
        ended[out.ended_by or "none"] += 1
        other = plain.get(key)
        if other is None:
            continue
        paired += 1
        changes: Counter[str] = Counter()
        changes["meetings"] = 1
        if out.decision.get("action") != other.decision.get("action"):
            changes["action_changed"] = 1
        da, db = rows["desk"].get(key), rows["desk_no_debate"].get(key)
        plans["ledger_rows_paired"] += da is not None and db is not None
        plans["desk"] += da is not None and _plan_of(da) is not None
        plans["desk_no_debate"] += db is not None and _plan_of(db) is not None
        how = plan_change(_plan_of(da) if da else None, _plan_of(db) if db else None)
        if how is not None:
            changes[f"plan_{how}"] = 1
        overall.update(changes)
        for k in kinds:
            with_kind[k].update(changes)
            if len(kinds) == 1:
                only_kind[k].update(changes)
    n = max(len(debate), 1)
    ablation = {
        line: {k: report["results"][line][k]
               for k in ("return_pct", "sharpe", "max_drawdown_pct", "trades", "fees")}
        for line in ("desk", "desk_no_debate", "buy_and_hold", "sma_cross")
    }  # fmt: skip
    for line in ("desk", "desk_no_debate"):
        trades = [t for s in spec.symbols for t in result.lines[line].trades[s]]
        ablation[line]["per_trade"] = r_per_trade(trades)
    return {
        "symbols": list(spec.symbols),
        "start": spec.start,
        "end": spec.end,
        "every": spec.every,
        "meetings": len(debate),
        "paired_meetings": paired,
        "wall_s": round(wall, 1),
        "interrupts_per_meeting": {k: round(admitted[k] / n, 4) for k in KINDS},
        "interrupts_raised_per_meeting": {k: round(raised[k] / n, 4) for k in KINDS},
        "admitted": {k: admitted[k] for k in KINDS},
        "stance_changed": {k: stance[k] for k in KINDS},
        "stance_changed_share": {
            k: (round(stance[k] / admitted[k], 4) if admitted[k] else None) for k in KINDS
        },
        "with_kind": {k: dict(with_kind[k]) for k in KINDS},
        "only_kind": {k: dict(only_kind[k]) for k in KINDS},
        "overall": dict(overall),
        "gated_plans": dict(plans),
        "ended_by": dict(ended),
        "ablation": ablation,
        "debate_pays": report["debate_pays"],
        "calibration": calib,
    }


def apply_overrides(items: list[str]) -> dict[str, float]:
    """Set ``module.NAME=value`` constants of the offline lenses (the meetings run in this
    process, so the seats read them); only existing numeric constants of ``agents.lenses``."""
    import importlib

    done: dict[str, float] = {}
    for item in items:
        target, _, value = item.partition("=")
        module, _, name = target.rpartition(".")
        if not module.startswith("agents.lenses.") or not value:
            raise SystemExit(f"--set {item!r}: expected agents.lenses.<module>.<NAME>=<number>")
        mod = importlib.import_module(module)
        if not isinstance(getattr(mod, name, None), int | float):
            raise SystemExit(f"--set {item!r}: {module} has no numeric constant {name}")
        setattr(mod, name, float(value))
        done[target] = float(value)
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="three symbols, a few days per window")
    ap.add_argument("--window", choices=("tune", "2021", "2023", "history", "all"), default="all")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="override a lens constant for this run (tuning on the tune window), e.g. "
        "agents.lenses.chair.ENTRY_PROBABILITY=0.6; echoed in the output",
    )
    args = ap.parse_args()
    overrides = apply_overrides(args.set)
    table = QUICK if args.quick else WINDOWS
    names = list(ALL) if args.window == "all" else [args.window]
    store = store_dir()
    with tempfile.TemporaryDirectory() as tmp:
        if not (store / "candles").is_dir():
            from tools.importer import import_path

            shared = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
            store = Path(tmp) / "store"
            import_path(shared, store, progress=False, fsync=False)
        out = {name: measure(ReplaySpec(**table[name]), store) for name in names}
    print(json.dumps({
        "benchmark": "debate_effect", "quick": args.quick, "model": "offline", "windows": out,
        "overrides": overrides,
        "load_avg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
    }, sort_keys=True))  # fmt: skip


if __name__ == "__main__":
    main()
