"""The AI-log writer: one flushed line per record, required fields, redaction, stage map."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from graph.ailog import (
    MAX_EXPLANATION,
    REQUIRED_FIELDS,
    AILogRegistry,
    AILogWriter,
    read_ailog,
    secrets_from_env,
    stage_for,
)


def test_records_are_flushed_as_written_and_numbered(tmp_path: Path) -> None:
    path = tmp_path / "ailog.ndjson"
    w = AILogWriter(path, secrets=[])
    w.write(run_id="r", node="open", stage="SCAN", model="m", input={}, output={}, explanation="x")
    assert len(path.read_text().splitlines()) == 1  # on disk before close
    threads = [
        threading.Thread(target=lambda: w.write(run_id="r", node="n", stage="QUALIFY", model="m",
                                                input={}, output={}, explanation="y"))
        for _ in range(8)
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close()
    # a new writer (a resumed meeting) carries the numbering on
    AILogWriter(path, secrets=[]).write(
        run_id="r", node="execute", stage="ENTER", model="m", input={}, output={},
        explanation="z" * 5000, order_id="O-1",
    )  # fmt: skip
    recs = read_ailog(path)
    assert [r["seq"] for r in recs] == list(range(1, 11))
    assert all(set(REQUIRED_FIELDS) <= set(r) for r in recs)
    assert len(recs[-1]["explanation"]) == MAX_EXPLANATION and recs[-1]["orderId"] == "O-1"


def test_configured_secrets_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEX_SECRET_KEY", 'abc"def-secret-123')
    monkeypatch.setenv("GOOGLE_API_KEY", "gk-0123456789")
    secrets = secrets_from_env()
    assert 'abc"def-secret-123' in secrets and "gk-0123456789" in secrets
    path = tmp_path / "a.ndjson"
    AILogWriter(path, secrets).write(
        run_id="r", node="open", stage="SCAN", model="m",
        input={"prompt": 'key abc"def-secret-123 and gk-0123456789'}, output={}, explanation="gk-0123456789",
    )  # fmt: skip
    text = path.read_text()
    assert "secret-123" not in text and "gk-0123456789" not in text
    assert json.loads(text)["explanation"] == "[REDACTED]"


def test_a_second_caller_s_secrets_are_added_to_the_run_s_open_writer(tmp_path: Path) -> None:
    """The registry used to hand back the existing writer and drop the new caller's secrets."""
    path = tmp_path / "run" / "ailog.ndjson"
    reg = AILogRegistry()
    first = reg.writer(path, ["first-secret-value"])
    second = reg.writer(path, ["second-secret-value", "first-secret-value", ""])
    assert second is first
    assert sorted(first.secrets) == ["first-secret-value", "second-secret-value"]  # no '' added
    assert reg.writer(path, None).secrets == first.secrets  # None adds nothing, drops nothing
    first.write(
        run_id="r", node="open", stage="SCAN", model="m", input={"a": "first-secret-value"},
        output={"b": "second-secret-value"}, explanation="ok",
    )  # fmt: skip
    text = path.read_text()
    assert "secret-value" not in text and text.count("[REDACTED]") == 2
    reg.close_all()


def test_stage_mapping_and_unknown_stage() -> None:
    assert stage_for("open") == "SCAN"
    assert stage_for("market_analyst", seat="analyst") == "SCAN"
    assert stage_for("risk_manager", seat="risk") == "QUALIFY"
    assert stage_for("gate") == "QUALIFY"
    assert stage_for("execute", order_placed=True) == "ENTER"
    assert stage_for("execute") == "RECONCILE"
    with pytest.raises(ValueError, match="stage 'BUY' is not one of SCAN, QUALIFY"):
        AILogWriter(Path("/nonexistent/x"), []).write(
            run_id="r",
            node="n",
            stage="BUY",
            model="m",
            input={},
            output={},
            explanation="",  # type: ignore[arg-type]
        )
