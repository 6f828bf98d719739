"""Replay speed end to end: meetings per second, backtest and baselines included (JSON).

    AURAQUANT_HOME=<home with the shared data imported> \\
        .venv/bin/python benchmarks/replay_speed.py [--days 45] [--every 1h] [--workers 2]

The desk's cycle over ``--days`` of the shared 1m window (from 2023-03-17) for BTC, ETH, SOL,
ADA and DOGE, one meeting per symbol per ``--every``: 45 days hourly is 5,400 meetings for the
desk, and as many again for the desk without debate (the ablation every replay runs). Counted:
every meeting of both lines over the wall time of ``run_replay`` (market already loaded; the
run directory's files are written in the timed part too), and the peak resident memory of this
process and of its worker processes. The ledger is a fresh SQLite file. Target: >= 100
meetings/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backtest.replay import ReplaySpec, load_market, run_replay
from backtest.replay_files import write_replay
from decisions.ledger import Ledger
from decisions.review import ReviewLearner
from tools.paths import store_dir
from tools.timeutil import iso

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "DOGEUSDT")
START = pd.Timestamp("2023-03-17T00:00:00Z")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=45.0)
    ap.add_argument("--every", default="1h")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--symbols", type=int, default=len(SYMBOLS))
    args = ap.parse_args()
    end = START + pd.Timedelta(days=args.days)
    spec = ReplaySpec(symbols=SYMBOLS[: args.symbols], start=iso(START), end=iso(end),
                      every=args.every)  # fmt: skip
    store = store_dir()
    if not (store / "candles").is_dir():
        raise SystemExit("no store: AURAQUANT_HOME=<home> auraquant data import ../shared/data")
    t0 = time.perf_counter()
    market = load_market(spec, store)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        out.mkdir()
        ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
        t1 = time.perf_counter()
        result = run_replay(
            spec, store=store, run_id="bench", ledger=ledger, ailog_dir=out,
            workers=args.workers, market=market,
            learner_factory=lambda: ReviewLearner(ledger=ledger, market=market, horizon=spec.horizon),
        )  # fmt: skip
        write_replay(result, out, ledger)
        wall = time.perf_counter() - t1
        ledger.close()
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "benchmark": "replay_speed",
        "symbols": list(spec.symbols), "start": spec.start, "end": spec.end, "every": spec.every,
        "steps": len(result.steps), "workers": args.workers,
        "meetings": result.meetings,
        "meetings_per_line": {k: v.meetings for k, v in result.lines.items()},
        "wall_s": round(wall, 2), "market_load_s": round(load_s, 2),
        "meetings_per_s": round(result.meetings / wall, 1),
        "peak_rss_mb": round(me, 1), "peak_rss_worker_mb": round(kids, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
    }, sort_keys=True))  # fmt: skip


if __name__ == "__main__":
    main()
