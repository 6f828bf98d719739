"""Meeting wall time through a real chat model, concurrent against sequential.

A loopback OpenAI-compatible server (tests/agents/loopback_llm.py: it plays each seat with the
offline policy, so the meeting is the offline desk's) adds a fixed latency to every call
(default 500 ms). One SOLUSDT meeting on the real data is held with the seats of a step calling
together (the default) and one by one, cache off. Prints one JSON object: wall time, model calls,
the critical path (sequential waves of calls), prompt tokens per meeting (as the server counts
them: 4 characters a token), the share of them that is the shared prefix (the system message:
rules, memo and the meeting's blocks, identical in every call of the meeting) and the tokens a
provider with a prefix cache reads afresh (each distinct prefix once, plus every call's own part).

    .venv/bin/python benchmarks/llm_latency.py [--delay 0.5] [--at 2023-04-19T12:00:00Z]
        [--risk-beside-analysts]

``--risk-beside-analysts`` holds the meeting with the roster's risk seat set to
``reads_turns: false``: it opens in the analysts' step (four sequential calls, not five).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYMBOL = "SOLUSDT"


def waves(requests: list[Any], delay: float) -> int:
    """Sequential waves: calls that started while an earlier one was still in flight share it."""
    n, end = 0, -1.0
    for r in sorted(requests, key=lambda r: r.at):
        if r.at >= end:
            n += 1
            end = r.at + delay * 0.9
    return n


def one(
    market: Any, at: str, delay: float, concurrent: bool, home: str, roster: Any = None
) -> dict[str, Any]:
    from exchange.virtual import VirtualExchange
    from graph.meeting import build_meeting_graph, run_meeting
    from graph.services import MeetingServices
    from tests.agents.loopback_llm import serve

    with serve("openai", delay=delay) as srv:
        t0 = time.perf_counter()
        r = run_meeting(
            SYMBOL, at,
            {"run_id": f"llm-latency-{concurrent}", "home": home, "model": "openai:gpt-4o-mini",
             "base_url": srv.url, "llm_cache": False, "concurrent": concurrent, "journal": False},
            services=MeetingServices(market=market, exchange=VirtualExchange(), roster=roster),
            graph_=build_meeting_graph(roster=roster) if roster is not None else None,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        reqs = list(srv.requests)
    prefix = sum(len(q.body["messages"][0]["content"]) for q in reqs)
    total = sum(len(m.get("content") or "") for q in reqs for m in q.body["messages"])
    prefixes = {q.body["messages"][0]["content"] for q in reqs}
    # what a provider with a prefix cache reads afresh: each distinct prefix once, the rest
    fresh = sum(len(p) for p in prefixes) + total - prefix
    return {
        "wall_s": round(wall, 3),
        "calls": r.usage["calls"],
        "critical_path_calls": waves(reqs, delay),
        "prompt_tokens": r.usage["prompt_tokens"],
        "completion_tokens": r.usage["completion_tokens"],
        "shared_prefix_share": round(prefix / total, 3),
        "distinct_prefixes": len(prefixes),
        "prompt_tokens_outside_a_repeated_prefix": round(r.usage["prompt_tokens"] * fresh / total),
        "decision": r.decision["action"] if r.decision else None,
        "ended_by": r.ended_by,
    }


def _risk_beside_analysts() -> Any:
    from agents.roles import Roster, load_roster

    roster = load_roster()
    roles = [r.model_copy(update={"reads_turns": False}) if r.seat == "risk" else r
             for r in roster.roles]  # fmt: skip
    return Roster(roles=tuple(roles))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--at", default="2023-04-19T12:00:00Z")
    ap.add_argument(
        "--risk-beside-analysts",
        action="store_true",
        help="the risk seat reads no turns and opens beside the analysts",
    )
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="aq-llm-bench-")
    os.environ.setdefault("AURAQUANT_HOME", home)
    from memos.market import MarketData
    from tools.paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        print(json.dumps({"error": "real data not found: set AURAQUANT_DATA"}))
        sys.exit(2)
    market = MarketData.from_csv_dir(data, [SYMBOL, "BTCUSDT"]).warm([SYMBOL], "1h")
    from agents.roles import load_roster

    roster = _risk_beside_analysts() if args.risk_beside_analysts else None
    one(market, args.at, 0.0, True, home, roster)  # warm imports and model objects
    conc = one(market, args.at, args.delay, True, home, roster)
    seq = one(market, args.at, args.delay, False, home, roster)
    target = 4 * args.delay + 0.3
    print(json.dumps({
        "benchmark": "llm_latency",
        "symbol": SYMBOL, "at": args.at, "delay_per_call_s": args.delay,
        "risk_reads_turns": (roster or load_roster()).risk.reads_turns,
        "concurrent": conc, "sequential": seq,
        "speedup": round(seq["wall_s"] / conc["wall_s"], 2),
        "target_wall_s": round(target, 2),
        "meets_target": conc["wall_s"] <= target,
        "load": os.getloadavg()[0],
    }, sort_keys=True))  # fmt: skip


if __name__ == "__main__":
    main()
