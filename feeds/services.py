"""The long-running services of the news pipeline, each a loop over the bus until ``stop``.

collector -> ``raw`` -> labeler -> ``labeled`` -> store writer (Parquet) and alert service ->
``alerts`` -> notify service -> notifiers. Every consumer reads with its group, first takes over
entries left pending by a dead consumer (XAUTOCLAIM), and ends each entry with one atomic
:meth:`~feeds.bus.Bus.commit`, so a kill at any point loses nothing and repeats nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from feeds.alerts import DEFAULT_THRESHOLD, decide_alert
from feeds.bus import Bus, Entry, Topology
from feeds.dedup import Deduper, story_key
from feeds.labeler import Labeler
from feeds.models import Alert, LabelledItem, RawItem, from_fields, to_fields, utc_now
from feeds.notifiers import Notifier, NotifierError
from feeds.sources import Rejected, Source
from tools.news_labels import append_labelled_news
from tools.sentiment import HALF_LIFE_HOURS

log = logging.getLogger("feeds")
DEFAULT_MAXLEN = 10_000


def consumer_name(role: str) -> str:
    """A consumer name unique to this process and role."""
    return f"{socket.gethostname()}-{os.getpid()}-{role}"


@dataclass
class Consumer:
    """Reads batches for one consumer of a group, reclaiming stale entries first."""

    bus: Bus
    stream: str
    group: str
    name: str
    batch: int = 100
    block_ms: int = 200
    claim_idle_ms: int = 5_000

    def batches(self, stop: threading.Event) -> Iterator[list[Entry]]:
        last_claim = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now - last_claim >= self.claim_idle_ms / 2000:
                last_claim = now
                stale = self.bus.claim_stale(
                    self.stream, self.group, self.name, self.claim_idle_ms, self.batch
                )
                if stale:
                    log.info(
                        "%s reclaimed %d stale entries of %s", self.name, len(stale), self.group
                    )
                    yield stale
                    continue
            got = self.bus.read(self.stream, self.group, self.name, self.batch, self.block_ms)
            if got:
                yield got


@dataclass
class Collector:
    """Sources -> validated, deduplicated items on the ``raw`` stream."""

    bus: Bus
    topo: Topology
    sources: Sequence[Source]
    dedup_window: timedelta = timedelta(hours=24)
    maxlen: int = DEFAULT_MAXLEN
    trim_every: int = 100
    deduper: Deduper = field(init=False)

    def __post_init__(self) -> None:
        self.deduper = Deduper(self.dedup_window)
        self._lock = threading.Lock()
        self._added = 0

    def offer(self, cand: RawItem | Rejected) -> bool:
        """Put one candidate on the stream; False when it was rejected or a duplicate."""
        if isinstance(cand, Rejected):
            log.warning("skipped %s (%s): %s", cand.where, cand.source, cand.reason)
            self.bus.incr(self.topo.stats, {"malformed": 1})
            return False
        with self._lock:
            dup = self.deduper.is_duplicate(cand.title, cand.url, cand.seen_at)
        if dup:
            log.info("dropped %s: %s", cand.id, dup)
            self.bus.incr(self.topo.stats, {"duplicates": 1})
            return False
        self.bus.commit(
            ack=None,
            adds=[(self.topo.raw, to_fields(cand))],
            counters={"collected": 1},
            stats_key=self.topo.stats,
        )
        with self._lock:
            self._added += 1
            trim = self._added % self.trim_every == 0
        if trim:
            self.bus.trim(self.topo.raw, self.topo.groups()[self.topo.raw], self.maxlen)
        return True

    def run_source(self, source: Source, stop: threading.Event) -> None:
        for cand in source.items(stop):
            try:
                self.offer(cand)
            except Exception:  # a bus hiccup on one item must be loud, not silent
                log.exception("collector %s: could not publish an item", source.name)
                raise

    def run(self, stop: threading.Event) -> None:
        """Run every source (one thread each) until they end or ``stop`` is set."""
        threads = [
            threading.Thread(
                target=self.run_source, args=(s, stop), name=f"src-{s.name}", daemon=True
            )
            for s in self.sources
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


@dataclass
class LabelService:
    """``raw`` -> labeler -> ``labeled`` (each raw entry labelled exactly once)."""

    bus: Bus
    topo: Topology
    labeler: Labeler
    consumer: str = field(default_factory=lambda: consumer_name("label"))
    batch: int = 100
    claim_idle_ms: int = 5_000
    maxlen: int = DEFAULT_MAXLEN

    def run(self, stop: threading.Event) -> None:
        c = Consumer(
            self.bus,
            self.topo.raw,
            "label",
            self.consumer,
            self.batch,
            claim_idle_ms=self.claim_idle_ms,
        )
        done = 0
        for entries in c.batches(stop):
            for entry_id, fields in entries:
                self.handle(entry_id, fields)
                done += 1
            if done >= 100:
                done = 0
                self.bus.trim(
                    self.topo.labelled, self.topo.groups()[self.topo.labelled], self.maxlen
                )
                self.bus.trim(self.topo.raw, self.topo.groups()[self.topo.raw], self.maxlen)

    def handle(self, entry_id: str, fields: dict[str, str]) -> None:
        ack = (self.topo.raw, "label", entry_id)
        try:
            raw = from_fields(RawItem, fields)
        except (ValidationError, KeyError) as exc:
            log.warning(
                "raw entry %s is malformed, skipped: %s", entry_id, str(exc).splitlines()[0]
            )
            self.bus.commit(ack=ack, counters={"malformed_raw": 1}, stats_key=self.topo.stats)
            return
        item = self.labeler.label(raw)
        counters = {"labelled": 1} | ({"label_fallbacks": 1} if item.label_fallback else {})
        self.bus.commit(
            ack=ack,
            adds=[(self.topo.labelled, to_fields(item))],
            once=self.topo.once("label", entry_id),
            counters=counters,
            stats_key=self.topo.stats,
        )


@dataclass
class StoreWriter:
    """``labeled`` -> the Parquet news store the memos read (a re-delivered item is stored once)."""

    bus: Bus
    topo: Topology
    dataset: str
    store: Path | None = None
    consumer: str = field(default_factory=lambda: consumer_name("store"))
    batch: int = 500
    claim_idle_ms: int = 5_000
    fsync: bool = True

    def run(self, stop: threading.Event) -> None:
        c = Consumer(
            self.bus,
            self.topo.labelled,
            "store",
            self.consumer,
            self.batch,
            claim_idle_ms=self.claim_idle_ms,
        )
        for entries in c.batches(stop):
            self.handle(entries)

    def handle(self, entries: list[Entry]) -> None:
        rows = []
        for entry_id, fields in entries:
            try:
                item = from_fields(LabelledItem, fields)
            except (ValidationError, KeyError):
                log.warning("labelled entry %s is malformed, not stored", entry_id)
                continue
            rows.append(store_row(item, self.dataset))
        added = append_labelled_news(rows, self.dataset, self.store, fsync=self.fsync)
        if added:
            self.bus.incr(self.topo.stats, {"stored": added})
        for entry_id, _ in entries:
            self.bus.commit(ack=(self.topo.labelled, "store", entry_id))


def store_row(item: LabelledItem, dataset: str) -> dict[str, object]:
    """A labelled item as a row of the news store (filed by ``seen_at``: no look-ahead)."""
    return {
        "ts": item.seen_at,
        "title": item.title,
        "source": item.source,
        "url": item.url,
        "symbols": item.symbols,
        "dataset": dataset,
        "summary": item.summary,
        "id": item.id,
        "category": item.category,
        "importance": item.importance,
        "sentiment": item.sentiment,
        "published_at": item.published_at,
        "labeler": item.labeler,
    }


@dataclass
class AlertService:
    """``labeled`` -> items over the threshold -> ``alerts`` (one alert per story)."""

    bus: Bus
    topo: Topology
    threshold: float = DEFAULT_THRESHOLD
    half_life_hours: float = HALF_LIFE_HOURS
    story_window: timedelta = timedelta(hours=24)
    consumer: str = field(default_factory=lambda: consumer_name("alert"))
    batch: int = 100
    claim_idle_ms: int = 5_000
    maxlen: int = DEFAULT_MAXLEN
    clock: Callable[[], datetime] = utc_now

    def run(self, stop: threading.Event) -> None:
        c = Consumer(
            self.bus,
            self.topo.labelled,
            "alert",
            self.consumer,
            self.batch,
            claim_idle_ms=self.claim_idle_ms,
        )
        for entries in c.batches(stop):
            for entry_id, fields in entries:
                self.handle(entry_id, fields)
            self.bus.trim(self.topo.alerts, self.topo.groups()[self.topo.alerts], self.maxlen)

    def handle(self, entry_id: str, fields: dict[str, str]) -> None:
        ack = (self.topo.labelled, "alert", entry_id)
        try:
            item = from_fields(LabelledItem, fields)
        except (ValidationError, KeyError):
            log.warning("labelled entry %s is malformed, no alert", entry_id)
            self.bus.commit(ack=ack)
            return
        alert = decide_alert(
            item, self.clock(), threshold=self.threshold, half_life_hours=self.half_life_hours
        )
        if alert is None:
            self.bus.commit(ack=ack, counters={"below_threshold": 1}, stats_key=self.topo.stats)
            return
        fresh = self.bus.commit(
            ack=ack,
            adds=[(self.topo.alerts, to_fields(alert))],
            once=self.topo.once("story", story_key(item.title, item.url)[:200]),
            once_ttl_ms=max(1, int(self.story_window.total_seconds() * 1000)),
            counters={"alerts": 1},
            stats_key=self.topo.stats,
        )
        if not fresh:
            self.bus.incr(self.topo.stats, {"story_repeats": 1})


@dataclass
class NotifyService:
    """``alerts`` -> every notifier. Runs apart from labelling, so a slow phone API delays
    only the notifications, never the labels or the store."""

    bus: Bus
    topo: Topology
    notifiers: Sequence[Notifier]
    consumer: str = field(default_factory=lambda: consumer_name("notify"))
    batch: int = 20
    claim_idle_ms: int = 30_000

    def run(self, stop: threading.Event) -> None:
        c = Consumer(
            self.bus,
            self.topo.alerts,
            "notify",
            self.consumer,
            self.batch,
            claim_idle_ms=self.claim_idle_ms,
        )
        for entries in c.batches(stop):
            for entry_id, fields in entries:
                self.handle(entry_id, fields)

    def handle(self, entry_id: str, fields: dict[str, str]) -> None:
        ack = (self.topo.alerts, "notify", entry_id)
        try:
            alert = from_fields(Alert, fields)
        except (ValidationError, KeyError):
            log.warning("alert entry %s is malformed, not sent", entry_id)
            self.bus.commit(ack=ack)
            return
        failed = 0
        for n in self.notifiers:
            try:
                n.send(alert)
            except NotifierError as exc:
                failed += 1
                log.warning("notifier %s failed for alert %s: %s", n.name, alert.item_id, exc)
        counters = {"notified": 1} | ({"notify_failures": failed} if failed else {})
        self.bus.commit(ack=ack, counters=counters, stats_key=self.topo.stats)
