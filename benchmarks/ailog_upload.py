"""AI-log upload to the loopback WEEX: latency from enqueue (fsynced) to WEEX's acknowledgement
under a burst, and delivered / lost / duplicate counts with 30 % of uploads failing and with the
producer SIGKILLed mid-burst and restarted. Real processes: the loopback WEEX runs in its own
process (``python -m exchange.weex.mock.run``) and records every upload it accepts.

    .venv/bin/python benchmarks/ailog_upload.py [--burst 500]

Prints one JSON object. Targets (issue 12): p99 < 1 s, zero lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY, SECRET, PASSPHRASE = "bench-key", "bench-secret-77", "benchpass"


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))], 2)


def _mock(
    tmp: Path, name: str, failure_rate: float, slow_s: float = 0.0
) -> tuple[subprocess.Popen[str], str, Path]:
    port_file, received = tmp / f"{name}.url", tmp / f"{name}.received.ndjson"
    faults: list[dict[str, object]] = []
    if failure_rate:
        faults.append({"kind": "status", "status": 500, "count": None,
                       "probability": failure_rate, "path": "/order/uploadAiLog"})  # fmt: skip
    if slow_s:
        faults.append({"kind": "slow", "delay_s": slow_s, "count": None,
                       "path": "/order/uploadAiLog"})  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange.weex.mock.run", "--port-file", str(port_file), "--key",
         KEY, "--secret", SECRET, "--passphrase", PASSPHRASE, "--faults", json.dumps(faults),
         "--ailog-file", str(received)],
        cwd=ROOT, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the loopback WEEX did not start")
        time.sleep(0.05)
    return proc, port_file.read_text(), received


def _child(url: str, queue: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "WEEX_API_KEY": KEY, "WEEX_API_SECRET": SECRET,
           "WEEX_API_PASSPHRASE": PASSPHRASE, "PYTHONUNBUFFERED": "1"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "tests.exchange.weex.uploader_child", "--queue", str(queue),
         "--url", url, *args],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _received(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(x)["input"]["record"]["seq"] for x in path.read_text().splitlines()]


def burst(tmp: Path, n: int, failure_rate: float, name: str, workers: int = 4) -> dict[str, object]:
    proc, url, received = _mock(tmp, name, failure_rate)
    try:
        child = _child(url, tmp / f"{name}.queue", "--count", str(n), "--drain-timeout", "300",
                       "--workers", str(workers))  # fmt: skip
        out, err = child.communicate(timeout=600)
        if child.returncode != 0:
            raise SystemExit(f"{name}: producer failed: {err[-500:]}")
        summary = json.loads(out.splitlines()[-1])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    got = Counter(_received(received))
    lat = summary["latencies_ms"]
    return {"records": n, "workers": workers, "failure_rate": failure_rate, "delivered": len(got),
            "lost": sum(1 for i in range(n) if i not in got),
            "duplicates": sum(c - 1 for c in got.values()), "failed_posts": summary["failures"],
            "latency_ms_p50": _pct(lat, 0.50), "latency_ms_p99": _pct(lat, 0.99),
            "latency_ms_max": _pct(lat, 1.0)}  # fmt: skip


def kill(tmp: Path, n: int) -> dict[str, object]:
    proc, url, received = _mock(tmp, "kill", 0.3, slow_s=0.05)  # a backlog to kill into
    queue = tmp / "kill.queue"
    try:
        a = _child(url, queue, "--count", str(n), "--interval", "0.002", "--workers", "4")
        enqueued: list[int] = []
        assert a.stdout is not None
        for line in a.stdout:
            if line.startswith("enqueued "):
                enqueued.append(int(line.split()[1]))
            if len(enqueued) >= n // 2:
                os.kill(a.pid, signal.SIGKILL)
                break
        a.wait(10)
        b = _child(url, queue, "--count", "0", "--drain-timeout", "300")
        out, _ = b.communicate(timeout=600)
        pending = int(out.splitlines()[0].split()[1])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    got = Counter(_received(received))
    dups = {s: c for s, c in got.items() if c > 1}
    bodies = [json.loads(x) for x in received.read_text().splitlines()]
    marked = sum(1 for b in bodies if b["input"]["record"].get("redelivered"))
    return {"enqueued_before_kill": len(enqueued), "pending_at_restart": pending,
            "redelivered_marked": marked,
            "delivered": sum(1 for s in enqueued if s in got),
            "lost": sum(1 for s in enqueued if s not in got),
            "duplicates": sum(c - 1 for c in dups.values()), "failure_rate": 0.3,
            "answer_delay_ms": 50}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--burst", type=int, default=500)
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="aq-ailog-bench-") as d:
        tmp = Path(d)
        result = {
            "benchmark": "ailog_upload",
            "burst": burst(tmp, args.burst, 0.0, "clean"),
            "burst_one_worker": burst(tmp, args.burst, 0.0, "ordered", workers=1),
            "burst_30pct_failures": burst(tmp, args.burst, 0.3, "faults"),
            "sigkill_mid_burst": kill(tmp, args.burst),
            "target": {"p99_ms": 1000, "lost": 0},
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
