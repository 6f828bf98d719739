"""The LLM call cache: a second identical meeting through a real model makes no call at all and
writes a byte-identical journal; SQLite under $AURAQUANT_HOME by default, Redis with REDIS_URL,
off with a switch."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from exchange.virtual import VirtualExchange
from graph.meeting import run_meeting
from graph.services import MeetingServices
from memos.market import MarketData
from tests.agents.loopback_llm import serve
from tests.graph.conftest import DAY
from tests.graph.test_recorded_meetings import _default_meeting  # noqa: F401 (autouse)

pytestmark = pytest.mark.data

AT = f"{DAY}T12:00:00Z"


def _twice(real_market: MarketData, home: Path, **ctx: Any) -> tuple[list[int], list[bytes], Any]:
    counts: list[int] = []
    journals: list[bytes] = []
    r = None
    with serve("openai") as srv:
        for _ in range(2):
            before = srv.calls
            r = run_meeting(
                "SOLUSDT", AT,
                {"run_id": "cached", "home": str(home), "model": "openai:gpt-4o-mini",
                 "base_url": srv.url, **ctx},
                services=MeetingServices(market=real_market, exchange=VirtualExchange()),
            )  # fmt: skip
            counts.append(srv.calls - before)
            journals.append((home / "runs" / "cached" / "journal.json").read_bytes())
    return counts, journals, r


def test_a_second_identical_meeting_makes_zero_calls_sqlite(
    real_market: MarketData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    home = tmp_path / "home"
    counts, journals, r = _twice(real_market, home, llm_cache=True)
    assert counts[0] > 0 and counts[1] == 0
    assert journals[0] == journals[1]
    assert (home / "llm_cache.sqlite").exists()
    assert r.usage["cached_calls"] == r.usage["calls"] == counts[0]


@pytest.mark.redis
def test_a_second_identical_meeting_makes_zero_calls_redis(
    real_market: MarketData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"test:auraquant:llm:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        home = tmp_path / "home"
        counts, journals, _ = _twice(real_market, home, llm_cache=True, llm_cache_prefix=prefix)
        assert counts[0] > 0 and counts[1] == 0
        assert journals[0] == journals[1]
        keys = list(client.scan_iter(match=prefix + "*"))
        assert len(keys) == counts[0]  # one entry per distinct call, in Redis, not SQLite
        assert not (home / "llm_cache.sqlite").exists()
    finally:
        for k in client.scan_iter(match=prefix + "*"):
            client.delete(k)


def test_the_cache_switched_off_calls_again(
    real_market: MarketData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    counts, journals, _ = _twice(real_market, tmp_path / "home", llm_cache=False)
    assert counts[0] > 0 and counts[1] == counts[0]
    assert journals[0] == journals[1]  # the loopback server is deterministic
    assert not (tmp_path / "home" / "llm_cache.sqlite").exists()


def test_the_cache_switch_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from graph.context import MeetingContext

    monkeypatch.setenv("AURAQUANT_LLM_CACHE", "off")
    assert MeetingContext().llm_cache is False
    monkeypatch.setenv("AURAQUANT_LLM_CACHE", "1")
    assert MeetingContext().llm_cache is True
