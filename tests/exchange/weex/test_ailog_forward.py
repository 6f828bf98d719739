"""The AI log forwarded to the uploader: every written record is queued in WEEX's shape, with
the writer's secrets redacted from the queue too."""

from __future__ import annotations

import json
from pathlib import Path

from exchange.weex.uploader import AILogUploader
from graph.ailog import AILogWriter
from graph.ailog_weex import WeexAILogForwarder, attach


def test_every_written_record_is_queued_for_weex(tmp_path: Path) -> None:
    sent: list[dict] = []
    up = AILogUploader(tmp_path / "q", sent.append, workers=1).start()
    writer = attach(AILogWriter(tmp_path / "ailog.ndjson", secrets=["sk-writer-secret-1"]),
                    WeexAILogForwarder(up, model_version="v1"))  # fmt: skip
    writer.write(run_id="r", node="chair", stage="QUALIFY", model="offline",
                 input={"task": "t", "memo_id": "m"}, output={"action": "FLAT"},
                 explanation="flat: sk-writer-secret-1")  # fmt: skip
    writer.write(run_id="r", node="execute", stage="ENTER", model="offline", input={"task": "t"},
                 output={"placed": True}, explanation="placed", order_id="O-000003")  # fmt: skip
    assert up.drain(5)
    up.stop()
    writer.close()
    assert [(b["stage"], b["orderId"], b["model"]) for b in sent] == [
        ("QUALIFY", None, "offline@v1"),
        ("ENTER", 3, "offline@v1"),
    ]
    assert sent[0]["explanation"] == "flat: [REDACTED]"
    queue = (tmp_path / "q" / "queue.ndjson").read_text()
    assert "sk-writer-secret-1" not in queue and len(queue.splitlines()) == 2
    local = [json.loads(x) for x in (tmp_path / "ailog.ndjson").read_text().splitlines()]
    assert len(local) == 2  # the local log is written as before
