"""`auraquant meet …` as a user runs it, on the real data: the debate, JSON, errors, approval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app

pytestmark = pytest.mark.data
runner = CliRunner()
AT = "2023-04-19T12:00:00Z"


@pytest.fixture()
def home(aq_home: Path, real_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (aq_home / "store").symlink_to(real_store)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return aq_home


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["meet", *args])


def test_meet_json_is_one_object_with_the_run_dir(home: Path) -> None:
    res = run("SOLUSDT", "--at", AT, "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["run_dir"] == str(home.resolve() / "runs" / "meet-SOLUSDT-20230419T120000Z")
    assert out["decision"]["action"] == "SHORT" and out["gate"]["verdict"] in {
        "APPROVED",
        "CLAMPED",
    }
    assert out["execution"]["status"] == "FILLED"  # the CLI fed the next 1m bar
    assert out["execution"]["fills"][0]["ts"] == AT
    assert {i["kind"] for i in out["interrupts"]} >= {"clarify"}  # the 4h look-up
    assert (Path(out["run_dir"]) / "ailog.ndjson").exists()
    assert out["meeting_html"] == str(Path(out["run_dir"]) / "meeting.html")
    assert Path(out["meeting_html"]).exists()


def test_meet_prints_a_readable_account(home: Path) -> None:
    res = run("SOLUSDT", "--at", AT, "--budget", "1")
    assert res.exit_code == 0, res.stderr
    for text in ("Meeting SOLUSDT at 2023-04-19T12:00:00Z", "Turns", "Interrupts", "Decision (CTO)",
                 "Risk gate:", "Execution: FILLED", "run_dir:"):  # fmt: skip
        assert text in res.stdout, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["FOOUSDT", "--at", AT], "error: symbol: 'FOOUSDT' is not one of BTCUSDT, ETHUSDT"),
        (["BTCUSDT", "--at", "yesterday"], "error: --at: time 'yesterday' is not ISO-8601"),
        (["BTCUSDT"], "error: --at is required, e.g. --at 2023-04-20T12:00:00Z"),
        (
            ["BTCUSDT", "--at", AT, "--model", "foo:bar"],
            "error: --model: model 'foo:bar': unknown provider 'foo'",
        ),
        (["BTCUSDT", "--at", AT, "--budget", "-1"], "Invalid value for '--budget'"),
        (["BTCUSDT", "--at", AT, "--rounds", "-1"], "Invalid value for '--rounds'"),
        (["BTCUSDT", "--at", AT, "--llm-timeout", "0"], "Invalid value for '--llm-timeout'"),
        (["resume"], "Missing argument 'thread'"),
        (["resume", "abc"], "Missing option '--approve'"),
        (
            ["resume", "nope", "--approve"],
            "error: resume: no meeting with thread id 'nope' in the checkpoints",
        ),
    ],
)
def test_bad_input_is_one_clear_error(home: Path, args: list[str], message: str) -> None:
    res = run(*args)
    assert res.exit_code == 2
    assert message in " ".join(res.stderr.split())
    assert res.stdout == ""
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())


def test_require_approval_then_resume_from_the_command_line(home: Path) -> None:
    paused = run("SOLUSDT", "--at", AT, "--require-approval", "--json")
    assert paused.exit_code == 0, paused.stderr
    p = json.loads(paused.stdout)
    assert p["status"] == "awaiting_approval" and p["execution"] is None
    assert (home / "checkpoints.sqlite").exists()
    done = run("resume", p["thread_id"], "--reject", "--note", "too late in the day", "--json")
    assert done.exit_code == 0, done.stderr
    d = json.loads(done.stdout)
    assert d["status"] == "done" and d["approval"]["approved"] is False
    assert d["decision"]["action"] == "FLAT" and d["gate"]["verdict"] == "DENIED"
    again = run("resume", p["thread_id"], "--approve")
    assert again.exit_code == 2 and "is not waiting for approval" in again.stderr
