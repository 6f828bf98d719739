"""Meeting latency with the offline desk on the real data, memo included.

Holds ≥ 500 meetings (hourly, three symbols, a week of 2023-04) through ``run_meeting`` exactly
as replay does (one run, AI log on, journal off) and prints one JSON object: p50/p95/mean wall
ms per meeting and where the time goes — inside node bodies (ours: memo, prompts, gate,
executor, AI log), inside chat-model calls (LangChain's runnable plumbing plus the offline
policy) and the rest, LangGraph itself (scheduling, channels, the analysts' thread fan-out).

    .venv/bin/python benchmarks/meeting_latency.py [--meetings 504] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

TARGET_P50_MS = 15.0
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meetings", type=int, default=504)
    ap.add_argument("--start", default="2023-04-10T00:00:00Z")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the run to stderr")
    args = ap.parse_args()
    os.environ.setdefault("AURAQUANT_HOME", tempfile.mkdtemp(prefix="aq-bench-"))

    from graph.context import MeetingContext
    from graph.meeting import run_meeting
    from graph.nodes import Timings
    from graph.services import MeetingServices
    from memos.market import MarketData
    from tools.paths import shared_data_dir
    from tools.timeutil import iso

    data = shared_data_dir()
    if data is None:
        print(json.dumps({"error": "real data not found: set AURAQUANT_DATA"}))
        sys.exit(2)
    t = time.perf_counter()
    market = MarketData.from_csv_dir(data, SYMBOLS).warm(SYMBOLS, "1h")
    load_s = time.perf_counter() - t
    services = MeetingServices(market=market)
    ctx = MeetingContext(run_id="bench-meeting-latency", journal=False)
    start = pd.Timestamp(args.start)
    plan = [(SYMBOLS[i % len(SYMBOLS)], iso(start + pd.Timedelta(hours=i // len(SYMBOLS))))
            for i in range(args.meetings)]  # fmt: skip
    for sym, at in plan[:6]:  # warm caches (model objects, structured runnables, imports)
        run_meeting(sym, at, ctx, services=services)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    Timings.enabled = True
    Timings.reset()
    walls: list[float] = []
    cpu0 = time.process_time()
    for sym, at in plan:
        t0 = time.perf_counter()
        run_meeting(sym, at, ctx, services=services)
        walls.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    Timings.enabled = False
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
            os.environ.get("PROF_FILTER", ""), 40
        )

    total = sum(walls)
    q = statistics.quantiles(walls, n=20)
    p50 = statistics.median(walls) * 1000
    out = {
        "figure": "meeting_latency",
        "meetings": len(walls),
        "symbols": SYMBOLS,
        "window": [plan[0][1], plan[-1][1]],
        "model": "offline",
        "p50_ms": round(p50, 2),
        "p95_ms": round(q[18] * 1000, 2),
        "mean_ms": round(total / len(walls) * 1000, 2),
        "cpu_ms_per_meeting": round(cpu / len(walls) * 1000, 2),
        "share_langgraph": round(max(0.0, total - Timings.nodes) / total, 3),
        "share_chat_model_calls": round(Timings.models / total, 3),
        "share_node_bodies_excl_models": round((Timings.nodes - Timings.models) / total, 3),
        "target_p50_ms": TARGET_P50_MS,
        "target_met": p50 <= TARGET_P50_MS,
        "market_load_s": round(load_s, 2),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
