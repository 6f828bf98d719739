"""Fixtures for the news pipeline: a real Redis under a unique prefix (deleted afterwards),
small headline files, a store in tmp."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis() -> object:
    import redis

    r = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        r.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return r


@pytest.fixture()
def redis_prefix() -> Iterator[str]:
    """A unique prefix for streams and keys; everything under it is deleted after the test."""
    r = _redis()
    prefix = f"test-news-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(r.scan_iter(f"{prefix}:*", count=1000))  # type: ignore[attr-defined]
    for i in range(0, len(keys), 500):
        r.delete(*keys[i : i + 500])  # type: ignore[attr-defined]
    assert not list(r.scan_iter(f"{prefix}:*"))  # type: ignore[attr-defined]


@pytest.fixture()
def redis_bus(redis_prefix: str):
    from feeds.bus import RedisBus

    return RedisBus.from_url(REDIS_URL)


HEADER = "ts,title,source,url,currencies,summary\n"


def write_news(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """A headline CSV in the shared data's format: rows of (ts, title, source, url)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ts", "title", "source", "url", "currencies", "summary"])
        for ts, title, source, url in rows:
            w.writerow([ts, title, source, url, "", ""])
    return path


def many_rows(
    n: int, start: str = "2023-04-20T00:00:30Z", tag: str = ""
) -> list[tuple[str, str, str, str]]:
    """``n`` distinct headlines a minute apart, every 5th a hack (important), the rest calm."""
    import pandas as pd

    t0 = pd.Timestamp(start)
    out = []
    for i in range(n):
        ts = (t0 + pd.Timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if i % 5 == 0:
            title = f"Exchange {tag}{i} hacked, $ {i} million stolen from Bitcoin hot wallet"
        else:
            title = f"Community call {tag}{i} notes published for the network"
        out.append((ts, title, "example.com", f"https://example.com/{tag}{i}"))
    return out
