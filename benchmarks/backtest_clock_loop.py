"""Issue 7's question: what would it cost to feed the backtester's bars through the one
``exchange.clock.advance`` the graph and the CLI use, instead of its own bar loop?

Both loops run the backtest benchmark's workload (``backtest_speed.py``: the seven shared 1m
files chained, SMA cross with ATR bracket, fixed 100 units) on the same intents and exchange;
``advance`` is called once per decision (to the decision bar's close), then the engine's own
``act`` places the orders. We print one JSON object with each loop's CPU seconds, the number of
fills and the final wallet (they must agree). ``--loop engine|advance|none`` runs just one
(``none``: data and signals only), for an instruction count under
``valgrind --tool=callgrind`` that a loaded machine does not disturb:

    .venv/bin/python benchmarks/backtest_clock_loop.py [--passes 1] [--loop both]

The ``advance`` loop records the state once per decision, not after every fed bar, so its
equity curve would be coarser than the engine's: it is a lower bound on the cost.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import backtest_speed as bench

from backtest import engine
from backtest.strategies import SmaCrossAtr
from exchange.clock import BarsView, advance
from exchange.virtual import ExchangeConfig, VirtualExchange


def run(bars: Any, intents: list[engine.Intent], loop: str) -> dict[str, Any]:
    cfg = ExchangeConfig(
        starting_balance=bench.CASH, maker_fee=bench.FEE, taker_fee=bench.FEE,
        slippage_bps=0.0, funding_rate=0.0,
    )  # fmt: skip
    ex = VirtualExchange(cfg)
    runner = engine._Runner(ex, bench.SYMBOL, bars, 0.5, None)
    gc.disable()
    t = time.process_time()
    if loop == "engine":
        runner.run(intents)
    elif loop == "advance":
        view = BarsView(runner.ts_ns, runner.o, runner.h, runner.lo, runner.c, runner.v,
                        engine.bar_span_ns(bars))  # fmt: skip
        by_index: dict[int, list[engine.Intent]] = {}
        for it in intents:
            by_index.setdefault(it.index, []).append(it)
        for k in sorted(by_index):
            advance(ex, bench.SYMBOL, view, int(runner.close_ns[k]))
            wallet, qty, entry = ex.position_state(bench.SYMBOL)
            for it in by_index[k]:
                runner.act(it, k, wallet, qty, entry)
        advance(ex, bench.SYMBOL, view, int(runner.close_ns[-1]))
    cpu = time.process_time() - t
    gc.enable()
    return {
        "cpu_seconds": round(cpu, 3),
        "fills": len(ex.fills(bench.SYMBOL)),
        "wallet": round(ex.balance().wallet, 6),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--loop", choices=("both", "engine", "advance", "none"), default="both")
    args = ap.parse_args()
    bars = engine.normalise_bars(bench.load_chain(args.passes))
    signals = SmaCrossAtr(**bench.PARAMS).signals(bars)
    intents = engine.intents_from_signals(bars, bars, signals, "1m", bench.SIZE)
    loops = ("engine", "advance") if args.loop == "both" else (args.loop,)
    out: dict[str, Any] = {"bars": len(bars), "decisions": len(intents)}
    for loop in loops:
        if loop != "none":
            out[loop] = run(bars, intents, loop)
    if args.loop == "both":
        out["advance_over_engine"] = round(
            out["advance"]["cpu_seconds"] / out["engine"]["cpu_seconds"], 2
        )
        out["same_fills_and_wallet"] = (out["advance"]["fills"], out["advance"]["wallet"]) == (
            out["engine"]["fills"], out["engine"]["wallet"],
        )  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
