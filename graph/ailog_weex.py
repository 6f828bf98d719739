"""Forward the AI log to WEEX (issue 12): every record an ``AILogWriter`` writes is mapped to
WEEX's ``uploadAiLog`` body (``exchange.weex.ailog.to_weex_body``) and put on the uploader's
fsynced disk queue; the uploader's background worker posts it. Nothing here blocks a node on
the network.

Wiring (``auraquant.schedule.venue.WeexAILog``, when ``WEEX_AI_LOG_ENABLED`` is true):

    uploader = AILogUploader(queue_slot, client.upload_ai_log,
                             secrets=settings.secret_values()).start()
    forward = WeexAILogForwarder(uploader, local_version="auraquant-0.1.0")
    attach(writer, forward)      # for each run's writer
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from exchange.weex.ailog import ModelVersions, to_weex_body
from exchange.weex.uploader import AILogUploader
from graph.ailog import AILogWriter


class WeexAILogForwarder:
    """Maps a project record to WEEX's body and enqueues it.

    ``model`` is uploaded with the version the server returned: every model-call record
    (``kind: llm_call``, written just before its node's record) teaches the forwarder the
    ``model_name`` its server reported for that model id, and every later record naming the
    model id carries it (``exchange.weex.ailog.versioned_model``); local models and
    deterministic steps carry ``local_version`` (the package's)."""

    def __init__(
        self,
        uploader: AILogUploader,
        *,
        model_version: str | None = None,
        stage_names: Mapping[str, str] | None = None,
        local_version: str | None = None,
    ) -> None:
        self.uploader = uploader
        self.model_version = model_version
        self.stage_names = stage_names
        self.versions = ModelVersions(local_version)

    def __call__(self, record: Mapping[str, Any]) -> str:
        model = self.versions.model_for(record)
        mapped = to_weex_body({**record, "model": model}, model_version=self.model_version,
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
