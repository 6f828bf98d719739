"""Forward the AI log to WEEX (issue 12): every record an ``AILogWriter`` writes is mapped to
WEEX's ``uploadAiLog`` body (``exchange.weex.ailog.to_weex_body``) and put on the uploader's
fsynced disk queue; the uploader's background worker posts it. Nothing here blocks a node on
the network.

Wiring (not done here; ``graph/ailog.py`` is unchanged but for the secret names):

    uploader = AILogUploader(home / "weex" / "ailog-queue", client.upload_ai_log,
                             secrets=settings.secret_values()).start()
    forward = WeexAILogForwarder(uploader, model_version="2024-07-18")
    attach(registry.writer(path), forward)      # for each run's writer

when ``WEEX_AI_LOG_ENABLED`` is true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from exchange.weex.ailog import to_weex_body
from exchange.weex.uploader import AILogUploader
from graph.ailog import AILogWriter


class WeexAILogForwarder:
    """Maps a project record to WEEX's body and enqueues it (a record that cannot be mapped,
    e.g. an order id with no numeric form, raises: the local log already holds it)."""

    def __init__(
        self,
        uploader: AILogUploader,
        *,
        model_version: str | None = None,
        stage_names: Mapping[str, str] | None = None,
    ) -> None:
        self.uploader = uploader
        self.model_version = model_version
        self.stage_names = stage_names

    def __call__(self, record: Mapping[str, Any]) -> str:
        mapped = to_weex_body(record, model_version=self.model_version,
                              stage_names=self.stage_names)  # fmt: skip
        return self.uploader.enqueue(mapped.body, mapped.blobs)


def attach(writer: AILogWriter, forward: Callable[[Mapping[str, Any]], Any]) -> AILogWriter:
    """Make ``writer`` forward every record it writes or appends (after the local line is
    flushed). The writer's secrets are added to the uploader's, so the queue redacts what the
    log redacts."""
    if isinstance(forward, WeexAILogForwarder):
        known = set(forward.uploader.secrets)
        forward.uploader.secrets += [s for s in writer.secrets if s not in known]
    write, append = writer.write, writer.append

    def write_and_forward(**kwargs: Any) -> dict[str, Any]:
        record = write(**kwargs)
        forward(record)
        return record

    def append_and_forward(record: Mapping[str, Any], *, run_id: str) -> dict[str, Any]:
        rec = append(record, run_id=run_id)  # a record made elsewhere (a meeting's, staged)
        forward(rec)
        return rec

    writer.write = write_and_forward  # type: ignore[method-assign]
    writer.append = append_and_forward  # type: ignore[method-assign]
    return writer
