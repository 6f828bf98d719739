"""Wiring: build the services of the pipeline on a bus and run the chosen ones in threads.

``auraquant news run`` runs them all in one process (on Redis with ``REDIS_URL``, on in-memory
queues without); ``news collect | label | alert`` run one role each, as separate processes on
Redis. :meth:`Pipeline.drained` says when everything collected has gone all the way through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from feeds.alerts import DEFAULT_THRESHOLD
from feeds.bus import Bus, MemoryBus, RedisBus, Topology
from feeds.labeler import Labeler, OfflineLabeler
from feeds.notifiers import Notifier
from feeds.services import (
    DEFAULT_MAXLEN,
    AlertService,
    Collector,
    LabelService,
    NotifyService,
    StoreWriter,
    consumer_name,
)
from feeds.sources import Source
from tools.sentiment import HALF_LIFE_HOURS

log = logging.getLogger("feeds")
ROLES = ("collect", "label", "store", "alert", "notify")
DEFAULT_DATASET = "feeds"


@dataclass
class PipelineConfig:
    """Everything the services share; defaults suit a laptop."""

    prefix: str = "news"
    dataset: str = DEFAULT_DATASET
    store: Path | None = None
    threshold: float = DEFAULT_THRESHOLD
    half_life_hours: float = HALF_LIFE_HOURS
    dedup_window: timedelta = timedelta(hours=24)
    story_window: timedelta = timedelta(hours=24)  # the same story is alerted once within it
    maxlen: int = DEFAULT_MAXLEN
    batch: int = 100
    claim_idle_ms: int = 5_000
    fsync: bool = True
    consumer: str | None = None  # name prefix of this process's consumers (default host-pid)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold={self.threshold}: must be within 0..1")
        if self.maxlen < 1:
            raise ValueError(f"maxlen={self.maxlen}: must be at least 1")
        if not self.dataset or "/" in self.dataset or self.dataset.startswith("."):
            raise ValueError(f"dataset={self.dataset!r}: must be a plain folder name")


def make_bus(redis_url: str | None) -> Bus:
    """Redis Streams when a URL is given (checked with a PING), else in-memory queues."""
    if not redis_url:
        return MemoryBus()
    bus = RedisBus.from_url(redis_url)
    bus.r.ping()
    return bus


@dataclass
class Pipeline:
    """The services of one pipeline on one bus, run as threads."""

    bus: Bus
    config: PipelineConfig
    sources: Sequence[Source] = ()
    labeler: Labeler = field(default_factory=OfflineLabeler)
    notifiers: Sequence[Notifier] = ()

    def __post_init__(self) -> None:
        self.topo = Topology(self.config.prefix)
        self.stop = threading.Event()
        self.threads: dict[str, threading.Thread] = {}
        self.errors: list[BaseException] = []
        self.bus.ensure_groups(self.topo)

    def service(self, role: str) -> Any:
        c = self.config
        if role == "collect":
            return Collector(self.bus, self.topo, self.sources, c.dedup_window, c.maxlen)
        if role == "label":
            return LabelService(
                self.bus,
                self.topo,
                self.labeler,
                batch=c.batch,
                claim_idle_ms=c.claim_idle_ms,
                maxlen=c.maxlen,
                consumer=self.named(role),
            )
        if role == "store":
            return StoreWriter(
                self.bus,
                self.topo,
                c.dataset,
                c.store,
                claim_idle_ms=c.claim_idle_ms,
                fsync=c.fsync,
                consumer=self.named(role),
            )
        if role == "alert":
            return AlertService(
                self.bus,
                self.topo,
                c.threshold,
                c.half_life_hours,
                c.story_window,
                batch=c.batch,
                claim_idle_ms=c.claim_idle_ms,
                maxlen=c.maxlen,
                consumer=self.named(role),
            )
        if role == "notify":
            return NotifyService(
                self.bus,
                self.topo,
                self.notifiers,
                claim_idle_ms=max(c.claim_idle_ms, 5_000),
                consumer=self.named(role),
            )
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")

    def named(self, role: str) -> str:
        """The consumer name of ``role``: the configured prefix, else host-pid-role."""
        return f"{self.config.consumer}-{role}" if self.config.consumer else consumer_name(role)

    def start(self, roles: Sequence[str] = ROLES) -> Pipeline:
        for role in roles:
            svc = self.service(role)
            t = threading.Thread(
                target=self._guard, args=(role, svc), name=f"news-{role}", daemon=True
            )
            self.threads[role] = t
            t.start()
        return self

    def _guard(self, role: str, svc: Any) -> None:
        try:
            svc.run(self.stop)
        except BaseException as exc:
            log.error("news %s stopped: %s", role, exc)
            self.errors.append(exc)
            self.stop.set()

    def collecting(self) -> bool:
        t = self.threads.get("collect")
        return t is not None and t.is_alive()

    def drained(self) -> bool:
        """True when the collector is done and no stream holds unprocessed entries."""
        if self.collecting():
            return False
        return all(
            self.bus.backlog(stream, g) == 0
            for stream, groups in self.topo.groups().items()
            for g in groups
            if g in self.threads  # group names are the roles that consume them
        )

    def stats(self) -> dict[str, int]:
        return self.bus.stats(self.topo.stats)

    def shutdown(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for t in self.threads.values():
            t.join(timeout)
