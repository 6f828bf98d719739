"""The decision journal: what each meeting saw, said and decided, and what the gate and the
executor did with it, as one canonical ``runs/<run_id>/journal.json``.

Byte-identical for identical inputs: no wall clock, sorted keys, floats in Python's shortest
round-trip form, times as ``...Z``; NaN and infinity are refused (they are not JSON). It takes
pydantic models and JSON-able values generically, so it needs nothing from ``agents/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.runs import atomic_write_text, run_dir

JOURNAL_SCHEMA_VERSION = 1
JOURNAL_FILE = "journal.json"


class JournalError(ValueError):
    """A value the journal cannot write canonically; the message names where it is."""


def to_jsonable(obj: Any, where: str = "$") -> Any:
    """Plain JSON data for ``obj``: models dumped, times as ISO UTC, keys as strings."""
    if isinstance(obj, BaseModel):
        return to_jsonable(obj.model_dump(mode="json"), where)
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, Enum):
        return to_jsonable(obj.value, where)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise JournalError(f"{where}: {obj} is not a finite number")
        return 0.0 if obj == 0 else float(obj)
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            raise JournalError(f"{where}: time {obj.isoformat()} has no timezone")
        return obj.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return to_jsonable(obj.item(), where)
    raise JournalError(f"{where}: cannot journal a {type(obj).__name__}")


def journal_entry(
    *,
    memo: Any,
    turns: Sequence[Any],
    interrupts: Sequence[Any],
    decision: Any,
    gate_result: Any,
    execution: Any = None,
    orders: Sequence[Any] = (),
    fills: Sequence[Any] = (),
    **extra: Any,
) -> dict[str, Any]:
    """One meeting's record: memo, turns, interrupts, decision, gate result, orders and fills.

    ``extra`` keys (e.g. ``symbol``, ``at``, ``meeting_id``) are stored beside them.
    """
    entry: dict[str, Any] = {
        "memo": memo,
        "turns": list(turns),
        "interrupts": list(interrupts),
        "decision": decision,
        "gate_result": gate_result,
        "execution": execution,
        "orders": list(orders),
        "fills": list(fills),
    }
    entry.update(extra)  # keyword-only parts above, so an extra can never shadow one
    return to_jsonable(entry, "$.entry")


def build_journal(
    run_id: str, entries: Sequence[Mapping[str, Any]], *, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The journal document: metadata (config snapshot, data hash, commit) and meetings.

    The run id names the directory, not the content: a rerun of the same meeting in a new run
    directory (``…-2``) writes the same bytes."""
    del run_id
    return to_jsonable(
        {
            "schema_version": JOURNAL_SCHEMA_VERSION,
            "meta": dict(meta or {}),
            "meetings": list(entries),
        }
    )


def render_journal(journal: Mapping[str, Any]) -> str:
    """The canonical text: indented, key-sorted, no NaN, one trailing newline."""
    return (
        json.dumps(
            to_jsonable(journal), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False
        )
        + "\n"
    )


def write_journal(
    run_id: str,
    entries: Sequence[Mapping[str, Any]],
    *,
    meta: Mapping[str, Any] | None = None,
    home: Path | None = None,
) -> Path:
    """Write ``runs/<run_id>/journal.json`` atomically; rendering fails before anything is
    written, so a bad value never leaves a partial journal."""
    text = render_journal(build_journal(run_id, entries, meta=meta))
    path = run_dir(run_id, home) / JOURNAL_FILE
    atomic_write_text(path, text)
    return path


def read_journal(path: Path) -> dict[str, Any]:
    """Load a journal written by :func:`write_journal`."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
