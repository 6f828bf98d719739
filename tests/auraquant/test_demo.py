"""`auraquant demo` runs the whole chain; with no real data it says loudly that it is synthetic."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app


def test_synthetic_demo_runs_every_step_and_labels_the_data(
    aq_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = CliRunner().invoke(app, ["demo", "--synthetic"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "SYNTHETIC DATA" in out
    for step in ("data synth", "data ls", "memo SYNTH-BTCUSDT", "backtest",
                 "replay --symbols SYNTH-BTCUSDT", "meet SYNTH-BTCUSDT"):  # fmt: skip
        assert f"$ auraquant {step}" in out
    # the meeting is the last step; no order on a synthetic symbol: the desk stands aside, or
    # the gate refuses it (R01)
    assert out.rindex("$ auraquant meet") > out.rindex("$ auraquant backtest")
    meeting = out[out.rindex("$ auraquant meet") :]
    assert ("R01_symbol_allowed" in meeting and "DENIED" in meeting) or "FLAT" in meeting
    runs = sorted(p.name for p in (aq_home / "runs").iterdir())
    assert any(r.startswith("memo-SYNTH-BTCUSDT") for r in runs)
    assert any(r.startswith("meet-SYNTH-BTCUSDT") for r in runs)
    assert any((aq_home / "runs" / r / "report.json").exists() for r in runs)
    assert any(r.startswith("replay-") for r in runs)
    # run again: the demo desk starts afresh, so the meeting is not refused as "past"
    again = CliRunner().invoke(app, ["demo", "--synthetic"])
    assert again.exit_code == 0, again.output
    assert "R00_clock" not in again.output
