"""A meeting that fails: one ``error`` record, the journal with status ``error``, a typed raise.

Any exception inside a node ends the meeting. :func:`failure_record` turns it into the record the
AI log and the journal keep (node, seat, provider, model, exception type, message with secrets
redacted, exit code); the node then raises :class:`MeetingFailed` carrying it, which the command
line prints as one line and turns into its exit code (README, "Exit codes"):

    0  the meeting ran (its decision may be FLAT, e.g. ``budget_exhausted``)
    2  bad input (an option, a file, the data) — before any meeting starts
    3  the language model failed: a provider error (timeout, refused connection, 5xx after the
       retries, 4xx, missing credentials) or ``model_unavailable`` (every seat abstained)
    4  any other failure inside a meeting node
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agents.llm import ModelCallError
from graph.ailog import redact

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_MODEL = 3
EXIT_NODE = 4


class MeetingFailed(RuntimeError):
    """A meeting ended by an exception in one of its nodes; ``record`` is what was logged."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = dict(record)
        super().__init__(one_line(self.record))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across replay's worker processes
        return (MeetingFailed, (self.record,))

    @property
    def exit_code(self) -> int:
        return int(self.record.get("exit_code", EXIT_NODE))


def failure_record(
    exc: BaseException, *, node: str, seat: str | None, secrets: Iterable[str]
) -> dict[str, Any]:
    """The ``error`` record of a failed node (secrets redacted from the message)."""
    secrets = list(secrets)
    if isinstance(exc, ModelCallError):
        return {
            "status": "error",
            "node": node,
            "seat": exc.seat,
            "provider": exc.provider,
            "model": exc.model_id,
            "kind": exc.kind,
            "exception": exc.error_class,
            "message": redact(exc.message, secrets),
            "attempts": exc.attempts,
            "exit_code": EXIT_MODEL,
        }
    return {
        "status": "error",
        "node": node,
        "seat": seat,
        "provider": None,
        "model": None,
        "kind": "node_error",
        "exception": type(exc).__name__,
        "message": redact(" ".join(str(exc).split())[:500] or type(exc).__name__, secrets),
        "attempts": 0,
        "exit_code": EXIT_NODE,
    }


def one_line(record: Mapping[str, Any]) -> str:
    """The failure as the one line the command line prints."""
    where = f"node {record.get('node')}"
    if record.get("seat"):
        where += f", seat {record['seat']}"
    if record.get("provider"):
        where += f", provider {record['provider']} ({record.get('model')})"
    return (
        f"meeting failed at {where}: {record.get('exception')} [{record.get('kind')}]: "
        f"{record.get('message')}"
    )
