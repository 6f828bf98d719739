"""The HTML meeting view: one self-contained page a person reads to follow a meeting.

It is rendered from the decision journal (``runs/<run_id>/journal.json``), not from live
objects, so any past run can be viewed again. Every string is HTML-escaped: headlines and LLM
text are untrusted. Evidence ids link to the memo fact they cite.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from tools.runs import atomic_write_text

STANCE_COLOUR = {"LONG": "#1a7f37", "SHORT": "#cf222e", "FLAT": "#9a6700"}
VERDICT_COLOUR = {"APPROVED": "#1a7f37", "CLAMPED": "#9a6700", "DENIED": "#cf222e"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:1px solid #d0d7de;
padding-bottom:.3rem;margin-top:2rem}.muted{color:#656d76}.tag{display:inline-block;padding:0 .45rem;
border-radius:1rem;color:#fff;font-weight:600;font-size:.8rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeef2;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}code{font-size:.85em}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}
.interrupt{border-left:4px solid #8250df}.ev a{margin-right:.4rem}.fail{color:#cf222e;font-weight:600}
tr:target{background:#fff8c5}
"""


def _tag(text: str, colour: str) -> str:
    return f'<span class="tag" style="background:{colour}">{escape(text)}</span>'


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return "—" if value is None else escape(str(value))


def _evidence(ids: list[str], known: set[str]) -> str:
    links = [
        f'<a href="#fact-{escape(i)}"><code>{escape(i)}</code></a>'
        if i in known
        else f"<code>{escape(i)}</code>"
        for i in ids
    ]
    return f'<div class="ev muted">evidence: {" ".join(links)}</div>' if links else ""


def _memo_section(memo: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr id="fact-{escape(f["id"])}"><td><code>{escape(f["id"])}</code></td>'
        f"<td>{escape(f['text'])}</td><td class=muted>{escape(str(f.get('source', '')))}</td></tr>"
        for f in memo.get("facts", [])
    )
    signals = "".join(
        f"<li><b>{escape(s['name'])}</b> {_tag(s['direction'], STANCE_COLOUR.get(s['direction'], '#57606a'))}"
        f" strength {s['strength']:.2f} — {escape(s.get('text', ''))}</li>"
        for s in memo.get("signals", [])
    )
    unknowns = "".join(f"<li>{escape(u['text'])}</li>" for u in memo.get("unknowns", []))
    return (
        f"<h2>Memo <span class=muted>{escape(str(memo.get('id', '')))}</span></h2>"
        f"<table><tr><th>fact</th><th>what it says</th><th>source</th></tr>{rows}</table>"
        f"<h3>Signals</h3><ul>{signals}</ul>"
        + (f"<h3>Unknowns</h3><ul>{unknowns}</ul>" if unknowns else "")
    )


def _turn_card(t: dict[str, Any], known: set[str]) -> str:
    levels = "  ".join(
        f"{name} {_num(t.get(key))}"
        for name, key in (("entry", "entry"), ("stop", "stop_loss"), ("target", "take_profit"))
        if t.get(key) is not None
    )
    revises = (
        f' <span class="muted">revises {escape(t["revises"])}</span>' if t.get("revises") else ""
    )
    return (
        f'<div class="card"><b>{escape(t["id"])}</b> '
        f"{_tag(t['stance'], STANCE_COLOUR.get(t['stance'], '#57606a'))} "
        f"confidence {t['confidence']:.2f} · horizon {escape(str(t.get('horizon', '')))}"
        f"{' · ' + escape(levels) if levels else ''}{revises}"
        f"<div>{escape(t['argument'])}</div>{_evidence(t.get('evidence', []), known)}</div>"
    )


def _interrupt_card(i: dict[str, Any], known: set[str]) -> str:
    res = " ".join(str(i.get(k) or "") for k in ("outcome", "resolution")).strip()
    return (
        f'<div class="card interrupt"><b>{escape(i["id"])}</b> <code>{escape(i["kind"])}</code> '
        f"{escape(i['by'])} → {escape(i['target'])}<div>{escape(i['text'])}</div>"
        f'<div class="muted">{escape(i["status"])}: {escape(res)}</div>'
        f"{_evidence(i.get('evidence', []), known)}</div>"
    )


def _decision_section(d: dict[str, Any] | None, fallback: str | None) -> str:
    if not d:
        return "<h2>Decision</h2><p>No decision.</p>"
    dissent = "".join(f"<li>{escape(x)}</li>" for x in d.get("dissent", []))
    return (
        f"<h2>Decision (CTO) {_tag(d['action'], STANCE_COLOUR.get(d['action'], '#57606a'))}</h2>"
        f"<p>confidence {_num(d.get('confidence'))} · horizon {escape(str(d.get('horizon')))} · "
        f"leverage {_num(d.get('leverage'))} · {escape(str(d.get('entry_type')))} entry "
        f"{_num(d.get('entry'))} · stop {_num(d.get('stop_loss'))} · target "
        f"{_num(d.get('take_profit'))}</p><p>{escape(d.get('rationale', ''))}</p>"
        + (f"<p><b>Dissent</b></p><ul>{dissent}</ul>" if dissent else "")
        + (f'<p class="fail">{escape(fallback)}</p>' if fallback else "")
    )


def _gate_section(g: dict[str, Any] | None) -> str:
    if not g:
        return "<h2>Risk gate</h2><p>Not reached.</p>"
    rows = "".join(
        f"<tr><td><code>{escape(r['rule'])}</code></td>"
        f"<td>{'yes' if r['passed'] else '<span class=fail>NO</span>'}</td>"
        f"<td>{escape(r['message'])}</td></tr>"
        for r in g.get("reasons", [])
    )
    clamps = "".join(
        f"<li><code>{escape(c['rule'])}</code> {escape(c['field'])}: {_num(c['before'])} → "
        f"{_num(c['after'])}</li>"
        for c in g.get("clamps", [])
    )
    plan = g.get("plan")
    plan_html = (
        f"<p><b>Plan</b>: {escape(plan['side'])} {_num(plan['quantity'])} {escape(plan['symbol'])}"
        f" ×{_num(plan['leverage'])} {escape(plan['entry_type'])}, stop {_num(plan['stop_loss'])},"
        f" target {_num(plan['take_profit'])}, risk {_num(plan['risk_amount'])} USDT</p>"
        if plan
        else ""
    )
    return (
        f"<h2>Risk gate {_tag(g['verdict'], VERDICT_COLOUR.get(g['verdict'], '#57606a'))}</h2>"
        f"<table><tr><th>rule</th><th>ok</th><th>finding</th></tr>{rows}</table>"
        + (f"<p><b>Clamps</b></p><ul>{clamps}</ul>" if clamps else "")
        + plan_html
    )


def _execution_section(ex: dict[str, Any] | None) -> str:
    """The executor's report: the bracket's three orders, their states, and the fills."""
    ex = ex or {}
    rows = "".join(
        f"<tr><td>{role.replace('_', ' ')}</td><td>{escape(str(ex[f'{role}_order_id']))}</td>"
        f"<td>{escape(str(ex.get(f'{role}_status')))}</td></tr>"
        for role in ("entry", "stop_loss", "take_profit")
        if ex.get(f"{role}_order_id")
    )
    fills = "".join(
        f"<li>{escape(str(f['id']))}: {escape(str(f['side']))} {_num(f['quantity'])} @ "
        f"{_num(f['price'])}, fee {_num(f['fee'])} at {escape(str(f['ts']))}</li>"
        for f in ex.get("fills", [])
    )
    note = ex.get("rejection_reason") or ex.get("note")
    return (
        f"<h2>Execution: {escape(str(ex.get('status', 'none')))}</h2>"
        + (f"<p>{escape(str(note))}</p>" if note else "")
        + (
            f"<table><tr><th>order</th><th>id</th><th>status</th></tr>{rows}</table>"
            if rows
            else ""
        )
        + (f"<p><b>Fills</b></p><ul>{fills}</ul>" if fills else "")
    )


def render_meeting_html(meeting: dict[str, Any], run_id: str = "") -> str:
    """One journal meeting entry as a self-contained HTML page (pure: same entry, same bytes)."""
    memo = meeting.get("memo") or {}
    known = {f["id"] for f in memo.get("facts", [])}
    title = f"{meeting.get('symbol', '?')} at {meeting.get('at', '?')}"
    turns = "".join(_turn_card(t, known) for t in meeting.get("turns", []))
    interrupts = "".join(_interrupt_card(i, known) for i in meeting.get("interrupts", []))
    ended = escape(str(meeting.get("ended_by") or "?"))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>AuraQuant meeting · {escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>Meeting: {escape(title)}</h1><p class=muted>run {escape(run_id)} · memo "
        f"{escape(str(memo.get('id', '')))} · data {escape(str(memo.get('data_hash', '')))}</p>"
        f"<h2>Debate</h2>{turns}"
        f"<h2>Interrupts <span class=muted>(debate ended by {ended})</span></h2>"
        f"{interrupts or '<p>None.</p>'}"
        f"{_decision_section(meeting.get('decision'), meeting.get('fallback'))}"
        f"{_gate_section(meeting.get('gate_result'))}{_execution_section(meeting.get('execution'))}"
        f"{_memo_section(memo)}</body></html>\n"
    )


def write_meeting_html(journal_path: Path, *, execution: dict[str, Any] | None = None) -> Path:
    """Write ``meeting.html`` beside a journal (its last meeting) and return the path.

    The journal keeps the execution as decided; ``execution`` (the executor's report after the
    exchange moved on, e.g. the entry filled at the next bar's open) replaces it on the page.
    """
    journal = json.loads(journal_path.read_text(encoding="utf-8"))
    meetings = journal.get("meetings") or []
    if not meetings:
        raise ValueError(f"{journal_path}: the journal has no meeting to show")
    meeting = meetings[-1] if execution is None else {**meetings[-1], "execution": execution}
    out = journal_path.with_name("meeting.html")
    atomic_write_text(out, render_meeting_html(meeting, journal_path.parent.name))
    return out
