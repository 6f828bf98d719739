"""The meeting's model-call budgets: calls, tokens, cost and wall time. On exhaustion the seats
stop being asked and the chair closes with what it has; a chair that cannot be asked ends the
meeting FLAT with ``budget_exhausted``. No limit is overrun by more than one call."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from exchange.virtual import VirtualExchange
from graph.ailog import read_ailog
from graph.meeting import run_meeting
from graph.services import MeetingServices
from memos.market import MarketData
from tests.agents.loopback_llm import serve
from tests.graph.conftest import DAY
from tests.graph.test_recorded_meetings import _default_meeting  # noqa: F401 (autouse)

pytestmark = pytest.mark.data

AT = f"{DAY}T12:00:00Z"


def _meet(real_market: MarketData, home: Path, url: str, **ctx: Any) -> Any:
    return run_meeting(
        "SOLUSDT", AT,
        {"run_id": "budget", "home": str(home), "model": "openai:gpt-4o-mini", "base_url": url,
         "llm_cache": False, "llm_max_retries": 0, **ctx},
        services=MeetingServices(market=real_market, exchange=VirtualExchange()),
    )  # fmt: skip


def c_start(call: dict[str, Any]) -> str:
    return str(call["output"]["started"]).replace("Z", "+00:00")


def _calls(r: Any) -> list[dict[str, Any]]:
    return [x for x in read_ailog(Path(r.run_dir) / "ailog.ndjson") if x.get("kind") == "llm_call"]


@pytest.fixture()
def unlimited(real_market: MarketData, tmp_path: Path) -> Any:
    with serve("openai") as srv:
        return _meet(real_market, tmp_path / "free", srv.url)


@pytest.mark.parametrize("limit", [1, 3, 5, 8])
def test_the_call_budget_is_never_exceeded_and_the_chair_closes(
    real_market: MarketData, tmp_path: Path, unlimited: Any, limit: int
) -> None:
    assert unlimited.usage["calls"] > 8
    with serve("openai") as srv:
        r = _meet(real_market, tmp_path / "h", srv.url, max_calls=limit)
    assert srv.calls == r.usage["calls"] <= limit
    assert r.status == "done" and r.decision is not None
    assert _calls(r)[-1]["input"]["seat"] == "cto"  # the chair still closed the meeting
    skipped = [a for a in r.abstained if a["kind"] == "skipped"]
    assert skipped and all("budget_exhausted: calls" in a["reason"] for a in skipped)


def test_the_token_budget_is_overrun_by_at_most_one_call(
    real_market: MarketData, tmp_path: Path, unlimited: Any
) -> None:
    total = unlimited.usage["prompt_tokens"] + unlimited.usage["completion_tokens"]
    limit = total // 3
    with serve("openai") as srv:
        r = _meet(real_market, tmp_path / "h", srv.url, max_tokens=limit)
    spent = r.usage["prompt_tokens"] + r.usage["completion_tokens"]
    biggest = max(
        c["output"]["prompt_tokens"] + c["output"]["completion_tokens"] for c in _calls(r)
    )
    assert r.usage["calls"] < unlimited.usage["calls"]
    assert spent <= limit + biggest
    assert r.status == "done" and _calls(r)[-1]["input"]["seat"] == "cto"


def test_the_cost_budget_is_overrun_by_at_most_one_call(
    real_market: MarketData, tmp_path: Path, unlimited: Any
) -> None:
    limit = unlimited.usage["cost"] / 3
    assert limit > 0  # gpt-4o-mini is in the price table
    with serve("openai") as srv:
        r = _meet(real_market, tmp_path / "h", srv.url, max_cost=limit)
    biggest = max(c["output"]["cost"] for c in _calls(r))
    assert r.usage["calls"] < unlimited.usage["calls"]
    assert r.usage["cost"] <= limit + biggest
    assert r.status == "done"


def test_the_wall_time_budget_stops_the_seats_and_the_chair_closes(
    real_market: MarketData, tmp_path: Path
) -> None:
    with serve("openai", delay=0.25) as srv:
        r = _meet(real_market, tmp_path / "h", srv.url, max_seconds=0.6)
    calls = _calls(r)
    assert calls[-1]["input"]["seat"] == "cto" and r.status == "done"
    assert any("wall time" in a["reason"] for a in r.abstained if a["kind"] == "skipped")
    # no seat but the chair was asked once the limit had passed (the chair is the one call over)
    t0 = min(datetime.fromisoformat(c_start(c)) for c in calls)
    seats = [c for c in calls if c["input"]["schema"] != "DecisionDraft"]
    assert all(
        (datetime.fromisoformat(c_start(c)) - t0).total_seconds() < 0.6 + 0.15 for c in seats
    )
    assert len(seats) < 12


def test_a_chair_that_cannot_be_asked_ends_flat_with_budget_exhausted(
    real_market: MarketData, tmp_path: Path
) -> None:
    with serve("openai", by_seat={"cto": ["malformed"]}) as srv:
        r = _meet(real_market, tmp_path / "h", srv.url, max_calls=1)
    assert srv.calls == 1  # the chair's one call; its repair turn is refused
    assert r.status == "budget_exhausted"
    assert r.decision["action"] == "FLAT" and "budget_exhausted" in (r.fallback or "")
