"""The project's AI-log record -> WEEX's ``uploadAiLog`` body (weex-api §11), as pure functions.

A record (``graph/ailog.py``) has ``stage`` (SCAN … RECONCILE), ``model``, ``input``,
``output``, ``explanation``, ``orderId`` and run bookkeeping. WEEX wants one object:

    {"orderId": Long|null, "stage": str, "model": str, "input": {"prompt": …, "data": {…}},
     "output": {…}, "explanation": str (≤ 500 words)}

- ``orderId``: WEEX's own order id as an int; a virtual id (``"O-000042"``) gets its numeric
  form (42); anything else non-numeric is refused rather than guessed.
- ``model`` carries a version: the one the model's server returned (``versioned_model``:
  ``openai:gpt-4o-mini`` answered by ``gpt-4o-mini-2024-07-18`` is uploaded as
  ``openai:gpt-4o-mini-2024-07-18``), the package's for local models and deterministic steps
  (``offline@auraquant-0.1.0``), or ``model_version`` appended when the name has none.
- ``input``: ``{"prompt", "data"}``; a prompt longer than ``max_prompt_chars`` is replaced by
  its SHA-256 and head, and the full text is returned in ``blobs`` for the caller to store.
- ``explanation``: at most 500 words and 1000 characters.
- Bookkeeping that lets WEEX-side duplicates be recognised (run id, seq, node) goes to
  ``input["record"]``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_WORDS = 500
MAX_CHARS = 1000
_VIRTUAL_ID = re.compile(r"^[A-Za-z]+-(\d+)$")
REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class WeexAiLog:
    """The body to upload, and long prompts to store beside it (sha256 -> text)."""

    body: dict[str, Any]
    blobs: dict[str, str] = field(default_factory=dict)


def weex_order_id(order_id: Any) -> int | None:
    """A Long for WEEX's ``orderId``: WEEX ids as ints, virtual ``O-000042`` as 42."""
    if order_id is None or order_id == "":
        return None
    if isinstance(order_id, bool):
        raise ValueError(f"orderId: {order_id!r} is not an order id")
    if isinstance(order_id, int):
        return order_id
    text = str(order_id).strip()
    if text.isdigit():
        return int(text)
    m = _VIRTUAL_ID.match(text)
    if m:
        return int(m.group(1))
    raise ValueError(f"orderId: {order_id!r} has no numeric form")


def model_with_version(model: str, version: str | None) -> str:
    """``model`` with ``version`` appended unless it already names one."""
    model = (model or "unknown").strip()
    if not version or version in model:
        return model
    return f"{model}@{version}"


LOCAL_PROVIDERS = ("offline", "injected", "deterministic", "pydantic", "human", "none", "unknown")
"""Model ids that name code in this package, not a server: their version is the package's."""


def versioned_model(
    model: str, *, reported: Mapping[str, str], local_version: str | None = None
) -> str:
    """``model`` (``provider:name``, or several joined by commas) with the version each one's
    server returned (``reported``: model id -> the reply's ``model_name``): a reported name that
    extends the configured one replaces it (``openai:gpt-4o-mini`` -> ``openai:gpt-4o-mini-
    2024-07-18``), any other is appended (``@``); local models get ``local_version``."""
    out = []
    for part in (model or "unknown").split(","):
        m = part.strip()
        provider, _, name = m.partition(":")
        version = reported.get(m)
        if provider in LOCAL_PROVIDERS:
            out.append(model_with_version(m, local_version))
        elif version and name and version.startswith(name):
            out.append(f"{provider}:{version}")
        else:
            out.append(model_with_version(m, version))
    return ",".join(out)


def reported_version(record: Mapping[str, Any]) -> str | None:
    """The version the server returned, on a model-call record (``kind: llm_call``)."""
    if record.get("kind") != "llm_call":
        return None
    out = record.get("output")
    v = out.get("model_version") if isinstance(out, Mapping) else None
    return str(v) if v else None


class ModelVersions:
    """What the model servers reported, learned from a log in order: ``model_for(record)`` is
    the record's model with its version (a model-call record, ``kind: llm_call``, comes before
    its node's record and teaches the version of its model id)."""

    def __init__(self, local_version: str | None = None) -> None:
        self.local_version = local_version
        self.reported: dict[str, str] = {}

    def model_for(self, record: Mapping[str, Any]) -> str:
        version = reported_version(record)
        if version is not None:
            self.reported[str(record.get("model"))] = version
        return versioned_model(str(record.get("model") or "unknown"), reported=self.reported,
                               local_version=self.local_version)  # fmt: skip


def clip_explanation(text: str, *, max_words: int = MAX_WORDS, max_chars: int = MAX_CHARS) -> str:
    """At most ``max_words`` words and ``max_chars`` characters, whitespace collapsed."""
    words = (text or "").split()
    clipped = " ".join(words[:max_words])
    if len(words) > max_words or len(clipped) > max_chars:
        clipped = clipped[: max_chars - 1].rstrip() + "…"
    return clipped


def weex_input(raw: Mapping[str, Any], *, max_prompt_chars: int) -> tuple[dict[str, Any], dict]:
    """``{"prompt", "data"}`` from a record's ``input`` (the prompt is ``prompt`` or ``task``;
    everything else is the data), with a long prompt replaced by its hash."""
    raw = dict(raw or {})
    prompt = raw.pop("prompt", None)
    if prompt is None:
        prompt = raw.pop("task", "")
    data = raw.pop("data", None)
    if data is None:
        data = raw
    elif raw:
        data = {**raw, **data} if isinstance(data, dict) else {"data": data, **raw}
    blobs: dict[str, str] = {}
    prompt_text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)
    out: dict[str, Any] = {"prompt": prompt_text, "data": data}
    if len(prompt_text) > max_prompt_chars:
        digest = hashlib.sha256(prompt_text.encode()).hexdigest()
        blobs[digest] = prompt_text
        out["prompt"] = prompt_text[:500] + "…"
        out["prompt_sha256"] = digest
        out["prompt_chars"] = len(prompt_text)
    return out, blobs


def to_weex_body(
    record: Mapping[str, Any],
    *,
    model_version: str | None = None,
    stage_names: Mapping[str, str] | None = None,
    max_prompt_chars: int = 4000,
) -> WeexAiLog:
    """The WEEX body of one project AI-log record."""
    for key in ("stage", "model", "input", "output"):
        if key not in record:
            raise ValueError(f"{key}: missing from the AI-log record")
    stage = str(record["stage"])
    inp, blobs = weex_input(record["input"], max_prompt_chars=max_prompt_chars)
    bookkeeping = {k: record[k] for k in ("run_id", "seq", "node", "timestamp", "meeting_id",
                                          "symbol", "at") if k in record}  # fmt: skip
    if bookkeeping:
        inp["record"] = bookkeeping
    output = record["output"]
    try:
        order_id = weex_order_id(record.get("orderId"))
    except ValueError:  # an order WEEX never accepted (``rejected:<client id>``): no Long exists
        order_id = None
        inp.setdefault("record", {})["order_ref"] = str(record.get("orderId"))
    body = {
        "orderId": order_id,
        "stage": (stage_names or {}).get(stage, stage),
        "model": model_with_version(str(record["model"]), model_version),
        "input": inp,
        "output": dict(output) if isinstance(output, Mapping) else {"value": output},
        "explanation": clip_explanation(str(record.get("explanation") or stage)),
    }
    return WeexAiLog(body, blobs)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its JSON-escaped form) replaced by ``[REDACTED]``."""
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, REDACTED)
        esc = json.dumps(s)[1:-1]
        if esc != s:
            text = text.replace(esc, REDACTED)
    return text


def redact_json(obj: Any, secrets: Iterable[str]) -> Any:
    """``obj`` with secrets redacted from every string (JSON round trip)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return obj
    return json.loads(redact_text(json.dumps(obj, ensure_ascii=False), secrets))
