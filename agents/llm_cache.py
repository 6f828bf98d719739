"""The LLM call cache: LangChain's ``BaseCache`` over SQLite (default) or Redis.

A chat model given one of these as its ``cache`` looks every call up by LangChain's own key —
the prompt (the serialised messages) and the ``llm_string`` (model, parameters and the bound
structured-output request) — so a second identical meeting makes no model call at all and
replays the same replies. A hit is marked in the reply's ``response_metadata``
(``auraquant_cache_hit``) so the AI log can say so. Keys are SHA-256 hashes of both parts,
under a namespace naming the model and its server.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.load import dumpd, load
from langchain_core.outputs import ChatGeneration, Generation

HIT_FLAG = "auraquant_cache_hit"
DEFAULT_PREFIX = "auraquant:llm:"


def cache_key(namespace: str, prompt: str, llm_string: str) -> str:
    h = hashlib.sha256()
    for part in (namespace, prompt, llm_string):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


def _dump(generations: Sequence[Generation]) -> str:
    return json.dumps([dumpd(g) for g in generations], sort_keys=True)


def _load(text: str) -> list[Generation]:
    out: list[Generation] = []
    for d in json.loads(text):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `load` is marked beta
            g = load(d, allowed_objects="core")
        if isinstance(g, ChatGeneration):
            meta = dict(g.message.response_metadata or {})
            meta[HIT_FLAG] = True
            g.message.response_metadata = meta
        out.append(g)
    return out


class SQLiteLLMCache(BaseCache):
    """Replies in one SQLite file (``$AURAQUANT_HOME/llm_cache.sqlite`` by default)."""

    def __init__(self, path: Path, namespace: str = "") -> None:
        self.path = path
        self.namespace = namespace
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        with self._lock, self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS llm_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = cache_key(self.namespace, prompt, llm_string)
        with self._lock:
            row = self._conn.execute("SELECT value FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return _load(row[0]) if row else None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        key = cache_key(self.namespace, prompt, llm_string)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_cache (key, value) VALUES (?, ?)",
                (key, _dump(return_val)),
            )

    def clear(self, **kwargs: Any) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM llm_cache")


class RedisLLMCache(BaseCache):
    """Replies in Redis under ``prefix`` + hash (used when ``REDIS_URL`` is set)."""

    def __init__(
        self, client: Any, namespace: str = "", prefix: str = DEFAULT_PREFIX, ttl: int | None = None
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.prefix = prefix
        self.ttl = ttl

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisLLMCache:
        import redis

        return cls(redis.Redis.from_url(url), **kwargs)

    def _key(self, prompt: str, llm_string: str) -> str:
        return self.prefix + cache_key(self.namespace, prompt, llm_string)

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        raw = self.client.get(self._key(prompt, llm_string))
        if raw is None:
            return None
        return _load(raw.decode() if isinstance(raw, bytes) else raw)

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        self.client.set(self._key(prompt, llm_string), _dump(return_val), ex=self.ttl)

    def clear(self, **kwargs: Any) -> None:
        for key in self.client.scan_iter(match=self.prefix + "*"):
            self.client.delete(key)


def llm_cache_for(
    *, home: Path, redis_url: str | None, namespace: str, prefix: str = DEFAULT_PREFIX
) -> BaseCache:
    """Redis when ``redis_url`` is given, else SQLite under ``home``."""
    if redis_url:
        return _redis(redis_url, namespace, prefix)
    return _sqlite(str(home.resolve() / "llm_cache.sqlite"), namespace)


_SQLITE: dict[tuple[str, str], SQLiteLLMCache] = {}
_REDIS: dict[tuple[str, str, str], RedisLLMCache] = {}
_LOCK = threading.Lock()


def _redis(url: str, namespace: str, prefix: str) -> RedisLLMCache:
    """One cache (one connection pool) per (server, model, prefix) per process."""
    with _LOCK:
        c = _REDIS.get((url, namespace, prefix))
        if c is None:
            c = RedisLLMCache.from_url(url, namespace=namespace, prefix=prefix)
            _REDIS[(url, namespace, prefix)] = c
        return c


def _sqlite(path: str, namespace: str) -> SQLiteLLMCache:
    with _LOCK:
        c = _SQLITE.get((path, namespace))
        if c is None or not Path(path).exists():
            c = SQLiteLLMCache(Path(path), namespace)
            _SQLITE[(path, namespace)] = c
        return c
