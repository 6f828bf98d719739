"""Backtest speed, side by side: this backtester vs backtesting.py on the same real 1m bars.

Workload: the seven shared 1m files (BTC, ETH, SOL, ADA, DOGE, XRP, LTC; 416,835 real bars)
chained into one series: each file's prices are rebased (multiplied by a constant) so its first
open equals the previous file's last close, and the chain is laid on a fresh contiguous 1-minute
clock (the files overlap in time). The chain is taken ``--passes`` times (default 2, 833,670 bars)
to clear the 500,000-bar bar. Both engines run the SMA cross with ATR stop-loss / take-profit on
it, in this process, with the same costs; we print one JSON object:

    .venv/bin/python benchmarks/backtest_speed.py [--passes 2] [--repeat 3] [--profile]

After `make native` (the opt-in compiled exchange core, exchange/NATIVE.md) the same command
reports ``"exchange_core": "mypyc"``; ``--native-required`` refuses to run without it.

Configurations are made to agree as far as the two contracts allow (see ``NOTES`` in the
output): next-open market fills, stop-loss first when SL and TP share a bar, one fee rate for
every fill, no slippage or spread, no funding, a fixed 100 units per position, open positions
closed at the last close.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backtest.assumptions import atr_bracket, level_on_tick
from backtest.strategies import SmaCrossAtr, atr, crossings, sma
from exchange.types import Side
from tools.paths import shared_data_dir

FILES = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "DOGEUSDT", "XRPUSDT", "LTCUSDT")
SYMBOL = "SYNTH-BTCUSDT"  # trades under BTCUSDT's rules (tick 0.1, step 0.001)
TICK = 0.1
FEE = 0.0005
CASH = 100_000_000.0
SIZE = 100  # fixed units per position in both engines
PARAMS: dict[str, Any] = {"fast": 20, "slow": 60, "atr_period": 14, "sl_atr": 2.0, "tp_atr": 3.0}

NOTES = [
    "fees: backtesting.py has one commission rate for every fill; here maker_fee = taker_fee = 5 bps "
    "so a take-profit (a maker limit in our contract) costs the same in both",
    "take-profit gapped through at the open: backtesting.py fills at the open (price improvement), "
    "our contract fills a resting limit at its own price; same trade, different exit price",
    "sizing: a fixed 100 units per position in both (backtesting.py sizes in whole units; a "
    "fraction of equity would round differently and stop trading when equity shrinks)",
    "stop-loss and take-profit in one bar: both take the stop-loss (pessimistic)",
    "market entry and stop in the same bar: both let the stop fill in the entry bar",
    "end of data: we close at the last bar's close (a zero-range bar one minute later, so the "
    "exit time is the last bar's close time); backtesting.py's finalize_trades=True re-runs the "
    "last bar and fills the close at that bar's open, stamped with the last bar's time",
    "speed: bars with no working level inside them are skipped in bulk (numpy first-touch "
    "search); what remains is the virtual exchange's per-event cost, about 3 exchange bars and "
    "one order per trade (entry bar with a bracket ~11 us, stop/target bar ~7 us, decision bar "
    "<1 us, submit ~6 us), then turning ~34k fills into trades",
    "timing: each engine's repeats are interleaved (ours, theirs, ours, ...) in one process so "
    "both see the same machine load; the median is reported. Ours includes building the trade "
    "list and the summary metrics; backtesting.py's run() includes its stats",
]


def load_chain(passes: int) -> pd.DataFrame:
    """The seven 1m files chained (rebased) ``passes`` times on one contiguous 1m clock."""
    data = shared_data_dir()
    if data is None:
        raise SystemExit("shared data not found: set AURAQUANT_DATA")
    parts = [
        pd.read_csv(
            data / "candles" / f"{s}_1m.csv.gz", usecols=["open", "high", "low", "close", "volume"]
        )
        for s in FILES
    ]
    chunks: list[np.ndarray] = []
    last_close: float | None = None
    for _ in range(passes):
        for p in parts:
            v = p.to_numpy(dtype=np.float64).copy()
            scale = 1.0 if last_close is None else last_close / v[0, 0]
            v[:, :4] *= scale
            last_close = float(v[-1, 3])
            chunks.append(v)
    values = np.concatenate(chunks)
    idx = pd.date_range("2020-01-01", periods=len(values), freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(values, index=idx, columns=["open", "high", "low", "close", "volume"])


# ------------------------------------------------------------------------------- ours


def run_ours(bars: pd.DataFrame) -> tuple[float, list[dict[str, Any]], dict[str, Any]]:
    from backtest.engine import run_strategy
    from backtest.metrics import summary
    from exchange.virtual import ExchangeConfig

    cfg = ExchangeConfig(
        starting_balance=CASH, maker_fee=FEE, taker_fee=FEE, slippage_bps=0.0, funding_rate=0.0
    )
    t = time.perf_counter()
    res = run_strategy(
        bars, SmaCrossAtr(**PARAMS), symbol=SYMBOL, exchange_config=cfg, quantity=SIZE
    )
    stats = summary(res.equity, res.position, res.trades, res.fill_notional, CASH, bars)
    dt = time.perf_counter() - t
    trades = [
        {
            "entry": t.entry_ts,
            "exit": t.exit_ts,
            "long": t.side == "LONG",
            "entry_price": t.entry_price,
            "exit_price": t.exit_price,
            "reason": t.exit_reason,
        }
        for t in res.trades
    ]
    from exchange.native import core

    info = {
        "bars_stepped_through_exchange": res.bars_stepped,
        "return_pct": stats["total_return_pct"],
        # "mypyc" after `make native` (exchange/NATIVE.md), "python" by default
        "exchange_core": core(),
    }
    return dt, trades, info


# ------------------------------------------------------------------------ backtesting.py


def run_backtesting_py(
    bars: pd.DataFrame, precomputed: bool = False
) -> tuple[float, list[dict[str, Any]], dict[str, Any]]:
    """Idiomatic backtesting.py (``self.I`` SMAs, ``crossover`` in ``next``), or with the cross
    and ATR precomputed as arrays (``precomputed=True``: the fastest way to write it)."""
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    p = PARAMS

    class SmaCrossAtrBT(Strategy):
        def init(self) -> None:
            frame = pd.DataFrame(
                {"high": self.data.High, "low": self.data.Low, "close": self.data.Close}
            )
            close = frame["close"]
            if precomputed:
                self.cross = self.I(lambda: crossings(sma(close, p["fast"]), sma(close, p["slow"])))
            else:
                self.fast = self.I(sma, close, p["fast"])
                self.slow = self.I(sma, close, p["slow"])
            self.atr = self.I(lambda: atr(frame, p["atr_period"]))

        def next(self) -> None:
            if precomputed:
                sig = self.cross[-1]
            else:
                sig = (
                    1
                    if crossover(self.fast, self.slow)
                    else -1
                    if crossover(self.slow, self.fast)
                    else 0
                )
            a = self.atr[-1]
            if sig == 0 or not np.isfinite(a):
                return
            # the same bracket function and tick rounding our strategy and engine use
            stop, target = atr_bracket(
                Side.BUY if sig > 0 else Side.SELL,
                float(self.data.Close[-1]),
                float(a),
                p["sl_atr"],
                p["tp_atr"],
            )
            if stop is None or target is None:
                return
            sl, tp = level_on_tick(stop, TICK), level_on_tick(target, TICK)
            if sig > 0:
                if self.position.is_long:
                    return
                self.position.close()
                self.buy(size=SIZE, sl=sl, tp=tp)
            else:
                if self.position.is_short:
                    return
                self.position.close()
                self.sell(size=SIZE, sl=sl, tp=tp)

    data = bars.rename(columns=str.capitalize)
    data.index = pd.DatetimeIndex(data.index).tz_localize(None)
    bt = Backtest(
        data,
        SmaCrossAtrBT,
        cash=CASH,
        commission=FEE,
        spread=0.0,
        margin=1.0,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        stats = bt.run()
        dt = time.perf_counter() - t
    tr = stats["_trades"]
    trades = [
        {
            "entry": pd.Timestamp(r.EntryTime).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "exit": pd.Timestamp(r.ExitTime).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "long": r.Size > 0,
            "entry_price": float(r.EntryPrice),
            "exit_price": float(r.ExitPrice),
        }
        for r in tr.itertuples()
    ]
    return dt, trades, {"return_pct": float(stats["Return [%]"])}


# ----------------------------------------------------------------------------- compare


def compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> dict[str, Any]:
    """Trades matched on (entry time, side); then same exit time; then same prices (1e-9 rel)."""
    by_entry = {(t["entry"], t["long"]): t for t in theirs}
    same_entry = same_exit = same_prices = 0
    diffs: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    for t in ours:
        o = by_entry.get((t["entry"], t["long"]))
        if o is None:
            continue
        same_entry += 1
        if o["exit"] != t["exit"]:
            key = f"exit time differs ({t['reason']})"
            diffs[key] = diffs.get(key, 0) + 1
            if len(examples) < 5:
                examples.append({"ours": t, "backtesting_py": o})
            continue
        same_exit += 1
        ok = all(
            abs(t[k] - o[k]) <= 1e-9 * max(1.0, abs(o[k])) for k in ("entry_price", "exit_price")
        )
        if ok:
            same_prices += 1
        else:
            key = f"exit price differs ({t['reason']})"
            diffs[key] = diffs.get(key, 0) + 1
    return {
        "same_entry_bar_and_side": same_entry,
        "same_entry_and_exit_bar": same_exit,
        "identical_trades": same_prices,
        "differences": dict(sorted(diffs.items())),
        "examples": examples,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=2, help="times the 7-file chain is repeated")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per engine (median kept)")
    ap.add_argument("--profile", action="store_true", help="cProfile our engine, top 25 to stderr")
    ap.add_argument("--skip-backtesting-py", action="store_true")
    ap.add_argument(
        "--native-required",
        action="store_true",
        help="exit 1 before running unless the compiled exchange core is loaded (`make native`)",
    )
    args = ap.parse_args()
    if args.native_required:
        from exchange.native import core

        if core() != "mypyc":
            print(
                f"backtest_speed: --native-required but the exchange core is {core()!r}: "
                "run `make native` first",
                file=sys.stderr,
            )
            sys.exit(1)

    bars = load_chain(args.passes)
    n = len(bars)
    our_times, bt_times = [], []
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    our_info: dict[str, Any] = {}
    bt_info: dict[str, Any] = {}
    # Interleaved (ours, theirs, ours, theirs, ...): on a shared machine the load changes from
    # minute to minute, and both engines should see the same conditions; the median is kept.
    for _ in range(args.repeat):
        dt, ours, our_info = run_ours(bars)
        our_times.append(dt)
        if not args.skip_backtesting_py:
            dt, theirs, bt_info = run_backtesting_py(bars)
            bt_times.append(dt)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_ours(bars)
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(25)
        print(s.getvalue(), file=sys.stderr)
    ours_s = statistics.median(our_times)
    out: dict[str, Any] = {
        "workload": {
            "bars": n,
            "unique_real_bars": n // args.passes,
            "passes": args.passes,
            "files": [f"{s}_1m.csv.gz" for s in FILES],
            "joined": "prices rebased so each file starts at the previous file's last close; "
            "contiguous synthetic 1m clock",
            "strategy": {"name": "sma_cross_atr", **PARAMS, "quantity": SIZE},
            "fee_rate": FEE,
            "cash": CASH,
        },
        "auraquant": {
            "seconds": round(ours_s, 4),
            "runs_seconds": [round(x, 4) for x in our_times],
            "bars_per_s": round(n / ours_s),
            "trades": len(ours),
            **our_info,
        },
    }
    if bt_times:
        bt_s = statistics.median(bt_times)
        out["backtesting_py"] = {
            "version": __import__("backtesting").__version__,
            "seconds": round(bt_s, 4),
            "runs_seconds": [round(x, 4) for x in bt_times],
            "bars_per_s": round(n / bt_s),
            "trades": len(theirs),
            **bt_info,
        }
        out["speed_ratio"] = round(bt_s / ours_s, 2)
        out["trade_match"] = compare(ours, theirs)
    out["notes"] = NOTES
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
