"""`auraquant demo` runs the whole chain; with no real data it says loudly that it is synthetic,
and the synthetic desk trades (the meeting ends in an execution)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app


@pytest.fixture()
def no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with no data: AURAQUANT_DATA unset and no shared/data beside the project."""
    project = tmp_path / "somewhere" / "project"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.setattr("tools.paths.PROJECT_ROOT", project)
    monkeypatch.delenv("AURAQUANT_DATA", raising=False)
    return project


def test_the_no_data_demo_runs_every_step_labels_the_data_and_trades(
    aq_home: Path, no_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "No real data found" in out and "SYNTHETIC DATA" in out
    for step in ("data synth", "data ls", "memo SYNTH-BTCUSDT", "backtest",
                 "replay --symbols SYNTH-BTCUSDT", "meet SYNTH-BTCUSDT"):  # fmt: skip
        assert f"$ auraquant {step}" in out
    # the meeting comes after the backtest, and the synthetic symbol trades: an execution shows
    meeting = out[out.rindex("$ auraquant meet") :]
    assert out.rindex("$ auraquant meet") > out.rindex("$ auraquant backtest")
    assert "SYNTH-BTCUSDT is allowed (synthetic BTCUSDT)" in meeting
    assert "Execution: FILLED" in meeting and "fill F-000001:" in meeting
    runs = sorted(p.name for p in (aq_home / "runs").iterdir())
    assert any(r.startswith("memo-SYNTH-BTCUSDT") for r in runs)
    assert any(r.startswith("meet-SYNTH-BTCUSDT") for r in runs)
    assert any((aq_home / "runs" / r / "report.json").exists() for r in runs)
    assert any(r.startswith("replay-") for r in runs)
    # run again: the demo desk starts afresh, so the meeting is not refused as "past"
    again = CliRunner().invoke(app, ["demo", "--synthetic"])
    assert again.exit_code == 0, again.output
    assert "R00_clock" not in again.output
    assert "Execution: FILLED" in again.output[again.output.rindex("$ auraquant meet") :]


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_aurquant_data_pointing_nowhere_is_an_error(
    aq_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    target = tmp_path / "no-such-dir"
    if kind == "empty":
        target.mkdir()
    monkeypatch.setenv("AURAQUANT_DATA", str(target))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 2
    msg = " ".join(result.stderr.split())
    assert f"error: AURAQUANT_DATA={target}: " in msg
    assert ("no such file or directory" if kind == "missing" else "no candles/ or news/") in msg
    assert result.stdout == "" and not (aq_home / "runs").exists()
