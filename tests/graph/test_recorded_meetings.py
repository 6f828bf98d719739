"""Whole meetings through the graph, replayed from vcrpy cassettes with the network blocked:
one on ChatOpenAI, one on ChatGoogleGenerativeAI.

The cassettes were recorded from the loopback servers in tests/agents/loopback_llm.py, which
speak each provider's wire format (the cassette's first lines say so). Requests match on method,
path and a *normalised* body: JSON with the schema descriptions dropped, so a harmless edit of a
field's description does not break them while a changed prompt or structured-output method (a
``tools`` request instead of ``response_format``) does. API keys and auth headers are filtered.

Re-record from the loopback servers: delete the cassette and run this file. Re-record against the
real APIs (keys in the environment, network allowed):

    AURAQUANT_CASSETTES=real OPENAI_API_KEY=… GOOGLE_API_KEY=… \\
      .venv/bin/python -m pytest tests/graph/test_recorded_meetings.py -p no:recording -o addopts=""
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import vcr

from exchange.virtual import VirtualExchange
from graph.ailog import read_ailog
from graph.meeting import run_meeting
from graph.services import MeetingServices
from memos.market import MarketData
from tests.agents.loopback_llm import serve
from tests.graph.conftest import DAY

pytestmark = pytest.mark.data

AT = f"{DAY}T12:00:00Z"
CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
MEETINGS = CASSETTES / "meetings"
REAL = os.environ.get("AURAQUANT_CASSETTES") == "real"
PROVIDERS = {
    "openai": ("openai:gpt-4o-mini", "openai", "OpenAI"),
    "gemini": ("google_genai:gemini-2.5-flash", "gemini", "Gemini"),
}
SECRET_HEADERS = [
    "authorization", "x-goog-api-key", "api-key", "x-api-key", "openai-organization",
    "openai-project", "cookie", "set-cookie",
]  # fmt: skip
KEY_SHAPED = re.compile(
    r"sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|Bearer\s+[A-Za-z0-9._~+/-]{8,}"
    r"|x-goog-api-key|not-needed-for-a-local-server",
    re.I,
)


MEETING_ENV = (
    "AURAQUANT_MEETING_BUDGET", "AURAQUANT_MAX_ROUNDS", "AURAQUANT_ROSTER", "AURAQUANT_MODEL",
    "AURAQUANT_ROLE_MODELS", "AURAQUANT_LLM_METHOD", "AURAQUANT_MAX_CALLS", "AURAQUANT_MAX_TOKENS",
    "AURAQUANT_MAX_COST", "AURAQUANT_MAX_SECONDS", "AURAQUANT_REQUIRE_APPROVAL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _default_meeting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cassettes hold the default meeting: no setting left in the environment by another
    test may change its prompts."""
    for var in MEETING_ENV:
        monkeypatch.delenv(var, raising=False)


def _strip_descriptions(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_descriptions(v) for k, v in obj.items() if k != "description"}
    if isinstance(obj, list):
        return [_strip_descriptions(v) for v in obj]
    return obj


def normalised_body(body: bytes | str | None) -> Any:
    """The request body as compared: JSON, schema descriptions dropped."""
    if not body:
        return None
    text = body.decode() if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    return _strip_descriptions(data)


def _match_body(r1: Any, r2: Any) -> None:
    assert normalised_body(r1.body) == normalised_body(r2.body)


def recorder(record: bool) -> vcr.VCR:
    v = vcr.VCR(
        record_mode="all" if record else "none",
        match_on=["method", "path", "norm_body"],
        filter_headers=SECRET_HEADERS,
        filter_query_parameters=["key"],
        decode_compressed_response=True,
    )
    v.register_matcher("norm_body", _match_body)
    return v


def _header(kind: str) -> str:
    name = PROVIDERS[kind][2]
    if REAL:
        return f"# Recorded against the real {name} API. Keys and auth headers filtered.\n"
    return (
        f"# Recorded against the loopback {name}-wire-format server in the tests' tools\n"
        f"# (tests/agents/loopback_llm.py), not against {name}. Keys and auth headers filtered.\n"
    )


def _meeting(
    kind: str, real_market: MarketData, home: Path, base_url: str | None, **ctx: Any
) -> Any:
    model = PROVIDERS[kind][0]
    return run_meeting(
        "SOLUSDT", AT,
        {"run_id": f"cassette-{kind}", "home": str(home), "model": model, "base_url": base_url,
         "llm_cache": False, "llm_max_retries": 0, **ctx},
        services=MeetingServices(market=real_market, exchange=VirtualExchange()),
    )  # fmt: skip


def _offline(real_market: MarketData, home: Path) -> Any:
    return run_meeting(
        "SOLUSDT", AT, {"run_id": "offline", "home": str(home)},
        services=MeetingServices(market=real_market, exchange=VirtualExchange()),
    )  # fmt: skip


VIEW = ("id", "stance", "confidence", "horizon", "entry", "stop_loss", "take_profit")


@pytest.mark.parametrize("kind", ["openai", "gemini"])
def test_a_whole_meeting_replays_from_the_cassette(
    kind: str, real_market: MarketData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = MEETINGS / f"{kind}_meeting.yaml"
    record = REAL or not cassette.exists()
    if not REAL:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    cassette.parent.mkdir(parents=True, exist_ok=True)
    if record and not REAL:
        with serve(PROVIDERS[kind][1]) as srv, recorder(True).use_cassette(str(cassette)):
            r = _meeting(kind, real_market, tmp_path / "rec", srv.url)
        cassette.write_text(_header(kind) + cassette.read_text(encoding="utf-8"), "utf-8")
    elif record:
        with recorder(True).use_cassette(str(cassette)):
            r = _meeting(kind, real_market, tmp_path / "rec", None)
        cassette.write_text(_header(kind) + cassette.read_text(encoding="utf-8"), "utf-8")
    # replay: no server, a URL nothing listens on, record mode none
    url = "http://127.0.0.1:9" + ("/v1" if kind == "openai" else "")
    with recorder(False).use_cassette(str(cassette)) as cass:
        r = _meeting(kind, real_market, tmp_path / "play", url)
        assert cass.all_played and cass.play_count == r.usage["calls"] > 0
    assert r.status == "done" and r.abstained == []
    calls = [x for x in read_ailog(Path(r.run_dir) / "ailog.ndjson") if x.get("kind") == "llm_call"]
    assert len(calls) == r.usage["calls"]
    for c in calls:  # the version the server returned, tokens, method: one record per call
        assert c["output"]["model_version"] and c["output"]["prompt_tokens"] > 0
        assert c["input"]["method"] == "json_schema" and c["model"] == PROVIDERS[kind][0]
    if not REAL:
        want = "gpt-4o-mini-loopback" if kind == "openai" else "gemini-2.5-flash-loopback"
        assert all(c["output"]["model_version"].startswith(want) for c in calls)
    text = cassette.read_text(encoding="utf-8")
    assert text.startswith("# Recorded against")
    if "loopback" in text.splitlines()[0]:
        # recorded from the offline policies: today's offline desk must say exactly the same
        off = _offline(real_market, tmp_path / "off")
        for k in ("action", "entry", "stop_loss", "take_profit", "confidence", "leverage"):
            assert r.decision[k] == off.decision[k], k
        assert [[t[k] for k in VIEW] for t in r.turns] == [[t[k] for k in VIEW] for t in off.turns]
        assert r.decision["action"] == "SHORT"
    for t in r.turns:  # every proposed stop is on the loss side of its entry
        if t["stance"] != "FLAT" and t["entry"] and t["stop_loss"]:
            sgn = 1 if t["stance"] == "LONG" else -1
            assert (t["entry"] - t["stop_loss"]) * sgn > 0, t


def test_a_changed_structured_output_method_does_not_replay(
    real_market: MarketData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph switched to tool calling sends ``tools`` instead of ``response_format``: the
    cassette has no such request, so replay fails (this is what catches that change)."""
    from graph.errors import MeetingFailed

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cassette = MEETINGS / "openai_meeting.yaml"
    with (
        recorder(False).use_cassette(str(cassette)),
        pytest.raises(
            MeetingFailed, match=r"CannotOverwriteExistingCassette|overwrite existing cassette"
        ),
    ):
        _meeting("openai", real_market, tmp_path, "http://127.0.0.1:9/v1",
                 llm_method="function_calling")  # fmt: skip


def test_a_schema_description_edit_still_matches() -> None:
    a = {"response_format": {"json_schema": {"schema": {"properties": {"x": {
        "type": "number", "description": "old words"}}}}}}  # fmt: skip
    b = json.loads(json.dumps(a).replace("old words", "new words"))
    c = json.loads(json.dumps(a).replace('"number"', '"string"'))
    assert normalised_body(json.dumps(a)) == normalised_body(json.dumps(b))
    assert normalised_body(json.dumps(a)) != normalised_body(json.dumps(c))


def test_no_cassette_holds_anything_key_shaped() -> None:
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert any(f.parent.name == "meetings" for f in files)
    for f in files:
        text = f.read_text(encoding="utf-8")
        found = KEY_SHAPED.findall(text)
        assert not found, (f, found[:3])
        lowered = text.lower()
        for h in SECRET_HEADERS:
            assert f"\n      {h}:" not in lowered, (f, h)
