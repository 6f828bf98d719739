"""The AI log: one record per node transition, appended to ``runs/<run_id>/ailog.ndjson`` and
flushed as it happens (DESIGN.md §3, weex-api §11).

Record fields: ``stage`` (SCAN | QUALIFY | ENTER | MANAGE | EXIT | RECONCILE), ``model``,
``input``, ``output``, ``explanation`` (≤ 1000 characters), ``orderId`` (or null),
``timestamp`` (wall clock, ISO UTC with milliseconds), plus ``run_id``, ``node``, ``seq`` and the
meeting's ``meeting_id``/``symbol``/``at``. The WEEX uploader sends ``orderId, stage, model,
input, output, explanation`` of a record as one object.

Stage mapping (from the node; the meeting graph never manages or exits a position — those
stages belong to the position loop):

    open, <analyst seats>                          -> SCAN       reading the market
    <risk seat>, review, resolve, <chair>,
      validate, approval, gate                      -> QUALIFY    debating and vetting the idea
    execute  (an order was placed)                 -> ENTER
    execute  (nothing placed: FLAT or DENIED)       -> RECONCILE  the account is re-read, unchanged

Secrets never appear: every configured secret value (the env vars in ``SECRET_ENV_VARS`` plus
any given) is replaced by ``[REDACTED]`` in the serialised line before it is written.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Stage = Literal["SCAN", "QUALIFY", "ENTER", "MANAGE", "EXIT", "RECONCILE"]
STAGES: tuple[Stage, ...] = ("SCAN", "QUALIFY", "ENTER", "MANAGE", "EXIT", "RECONCILE")
AILOG_FILE = "ailog.ndjson"
MAX_EXPLANATION = 1000
REQUIRED_FIELDS = (
    "stage", "model", "input", "output", "explanation", "orderId", "timestamp",
    "run_id", "node", "seq",
)  # fmt: skip
SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "GOOGLE_API_KEY",
    "WEEX_API_KEY",
    "WEEX_API_SECRET",
    "WEEX_API_PASSPHRASE",
    "WEEX_SECRET_KEY",
    "WEEX_PASSPHRASE",
    "COINGECKO_API_KEY",
    "LANGSMITH_API_KEY",
)
REDACTED = "[REDACTED]"
_MIN_SECRET_LEN = 6  # shorter values would redact ordinary words


def stage_for(node: str, *, seat: str | None = None, order_placed: bool = False) -> Stage:
    """The AI-log stage of a node (see the module docstring for the table)."""
    if node == "execute":
        return "ENTER" if order_placed else "RECONCILE"
    if node == "open" or seat == "analyst":
        return "SCAN"
    return "QUALIFY"


def secrets_from_env(names: Iterable[str] = SECRET_ENV_VARS) -> list[str]:
    """The values of the secret env vars that are set (long enough to be worth redacting)."""
    vals = [os.environ.get(n, "") for n in names]
    return sorted({v for v in vals if len(v) >= _MIN_SECRET_LEN}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and its JSON-escaped form) replaced."""
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
        esc = json.dumps(s)[1:-1]
        if esc != s and esc in text:
            text = text.replace(esc, REDACTED)
    return text


def redact_obj(obj: Any, secrets: Iterable[str]) -> Any:
    """``obj`` (JSON-like) with every secret value redacted from its strings."""
    secrets = list(secrets)
    if not secrets:
        return obj
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {k: redact_obj(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v, secrets) for v in obj]
    return obj


def clip_explanation(text: str) -> str:
    """An explanation of at most ``MAX_EXPLANATION`` characters (WEEX's limit)."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXPLANATION else text[: MAX_EXPLANATION - 1] + "…"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AILogWriter:
    """Appends records to one run's ``ailog.ndjson``; thread-safe (parallel nodes share it)."""

    def __init__(self, path: Path, secrets: Iterable[str] | None = None) -> None:
        self.path = path
        self.secrets: list[str] = []
        self._known: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self.add_secrets(secrets if secrets is not None else secrets_from_env())
        self._fh: Any = None
        self._seq = 0

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Redact these values too from now on (a second caller of the same run may know
        secrets the first did not). Longest first, so a secret inside another is not left half
        redacted."""
        new = frozenset(v for v in secrets if v) - self._known  # '' would redact everything
        if not new:
            return
        with self._lock:
            self._known = self._known | new
            self.secrets = sorted(self._known, key=lambda v: (-len(v), v))

    def _open(self) -> Any:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                with self.path.open("rb") as fh:
                    self._seq = sum(1 for _ in fh)
            self._fh = self.path.open("a", encoding="utf-8")
        return self._fh

    def write(
        self,
        *,
        run_id: str,
        node: str,
        stage: Stage,
        model: str,
        input: Mapping[str, Any],
        output: Mapping[str, Any],
        explanation: str,
        order_id: str | int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one record and flush it; returns the record as written (before redaction)."""
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        with self._lock:
            fh = self._open()
            self._seq += 1
            record = {
                "run_id": run_id,
                "seq": self._seq,
                "node": node,
                "stage": stage,
                "model": model,
                "input": dict(input),
                "output": dict(output),
                "explanation": clip_explanation(explanation),
                "orderId": order_id,
                "timestamp": now_iso(),
                **dict(extra or {}),
            }
            line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
            fh.write(redact(line, self.secrets) + "\n")
            fh.flush()
            return record

    def append(self, record: Mapping[str, Any], *, run_id: str) -> dict[str, Any]:
        """Append a record made elsewhere (a replay worker's): this run's id and next ``seq``,
        the rest as it was (its wall-clock ``timestamp`` included)."""
        with self._lock:
            fh = self._open()
            self._seq += 1
            rec = {**dict(record), "run_id": run_id, "seq": self._seq}
            line = json.dumps(rec, sort_keys=True, ensure_ascii=False, default=str)
            fh.write(redact(line, self.secrets) + "\n")
            fh.flush()
            return rec

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class AILogCollector(AILogWriter):
    """An AI-log writer that keeps its records in memory (redacted) instead of a file: a replay
    worker hands them back to the desk, which appends them to the run's log in order."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__(Path("<memory>"), secrets)
        self.records: list[dict[str, Any]] = []

    def write(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        stage = kwargs["stage"]
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        record = {
            "run_id": kwargs["run_id"],
            "node": kwargs["node"],
            "stage": stage,
            "model": kwargs["model"],
            "input": dict(kwargs["input"]),
            "output": dict(kwargs["output"]),
            "explanation": clip_explanation(kwargs["explanation"]),
            "orderId": kwargs.get("order_id"),
            "timestamp": now_iso(),
            **dict(kwargs.get("extra") or {}),
        }
        clean = redact_obj(json.loads(json.dumps(record, default=str)), self.secrets)
        with self._lock:  # parallel seats write at once
            self.keep(clean)
        return record

    def keep(self, clean: dict[str, Any]) -> None:
        """Keep one redacted record (called under the lock, so records are kept whole and once)."""
        self.records.append(clean)


class AILogRegistry:
    """One writer per run, kept open in a small LRU so a replay of thousands of meetings does
    not hold thousands of files."""

    def __init__(self, max_open: int = 32) -> None:
        self._writers: OrderedDict[Path, AILogWriter] = OrderedDict()
        self._lock = threading.Lock()
        self.max_open = max_open

    def writer(self, path: Path, secrets: Iterable[str] | None = None) -> AILogWriter:
        """The run's writer; ``secrets`` given for a writer that already exists are added to
        the ones it redacts (never dropped: a record must not leak what any caller named)."""
        with self._lock:
            w = self._writers.get(path)
            if w is None:
                w = AILogWriter(path, secrets)
                self._writers[path] = w
            elif secrets is not None:
                w.add_secrets(secrets)
            self._writers.move_to_end(path)
            while len(self._writers) > self.max_open:
                _, old = self._writers.popitem(last=False)
                old.close()
            return w

    def close_all(self) -> None:
        with self._lock:
            for w in self._writers.values():
                w.close()
            self._writers.clear()


def read_ailog(path: Path) -> list[dict[str, Any]]:
    """The records of an ``ailog.ndjson``, in file order."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
