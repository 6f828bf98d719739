"""The AI-log uploader: an append-only, fsynced disk queue and a background worker that posts
each record to ``/capi/v2/order/uploadAiLog`` and forgets it only when WEEX acknowledges it.

Files in the queue directory (one JSON object per line, each line flushed and fsynced):

- ``queue.ndjson``   ``{"id", "enqueued_ms", "body"}``: every record, appended before upload;
- ``sending.ndjson`` ``{"id", "ts_ms"}``: written just before each POST;
- ``acked.ndjson``   ``{"id", "ts_ms", "latency_ms", "redelivered"}``: written after WEEX's
  ``code == "00000"``;
- ``dead.ndjson``    records WEEX refused as malformed ``max_refusals`` times (kept, never lost);
- ``prompts/<sha256>.txt``: long prompts, referenced from the body by hash.

At start the pending records are the queued ids not acked (nor dead). One that has a ``sending``
line may have reached WEEX before a crash: it is sent again with ``input.record.redelivered =
true``, so a duplicate is marked; there is at most one such duplicate per crash and worker
(``workers`` POSTs in flight; ``workers=1`` keeps WEEX's arrival order equal to the queue
order). A resend after an ambiguous transport failure (the answer lost) is marked the same way. Failures are retried with exponential backoff, forever for transport,
5xx, 429 and authentication errors. No secret reaches the files: bodies are redacted first.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchange.weex.ailog import redact_json, redact_text
from exchange.weex.errors import WeexBusinessError, WeexError

Sender = Callable[[dict[str, Any]], Any]


def _now_ms() -> float:
    return time.time() * 1000


class _Log:
    """An append-only NDJSON file; each append is flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = path.open("a", encoding="utf-8")

    def append(self, obj: dict[str, Any]) -> None:
        self._fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def _read(path: Path) -> list[dict[str, Any]]:
    """The complete lines of an NDJSON file (a torn last line from a crash is ignored)."""
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


@dataclass
class UploaderStats:
    enqueued: int = 0
    delivered: int = 0
    failures: int = 0
    redelivered: int = 0
    dead: int = 0
    latencies_ms: list[float] = field(default_factory=list)


class AILogUploader:
    """Queue records with ``enqueue``; a worker thread uploads them in order."""

    def __init__(
        self,
        directory: Path,
        send: Sender,
        *,
        secrets: Iterable[str] = (),
        backoff_s: float = 0.05,
        backoff_max_s: float = 5.0,
        max_refusals: int = 5,
        seed: int | None = None,
        workers: int = 4,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "prompts").mkdir(exist_ok=True)
        self._send = send
        self.secrets = [s for s in secrets if s]
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.max_refusals = max_refusals
        self._rng = random.Random(seed)
        self._cv = threading.Condition()
        self._stop = False
        self._threads: list[threading.Thread] = []
        self.workers = max(1, workers)
        self._in_flight: set[str] = set()
        self.stats = UploaderStats()
        self._pending: list[dict[str, Any]] = []
        self._recover()
        self._queue = _Log(self.dir / "queue.ndjson")
        self._sending = _Log(self.dir / "sending.ndjson")
        self._acked = _Log(self.dir / "acked.ndjson")
        self._dead = _Log(self.dir / "dead.ndjson")

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        """Pending = queued - acked - dead; those with a ``sending`` line are redeliveries.
        The queue is then compacted to the pending records (atomic rename)."""
        for name in ("queue.ndjson", "sending.ndjson", "acked.ndjson", "dead.ndjson"):
            _truncate_torn_tail(self.dir / name)
        queued = _read(self.dir / "queue.ndjson")
        done = {e["id"] for e in _read(self.dir / "acked.ndjson")}
        done |= {e["id"] for e in _read(self.dir / "dead.ndjson")}
        sent = {e["id"] for e in _read(self.dir / "sending.ndjson")}
        pending = [e for e in queued if e["id"] not in done]
        for e in pending:
            if e["id"] in sent:
                e["redelivered"] = True
        self._pending = pending
        if done and queued:
            tmp = self.dir / "queue.ndjson.tmp"
            with tmp.open("w", encoding="utf-8") as fh:
                for e in pending:
                    fh.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / "queue.ndjson")
            for name in ("acked.ndjson", "dead.ndjson", "sending.ndjson"):
                keep = [e for e in _read(self.dir / name) if name == "dead.ndjson"]
                keep += (
                    [{"id": e["id"], "ts_ms": 0} for e in pending if e.get("redelivered")]
                    if name == "sending.ndjson"
                    else []
                )
                with (self.dir / name).open("w", encoding="utf-8") as fh:
                    for e in keep:
                        fh.write(json.dumps(e, separators=(",", ":")) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
            _fsync_dir(self.dir)

    # ------------------------------------------------------------------ producer

    def enqueue(self, body: dict[str, Any], blobs: dict[str, str] | None = None) -> str:
        """Append one WEEX body to the disk queue (fsynced) and wake the worker; returns its
        queue id. Secrets are redacted before anything is written."""
        if not isinstance(body, dict):
            raise ValueError("body: an AI-log upload is one JSON object")
        for digest, text in (blobs or {}).items():
            path = self.dir / "prompts" / f"{digest}.txt"
            if not path.exists():
                path.write_text(redact_text(text, self.secrets), encoding="utf-8")
        entry = {"id": uuid.uuid4().hex, "enqueued_ms": _now_ms(),
                 "body": redact_json(body, self.secrets)}  # fmt: skip
        with self._cv:
            self._queue.append(entry)
            self._pending.append(entry)
            self.stats.enqueued += 1
            self._cv.notify_all()
        return str(entry["id"])

    @property
    def pending(self) -> int:
        with self._cv:
            return len(self._pending)

    # ------------------------------------------------------------------ worker

    def start(self) -> AILogUploader:
        for i in range(self.workers):
            t = threading.Thread(target=self._run, name=f"weex-ailog-uploader-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout)
        for log in (self._queue, self._sending, self._acked, self._dead):
            log.close()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued record is delivered (True) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        delay = self.backoff_s
        refusals = 0
        while True:
            with self._cv:
                while not self._stop and (entry := self._next()) is None:
                    self._cv.wait()
                if self._stop or entry is None:
                    return
                self._in_flight.add(entry["id"])
            body = entry["body"]
            if entry.get("redelivered"):
                body = _mark_redelivered(body)
            self._sending.append({"id": entry["id"], "ts_ms": _now_ms()})
            try:
                self._send(body)
            except WeexBusinessError as exc:
                refusals += 1
                self.stats.failures += 1
                if refusals >= self.max_refusals:
                    self._dead.append({"id": entry["id"], "ts_ms": _now_ms(), "body": body,
                                       "error": redact_text(str(exc), self.secrets)})  # fmt: skip
                    self._pop(entry, dead=True)
                    refusals, delay = 0, self.backoff_s
                    continue
                self._release(entry)
                self._wait(delay)
                delay = min(self.backoff_max_s, delay * 2)
                continue
            except (WeexError, OSError) as exc:
                if getattr(exc, "ambiguous", False):
                    entry["redelivered"] = True  # it may have arrived: a resend is marked
                self.stats.failures += 1
                self._release(entry)
                self._wait(delay * (0.5 + self._rng.random()))
                delay = min(self.backoff_max_s, delay * 2)
                continue
            latency = _now_ms() - float(entry["enqueued_ms"])
            self._acked.append({"id": entry["id"], "ts_ms": _now_ms(),
                                "latency_ms": round(latency, 3),
                                "redelivered": bool(entry.get("redelivered"))})  # fmt: skip
            self.stats.latencies_ms.append(latency)
            if entry.get("redelivered"):
                self.stats.redelivered += 1
            self._pop(entry)
            refusals, delay = 0, self.backoff_s

    def _next(self) -> dict[str, Any] | None:
        """The oldest pending record no worker is sending (call under the lock)."""
        for e in self._pending:
            if e["id"] not in self._in_flight:
                return e
        return None

    def _release(self, entry: dict[str, Any]) -> None:
        with self._cv:
            self._in_flight.discard(entry["id"])
            self._cv.notify_all()

    def _pop(self, entry: dict[str, Any], *, dead: bool = False) -> None:
        with self._cv:
            self._in_flight.discard(entry["id"])
            for i, e in enumerate(self._pending):
                if e is entry:
                    del self._pending[i]
                    break
            if dead:
                self.stats.dead += 1
            else:
                self.stats.delivered += 1
            self._cv.notify_all()

    def _wait(self, seconds: float) -> None:
        with self._cv:
            if not self._stop:
                self._cv.wait(seconds)


def _mark_redelivered(body: dict[str, Any]) -> dict[str, Any]:
    """The body with ``input.record.redelivered = true`` (a possible duplicate after a crash)."""
    inp = dict(body.get("input") or {})
    rec = dict(inp.get("record") or {})
    rec["redelivered"] = True
    inp["record"] = rec
    return {**body, "input": inp}


def _truncate_torn_tail(path: Path) -> None:
    """Cut a half-written last line (a crash mid-append) so the next append starts clean."""
    if not path.exists():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    with path.open("r+b") as fh:
        fh.truncate(data.rfind(b"\n") + 1)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
