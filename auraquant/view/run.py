"""Write a run's pages (the I/O edge): read the run directory and the candle store, render, write.

A meeting run (``journal.json``) gets ``index.html``; a replay run (``report.json``) gets
``index.html`` and ``meetings/<meeting_id>.html`` for each of the desk's meetings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from auraquant.view.meeting import render_meeting_page
from auraquant.view.prices import AROUND, Points, around, closes, epoch, meeting_chart
from auraquant.view.replay import (
    meeting_file,
    render_ledger_meeting_page,
    render_replay_page,
    trade_of,
)
from tools.runs import atomic_write_text

MEETING_TIMEFRAME = "15m"
EXECUTION_FILE = "execution.json"


class ViewError(ValueError):
    """The directory is not a run the view can show."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ViewError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def read_ailog(path: Path) -> list[dict[str, Any]]:
    """The AI-log records of a run (none when the file is absent); a torn last line is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def run_kind(run_dir: Path) -> str:
    """``"replay"`` or ``"meeting"``; a clear error for anything else."""
    if not run_dir.is_dir():
        raise ViewError(f"RUN_DIR: {run_dir} is not a directory")
    if (run_dir / "report.json").exists():
        return "replay"
    if (run_dir / "journal.json").exists():
        return "meeting"
    raise ViewError(
        f"RUN_DIR: {run_dir} has neither journal.json (a meeting) nor report.json (a replay)"
    )


def meeting_html(
    journal_path: Path, *, execution: dict[str, Any] | None = None, store: Path | None = None
) -> str:
    """The page of a journal's last meeting; ``execution`` (the executor's later report) replaces
    the journal's, else ``execution.json`` beside the journal does when present."""
    journal = _json(journal_path)
    meetings = journal.get("meetings") or [] if isinstance(journal, dict) else []
    if not meetings:
        raise ValueError(f"{journal_path}: the journal has no meeting to show")
    meeting = dict(meetings[-1])
    saved = journal_path.with_name(EXECUTION_FILE)
    if execution is None and saved.exists():
        execution = _json(saved)
    if execution is not None:
        # the later report lacks what the journal's has (the bracket's prices, the quantity)
        meeting["execution"] = {**(meeting.get("execution") or {}), **execution}
    chart = ""
    if meeting.get("symbol") and meeting.get("at"):
        start, end = around(meeting["at"])
        price = closes(str(meeting["symbol"]), MEETING_TIMEFRAME, start, end, store)
        chart = meeting_chart(meeting, price)
    budget = ((journal.get("meta") or {}).get("config") or {}).get("budget")
    ailog = read_ailog(journal_path.with_name("ailog.ndjson"))
    mid = meeting.get("meeting_id")
    if mid:
        ailog = [r for r in ailog if r.get("meeting_id") in (None, mid)]
    return render_meeting_page(
        meeting, journal_path.parent.name, ailog=ailog, chart=chart, budget=budget
    )


def _slice(price: Points, at: Any) -> Points:
    t = epoch(at)
    span = AROUND.total_seconds()
    return [p for p in price if t - span <= p[0] <= t + span]


def write_replay_view(run_dir: Path, store: Path | None = None) -> Path:
    """``index.html`` and one page per desk meeting for a replay run."""
    report = _json(run_dir / "report.json")
    ledger = _json(run_dir / "ledger.json") if (run_dir / "ledger.json").exists() else {}
    review = _json(run_dir / "review.json") if (run_dir / "review.json").exists() else None
    desk = str((report.get("config") or {}).get("desk") or "")
    rows = [r for r in ledger.get("decisions") or [] if not desk or r.get("desk") == desk]
    rows.sort(key=lambda r: (str(r.get("at")), str(r.get("symbol"))))
    fills: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in ledger.get("fills") or []:
        if f.get("decision_id"):
            fills[str(f["decision_id"])].append(f)
    symbols = sorted(
        set((report.get("trades") or {}).keys())
        | set((report.get("config") or {}).get("symbols") or [])
    )
    prices: dict[str, Points] = {}
    if report.get("first_step") and report.get("last_step"):
        start = pd.Timestamp(report["first_step"]) - AROUND
        end = pd.Timestamp(report["last_step"]) + AROUND
        prices = {s: closes(s, MEETING_TIMEFRAME, start, end, store) for s in symbols}
    by_step: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in read_ailog(run_dir / "ailog.ndjson"):
        by_step[(str(rec.get("symbol")), str(rec.get("at")))].append(rec)
    run_id = run_dir.name
    (run_dir / "meetings").mkdir(exist_ok=True)
    for r in rows:
        page = render_ledger_meeting_page(
            r,
            fills.get(str(r.get("id")), []),
            review,
            _slice(prices.get(str(r.get("symbol")), []), r.get("at")),
            run_id,
            trade_of(r, report.get("trades") or {}),
            by_step.get((str(r.get("symbol")), str(r.get("at"))), []),
        )
        atomic_write_text(run_dir / meeting_file(str(r["meeting_id"])), page)
    out = run_dir / "index.html"
    atomic_write_text(out, render_replay_page(report, rows, review, prices, run_id))
    return out


def run_store(run_dir: Path) -> Path | None:
    """The candle store of the home the run belongs to (``<home>/runs/<run>`` → ``<home>/store``)
    when there is one, else None (``$AURAQUANT_HOME``'s)."""
    store = run_dir.resolve().parent.parent / "store"
    return store if store.is_dir() else None


def write_view(run_dir: Path, store: Path | None = None) -> Path:
    """Write the run's ``index.html`` (and a replay's meeting pages); returns the index. The price
    charts read ``store``, by default the run's own home's store, else ``$AURAQUANT_HOME``'s."""
    store = store or run_store(run_dir)
    if run_kind(run_dir) == "replay":
        return write_replay_view(run_dir, store)
    out = run_dir / "index.html"
    atomic_write_text(out, meeting_html(run_dir / "journal.json", store=store))
    return out
