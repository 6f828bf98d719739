"""`auraquant meet`'s command line: `resume` is a sub-command, options are bounded by Typer,
an unknown model fails before any data is read, and `--rounds 0` holds no review round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app

runner = CliRunner()
AT = "2023-04-19T12:00:00Z"


@pytest.mark.parametrize("model", ["foo:bar", "nonsense", "openai:"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_an_unknown_model_is_one_line_before_any_data(
    aq_home: Path, model: str, where: str
) -> None:
    # an empty home: no store at all, so any data read would fail with another message
    args = ["--model", model, "BTCUSDT", "--at", AT] if where == "before" else [
        "BTCUSDT", "--at", AT, "--model", model]  # fmt: skip
    res = runner.invoke(app, ["meet", *args])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: --model: model {model!r}")
    assert "offline, openai:<model>, ollama:<model>, google_genai:<model>" in lines[0] or (
        "name the model after the colon" in lines[0]
    )
    assert not (aq_home / "runs").exists() and not (aq_home / "store").exists()


def test_resume_is_a_sub_command_with_its_own_help() -> None:
    res = runner.invoke(app, ["meet", "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0
    assert "resume" in res.stdout and "hold" in res.stdout
    res = runner.invoke(app, ["meet", "resume", "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0
    assert "--approve" in res.stdout and "--reject" in res.stdout and "--at" not in res.stdout
    res = runner.invoke(app, ["meet", "hold", "--help"], env={"COLUMNS": "120"})
    assert "--rounds" in res.stdout and "--approve" not in res.stdout


@pytest.mark.parametrize(
    ("option", "value"),
    [("--budget", "-1"), ("--rounds", "-1"), ("--llm-timeout", "0"), ("--llm-retries", "-2"),
     ("--max-calls", "-1"), ("--max-cost", "-0.5")],
)  # fmt: skip
def test_numeric_options_are_bounded_by_typer(aq_home: Path, option: str, value: str) -> None:
    res = runner.invoke(app, ["meet", "BTCUSDT", "--at", AT, option, value])
    assert res.exit_code == 2
    assert f"Invalid value for '{option}'" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.data
def test_rounds_zero_holds_no_review_round(aq_home: Path, real_store: Path) -> None:
    (aq_home / "store").symlink_to(real_store)

    def nodes(*extra: str) -> tuple[dict, set[str]]:  # type: ignore[type-arg]
        res = runner.invoke(app, ["meet", "SOLUSDT", "--at", AT, "--json", "--dry-run", *extra])
        assert res.exit_code == 0, res.stderr
        out = json.loads(res.stdout)
        log = Path(out["run_dir"]) / "ailog.ndjson"
        return out, {json.loads(line)["node"] for line in log.read_text().splitlines()}

    default, with_review = nodes()
    assert "review" in with_review and default["ended_by"] != "rounds"
    none, without = nodes("--rounds", "0")
    assert not {n for n in without if n.startswith(("review", "resolve"))}
    assert none["ended_by"] == "rounds" and none["interrupts"] == []
    assert none["decision"] is not None and none["gate"]["verdict"]
    assert {t["round"] for t in none["turns"]} == {0}
