"""Scheduling jitter: from a meeting's scheduled time to the start of its step (p50 / p99, ms),
in the in-process loop and on a Celery worker (offline models), JSON.

    AURAQUANT_HOME=<home with the shared data imported> \\
        .venv/bin/python benchmarks/schedule_jitter.py [--steps 20]

- ``in_process``: ``run_schedule`` on a replayed clock (``SpeedClock``, ``--speed`` x real time,
  15-minute closes from 2023-04-19 12:00), the lag of each step's start behind its close
  converted back to real milliseconds. What it measures: the loop's own wake-up (its sleep and
  its bookkeeping), not the bar's arrival.
- ``celery``: ``auraquant.desk_tick`` sent at a wall-clock instant (what beat does at a close)
  to one worker process, the lag from the send to the worker's start of the task (broker and
  prefetch included; the first tick, which loads the market, is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import workers

from tools.paths import store_dir

START = pd.Timestamp("2023-04-19T12:00:00Z")


def _pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs)
    return {"n": len(xs), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2),
            "max_ms": round(float(a.max()), 2)}  # fmt: skip


def in_process(steps: int, speed: float, home: Path) -> dict[str, float]:
    from auraquant.schedule.clock import SpeedClock
    from auraquant.schedule.loop import run_schedule
    from auraquant.schedule.runtime import build_runner
    from auraquant.schedule.step import ScheduleConfig

    cfg = ScheduleConfig(desk="jitter", symbols=("BTCUSDT",), every="15m", missed="late")
    runner = build_runner(cfg, home)
    clock = SpeedClock(START, speed)
    lags: list[float] = []
    step = runner.step

    def timed(t, **kw):  # type: ignore[no-untyped-def]
        lags.append((clock.now() - pd.Timestamp(t)).total_seconds() / speed * 1000)
        return step(t, **kw)

    runner.step = timed  # type: ignore[method-assign]
    run_schedule(runner, clock, threading.Event(), max_steps=steps)
    runner.claims.close()
    return _pct(lags)


def on_celery(steps: int) -> dict[str, float]:
    from auraquant.schedule.celery_app import make_app
    from auraquant.schedule.step import ScheduleConfig

    app = make_app()
    cfg = ScheduleConfig(desk="jitter-celery", symbols=("BTCUSDT",), every="15m").to_dict()
    lags = []
    for k in range(steps + 1):
        at = (START + pd.Timedelta(minutes=15 * (k + 1))).isoformat()
        sent = time.time()
        out = app.send_task("auraquant.desk_tick", args=(cfg, at)).get(timeout=120)
        if k:  # the first includes the worker's market load
            lags.append((out["received_at"] - sent) * 1000)
    return _pct(lags)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--speed", type=float, default=600.0)
    args = ap.parse_args()
    store = store_dir()
    if not (store / "candles").is_dir():
        raise SystemExit("no store: AURAQUANT_HOME=<home> auraquant data import ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "store").symlink_to(store)
        os.environ["AURAQUANT_HOME"] = str(home)
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        from auraquant.settings import get_settings

        get_settings.cache_clear()
        local = in_process(args.steps, args.speed, home)
        with workers(1, home):
            celery = on_celery(args.steps)
    print(json.dumps({"benchmark": "schedule_jitter", "every": "15m", "speed": args.speed,
                      "in_process": local, "celery": celery,
                      "load_avg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count()},
                     sort_keys=True))  # fmt: skip


if __name__ == "__main__":
    main()
