"""The WEEX steps of `auraquant demo`: `weex check` and an executed `weex test-trade` against
an in-process loopback WEEX replaying stored candles; the user's WEEX settings are restored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.cli.weex import demo_steps
from auraquant.settings import get_settings

pytestmark = pytest.mark.data


def test_demo_steps_check_and_trade_on_the_loopback(
    real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "store").symlink_to(real_store)  # the shared store stays read-only
    monkeypatch.setenv("AURAQUANT_HOME", str(home))
    monkeypatch.delenv("WEEX_BASE_URL", raising=False)
    monkeypatch.setenv("WEEX_API_SECRET", "users-own-secret-123")
    monkeypatch.setenv("COLUMNS", "200")
    results = []

    def run(args: list[str]) -> None:
        res = CliRunner().invoke(app, args)
        results.append((args, res.exit_code, res.output))
        assert res.exit_code == 0, res.output

    get_settings.cache_clear()
    demo_steps(run, "BTCUSDT", "2023-04-20T12:00:00Z")
    assert [r[0][:2] for r in results] == [["weex", "check"], ["weex", "test-trade"]]
    assert "none (check is dry)" in results[0][2]
    assert "flat: True" in results[1][2]
    assert os.environ["WEEX_API_SECRET"] == "users-own-secret-123"
    assert "WEEX_BASE_URL" not in os.environ
    [evidence] = (home / "weex").glob("evidence-*.jsonl")
    assert "users-own-secret-123" not in evidence.read_text()
    get_settings.cache_clear()
