"""Real-model meetings through the graph, against loopback servers in each provider's wire
format (tests/agents/loopback_llm.py): replies with fences or prose, repair turns, abstentions,
retries honouring Retry-After, timeouts, refused connections, missing credentials — each ends
with the decision or cleanly, with a record."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.ailog import read_ailog
from graph.errors import EXIT_MODEL, EXIT_NODE, MeetingFailed
from graph.meeting import run_meeting
from graph.services import MeetingServices
from memos.market import MarketData
from tests.agents.loopback_llm import Loopback, seat_of, serve
from tests.graph.conftest import DAY
from tests.graph.test_recorded_meetings import _default_meeting  # noqa: F401 (autouse)

pytestmark = pytest.mark.data

AT = f"{DAY}T12:00:00Z"  # SOLUSDT: the offline desk goes SHORT here
OPENAI = "openai:gpt-4o-mini"
GEMINI = "google_genai:gemini-2.5-flash"
SEATS = ("market_analyst", "technical_analyst", "risk_manager", "cto")


def _opening_seats() -> int:
    """How many seats speak in the meeting's first parallel step."""
    from agents.roles import load_roster

    roster = load_roster()
    return len(roster.analysts) + (0 if roster.risk.reads_turns else 1)


OPENING = _opening_seats()


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GOOGLE_API_KEY", "REDIS_URL"):
        monkeypatch.delenv(k, raising=False)


@pytest.fixture()
def offline_decision(real_market: MarketData, tmp_path: Path) -> dict[str, Any]:
    r = run_meeting(
        "SOLUSDT", AT, {"run_id": "offline", "home": str(tmp_path / "off")},
        services=MeetingServices(market=real_market),
    )  # fmt: skip
    assert r.decision is not None
    return r.decision


Meet = Callable[..., Any]


@pytest.fixture()
def llm_meet(real_market: MarketData, aq_home: Path) -> Meet:
    def _meet(srv: Loopback | None, model: str = OPENAI, **ctx: Any) -> Any:
        base = {
            "run_id": ctx.pop("run_id", "llm"),
            "model": model,
            "base_url": srv.url if srv else ctx.pop("base_url", None),
            "llm_cache": False,
            "llm_timeout": 5.0,
            "llm_backoff": 0.05,
            **ctx,
        }
        return run_meeting("SOLUSDT", AT, base, services=MeetingServices(market=real_market))

    return _meet


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("action", "entry", "stop_loss", "take_profit", "confidence", "leverage")
    return all(a[k] == b[k] for k in keys)


def _ailog(r: Any) -> list[dict[str, Any]]:
    return read_ailog(Path(r.run_dir) / "ailog.ndjson")


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
@pytest.mark.parametrize("shape", ["fenced", "prose"])
def test_fenced_or_prose_json_is_read_and_the_decision_is_the_offline_desks(
    llm_meet: Meet, offline_decision: dict[str, Any], model: str, shape: str
) -> None:
    kind = "openai" if model == OPENAI else "gemini"
    with serve(kind, by_seat={"*": [f"always:{shape}"]}) as srv:
        r = llm_meet(srv, model)
    assert r.status == "done" and r.abstained == [] and r.fallback is None
    assert _same(r.decision, offline_decision)
    assert r.usage["calls"] == srv.calls  # no repair turn was needed
    assert r.decision["action"] != "FLAT"


@pytest.mark.parametrize("bad", ["malformed", "missing", "refusal", "empty"])
def test_one_bad_reply_gets_a_repair_turn_quoting_the_error(
    llm_meet: Meet, offline_decision: dict[str, Any], bad: str
) -> None:
    with serve("openai", by_seat={"technical_analyst": [bad]}) as srv:
        r = llm_meet(srv)
    assert r.status == "done" and r.abstained == []
    assert _same(r.decision, offline_decision)
    tech = [q for q in srv.requests if seat_of(q.body) == "technical_analyst"]
    repairs = [q for q in srv.requests if "could not be used" in json.dumps(q.body)]
    assert len(repairs) == 1
    assert repairs[0].body["messages"][-2]["role"] == "assistant"
    assert tech  # the seat was asked through the server
    records = [x for x in _ailog(r) if x.get("kind") == "llm_call"]
    bad_calls = [x for x in records if x["output"]["parse_error"]]
    assert len(bad_calls) == 1 and bad_calls[0]["input"]["seat"] == "technical_analyst"
    assert any(x["input"]["attempt"] == 2 for x in records)


def test_a_seat_that_fails_twice_abstains_and_is_recorded(
    llm_meet: Meet, offline_decision: dict[str, Any]
) -> None:
    with serve("openai", by_seat={"market_analyst": ["always:malformed"]}) as srv:
        r = llm_meet(srv)
    assert r.status == "done"
    gone = [a for a in r.abstained if a["role"] == "market_analyst"]
    assert gone and gone[0]["kind"] == "abstained" and "no JSON" in gone[0]["reason"]
    assert "market_analyst" not in {t["role"] for t in r.turns}
    journal = json.loads((Path(r.run_dir) / "journal.json").read_text())
    assert any(a["role"] == "market_analyst" for a in journal["meetings"][0]["abstained"])


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_every_seat_abstaining_is_model_unavailable_not_a_quiet_flat(
    llm_meet: Meet, model: str
) -> None:
    kind = "openai" if model == OPENAI else "gemini"
    with serve(kind, by_seat={"*": ["always:malformed"]}) as srv:
        r = llm_meet(srv, model)
    assert r.status == "model_unavailable"
    assert r.decision["action"] == "FLAT" and "model_unavailable" in (r.fallback or "")
    assert {a["role"] for a in r.abstained} >= set(SEATS)
    assert r.ended_by == "abstained"  # not "convergence": nobody agreed to anything
    journal = json.loads((Path(r.run_dir) / "journal.json").read_text())
    assert journal["meetings"][0]["status"] == "model_unavailable"
    assert srv.calls == r.usage["calls"] and r.usage["abstained"] >= 4


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_429_then_success_waits_the_retry_after_and_goes_on(
    llm_meet: Meet, offline_decision: dict[str, Any], model: str
) -> None:
    script = [("status", 429, {"Retry-After": "0.4"})]
    kind = "openai" if model == OPENAI else "gemini"
    with serve(kind, by_seat={"technical_analyst": script}) as srv:
        r = llm_meet(srv, model)
    assert r.status == "done" and _same(r.decision, offline_decision)
    tech = [q for q in srv.requests if seat_of(q.body) == "technical_analyst"]
    assert len(tech) >= 2
    assert tech[1].at - tech[0].at >= 0.38  # waited what the server asked, not the 0.05 s backoff
    rec = next(x for x in _ailog(r) if x.get("kind") == "llm_call"
               and x["input"]["seat"] == "technical_analyst")  # fmt: skip
    assert rec["output"]["transport_attempts"] == 2


def _assert_failed_cleanly(exc: MeetingFailed, run_dir: Path, seat_kind: str) -> None:
    rec = exc.record
    assert exc.exit_code == EXIT_MODEL and rec["kind"] == seat_kind
    assert rec["seat"] in SEATS and rec["provider"] in {"openai", "google_genai"}
    assert "\n" not in str(exc)
    log = read_ailog(run_dir / "ailog.ndjson")
    errors = [x["output"] for x in log if x["node"] == "error"]
    assert any(e["exception"] == rec["exception"] and e["seat"] == rec["seat"] for e in errors)
    journal = json.loads((run_dir / "journal.json").read_text())
    meeting = journal["meetings"][0]
    assert meeting["status"] == "error" and meeting["error"]["exception"] == rec["exception"]


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_a_persistent_500_is_retried_then_ends_the_meeting_with_exit_3(
    llm_meet: Meet, aq_home: Path, model: str
) -> None:
    kind = "openai" if model == OPENAI else "gemini"
    with serve(kind, by_seat={"*": ["always:500"]}) as srv:
        srv.state.by_seat = {"*": [("status", 500)] * 100}
        with pytest.raises(MeetingFailed) as info:
            llm_meet(srv, model, llm_max_retries=2)
    assert OPENING == 3  # both analysts and the Risk Manager beside them
    assert srv.calls == OPENING * 3  # every opening seat: 1 try + 2 retries, then it ends
    assert info.value.record["attempts"] == 3
    _assert_failed_cleanly(info.value, aq_home / "runs" / "llm", "server_error")


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_a_server_that_never_answers_times_out_per_the_setting(
    llm_meet: Meet, aq_home: Path, model: str
) -> None:
    kind = "openai" if model == OPENAI else "gemini"
    with serve(kind, by_seat={"*": [("hang", 5.0)] * 10}) as srv:
        t0 = time.monotonic()
        with pytest.raises(MeetingFailed) as info:
            llm_meet(srv, model, llm_timeout=0.5, llm_max_retries=1)
        took = time.monotonic() - t0
    assert took < 3.5, took  # 2 attempts x 0.5 s (+ backoff), not 60 s x 3
    assert srv.calls == OPENING * 2  # every opening seat: 2 attempts
    _assert_failed_cleanly(info.value, aq_home / "runs" / "llm", "timeout")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_a_refused_connection_ends_the_meeting_with_exit_3(
    llm_meet: Meet, aq_home: Path, model: str
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}" + ("/v1" if model == OPENAI else "")
    with pytest.raises(MeetingFailed) as info:
        llm_meet(None, model, base_url=url, llm_max_retries=1)
    _assert_failed_cleanly(info.value, aq_home / "runs" / "llm", "connection")


def test_missing_credentials_end_the_meeting_with_exit_3_before_any_call(
    llm_meet: Meet, aq_home: Path
) -> None:
    with pytest.raises(MeetingFailed) as info:
        llm_meet(None, OPENAI)  # no key, no base URL
    rec = info.value.record
    assert info.value.exit_code == EXIT_MODEL and rec["kind"] == "credentials"
    assert rec["provider"] == "openai"
    _assert_failed_cleanly(info.value, aq_home / "runs" / "llm", "credentials")


def test_a_base_url_server_needs_no_key(llm_meet: Meet) -> None:
    """The README's Ollama recipe: --model openai:llama3.1 --base-url http://…/v1, no key."""
    with serve("openai") as srv:
        r = llm_meet(srv, "openai:llama3.1")
    assert r.status == "done" and srv.calls == r.usage["calls"] > 0
    headers = {k.lower(): v for k, v in srv.requests[0].headers.items()}
    auth = headers.get("authorization", "")
    assert auth.startswith("Bearer ") and "not-needed" in auth


def test_any_exception_in_a_node_ends_with_an_error_record_and_exit_4(
    real_market: MarketData, aq_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-SECRET-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    def broken(symbol: str, at: Any, **kw: Any) -> Any:
        raise RuntimeError(f"disk on fire (key {secret})")

    with pytest.raises(MeetingFailed) as info:
        run_meeting(
            "SOLUSDT", AT, {"run_id": "boom"},
            services=MeetingServices(market=real_market, memo_builder=broken),
        )  # fmt: skip
    rec = info.value.record
    assert info.value.exit_code == EXIT_NODE and rec["node"] == "open"
    assert rec["exception"] == "RuntimeError" and "disk on fire" in rec["message"]
    assert secret not in str(info.value) and "[REDACTED]" in rec["message"]
    run = aq_home / "runs" / "boom"
    for f in ("ailog.ndjson", "journal.json"):
        assert secret not in (run / f).read_text()
    assert json.loads((run / "journal.json").read_text())["meetings"][0]["status"] == "error"


@pytest.fixture()
def cli_home(real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "cli_home"
    home.mkdir()
    (home / "store").symlink_to(real_store)
    monkeypatch.setenv("AURAQUANT_HOME", str(home))
    yield home


def test_meet_cli_prints_one_line_and_exits_3_on_a_provider_failure(cli_home: Path) -> None:
    from typer.testing import CliRunner

    from auraquant.cli import app

    with serve("openai", by_seat={"*": [("status", 500)] * 100}) as srv:
        res = CliRunner().invoke(
            app,
            ["meet", "SOLUSDT", "--at", AT, "--model", OPENAI, "--base-url", srv.url,
             "--llm-retries", "0", "--no-llm-cache"],
        )  # fmt: skip
    assert res.exit_code == 3, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: meeting failed at node")
    assert "Traceback" not in res.output
    assert "[server_error]" in lines[0] and "500" in lines[0]
    assert res.stdout.strip() == ""


def test_meet_cli_prints_the_totals(cli_home: Path) -> None:
    from typer.testing import CliRunner

    from auraquant.cli import app

    with serve("openai") as srv:
        res = CliRunner().invoke(
            app, ["meet", "SOLUSDT", "--at", AT, "--model", OPENAI, "--base-url", srv.url]
        )
    assert res.exit_code == 0, res.output
    assert f"Model usage: {srv.calls} calls (0 from the cache)" in res.stdout


@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
@pytest.mark.parametrize("model", [OPENAI, GEMINI])
def test_every_provider_and_method_holds_the_offline_desks_meeting(
    llm_meet: Meet, offline_decision: dict[str, Any], model: str, method: str
) -> None:
    kind = "openai" if model == OPENAI else "gemini"
    with serve(kind) as srv:
        r = llm_meet(srv, model, llm_method=method)
    assert r.status == "done" and r.abstained == [] and _same(r.decision, offline_decision)
    body = srv.requests[0].body
    if kind == "openai":
        sent = body.get("response_format", {}).get("type") or ("tools" if body.get("tools") else "")
        assert sent == {"json_schema": "json_schema", "json_mode": "json_object",
                        "function_calling": "tools"}[method]  # fmt: skip
        if method == "function_calling":
            assert body["tool_choice"]["function"]["name"] == "TurnDraft"
    else:
        gen = body.get("generationConfig", {})
        if method == "function_calling":
            assert body.get("tools") and "responseJsonSchema" not in gen
        else:
            assert gen.get("responseMimeType") == "application/json"


def test_the_chair_is_asked_during_the_review_that_ends_the_debate(
    llm_meet: Meet, offline_decision: dict[str, Any]
) -> None:
    """Round 2 raises nothing here: the chair, asked concurrently with it with the very prompt it
    gets afterwards, is not asked again; same decision, same number of calls, one wave less."""
    with serve("openai") as srv:
        r = llm_meet(srv)
    assert r.ended_by == "convergence" and _same(r.decision, offline_decision)
    log = _ailog(r)
    chair_calls = [x for x in log if x.get("kind") == "llm_call"
                   and x["input"]["schema"] == "DecisionDraft"]  # fmt: skip
    assert [c["node"] for c in chair_calls] == ["review.llm_call"]
    cto = next(x for x in log if x["node"] == "cto")
    assert cto["output"]["asked_during_review"] is True
    assert srv.calls == r.usage["calls"]
    with serve("openai") as srv2:
        seq = llm_meet(srv2, run_id="seq", concurrent=False)
    assert seq.usage["calls"] == r.usage["calls"] and _same(seq.decision, r.decision)
    assert [x["node"] for x in _ailog(seq) if x.get("kind") == "llm_call"
            and x["input"]["schema"] == "DecisionDraft"] == ["cto.llm_call"]  # fmt: skip


def test_a_server_that_rejects_json_schema_gets_json_mode(
    llm_meet: Meet, offline_decision: dict[str, Any]
) -> None:
    with serve("openai", reject=("json_schema",)) as srv:
        r = llm_meet(srv)
    assert r.status == "done" and _same(r.decision, offline_decision)
    kinds = [(q.body.get("response_format") or {}).get("type") for q in srv.requests]
    # once per opening seat
    assert kinds[0] == "json_schema" and kinds.count("json_schema") <= OPENING
    assert kinds[-1] == "json_object"
    methods = {x["input"]["method"] for x in _ailog(r) if x.get("kind") == "llm_call"}
    assert methods == {"json_mode"}


def test_an_explicit_method_the_server_rejects_fails_with_exit_3(llm_meet: Meet) -> None:
    with serve("openai", reject=("tools",)) as srv, pytest.raises(MeetingFailed) as info:
        llm_meet(srv, llm_method="function_calling")
    assert info.value.exit_code == EXIT_MODEL and info.value.record["kind"] == "bad_request"


def test_meet_cli_llm_timeout_flag_bounds_a_hanging_server(cli_home: Path) -> None:
    from typer.testing import CliRunner

    from auraquant.cli import app

    with serve("openai", by_seat={"*": [("hang", 5.0)] * 10}) as srv:
        t0 = time.monotonic()
        res = CliRunner().invoke(
            app,
            ["meet", "SOLUSDT", "--at", AT, "--model", OPENAI, "--base-url", srv.url,
             "--llm-timeout", "0.4", "--llm-retries", "0", "--no-llm-cache"],
        )  # fmt: skip
        took = time.monotonic() - t0
    assert res.exit_code == 3 and "[timeout]" in res.stderr, res.output
    assert took < 4.0


def test_meet_cli_debug_shows_the_traceback(cli_home: Path) -> None:
    from typer.testing import CliRunner

    from auraquant.cli import app

    with serve("openai", by_seat={"*": [("status", 500)] * 100}) as srv:
        res = CliRunner().invoke(
            app,
            ["meet", "SOLUSDT", "--at", AT, "--model", OPENAI, "--base-url", srv.url,
             "--llm-retries", "0", "--no-llm-cache", "--debug"],
        )  # fmt: skip
    assert res.exit_code == 3
    assert "Traceback" in res.stderr and "error: meeting failed at node" in res.stderr


def test_the_seats_of_one_step_call_their_models_together(llm_meet: Meet) -> None:
    """The analysts, the four reviews and the answers each go out together: every request of a
    step reaches the server before the first of them is answered."""
    delay = 0.6
    with serve("openai", delay=delay) as srv:
        r = llm_meet(srv)
    first_review = [q for q in srv.requests if "raise the interrupts" in json.dumps(q.body)][:4]
    analysts = [q for q in srv.requests if "opening view" in json.dumps(q.body)
                and seat_of(q.body).endswith("_analyst")]  # fmt: skip
    assert len(first_review) == 4 and len(analysts) == 2
    for group in (first_review, analysts):
        starts = sorted(q.at for q in group)
        assert starts[-1] - starts[0] < delay, starts
    assert r.status == "done"


def test_an_answer_that_fails_twice_closes_the_interrupt_as_abstained(llm_meet: Meet) -> None:
    """SOLUSDT at noon: the Risk Manager asks the Technical Analyst for the 4h chart (a clarify).
    The analyst's answer (its fourth request: opening turn, review, look-up, answer) is
    malformed twice."""
    script: list[Any] = ["clean", "clean", "clean", "malformed", "malformed"]
    with serve("openai", by_seat={"technical_analyst": script}) as srv:
        r = llm_meet(srv)
    veto = next(i for i in r.interrupts if i["kind"] == "clarify")
    assert veto["status"] == "abstained" and veto["outcome"] is None
    assert veto["resolution"].startswith("ABSTAINED") and veto["revised_turn"] is None
    assert any(a["node"] == "resolve" and a["role"] == "technical_analyst" for a in r.abstained)
    assert r.ended_by == "convergence"  # nothing was revised: nothing new to review
    assert r.status == "done" and srv.calls == r.usage["calls"]
