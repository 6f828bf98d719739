"""A producer process for the uploader's kill test and benchmark: enqueues AI-log records and
uploads them to a WEEX (the loopback one), printing ``enqueued <seq>`` after each fsync.

    python -m tests.exchange.weex.uploader_child --queue DIR --url URL --count N
        [--start K] [--interval S] [--drain-timeout S]

Credentials come from WEEX_API_KEY / WEEX_API_SECRET / WEEX_API_PASSPHRASE."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from pydantic import SecretStr

from exchange.weex.ailog import to_weex_body
from exchange.weex.client import WeexClient
from exchange.weex.config import RateLimits, WeexConfig
from exchange.weex.uploader import AILogUploader


def record(seq: int, run_id: str) -> dict:
    """A project-shaped AI-log record (graph/ailog.py fields)."""
    return {
        "run_id": run_id, "seq": seq, "node": "chair", "stage": "QUALIFY",
        "model": "offline", "input": {"task": f"decide BTCUSDT #{seq}", "memo_id": f"m-{seq}"},
        "output": {"action": "LONG", "confidence": 0.6}, "explanation": f"record {seq}",
        "orderId": f"O-{seq:06d}", "timestamp": "2023-04-20T12:00:00.000Z",
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=Path, required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--drain-timeout", type=float, default=60.0)
    ap.add_argument("--run-id", default="kill-test")
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    env = os.environ
    cfg = WeexConfig(base_url=a.url, api_key=SecretStr(env["WEEX_API_KEY"]),
                     api_secret=SecretStr(env["WEEX_API_SECRET"]),
                     passphrase=SecretStr(env["WEEX_API_PASSPHRASE"]),
                     limits=RateLimits(weight_per_window=100_000, after_429_s=0.05),
                     timeout_s=5.0)  # fmt: skip
    client = WeexClient(cfg)
    up = AILogUploader(a.queue, client.upload_ai_log, secrets=cfg.secrets(), backoff_s=0.01,
                       workers=a.workers,
                       backoff_max_s=0.2).start()  # fmt: skip
    print(f"pending-at-start {up.pending}", flush=True)
    for seq in range(a.start, a.start + a.count):
        up.enqueue(to_weex_body(record(seq, a.run_id), model_version="v1").body)
        print(f"enqueued {seq}", flush=True)
        if a.interval:
            time.sleep(a.interval)
    ok = up.drain(a.drain_timeout)
    lat = sorted(up.stats.latencies_ms)
    print(json.dumps({"drained": ok, "delivered": up.stats.delivered,
                      "failures": up.stats.failures, "redelivered": up.stats.redelivered,
                      "latencies_ms": lat}), flush=True)  # fmt: skip
    up.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
