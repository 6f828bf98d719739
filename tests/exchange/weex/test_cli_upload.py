"""`auraquant weex upload-ailog RUN_DIR`: a run's AI log, in WEEX's shape, through the disk
queue to the loopback WEEX; once only; off unless WEEX_AI_LOG_ENABLED."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.settings import get_settings
from graph.ailog import AILogWriter
from tests.exchange.weex.kit import KEY, PASSPHRASE, SECRET, loopback


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    d = tmp_path / "runs" / "meet-X"
    w = AILogWriter(d / "ailog.ndjson", secrets=[])
    w.write(run_id="meet-X", node="open", stage="SCAN", model="deterministic:memos.build_memo",
            input={"symbol": "BTCUSDT"}, output={"facts": {"price": 1.0}}, explanation="opened")  # fmt: skip
    w.write(run_id="meet-X", node="execute", stage="ENTER", model="deterministic:exchange.executor",
            input={"plan": {"side": "SELL"}}, output={"status": "PLACED"},
            explanation="placed", order_id="O-000001")  # fmt: skip
    w.close()
    return d


def test_upload_ailog_once_in_weex_shape(run_dir: Path, aq_home: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    with loopback() as (server, mock):
        for k, v in {"WEEX_BASE_URL": server.url, "WEEX_API_KEY": KEY, "WEEX_API_SECRET": SECRET,
                     "WEEX_API_PASSPHRASE": PASSPHRASE}.items():  # fmt: skip
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("WEEX_AI_LOG_ENABLED", "false")
        get_settings.cache_clear()
        off = CliRunner().invoke(app, ["weex", "upload-ailog", str(run_dir)])
        assert off.exit_code == 2 and "WEEX_AI_LOG_ENABLED is off" in off.stderr
        monkeypatch.setenv("WEEX_AI_LOG_ENABLED", "true")
        get_settings.cache_clear()
        args = ["weex", "upload-ailog", str(run_dir), "--model-version", "v1", "--json"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout) == {"records": 2, "queued_now": 2, "delivered": 2,
                                            "failed_posts": 0, "pending": 0,
                                            "all_acknowledged": True}  # fmt: skip
        again = CliRunner().invoke(app, args)
        assert json.loads(again.stdout)["queued_now"] == 0
    get_settings.cache_clear()
    assert [(b["stage"], b["orderId"], b["model"]) for b in mock.ai_logs] == [
        ("SCAN", None, "deterministic:memos.build_memo@v1"),
        ("ENTER", 1, "deterministic:exchange.executor@v1"),
    ]
    queue = aq_home / "weex" / "ailog-queue"
    text = "".join(p.read_text() for p in queue.rglob("*") if p.is_file())
    assert SECRET not in text and KEY not in text and PASSPHRASE not in text
