"""The event bus of the news pipeline: Redis Streams with consumer groups, or in-memory queues.

Both implement :class:`Bus`, so every service runs unchanged on either:

- ``add``: append an entry to a stream;
- ``read``: the next entries for a consumer of a group (``XREADGROUP ... >``), blocking a while;
- ``claim_stale``: take over entries another consumer read but never acknowledged for
  ``min_idle_ms`` (``XAUTOCLAIM``), so a consumer killed mid-batch loses nothing;
- ``commit``: the one atomic step of a service. In one Redis script: set the ``once`` key
  (``SET NX``), and only when it was not set before append the outputs and bump the counters;
  acknowledge the input either way. A consumer killed before the script ran leaves the entry
  pending (someone re-does it); killed after, the key says it is done: exactly once.
- ``trim``: cap a stream's length, but only by entries every group has acknowledged, so an
  entry no consumer has processed yet is never dropped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Entry = tuple[str, dict[str, str]]


@dataclass(frozen=True)
class Topology:
    """Stream and key names under one prefix (tests use a uuid prefix, then delete it)."""

    prefix: str = "news"

    @property
    def raw(self) -> str:
        return f"{self.prefix}:raw"

    @property
    def labelled(self) -> str:
        return f"{self.prefix}:labeled"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}:alerts"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:stats"

    def once(self, kind: str, key: str) -> str:
        return f"{self.prefix}:once:{kind}:{key}"

    # the consumer groups each stream feeds; a stream is trimmed only past what all have acked
    def groups(self) -> dict[str, tuple[str, ...]]:
        return {
            self.raw: ("label",),
            self.labelled: ("store", "alert"),
            self.alerts: ("notify",),
        }


class Bus(Protocol):
    """What the services need from a bus (see the module docstring)."""

    def ensure_groups(self, topology: Topology) -> None: ...

    def add(self, stream: str, fields: Mapping[str, str]) -> str: ...

    def read(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int
    ) -> list[Entry]: ...

    def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int
    ) -> list[Entry]: ...

    def commit(
        self,
        *,
        ack: tuple[str, str, str] | None,
        adds: Sequence[tuple[str, Mapping[str, str]]] = (),
        once: str | None = None,
        once_ttl_ms: int = 7 * 86_400_000,
        counters: Mapping[str, int] | None = None,
        stats_key: str = "",
    ) -> bool: ...

    def incr(self, stats_key: str, counters: Mapping[str, int]) -> None: ...

    def stats(self, stats_key: str) -> dict[str, int]: ...

    def length(self, stream: str) -> int: ...

    def pending(self, stream: str, group: str) -> int: ...

    def trim(self, stream: str, groups: Sequence[str], maxlen: int) -> int: ...

    def last(self, stream: str, n: int) -> list[Entry]: ...

    def backlog(self, stream: str, group: str) -> int: ...

    def entries(self, stream: str) -> list[Entry]: ...


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _next_id(entry_id: str) -> str:
    ms, seq = _id_tuple(entry_id)
    return f"{ms}-{seq + 1}"


def safe_trim_id(floors: Sequence[str], cap_id: str | None) -> str | None:
    """The MINID to trim a stream to: entries older than every group's floor (all acked) and
    beyond the cap; ``None`` when nothing may go."""
    if not floors or cap_id is None:
        return None
    floor = min(floors, key=_id_tuple)
    return min((floor, cap_id), key=_id_tuple)


# ---------------------------------------------------------------- Redis

_COMMIT_LUA = """
local spec = cjson.decode(ARGV[1])
local fresh = 1
if spec.once > 0 then
  if not redis.call('SET', KEYS[spec.once], '1', 'NX', 'PX', spec.ttl) then fresh = 0 end
end
local ids = {}
if fresh == 1 then
  for _, a in ipairs(spec.adds) do
    ids[#ids + 1] = redis.call('XADD', KEYS[a.k], '*', unpack(a.f))
  end
  if spec.stats > 0 then
    for name, n in pairs(spec.counters) do
      redis.call('HINCRBY', KEYS[spec.stats], name, n)
    end
  end
end
if spec.ack > 0 then
  redis.call('XACK', KEYS[spec.ack], spec.group, spec.id)
end
return {fresh, ids}
"""


class RedisBus:
    """The bus on a real Redis (streams, consumer groups, XAUTOCLAIM, one Lua commit)."""

    def __init__(self, client: Any) -> None:
        self.r = client
        self._commit = client.register_script(_COMMIT_LUA)

    @classmethod
    def from_url(cls, url: str) -> RedisBus:
        import redis

        return cls(redis.Redis.from_url(url, decode_responses=True))

    def ensure_groups(self, topology: Topology) -> None:
        import redis

        for stream, groups in topology.groups().items():
            for g in groups:
                try:
                    self.r.xgroup_create(stream, g, id="0", mkstream=True)
                except redis.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise

    def add(self, stream: str, fields: Mapping[str, str]) -> str:
        return str(self.r.xadd(stream, dict(fields)))

    def read(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int
    ) -> list[Entry]:
        got = self.r.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
        return [(i, f) for _, entries in got or [] for i, f in entries if f is not None]

    def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int
    ) -> list[Entry]:
        out: list[Entry] = []
        start = "0-0"
        while True:
            res = self.r.xautoclaim(stream, group, consumer, min_idle_ms, start, count=count)
            nxt, entries = res[0], res[1]
            out += [(i, f) for i, f in entries if f is not None]
            if nxt == "0-0" or len(out) >= count:
                return out
            start = nxt

    def commit(
        self,
        *,
        ack: tuple[str, str, str] | None,
        adds: Sequence[tuple[str, Mapping[str, str]]] = (),
        once: str | None = None,
        once_ttl_ms: int = 7 * 86_400_000,
        counters: Mapping[str, int] | None = None,
        stats_key: str = "",
    ) -> bool:
        keys: list[str] = []

        def k(name: str) -> int:
            keys.append(name)
            return len(keys)

        spec: dict[str, Any] = {
            "once": k(once) if once else 0,
            "ttl": int(once_ttl_ms),
            "ack": k(ack[0]) if ack else 0,
            "group": ack[1] if ack else "",
            "id": ack[2] if ack else "",
            "adds": [{"k": k(s), "f": [x for kv in f.items() for x in kv]} for s, f in adds],
            "stats": k(stats_key) if stats_key and counters else 0,
            "counters": dict(counters or {}) or {"_": 0},
        }
        fresh, _ids = self._commit(keys=keys, args=[json.dumps(spec)])
        return bool(fresh)

    def incr(self, stats_key: str, counters: Mapping[str, int]) -> None:
        pipe = self.r.pipeline()
        for name, n in counters.items():
            pipe.hincrby(stats_key, name, n)
        pipe.execute()

    def stats(self, stats_key: str) -> dict[str, int]:
        return {k: int(v) for k, v in self.r.hgetall(stats_key).items() if k != "_"}

    def length(self, stream: str) -> int:
        return int(self.r.xlen(stream))

    def pending(self, stream: str, group: str) -> int:
        return int(self.r.xpending(stream, group)["pending"])

    def _floor(self, stream: str, group: dict[str, Any]) -> str:
        if int(group["pending"]):
            oldest = self.r.xpending(stream, group["name"])["min"]
            if oldest is not None:  # (acknowledged since XINFO was read: fall through)
                return str(oldest)
        return _next_id(str(group["last-delivered-id"]))

    def trim(self, stream: str, groups: Sequence[str], maxlen: int) -> int:
        if self.length(stream) <= maxlen:
            return 0
        info = {g["name"]: g for g in self.r.xinfo_groups(stream)}
        if any(g not in info for g in groups):
            return 0  # a consumer group that does not exist yet has processed nothing
        floors = [self._floor(stream, info[g]) for g in groups]
        newest = self.r.xrevrange(stream, "+", "-", count=maxlen)
        cap_id = newest[-1][0] if newest else None
        minid = safe_trim_id(floors, cap_id)
        if minid is None:
            return 0
        return int(self.r.xtrim(stream, minid=minid, approximate=False))

    def last(self, stream: str, n: int) -> list[Entry]:
        return [(i, f) for i, f in self.r.xrevrange(stream, "+", "-", count=n)]

    def backlog(self, stream: str, group: str) -> int:
        info = {g["name"]: g for g in self.r.xinfo_groups(stream)}
        g = info.get(group)
        if g is None:
            return self.length(stream)
        later = self.r.xrange(stream, "(" + str(g["last-delivered-id"]), "+", count=1000)
        return int(g["pending"]) + len(later)

    def entries(self, stream: str) -> list[Entry]:
        return [(i, f) for i, f in self.r.xrange(stream, "-", "+")]


# ---------------------------------------------------------------- in memory


@dataclass
class _Group:
    last: int = -1  # index into the stream's entries (by sequence number)
    pending: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (consumer, t)


@dataclass
class _Stream:
    entries: list[Entry] = field(default_factory=list)
    seq: int = 0
    groups: dict[str, _Group] = field(default_factory=dict)


class MemoryBus:
    """The same bus on in-process queues (one process, threads): the default with no REDIS_URL."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._once: dict[str, float] = {}
        self._stats: dict[str, dict[str, int]] = {}
        self._cv = threading.Condition()

    def _s(self, stream: str) -> _Stream:
        return self._streams.setdefault(stream, _Stream())

    def ensure_groups(self, topology: Topology) -> None:
        with self._cv:
            for stream, groups in topology.groups().items():
                for g in groups:
                    self._s(stream).groups.setdefault(g, _Group())

    def _add(self, stream: str, fields: Mapping[str, str]) -> str:
        s = self._s(stream)
        s.seq += 1
        entry_id = f"{int(time.time() * 1000)}-{s.seq}"
        s.entries.append((entry_id, dict(fields)))
        self._cv.notify_all()
        return entry_id

    def add(self, stream: str, fields: Mapping[str, str]) -> str:
        with self._cv:
            return self._add(stream, fields)

    def _undelivered(self, s: _Stream, g: _Group) -> list[Entry]:
        return [e for e in s.entries if _id_tuple(e[0])[1] > g.last]

    def read(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int
    ) -> list[Entry]:
        deadline = time.monotonic() + block_ms / 1000
        with self._cv:
            s = self._s(stream)
            g = s.groups.setdefault(group, _Group())
            while True:
                todo = self._undelivered(s, g)[:count]
                if todo:
                    now = time.monotonic()
                    for i, _ in todo:
                        g.pending[i] = (consumer, now)
                    g.last = _id_tuple(todo[-1][0])[1]
                    return [(i, dict(f)) for i, f in todo]
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cv.wait(left)

    def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int
    ) -> list[Entry]:
        with self._cv:
            s = self._s(stream)
            g = s.groups.setdefault(group, _Group())
            now = time.monotonic()
            by_id = dict(s.entries)
            out: list[Entry] = []
            for i, (_c, t) in sorted(g.pending.items(), key=lambda kv: _id_tuple(kv[0])):
                if (now - t) * 1000 >= min_idle_ms and i in by_id and len(out) < count:
                    g.pending[i] = (consumer, now)
                    out.append((i, dict(by_id[i])))
            return out

    def commit(
        self,
        *,
        ack: tuple[str, str, str] | None,
        adds: Sequence[tuple[str, Mapping[str, str]]] = (),
        once: str | None = None,
        once_ttl_ms: int = 7 * 86_400_000,
        counters: Mapping[str, int] | None = None,
        stats_key: str = "",
    ) -> bool:
        with self._cv:
            now = time.monotonic()
            fresh = True
            if once:
                exp = self._once.get(once)
                if exp is not None and exp > now:
                    fresh = False
                else:
                    self._once[once] = now + once_ttl_ms / 1000
            if fresh:
                for stream, f in adds:
                    self._add(stream, f)
                if stats_key and counters:
                    self._incr(stats_key, counters)
            if ack:
                g = self._s(ack[0]).groups.get(ack[1])
                if g is not None:
                    g.pending.pop(ack[2], None)
            return fresh

    def _incr(self, stats_key: str, counters: Mapping[str, int]) -> None:
        st = self._stats.setdefault(stats_key, {})
        for name, n in counters.items():
            st[name] = st.get(name, 0) + n

    def incr(self, stats_key: str, counters: Mapping[str, int]) -> None:
        with self._cv:
            self._incr(stats_key, counters)

    def stats(self, stats_key: str) -> dict[str, int]:
        with self._cv:
            return dict(self._stats.get(stats_key, {}))

    def length(self, stream: str) -> int:
        with self._cv:
            return len(self._s(stream).entries)

    def pending(self, stream: str, group: str) -> int:
        with self._cv:
            g = self._s(stream).groups.get(group)
            return len(g.pending) if g else 0

    def trim(self, stream: str, groups: Sequence[str], maxlen: int) -> int:
        with self._cv:
            s = self._s(stream)
            if len(s.entries) <= maxlen or any(g not in s.groups for g in groups):
                return 0
            floors = []
            for name in groups:
                g = s.groups[name]
                if g.pending:
                    floors.append(min(g.pending, key=_id_tuple))
                else:
                    later = [e[0] for e in s.entries if _id_tuple(e[0])[1] > g.last]
                    floors.append(later[0] if later else _next_id(s.entries[-1][0]))
            minid = safe_trim_id(floors, s.entries[-maxlen][0] if maxlen else None)
            if minid is None:
                return 0
            bound = _id_tuple(minid)
            keep = [e for e in s.entries if _id_tuple(e[0]) >= bound]
            dropped = len(s.entries) - len(keep)
            s.entries = keep
            return dropped

    def backlog(self, stream: str, group: str) -> int:
        with self._cv:
            s = self._s(stream)
            g = s.groups.get(group)
            if g is None:
                return len(s.entries)
            return len(g.pending) + len(self._undelivered(s, g))

    def last(self, stream: str, n: int) -> list[Entry]:
        with self._cv:
            return [(i, dict(f)) for i, f in reversed(self._s(stream).entries[-n:])]

    def entries(self, stream: str) -> list[Entry]:
        with self._cv:
            return [(i, dict(f)) for i, f in self._s(stream).entries]
