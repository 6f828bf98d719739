"""Meetings per second of a replay on two Celery worker processes against one in-process loop
(offline models), JSON.

    AURAQUANT_HOME=<home with the shared data imported> \\
        .venv/bin/python benchmarks/schedule_throughput.py [--days 2] [--every 1h] [--workers 2]

The same replay (BTC, ETH, SOL, ADA, DOGE from 2023-03-17, the desk and its ablation) twice:
``run_replay`` with the step's meetings fanned out as ``auraquant.hold_meeting`` tasks over
``--workers`` real worker processes (``auraquant worker --pool solo``) on the Redis of this
machine, and with every meeting in this process. Both reports must be byte-identical; the wall
time is ``run_replay`` alone (market loaded before, worker start-up not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import workers

from backtest.replay import ReplaySpec, build_replay_report, load_market, run_replay
from tools.paths import home_dir, store_dir
from tools.timeutil import iso

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "DOGEUSDT")
START = pd.Timestamp("2023-03-17T00:00:00Z")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--every", default="1h")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    spec = ReplaySpec(symbols=SYMBOLS, start=iso(START),
                      end=iso(START + pd.Timedelta(days=args.days)), every=args.every, learn=False)  # fmt: skip
    store = store_dir()
    if not (store / "candles").is_dir():
        raise SystemExit("no store: AURAQUANT_HOME=<home> auraquant data import ../shared/data")
    market = load_market(spec, store)
    out: dict[str, object] = {"benchmark": "schedule_throughput", "symbols": list(SYMBOLS),
                              "start": spec.start, "end": spec.end, "every": spec.every}  # fmt: skip
    reports = {}
    with workers(args.workers, home_dir()):
        from auraquant.schedule.celery_app import CeleryPool, make_app, store_init

        pool = CeleryPool(make_app(), store_init(store, spec.symbols, spec.start, spec.timeframe))
        pool.map(None, [])  # nothing: the app connects lazily
        for name, kw in (("celery", {"pool": pool}), ("in_process", {"workers": 1})):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                res = run_replay(spec, store=store, run_id="bench", ledger=None,
                                 ailog_dir=Path(tmp), market=market, **kw)  # type: ignore[arg-type]  # fmt: skip
                wall = time.perf_counter() - t0
            reports[name] = json.dumps(build_replay_report(res), sort_keys=True)
            out[name] = {"meetings": res.meetings, "wall_s": round(wall, 2),
                         "meetings_per_s": round(res.meetings / wall, 1)}  # fmt: skip
    out["celery_workers"] = args.workers
    out["identical_reports"] = reports["celery"] == reports["in_process"]
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    out["cores"] = os.cpu_count()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
