"""The HTML meeting view ``meet`` writes beside its journal (``meeting.html``).

It delegates to :mod:`auraquant.view` (the page ``auraquant view`` writes as ``index.html``), so
both show the same thing: memo facts by kind, the debate, interrupts, budget, decision, gate in
rule order, orders and fills with prices, the AI log by stage and the price chart. Rendered from
the decision journal, not from live objects, so any past run can be viewed again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auraquant.view.meeting import render_meeting_page
from auraquant.view.run import EXECUTION_FILE, meeting_html, run_store
from tools.runs import atomic_write_text


def render_meeting_html(meeting: dict[str, Any], run_id: str = "") -> str:
    """One journal meeting entry as a self-contained HTML page (pure: same entry, same bytes)."""
    return render_meeting_page(meeting, run_id)


def write_meeting_html(journal_path: Path, *, execution: dict[str, Any] | None = None) -> Path:
    """Write ``meeting.html`` beside a journal (its last meeting) and return the path.

    The journal keeps the execution as decided; ``execution`` (the executor's report after the
    exchange moved on, e.g. the entry filled at the next bar's open) replaces it on the page and
    is kept as ``execution.json`` so ``auraquant view`` shows it too.
    """
    page = meeting_html(journal_path, execution=execution, store=run_store(journal_path.parent))
    if execution is not None:
        atomic_write_text(
            journal_path.with_name(EXECUTION_FILE),
            json.dumps(execution, sort_keys=True, indent=2, default=str) + "\n",
        )
    out = journal_path.with_name("meeting.html")
    atomic_write_text(out, page)
    return out
