"""News pipeline latency and throughput on the real Redis with the offline labeler.

Two runs of the full pipeline (collector -> news:raw -> labeler -> news:labeled + Parquet store
-> alert service -> news:alerts -> notifier), all services as threads of this one process, on
Redis Streams under a unique prefix (deleted at the end):

1. latency: the shared headline files replayed at a fixed ``--rate`` (50 items/s) for
   ``--seconds``; with ``--threshold 0`` (the default here) every item becomes an alert, so
   every item's collection -> alert latency is measured (to the alert record, and to the
   notifier receiving it). Target p99 <= 2 s.
2. throughput: the whole shared files replayed unpaced; items/s from the first collection to
   the last item stored and alerted.

    .venv/bin/python benchmarks/news_latency.py [--rate 50] [--seconds 30] [--threshold 0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

TARGET_P99_S = 2.0


class Clocked:
    """A notifier that notes when each alert arrived."""

    name = "clocked"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.to_alert: list[float] = []
        self.to_notifier: list[float] = []

    def send(self, alert: object) -> None:
        now = datetime.now(UTC)
        with self.lock:
            self.to_alert.append(alert.latency_seconds)  # type: ignore[attr-defined]
            self.to_notifier.append((now - alert.collected_at).total_seconds())  # type: ignore[attr-defined]


def pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 4) if xs else None


def run(bus: object, prefix: str, store: Path, files: list[Path], *, rate: float | None,
        limit: int | None, threshold: float) -> dict[str, object]:  # fmt: skip
    from feeds.pipeline import Pipeline, PipelineConfig
    from feeds.sources import FileReplayer

    rec = Clocked()
    cfg = PipelineConfig(prefix=prefix, store=store, threshold=threshold, fsync=False)
    src = FileReplayer(files, rate=rate, limit=limit)
    pipe = Pipeline(bus, cfg, [src], notifiers=[rec])  # type: ignore[arg-type]
    t0 = time.perf_counter()
    pipe.start()
    while not pipe.drained():
        if pipe.errors:
            raise RuntimeError(str(pipe.errors[0]))
        time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    pipe.shutdown()
    st = pipe.stats()
    return {
        "items": st.get("collected", 0),
        "labelled": st.get("labelled", 0),
        "stored": st.get("stored", 0),
        "alerts": st.get("alerts", 0),
        "seconds": round(elapsed, 3),
        "items_per_second": round(st.get("labelled", 0) / elapsed, 1),
        "collect_to_alert_p50_s": pct(rec.to_alert, 50),
        "collect_to_alert_p99_s": pct(rec.to_alert, 99),
        "collect_to_notifier_p50_s": pct(rec.to_notifier, 50),
        "collect_to_notifier_p99_s": pct(rec.to_notifier, 99),
        "collect_to_notifier_max_s": round(max(rec.to_notifier), 4) if rec.to_notifier else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--threshold", type=float, default=0.0)
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()

    from feeds.bus import RedisBus
    from feeds.sources import FileReplayer
    from tools.paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        print(json.dumps({"error": "real data not found: set AURAQUANT_DATA"}))
        sys.exit(2)
    files = FileReplayer.discover(data / "news")
    bus = RedisBus.from_url(args.redis_url)
    bus.r.ping()
    prefixes = [f"bench-news-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    tmp = Path(tempfile.mkdtemp(prefix="aq-bench-news-"))
    try:
        latency = run(bus, prefixes[0], tmp / "a", files, rate=args.rate,
                      limit=int(args.rate * args.seconds), threshold=args.threshold)  # fmt: skip
        throughput = run(bus, prefixes[1], tmp / "b", files, rate=None, limit=None,
                         threshold=0.7)  # fmt: skip
    finally:
        for p in prefixes:
            keys = list(bus.r.scan_iter(f"{p}:*", count=1000))
            for i in range(0, len(keys), 500):
                bus.r.delete(*keys[i : i + 500])
    p99 = latency["collect_to_notifier_p99_s"]
    print(
        json.dumps(
            {
                "benchmark": "news_latency",
                "backend": "redis streams, one process (threads), offline labeler",
                "rate_items_per_second": args.rate,
                "threshold": args.threshold,
                "latency_run": latency,
                "throughput_run": throughput,
                "target_p99_s": TARGET_P99_S,
                "meets_target": p99 is not None and float(p99) <= TARGET_P99_S,  # type: ignore[arg-type]
                "load_avg_1m_5m_15m": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
