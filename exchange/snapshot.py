"""Where the virtual exchange keeps its state between runs: a JSON file or a Redis key.

The exchange saves its whole ``state_dict()`` after every change; a restarted exchange loads it
and continues from the identical state. The file is written atomically (a crash leaves the old
or the new snapshot, never half of one).

Every snapshot carries a version that each save increments. Several processes sharing one
snapshot (the CLI, ``auraquant exchange serve``, a desk) mutate it with ``transact``: load the
state and its version, act on an exchange built from it, and save only if the version is still
the one loaded (``save_if``: a compare-and-swap, under a file lock for the JSON file, under
``WATCH``/``MULTI`` for Redis). A stale writer reloads and retries; after ``attempts`` it
fails with ``SnapshotConflict`` and a clear message. Nothing is ever lost silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

VERSION_FIELD = "snapshot_version"
_VERSION_HEAD = re.compile(r'\{"snapshot_version":(\d+)[,}]')
T = TypeVar("T")


class SnapshotConflict(RuntimeError):
    """Another writer saved the snapshot since it was loaded (a failed compare-and-swap)."""


@runtime_checkable
class SnapshotStore(Protocol):
    """Save and load one exchange state (a JSON-able dict)."""

    def save(self, state: dict[str, Any]) -> None: ...

    def load(self) -> dict[str, Any] | None: ...

    def clear(self) -> None: ...


@runtime_checkable
class VersionedStore(SnapshotStore, Protocol):
    """A store whose saves can be made conditional on the version loaded (compare-and-swap)."""

    def load_versioned(self) -> tuple[dict[str, Any] | None, int]:
        """The state (None if none) and its version (0 if none)."""
        ...

    def save_if(self, state: dict[str, Any], version: int) -> int:
        """Save ``state`` if the stored version is still ``version``; returns the new version,
        or raises ``SnapshotConflict`` and saves nothing."""
        ...


def _dumps(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that a killed process leaves either the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class JsonFileSnapshot:
    """The embedded default: one JSON file, e.g. ``$AURAQUANT_HOME/exchange/state.json``.

    The version is a field of the file (``snapshot_version``, stripped by ``load``); writers
    take an exclusive ``flock`` on ``<file>.lock`` around every read-compare-write.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _read(self) -> tuple[dict[str, Any] | None, int]:
        if not self.path.exists():
            return None, 0
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.path}: not a valid exchange snapshot ({exc})") from exc
        if not isinstance(data, dict):
            raise ValueError(
                f"{self.path}: not a valid exchange snapshot (top level is not an object)"
            )
        version = int(data.pop(VERSION_FIELD, 0))
        return data, version

    def _write(self, state: dict[str, Any], version: int) -> None:
        # the version leads the text, so _version reads it without parsing the whole state
        body = _dumps({k: v for k, v in state.items() if k != VERSION_FIELD})
        head = f'{{"{VERSION_FIELD}":{version}'
        _atomic_write_text(self.path, head + ("}" if body == "{}" else "," + body[1:]))

    def _version(self) -> int:
        """The stored version (0 if none), from the head of the file."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                head = fh.read(64)
        except FileNotFoundError:
            return 0
        m = _VERSION_HEAD.match(head)
        return int(m.group(1)) if m else self._read()[1]  # an older file: parse it

    def save(self, state: dict[str, Any]) -> None:
        """Save unconditionally (the last writer wins; still a new version)."""
        with self._locked():
            self._write(state, self._version() + 1)

    def save_if(self, state: dict[str, Any], version: int) -> int:
        with self._locked():
            current = self._version()
            if current != version:
                raise SnapshotConflict(
                    f"{self.path}: changed by another writer (version {current}, loaded {version})"
                )
            self._write(state, version + 1)
            return version + 1

    def load(self) -> dict[str, Any] | None:
        return self._read()[0]

    def load_versioned(self) -> tuple[dict[str, Any] | None, int]:
        return self._read()  # os.replace makes each read see one whole version

    def clear(self) -> None:
        with self._locked():
            self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"JsonFileSnapshot({str(self.path)!r})"


class RedisSnapshot:
    """The scaled-out store: the state as one JSON string under ``key`` and its version under
    ``key:version`` (a save is ``MULTI SET INCR``; ``save_if`` adds ``WATCH`` on the version)."""

    def __init__(self, url: str, key: str = "auraquant:exchange:state") -> None:
        import redis

        self.url = url
        self.key = key
        self.version_key = f"{key}:version"
        self._client = redis.Redis.from_url(url)

    def save(self, state: dict[str, Any]) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.set(self.key, _dumps(state))
        pipe.incr(self.version_key)
        pipe.execute()

    def save_if(self, state: dict[str, Any], version: int) -> int:
        import redis

        text = _dumps(state)
        with self._client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(self.version_key)
                raw: Any = pipe.get(self.version_key)  # immediate while watching
                current = int(raw or 0)
                if current != version:
                    raise SnapshotConflict(
                        f"redis key {self.key}: changed by another writer "
                        f"(version {current}, loaded {version})"
                    )
                pipe.multi()
                pipe.set(self.key, text)
                pipe.incr(self.version_key)
                pipe.execute()
            except redis.WatchError as exc:
                raise SnapshotConflict(
                    f"redis key {self.key}: changed by another writer while saving"
                ) from exc
        return version + 1

    def load(self) -> dict[str, Any] | None:
        return self.load_versioned()[0]

    def load_versioned(self) -> tuple[dict[str, Any] | None, int]:
        pipe = self._client.pipeline(transaction=True)
        pipe.get(self.key)
        pipe.get(self.version_key)
        raw, version = pipe.execute()
        if raw is None:
            return None, int(version or 0)
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"redis key {self.key}: not a valid exchange snapshot")
        return data, int(version or 0)

    def clear(self) -> None:
        self._client.delete(self.key, self.version_key)

    def __repr__(self) -> str:
        return f"RedisSnapshot(key={self.key!r})"


def transact(
    store: VersionedStore,
    build: Callable[[dict[str, Any] | None], Any],
    action: Callable[[Any], T],
    *,
    save: bool = True,
    attempts: int = 100,
) -> tuple[Any, T]:
    """Load, act, compare-and-swap; on a conflict reload and act again (up to ``attempts``).

    ``build(state)`` makes the exchange from the loaded state (None: a fresh one);
    ``action(exchange)`` mutates it and returns a result. An exception from ``action`` saves
    nothing and propagates. Returns the exchange as saved and the action's result.
    """
    for attempt in range(attempts):
        state, version = store.load_versioned()
        exchange = build(state)
        result = action(exchange)
        if not save:
            return exchange, result
        try:
            store.save_if(exchange.state_dict(), version)
        except SnapshotConflict:
            time.sleep(min(0.05, 0.001 * (attempt + 1)))
            continue
        return exchange, result
    raise SnapshotConflict(
        f"{store!r}: still changed by other writers after {attempts} attempts; nothing was "
        "saved, try again"
    )


@contextlib.contextmanager
def exchange_transaction(
    store: VersionedStore, build: Callable[[dict[str, Any] | None], Any]
) -> Iterator[Any]:
    """One attempt of ``transact`` as a ``with`` block: yields the exchange loaded from the
    store and saves it on exit if nobody saved in between (else ``SnapshotConflict``, nothing
    saved). An exception inside the block saves nothing."""
    state, version = store.load_versioned()
    exchange = build(state)
    yield exchange
    store.save_if(exchange.state_dict(), version)
