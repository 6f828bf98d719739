"""The evidence log: every request and answer of a session as JSON lines, secrets masked.

The client hands events without headers; this writer still masks every configured secret
value from each line before it is written (a secret echoed in a body or URL never lands)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from exchange.weex.ailog import redact_text


class EvidenceLog:
    """Append-only JSONL; ``__call__`` is the client's ``on_event`` hook."""

    def __init__(self, path: Path, secrets: Iterable[str]) -> None:
        self.path = path
        self.secrets = [s for s in secrets if s]
        self.count = 0
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    def __call__(self, event: dict[str, Any]) -> None:
        self.write(event)

    def write(self, event: dict[str, Any]) -> None:
        line = redact_text(json.dumps(event, ensure_ascii=False, default=str), self.secrets)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.count += 1

    def close(self) -> None:
        with self._lock:
            self._fh.close()
