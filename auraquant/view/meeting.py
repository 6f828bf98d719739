"""A meeting's page: memo, debate, interrupts, budget, decision, gate, orders, AI log, price chart.

Rendered from the decision journal's entry (``runs/<run>/journal.json``), so any past run can be
viewed again. Every string is HTML-escaped: headlines and LLM text are untrusted. Evidence ids link
to the memo fact they cite; news facts link to their article.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from auraquant.view.html import esc, link_or_text, num, page, rule_order, table, tag

KIND_ORDER = ("market", "technical", "news", "cross", "onchain")


def evidence(ids: list[str], known: set[str]) -> str:
    """The ids a turn or interrupt cites, linked to the memo's facts (unknown ids as text)."""
    links = [
        f'<a href="#fact-{escape(i)}"><code>{escape(i)}</code></a>'
        if i in known
        else f"<code>{escape(i)}</code>"
        for i in ids
    ]
    return f'<div class="ev muted">evidence: {" ".join(links)}</div>' if links else ""


def memo_section(memo: dict[str, Any]) -> str:
    """The memo's facts grouped by kind, then its signals and unknowns."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in memo.get("facts", []):
        groups[str(f.get("kind") or str(f["id"]).split(".")[0])].append(f)
    kinds = sorted(groups, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    blocks = []
    for kind in kinds:
        rows = [
            f'<tr id="fact-{escape(f["id"])}"><td><code>{escape(f["id"])}</code></td>'
            f"<td>{escape(f['text'])}</td>"
            f'<td class="muted">{link_or_text(str(f.get("source", "")))}</td></tr>'
            for f in groups[kind]
        ]
        blocks.append(
            f'<h3 class="kind">{escape(kind)} <span class="muted">({len(rows)})</span></h3>'
            + table(["fact", "what it says", "source"], rows)
        )
    signals = "".join(
        f"<li><b>{escape(s['name'])}</b> {tag(s['direction'])} strength {s['strength']:.2f} — "
        f"{escape(s.get('text', ''))}</li>"
        for s in memo.get("signals", [])
    )
    unknowns = "".join(f"<li>{escape(u['text'])}</li>" for u in memo.get("unknowns", []))
    return (
        f'<section id="memo"><h2>Memo <span class="muted">{esc(memo.get("id", ""))}</span></h2>'
        + "".join(blocks)
        + (f"<h3>Signals</h3><ul>{signals}</ul>" if signals else "")
        + (f"<h3>Unknowns</h3><ul>{unknowns}</ul>" if unknowns else "")
        + "</section>"
    )


def turn_card(t: dict[str, Any], known: set[str]) -> str:
    """One seat's turn: stance, confidence, horizon, levels, argument and evidence."""
    levels = " · ".join(
        f"{name} {num(t.get(key))}"
        for name, key in (("entry", "entry"), ("stop", "stop_loss"), ("target", "take_profit"))
        if t.get(key) is not None
    )
    revises = f' <span class="muted">revises {esc(t["revises"])}</span>' if t.get("revises") else ""
    seat = str(t.get("role") or str(t["id"]).split("#")[0]).replace("_", " ")
    return (
        f'<div class="card turn" id="turn-{escape(t["id"])}"><b>{escape(seat)}</b> '
        f'<span class="muted">{escape(t["id"])}</span> {tag(t["stance"])} '
        f"confidence {t['confidence']:.2f} · horizon {esc(t.get('horizon', ''))}"
        f"{' · ' + levels if levels else ''}{revises}"
        f"<div>{escape(t['argument'])}</div>{evidence(t.get('evidence', []), known)}</div>"
    )


def resolution_text(i: dict[str, Any]) -> str:
    """How an interrupt ended, said once: ``revised → technical_analyst#2: stop 1.5 ATR away…``
    (the resolution's own leading "Revised:" is not repeated after the outcome)."""
    outcome = str(i.get("outcome") or "").strip()
    res = str(i.get("resolution") or "").strip()
    if outcome and res.lower().startswith(outcome.lower()):
        res = res[len(outcome) :].lstrip(" :.-")
    head = outcome + (f" → {i['revised_turn']}" if i.get("revised_turn") else "")
    return ": ".join(p for p in (head, res) if p)


def interrupt_card(i: dict[str, Any], known: set[str]) -> str:
    """One interrupt: kind, who, against which turn, what it said, how it was resolved."""
    target = str(i.get("target") or "")
    target_html = (
        f'<a href="#turn-{escape(target)}">{escape(target)}</a>' if "#" in target else esc(target)
    )
    proposal = (
        f' <span class="muted">proposes <code>{esc(i["proposal"])}</code></span>'
        if i.get("proposal")
        else ""
    )
    return (
        f'<div class="card interrupt"><b>{esc(i.get("id"))}</b> <code>{esc(i["kind"])}</code> '
        f"{esc(str(i['by']).replace('_', ' '))} → {target_html}{proposal}"
        f"<div>{esc(i.get('text', ''))}</div>"
        f'<div class="muted"><b>{esc(i.get("status"))}</b>'
        f"{' · ' + escape(resolution_text(i)) if resolution_text(i) else ''}</div>"
        f"{evidence(i.get('evidence', []), known)}</div>"
    )


def budget_section(spent: dict[str, int] | None, budget: Any, ended_by: Any) -> str:
    """The interrupt budget as spent: the meeting's total and each seat's."""
    spent = spent or {}
    total = spent.get("__meeting__", sum(v for k, v in spent.items() if k != "__meeting__"))
    seats = ", ".join(
        f"{escape(k.replace('_', ' '))} {v}" for k, v in sorted(spent.items()) if k != "__meeting__"
    )
    of = f" of {num(budget)}" if budget is not None else ""
    return (
        f'<p id="budget"><b>Budget</b>: {num(total)}{of} interrupt(s) spent'
        f"{' (' + seats + ')' if seats else ''}; the debate ended by <b>{esc(ended_by)}</b>.</p>"
    )


def decision_section(d: dict[str, Any] | None, fallback: str | None) -> str:
    """The CTO's decision with its levels, rationale and dissent."""
    if not d:
        return '<h2 id="decision">Decision</h2><p>No decision.</p>'
    dissent = "".join(f"<li>{escape(x)}</li>" for x in d.get("dissent", []))
    paths = "".join(
        f"<p><b>{label}</b>: {escape(str(d[key]))}</p>"
        for label, key in (("Main path", "main_path"), ("Backup path", "backup_path"))
        if d.get(key)
    )
    return (
        f'<h2 id="decision">Decision (CTO) {tag(d["action"])}</h2>'
        f"<p>confidence {num(d.get('confidence'))} · horizon {esc(d.get('horizon'))} · "
        f"leverage {num(d.get('leverage'))} · {esc(d.get('entry_type'))} entry "
        f"{num(d.get('entry'))} · stop {num(d.get('stop_loss'))} · target "
        f"{num(d.get('take_profit'))}</p><p>{esc(d.get('rationale', ''))}</p>{paths}"
        + (f"<p><b>Dissent</b></p><ul>{dissent}</ul>" if dissent else "")
        + (f'<p class="fail">{escape(fallback)}</p>' if fallback else "")
    )


def gate_section(g: dict[str, Any] | None) -> str:
    """The gate's verdict with every reason and clamp (before → after), in rule order."""
    if not g:
        return '<h2 id="gate">Risk gate</h2><p>Not reached.</p>'
    reasons = sorted(g.get("reasons", []), key=lambda r: rule_order(str(r["rule"])))
    rows = [
        f'<tr class="rule"><td><code>{escape(r["rule"])}</code></td>'
        f"<td>{'yes' if r['passed'] else '<span class=fail>NO</span>'}</td>"
        f"<td>{escape(r['message'])}</td></tr>"
        for r in reasons
    ]
    clamps = sorted(g.get("clamps", []), key=lambda c: rule_order(str(c["rule"])))
    clamp_rows = [
        f"<tr><td><code>{escape(c['rule'])}</code></td><td>{escape(c['field'])}</td>"
        f'<td class="n">{num(c["before"])} → {num(c["after"])}</td></tr>'
        for c in clamps
    ]
    plan = g.get("plan")
    plan_html = (
        f"<p><b>Plan</b>: {esc(plan.get('side'))} {num(plan.get('quantity'))} "
        f"{esc(plan.get('symbol'))} ×{num(plan.get('leverage'))} {esc(plan.get('entry_type'))},"
        f" entry {num(plan.get('entry_price'))}, stop {num(plan.get('stop_loss'))}, target "
        f"{num(plan.get('take_profit'))}, risk {num(plan.get('risk_amount'), 4)} USDT</p>"
        if plan
        else ""
    )
    return (
        f'<h2 id="gate">Risk gate {tag(g["verdict"])}</h2>'
        + table(["rule", "ok", "finding"], rows)
        + (
            "<h3>Clamps</h3>" + table(["rule", "field", "before → after"], clamp_rows, numeric={2})
            if clamp_rows
            else ""
        )
        + plan_html
    )


def execution_section(
    ex: dict[str, Any] | None, orders: list[dict[str, Any]], side: str | None = None
) -> str:
    """The executor's report: the bracket's three orders with their prices and states, and the
    fills."""
    ex = ex or {}
    by_id = {str(o.get("id")): o for o in orders}
    opposite = {"BUY": "SELL", "SELL": "BUY"}
    rows = []
    for role in ("entry", "stop_loss", "take_profit"):
        price = ex.get(f"{role}_price")
        oid = ex.get(f"{role}_order_id")
        if oid is None and price is None:
            continue
        status = ex.get(f"{role}_status") or (
            "placed when the entry fills" if role != "entry" else None
        )
        o = by_id.get(str(oid), {})
        req = o.get("request") or {}
        kind = req.get("type") or ("MARKET" if role == "entry" else "reduce-only")
        order_side = req.get("side") or (side if role == "entry" else opposite.get(side or ""))
        rows.append(
            f'<tr class="order"><td>{role.replace("_", " ")}</td><td>{esc(oid)}</td>'
            f"<td>{esc(kind)}</td><td>{esc(order_side)}</td>"
            f'<td class="n">{num(price)}</td><td class="n">{num(ex.get("quantity"))}</td>'
            f"<td>{esc(status)}</td></tr>"
        )
    fills = [
        f'<tr class="fill"><td>{esc(f.get("id"))}</td><td>{esc(f.get("side"))}</td>'
        f'<td class="n">{num(f.get("quantity"))}</td><td class="n">{num(f.get("price"))}</td>'
        f'<td class="n">{num(f.get("fee"), 4)}</td><td>{esc(f.get("ts"))}</td></tr>'
        for f in ex.get("fills", [])
    ]
    note = ex.get("rejection_reason") or ex.get("note")
    return (
        f'<h2 id="execution">Execution: {esc(ex.get("status", "none"))}</h2>'
        + (f"<p>{escape(str(note))}</p>" if note else "")
        + (
            table(
                ["order", "id", "type", "side", "price", "quantity", "status"],
                rows,
                numeric={4, 5},
            )
            if rows
            else ""
        )
        + (
            "<h3>Fills</h3>"
            + table(["fill", "side", "quantity", "price", "fee", "at"], fills, numeric={2, 3, 4})
            if fills
            else ""
        )
    )


def plan_side(meeting: dict[str, Any]) -> str | None:
    """The entry's side as the gate planned it (BUY or SELL), when it did."""
    plan = (meeting.get("gate_result") or {}).get("plan") or {}
    return str(plan["side"]) if plan.get("side") else None


def ailog_section(records: list[dict[str, Any]]) -> str:
    """The AI log as a timeline, one group per run of records in the same stage."""
    if not records:
        return ""
    rows: list[str] = []
    last = None
    for r in records:
        stage = r.get("stage") or "?"
        if stage != last:
            rows.append(f'<tr class="stage"><td colspan="4">{esc(stage)}</td></tr>')
            last = stage
        rows.append(
            f'<tr class="log"><td class="n">{esc(r.get("seq"))}</td><td><code>{esc(r.get("node"))}'
            f'</code></td><td class="hide-sm muted">{esc(r.get("model"))}</td>'
            f"<td>{esc(r.get('explanation'))}</td></tr>"
        )
    return (
        '<section id="ailog"><h2>AI log by stage</h2>'
        + table(["#", "node", "model", "what"], rows)
        + "</section>"
    )


def last_spent(records: list[dict[str, Any]]) -> dict[str, int] | None:
    """The budget spent as the last review round recorded it."""
    spent = None
    for r in records:
        out = r.get("output")
        if (
            r.get("node") == "review"
            and isinstance(out, dict)
            and isinstance(out.get("spent"), dict)
        ):
            spent = out["spent"]
    return spent


def meeting_body(
    meeting: dict[str, Any],
    run_id: str = "",
    *,
    ailog: list[dict[str, Any]] | None = None,
    chart: str = "",
    budget: Any = None,
    back: str = "",
) -> str:
    """Everything of one meeting between ``<body>`` and ``</body>``."""
    memo = meeting.get("memo") or {}
    known = {f["id"] for f in memo.get("facts", [])}
    title = f"{meeting.get('symbol', '?')} at {meeting.get('at', '?')}"
    turns = "".join(turn_card(t, known) for t in meeting.get("turns", []))
    interrupts = "".join(interrupt_card(i, known) for i in meeting.get("interrupts", []))
    records = ailog or []
    spent = last_spent(records)
    if spent is None:
        spent = {"__meeting__": len(meeting.get("interrupts", []))}
    nav = "".join(
        f'<a href="#{a}">{n}</a>'
        for a, n in (
            ("chart", "chart"),
            ("debate", "debate"),
            ("decision", "decision"),
            ("gate", "gate"),
            ("execution", "orders"),
            ("ailog", "AI log"),
            ("memo", "memo"),
        )
    )
    return (
        f"{back}<h1>Meeting: {escape(title)}</h1><p class=muted>run {escape(run_id)} · memo "
        f"{esc(memo.get('id', ''))} · data {esc(memo.get('data_hash', ''))}</p><nav>{nav}</nav>"
        + (f'<h2 id="chart">Price around the meeting</h2>{chart}' if chart else "")
        + f'<h2 id="debate">Debate</h2>{turns or "<p>No turns.</p>"}'
        f"<h2>Interrupts</h2>{budget_section(spent, budget, meeting.get('ended_by'))}"
        f"{interrupts or '<p>None.</p>'}"
        f"{decision_section(meeting.get('decision'), meeting.get('fallback'))}"
        f"{gate_section(meeting.get('gate_result'))}"
        f"{execution_section(meeting.get('execution'), meeting.get('orders') or [], plan_side(meeting))}"
        f"{ailog_section(records)}{memo_section(memo)}"
    )


def render_meeting_page(
    meeting: dict[str, Any],
    run_id: str = "",
    *,
    ailog: list[dict[str, Any]] | None = None,
    chart: str = "",
    budget: Any = None,
) -> str:
    """One journal meeting as a self-contained page (pure: same inputs, same bytes)."""
    title = f"AuraQuant meeting · {meeting.get('symbol', '?')} at {meeting.get('at', '?')}"
    return page(title, meeting_body(meeting, run_id, ailog=ailog, chart=chart, budget=budget))
