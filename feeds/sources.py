"""Collectors' sources: a file replayer, RSS/Atom feeds and the CryptoPanic API.

A source turns what it reads into :class:`~feeds.models.RawItem` or, for something it cannot
use, a :class:`Rejected` with the reason (the collector logs it and carries on). Network sources
poll: :meth:`poll` returns one round; :func:`polling` repeats it every ``interval`` seconds.
"""

from __future__ import annotations

import calendar
import gzip
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import pandas as pd
from pydantic import ValidationError
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from feeds.models import RawItem, item_id, utc_now
from tools.symbols import currencies_to_symbols, tag_symbols

log = logging.getLogger("feeds.sources")
NS_PER_DAY = 86_400 * 1_000_000_000
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Rejected:
    """Something a source read but could not turn into an item, and why."""

    source: str
    where: str
    reason: str


Candidate = RawItem | Rejected
Clock = Callable[[], datetime]


class Source(Protocol):
    """Anything that yields candidates until it is done or ``stop`` is set."""

    name: str

    def items(self, stop: threading.Event) -> Iterator[Candidate]: ...


def make_item(
    *,
    collector: str,
    source: str,
    title: str,
    url: str,
    published_at: datetime,
    seen_at: datetime,
    collected_at: datetime,
    symbols: Sequence[str] = (),
    summary: str = "",
    where: str,
) -> Candidate:
    """A validated item, or a rejection naming the field and value that failed."""
    try:
        return RawItem(
            id=item_id(source, url, title),
            title=title.strip(),
            url=url.strip(),
            source=source,
            collector=collector,
            published_at=published_at,
            seen_at=seen_at,
            collected_at=collected_at,
            symbols=list(symbols),
            summary=summary.strip(),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "item"
        value = err.get("input")
        shown = repr(value)[:80]
        return Rejected(collector, where, f"{field}={shown}: {err['msg']}")


# ---------------------------------------------------------------- file replayer


def _known_from(ts: pd.Timestamp) -> pd.Timestamp:
    """A date-only stamp (exactly midnight) counts from 23:59:59 of its day, like the importer."""
    if ts.value % NS_PER_DAY == 0:
        return ts + pd.Timedelta(hours=23, minutes=59, seconds=59)
    return ts


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)


class FileReplayer:
    """Plays headline CSV files (``ts,title[,source,url,currencies,summary]``, the shared
    data's format) in time order: at the original pace times ``speed``, at a fixed ``rate``
    items/second, or (neither) as fast as the pipeline takes them."""

    name = "replay"

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        speed: float | None = None,
        rate: float | None = None,
        limit: int | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[threading.Event, float], None] | None = None,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed={speed}: must be > 0 (1 = original pace)")
        if rate is not None and rate <= 0:
            raise ValueError(f"rate={rate}: must be > 0 items per second")
        self.paths = list(paths)
        self.speed, self.rate, self.limit = speed, rate, limit
        self.clock = clock
        self._sleep = sleep or (lambda stop, s: stop.wait(s))
        self.position: pd.Timestamp | None = None  # the stamp of the last row played
        self.total = 0

    @staticmethod
    def discover(path: Path) -> list[Path]:
        """The headline files at ``path`` (a file, or the CSVs in a folder), sorted."""
        if path.is_file():
            return [path]
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such file or folder")
        files = sorted(p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz")))
        if not files:
            raise FileNotFoundError(f"{path}: no .csv or .csv.gz headline file in it")
        return files

    def rows(self) -> tuple[list[tuple[pd.Timestamp, str, dict[str, str]]], list[Rejected]]:
        """Every row of every file as (stamp, where, row), in time order, and the rejects."""
        good: list[tuple[pd.Timestamp, str, dict[str, str]]] = []
        bad: list[Rejected] = []
        for path in self.paths:
            frame = _read_csv(path)
            if "title" not in frame.columns or "ts" not in frame.columns:
                raise ValueError(
                    f"{path.name}: columns {','.join(map(str, frame.columns))} lack ts and title"
                )
            for i, row in enumerate(frame.to_dict("records")):
                where = f"{path.name} row {i + 1}"
                try:
                    ts = pd.Timestamp(row["ts"])
                    if ts is pd.NaT:
                        raise ValueError("empty")
                    if ts.tzinfo is None:
                        raise ValueError("no timezone")
                except (ValueError, TypeError) as exc:
                    bad.append(Rejected(self.name, where, f"ts={row['ts']!r}: {exc}"))
                    continue
                good.append((ts.tz_convert("UTC"), where, {str(k): str(v) for k, v in row.items()}))
        good.sort(key=lambda t: t[0].value)
        if self.limit is not None:
            good = good[: self.limit]
        return good, bad

    def items(self, stop: threading.Event) -> Iterator[Candidate]:
        good, bad = self.rows()
        self.total = len(good)
        yield from bad
        t0_wall = time.monotonic()
        t0_item = good[0][0] if good else None
        for n, (ts, where, row) in enumerate(good):
            if stop.is_set():
                return
            due = None
            if self.rate is not None:
                due = n / self.rate
            elif self.speed is not None and t0_item is not None:
                due = (ts - t0_item).total_seconds() / self.speed
            if due is not None:
                wait = due - (time.monotonic() - t0_wall)
                if wait > 0:
                    self._sleep(stop, wait)
                    if stop.is_set():
                        return
            self.position = ts
            syms = currencies_to_symbols(row.get("currencies", "") or "")
            title = row.get("title", "") or ""
            syms += [s for s in tag_symbols(title) if s not in syms]
            yield make_item(
                collector=self.name,
                source=(row.get("source") or "").strip() or "unknown",
                title=title,
                url=row.get("url", "") or "",
                published_at=ts.to_pydatetime(),
                seen_at=_known_from(ts).to_pydatetime(),
                collected_at=self.clock(),
                symbols=syms,
                summary=row.get("summary", "") or "",
                where=where,
            )


# ---------------------------------------------------------------- HTTP sources


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500


def http_get(
    client: httpx.Client, url: str, params: dict[str, str] | None = None
) -> httpx.Response:
    """GET with three tries on transport errors and 5xx (tenacity); 4xx raise at once."""

    @retry(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def go() -> httpx.Response:
        resp = client.get(url, params=params)
        resp.raise_for_status()
        return resp

    return go()


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower().removeprefix("www.") or url


def _struct_utc(st: Any) -> datetime | None:
    if st is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(st), tz=UTC)


class RssSource:
    """RSS/Atom feeds over httpx, parsed by feedparser."""

    name = "rss"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        client: httpx.Client | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.urls = list(urls)
        self.client = client or httpx.Client(timeout=15.0, follow_redirects=True)
        self.clock = clock

    def poll(self) -> list[Candidate]:
        import feedparser

        out: list[Candidate] = []
        for url in self.urls:
            try:
                resp = http_get(self.client, url)
            except httpx.HTTPError as exc:
                out.append(Rejected(self.name, _host(url), f"fetch failed: {type(exc).__name__}"))
                continue
            parsed = feedparser.parse(resp.content)
            if parsed.bozo and not parsed.entries:
                out.append(
                    Rejected(self.name, _host(url), f"not a feed: {parsed.get('bozo_exception')}")
                )
                continue
            feed_title = str(parsed.feed.get("title") or _host(url))
            for i, e in enumerate(parsed.entries):
                now = self.clock()
                published = _struct_utc(e.get("published_parsed") or e.get("updated_parsed"))
                summary = _TAG.sub(" ", str(e.get("summary") or ""))
                out.append(
                    make_item(
                        collector=self.name,
                        source=feed_title,
                        title=str(e.get("title") or ""),
                        url=str(e.get("link") or ""),
                        published_at=published or now,
                        seen_at=now,
                        collected_at=now,
                        symbols=tag_symbols(str(e.get("title") or "")),
                        summary=" ".join(summary.split()),
                        where=f"{_host(url)} entry {i + 1}",
                    )
                )
        return out


CRYPTOPANIC_URL = "https://cryptopanic.com/api/developer/v2/posts/"


class CryptoPanicSource:
    """The CryptoPanic posts API (needs a token; the token is a query parameter, never logged)."""

    name = "cryptopanic"

    def __init__(
        self,
        token: str,
        *,
        url: str = CRYPTOPANIC_URL,
        currencies: Sequence[str] = (),
        client: httpx.Client | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if not token:
            raise ValueError("CRYPTOPANIC_TOKEN is empty: the CryptoPanic API needs a token")
        self.token, self.url, self.currencies = token, url, list(currencies)
        self.client = client or httpx.Client(timeout=15.0)
        self.clock = clock

    def poll(self) -> list[Candidate]:
        params = {"auth_token": self.token, "public": "true", "kind": "news"}
        if self.currencies:
            params["currencies"] = ",".join(self.currencies)
        try:
            resp = http_get(self.client, self.url, params)
            data = resp.json()
        except httpx.HTTPStatusError as exc:
            return [Rejected(self.name, "posts", f"HTTP {exc.response.status_code}")]
        except (httpx.HTTPError, ValueError) as exc:
            return [Rejected(self.name, "posts", f"fetch failed: {type(exc).__name__}")]
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            return [Rejected(self.name, "posts", "answer has no results list")]
        out: list[Candidate] = []
        for i, post in enumerate(results):
            where = f"posts result {i + 1}"
            if not isinstance(post, dict):
                out.append(Rejected(self.name, where, f"result={str(post)[:60]!r}: not an object"))
                continue
            now = self.clock()
            try:
                published = pd.Timestamp(post.get("published_at") or "")
                if published is pd.NaT or published.tzinfo is None:
                    raise ValueError("no timezone")
            except (ValueError, TypeError):
                out.append(
                    Rejected(
                        self.name, where, f"published_at={post.get('published_at')!r}: not a time"
                    )
                )
                continue
            src: dict[str, Any] = post["source"] if isinstance(post.get("source"), dict) else {}
            codes = [
                str(c.get("code", ""))
                for c in (post.get("currencies") or post.get("instruments") or [])
                if isinstance(c, dict)
            ]
            title = str(post.get("title") or "")
            syms = currencies_to_symbols(";".join(codes))
            syms += [s for s in tag_symbols(title) if s not in syms]
            out.append(
                make_item(
                    collector=self.name,
                    source=str(src.get("domain") or src.get("title") or "cryptopanic"),
                    title=title,
                    url=str(post.get("original_url") or post.get("url") or ""),
                    published_at=published.to_pydatetime(),
                    seen_at=now,
                    collected_at=now,
                    symbols=syms,
                    summary=str(post.get("description") or ""),
                    where=where,
                )
            )
        return out


class Poller(Protocol):
    name: str

    def poll(self) -> list[Candidate]: ...


class PollingSource:
    """A network source polled every ``interval`` seconds until stopped (or ``rounds`` done)."""

    def __init__(self, poller: Poller, interval: float = 60.0, rounds: int | None = None) -> None:
        self.poller, self.interval, self.rounds = poller, interval, rounds
        self.name = poller.name

    def items(self, stop: threading.Event) -> Iterator[Candidate]:
        n = 0
        while not stop.is_set() and (self.rounds is None or n < self.rounds):
            try:
                got = self.poller.poll()
            except Exception as exc:  # an answer nobody foresaw must not stop the collector
                got = [Rejected(self.name, "poll", f"{type(exc).__name__}: {exc}"[:200])]
            yield from got
            n += 1
            if self.rounds is None or n < self.rounds:
                stop.wait(self.interval)
