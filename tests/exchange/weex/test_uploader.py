"""The AI-log uploader: nothing lost under failures and SIGKILL, duplicates bounded and marked,
no secret in the queue files. The kill test uses real processes: a loopback WEEX process and a
producer process that is SIGKILLed mid-burst and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from exchange.weex.ailog import to_weex_body
from exchange.weex.errors import WeexBusinessError, WeexServerError
from exchange.weex.mock.config import FaultRule
from exchange.weex.uploader import AILogUploader
from tests.exchange.weex.kit import ACCOUNT, SECRETS, client_for, loopback
from tests.exchange.weex.uploader_child import record
from tools.paths import PROJECT_ROOT


def _body(seq: int, **extra: Any) -> dict[str, Any]:
    return to_weex_body({**record(seq, "unit"), **extra}, model_version="v1").body


def _seqs(logs: list[dict[str, Any]]) -> list[int]:
    return [int(b["input"]["record"]["seq"]) for b in logs]


@pytest.mark.parametrize("workers", [1, 4])
def test_every_record_arrives_once_with_30_percent_failures(tmp_path: Path, workers: int) -> None:
    with loopback() as (server, mock):
        mock.faults.set([FaultRule(kind="status", status=500, count=None, probability=0.3,
                                   path="/order/uploadAiLog")], seed=7)  # fmt: skip
        up = AILogUploader(tmp_path / "q", client_for(server, retries=0).upload_ai_log,
                           backoff_s=0.001, backoff_max_s=0.01, seed=1,
                           workers=workers).start()  # fmt: skip
        for i in range(100):
            up.enqueue(_body(i))
        assert up.drain(30)
        up.stop()
        fired = sum(1 for k, _ in mock.faults.fired if k == "status")
    if workers == 1:
        assert _seqs(mock.ai_logs) == list(range(100))  # all, once, in order
    else:
        assert sorted(_seqs(mock.ai_logs)) == list(range(100))  # all, once
    assert up.stats.delivered == 100 and up.stats.failures == fired >= 20
    assert up.pending == 0


def test_a_refused_record_goes_to_the_dead_letter_file_not_lost(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []

    def send(body: dict[str, Any]) -> None:
        if body.get("model") == "bad":
            raise WeexBusinessError("40020", "orderId must be a Long")
        sent.append(body)

    up = AILogUploader(tmp_path, send, backoff_s=0.001, max_refusals=3).start()
    up.enqueue({**_body(1), "model": "bad"})
    up.enqueue(_body(2))
    assert up.drain(5)
    up.stop()
    dead = [json.loads(x) for x in (tmp_path / "dead.ndjson").read_text().splitlines()]
    assert [d["body"]["model"] for d in dead] == ["bad"] and "40020" in dead[0]["error"]
    assert _seqs(sent) == [2] and up.stats.dead == 1


def test_restart_resends_unacked_and_marks_the_possible_duplicate(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def down(body: dict[str, Any]) -> None:
        calls.append(body)
        raise WeexServerError("500", "down", http_status=500)

    first = AILogUploader(tmp_path, down, backoff_s=5.0, workers=1).start()
    for i in range(3):
        first.enqueue(_body(i))
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    first.stop(timeout=1)  # as if killed: nothing acked, record 0 was "sending"
    with (tmp_path / "queue.ndjson").open("a") as fh:
        fh.write('{"id": "torn')  # a crash mid-append leaves half a line
    got: list[dict[str, Any]] = []
    second = AILogUploader(tmp_path, got.append, backoff_s=0.001, workers=1).start()
    assert second.pending == 3
    assert second.drain(5)
    second.stop()
    assert _seqs(got) == [0, 1, 2]
    assert [b["input"]["record"].get("redelivered", False) for b in got] == [True, False, False]
    third = AILogUploader(tmp_path, got.append)
    assert third.pending == 0  # acked records are gone after the compaction
    third.stop()


def test_no_secret_reaches_the_queue_files(tmp_path: Path) -> None:
    key, secret, passphrase = SECRETS
    up = AILogUploader(tmp_path, lambda b: None, secrets=SECRETS)
    up.enqueue(to_weex_body({**record(1, "s"), "input": {"prompt": f"key={key} " + "x" * 5000,
                                                          "data": {"p": passphrase}},
                             "explanation": f"secret {secret}"}).body,
               {"abc": f"long prompt with {secret}"})  # fmt: skip
    up.stop()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not any(s in text for s in SECRETS), path


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *args], cwd=PROJECT_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


@pytest.mark.slow
def test_sigkill_during_a_burst_then_restart_loses_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "WEEX_API_KEY": ACCOUNT.api_key, "WEEX_API_SECRET": ACCOUNT.secret,
           "WEEX_API_PASSPHRASE": ACCOUNT.passphrase, "PYTHONUNBUFFERED": "1"}  # fmt: skip
    port_file, received = tmp_path / "url", tmp_path / "received.ndjson"
    faults = json.dumps([{"kind": "status", "status": 500, "count": None, "probability": 0.3,
                          "path": "/order/uploadAiLog"},
                         {"kind": "slow", "delay_s": 0.05, "count": None,
                          "path": "/order/uploadAiLog"}])  # fmt: skip
    weex = _spawn(["-m", "exchange.weex.mock.run", "--port-file", str(port_file), "--key",
                   ACCOUNT.api_key, "--secret", ACCOUNT.secret, "--passphrase",
                   ACCOUNT.passphrase, "--faults", faults, "--ailog-file", str(received)], env)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text():
            assert weex.poll() is None and time.monotonic() < deadline, weex.stderr
            time.sleep(0.05)
        url = port_file.read_text()
        queue = tmp_path / "queue"
        child = ["-m", "tests.exchange.weex.uploader_child", "--queue", str(queue), "--url", url]
        burst = _spawn([*child, "--count", "300", "--interval", "0.002"], env)
        enqueued: list[int] = []
        assert burst.stdout is not None
        for line in burst.stdout:
            if line.startswith("enqueued "):
                enqueued.append(int(line.split()[1]))
            if len(enqueued) >= 120:
                os.kill(burst.pid, signal.SIGKILL)  # mid-burst, uploads in flight
                break
        burst.wait(10)
        assert burst.returncode == -signal.SIGKILL
        restart = _spawn([*child, "--count", "50", "--start", "1000"], env)
        out, err = restart.communicate(timeout=120)
        assert restart.returncode == 0, err
        pending_at_start = int(out.splitlines()[0].split()[1])
        summary = json.loads(out.splitlines()[-1])
    finally:
        weex.send_signal(signal.SIGINT)
        weex.wait(10)
    logs = [json.loads(x) for x in received.read_text().splitlines()]
    seqs = _seqs(logs)
    counts = Counter(seqs)
    assert set(enqueued) <= set(seqs), "every record enqueued before the kill arrived"
    assert set(range(1000, 1050)) <= set(seqs)
    assert pending_at_start > 0  # the kill really left work for the restart
    dups = {s: n for s, n in counts.items() if n > 1}
    assert sum(n - 1 for n in dups.values()) <= 4  # bounded: one kill x 4 workers in flight
    for s in dups:
        copies = [b for b in logs if b["input"]["record"]["seq"] == s]
        assert copies[-1]["input"]["record"].get("redelivered") is True
    assert summary["drained"] and summary["failures"] > 0  # the 30 % faults were hit
    text = "".join(p.read_text() for p in queue.rglob("*") if p.is_file())
    assert not any(s in text for s in (ACCOUNT.secret, ACCOUNT.passphrase, ACCOUNT.api_key))
