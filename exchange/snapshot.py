"""Where the virtual exchange keeps its state between runs: a JSON file or a Redis key.

The exchange saves its whole ``state_dict()`` after every change; a restarted exchange loads it
and continues from the identical state. The file is written atomically (a crash leaves the old
or the new snapshot, never half of one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tools.runs import atomic_write_text


@runtime_checkable
class SnapshotStore(Protocol):
    """Save and load one exchange state (a JSON-able dict)."""

    def save(self, state: dict[str, Any]) -> None: ...

    def load(self) -> dict[str, Any] | None: ...

    def clear(self) -> None: ...


def _dumps(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), allow_nan=True)


class JsonFileSnapshot:
    """The embedded default: one JSON file, e.g. ``$AURAQUANT_HOME/exchange/state.json``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def save(self, state: dict[str, Any]) -> None:
        atomic_write_text(self.path, _dumps(state))

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.path}: not a valid exchange snapshot ({exc})") from exc
        if not isinstance(data, dict):
            raise ValueError(
                f"{self.path}: not a valid exchange snapshot (top level is not an object)"
            )
        return data

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"JsonFileSnapshot({str(self.path)!r})"


class RedisSnapshot:
    """The scaled-out store: the state as one JSON string under ``key`` (``SET`` on every change)."""

    def __init__(self, url: str, key: str = "auraquant:exchange:state") -> None:
        import redis

        self.url = url
        self.key = key
        self._client = redis.Redis.from_url(url)

    def save(self, state: dict[str, Any]) -> None:
        self._client.set(self.key, _dumps(state))

    def load(self) -> dict[str, Any] | None:
        raw = self._client.get(self.key)
        if raw is None:
            return None
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"redis key {self.key}: not a valid exchange snapshot")
        return data

    def clear(self) -> None:
        self._client.delete(self.key)

    def __repr__(self) -> str:
        return f"RedisSnapshot(key={self.key!r})"
