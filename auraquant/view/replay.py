"""A replay's pages: the meetings table, equity against the baselines, the debate ablation, the
desk's trades on the price per symbol, and one page per meeting built from its ledger record."""

from __future__ import annotations

from html import escape
from typing import Any

from auraquant.view.html import COLOUR, esc, num, page, table, tag
from auraquant.view.meeting import (
    ailog_section,
    budget_section,
    decision_section,
    execution_section,
    gate_section,
    interrupt_card,
    last_spent,
    memo_section,
    plan_side,
    turn_card,
)
from auraquant.view.prices import Points, epoch, meeting_chart
from auraquant.view.svg import Chart, Mark, Segment, Series, density_strip, legend, render, thin
from backtest.line_names import line_label

LINE_COLOUR = {
    "desk": "#0969da",
    "desk_no_debate": "#8250df",
    "buy_and_hold": "#9a6700",
    "sma_cross": "#57606a",
}
METRICS = (
    ("return_pct", "return %"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("max_drawdown_pct", "max DD %"),
    ("trades", "trades"),
    ("win_rate_pct", "win %"),
    ("fees", "fees"),
    ("exposure_pct", "exposure %"),
    ("expectancy_r", "expectancy R"),
    ("final_equity", "final equity"),
)
MARKED_TRADES = 150  # above this many trades a symbol's chart thins (see trades_chart)


def meeting_file(meeting_id: str) -> str:
    """The meeting page's path relative to ``index.html``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in meeting_id)
    return f"meetings/{safe}.html"


def outcome_of(row: dict[str, Any], review: dict[str, Any] | None) -> dict[str, Any] | None:
    """The review's outcome of a ledger decision at the review's weights horizon."""
    if not review:
        return None
    key = str(row.get("id", "")).replace("<run>", str(review.get("run_id", "")))
    per = (review.get("outcomes") or {}).get(key) or {}
    return per.get(review.get("weights_horizon") or "1d")


def _outcome_cell(o: dict[str, Any] | None) -> tuple[str, str]:
    """(sort key, html) of an outcome."""
    if not o or o.get("return_pct") is None:
        return "", '<span class="muted">—</span>'
    right = o.get("direction_right")
    mark = "✓" if right else "✗" if right is False else ""
    hit = f" · {escape(str(o['first_hit']).replace('_', '-'))}" if o.get("first_hit") else ""
    cls = "c-LONG" if right else "c-SHORT" if right is False else "c-other"
    return (
        f"{o['return_pct']:.6f}",
        f'<span class="tag {cls}">{mark}</span> {o["return_pct"]:+.2f} %{hit}',
    )


def trade_of(row: dict[str, Any], trades: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The report's desk trade a meeting opened: same symbol, entered at the meeting's step."""
    if row.get("kind") != "entry":
        return None
    return next(
        (t for t in trades.get(str(row.get("symbol")), []) if t.get("entry_ts") == row.get("at")),
        None,
    )


def meetings_table(
    rows: list[dict[str, Any]],
    review: dict[str, Any] | None,
    trades: dict[str, list[dict[str, Any]]] | None = None,
) -> str:
    """The desk's meetings, sortable by any column and filterable by symbol, action, verdict."""
    horizon = (review or {}).get("weights_horizon") or "1d"
    body = []
    for r in rows:
        okey, ocell = _outcome_cell(outcome_of(r, review))
        pnl = (trade_of(r, trades or {}) or {}).get("net_pnl")
        body.append(
            f'<tr data-symbol="{esc(r.get("symbol"))}" data-action="{esc(r.get("action"))}" '
            f'data-verdict="{esc(r.get("verdict"))}">'
            f'<td data-v="{esc(r.get("at"))}"><a href="{meeting_file(str(r["meeting_id"]))}">'
            f"{esc(str(r.get('at', ''))[:16].replace('T', ' '))}</a></td>"
            f"<td>{esc(r.get('symbol'))}</td><td>{esc(r.get('kind'))}</td>"
            f'<td data-v="{esc(r.get("action"))}">{tag(r.get("action"))}</td>'
            f'<td class="n" data-v="{r.get("confidence") or 0}">{num(r.get("confidence"), 3)}</td>'
            f'<td data-v="{esc(r.get("verdict"))}">{tag(r.get("verdict")) if r.get("verdict") else "—"}</td>'
            f'<td class="hide-sm">{esc(r.get("status"))}</td>'
            f'<td class="n" data-v="{pnl if pnl is not None else ""}">{num(pnl, 4)}</td>'
            f'<td data-v="{okey}">{ocell}</td></tr>'
        )

    def options(key: str) -> str:
        values = sorted({str(r.get(key)) for r in rows if r.get(key) is not None})
        return "".join(f"<option>{escape(v)}</option>" for v in values)

    heads = [
        ("time", "s"),
        ("symbol", "s"),
        ("kind", "s"),
        ("action", "s"),
        ("confidence", "n"),
        ("verdict", "s"),
        ("status", "s"),
        ("trade PnL", "n"),
        (f"outcome {horizon}" + ("" if review else " (run `auraquant review`)"), "n"),
    ]
    ths = "".join(
        f'<th class="sortable{" n" if t == "n" else ""}{" hide-sm" if h == "status" else ""}" '
        f'data-type="{t}">{escape(h)}</th>'
        for h, t in heads
    )
    return (
        '<div class="filters"><input id="q" type="search" placeholder="filter text…" '
        'aria-label="filter">'
        f'<select id="f-symbol" aria-label="symbol"><option value="">all symbols</option>'
        f"{options('symbol')}</select>"
        f'<select id="f-action" aria-label="action"><option value="">all actions</option>'
        f"{options('action')}</select>"
        f'<select id="f-verdict" aria-label="verdict"><option value="">all verdicts</option>'
        f"{options('verdict')}</select>"
        f'<span class="muted" id="shown">{len(rows)} meetings</span></div>'
        f'<div class="scroll"><table id="meetings"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


TABLE_JS = """
(function(){var t=document.getElementById('meetings');if(!t)return;var tb=t.tBodies[0];
var rows=Array.prototype.slice.call(tb.rows);
function val(r,i){var c=r.cells[i];return c.getAttribute('data-v')!==null?c.getAttribute('data-v'):c.textContent;}
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){th.addEventListener('click',function(){
var dir=th.getAttribute('data-dir')==='asc'?'desc':'asc';Array.prototype.forEach.call(t.tHead.rows[0].cells,
function(o){o.removeAttribute('data-dir');});th.setAttribute('data-dir',dir);var num=th.getAttribute('data-type')==='n';
rows.sort(function(a,b){var x=val(a,i),y=val(b,i);if(num){x=x===''?-1e300:parseFloat(x);y=y===''?-1e300:parseFloat(y);}
var c=x<y?-1:x>y?1:0;return dir==='asc'?c:-c;});rows.forEach(function(r){tb.appendChild(r);});});});
function apply(){var q=document.getElementById('q').value.toLowerCase();var f={};
['symbol','action','verdict'].forEach(function(k){f[k]=document.getElementById('f-'+k).value;});var n=0;
rows.forEach(function(r){var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0);
['symbol','action','verdict'].forEach(function(k){if(f[k]&&r.getAttribute('data-'+k)!==f[k])ok=false;});
r.style.display=ok?'':'none';if(ok)n++;});document.getElementById('shown').textContent=n+' of '+rows.length+' meetings';}
['q','f-symbol','f-action','f-verdict'].forEach(function(id){var e=document.getElementById(id);
e.addEventListener('input',apply);e.addEventListener('change',apply);});})();
"""


def equity_chart(equity: dict[str, dict[str, float]]) -> str:
    """The desk's equity against each baseline."""
    series = [
        Series(
            name,
            LINE_COLOUR.get(name, "#1f2328"),
            thin([(epoch(t), float(v)) for t, v in sorted(curve.items())]),
            width=2.4 if name == "desk" else 1.4,
            dash="5 3" if name == "desk_no_debate" else "",
        )
        for name, curve in sorted(equity.items(), key=lambda kv: kv[0] == "desk")
        if curve
    ]  # the desk drawn last, on top; the ablation dashed so an identical line stays visible
    if not series:
        return '<p class="muted">No equity curve in the report.</p>'
    same = equity.get("desk") and equity.get("desk") == equity.get("desk_no_debate")
    note = (
        '<p class="muted">The desk without debate has the same curve as the desk in this run '
        "(drawn under it).</p>"
        if same
        else ""
    )
    return (
        render(Chart(series=series, label="equity"), css_id="equity-chart")
        + legend([(line_label(s.name), s.colour) for s in series])
        + note
    )


def results_table(results: dict[str, dict[str, Any]]) -> str:
    """Every line's figures, one row per line."""
    rows = [
        f"<tr><td><b>{escape(line_label(name))}</b></td>"
        + "".join(f'<td class="n">{num(m.get(k), 4)}</td>' for k, _ in METRICS)
        + "</tr>"
        for name, m in results.items()
    ]
    return table(["line"] + [h for _, h in METRICS], rows, numeric=set(range(1, len(METRICS) + 1)))


def ablation_section(report: dict[str, Any]) -> str:
    """Desk against the desk without debate: each figure side by side with the difference."""
    res = report.get("results") or {}
    desk, nod = res.get("desk") or {}, res.get("desk_no_debate") or {}
    rows = []
    for k, h in METRICS:
        a, b = desk.get(k), nod.get(k)
        diff = a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
        rows.append(
            f'<tr><td>{escape(h)}</td><td class="n">{num(a, 4)}</td><td class="n">{num(b, 4)}'
            f'</td><td class="n">{num(diff, 4)}</td></tr>'
        )
    pays = report.get("debate_pays") or {}
    per_line = report.get("meetings_per_line") or {}
    verdict = ", ".join(f"{escape(k)} {num(v, 4)}" for k, v in pays.items())
    return (
        f'<h2 id="ablation">Does the debate pay?</h2><p>desk minus desk without debate: '
        f"<b>{verdict or '—'}</b> · meetings: desk {num(per_line.get('desk'))}, without debate "
        f"{num(per_line.get('desk_no_debate'))}</p>"
        + table(["figure", "desk", "no debate", "difference"], rows, numeric={1, 2, 3})
    )


def trades_chart(symbol: str, price: Points, trades: list[dict[str, Any]]) -> str:
    """The desk's trades on the price. Up to ``MARKED_TRADES`` trades each is drawn (entry
    triangle, a segment to the exit coloured by its result); above that the chart thins to the
    ``MARKED_TRADES`` largest by |PnL| and says how many it left out, so a thousand trades stay
    readable instead of a smear of markers (every trade is still in the meetings table)."""
    shown = trades
    if len(trades) > MARKED_TRADES:
        shown = sorted(trades, key=lambda t: -abs(float(t.get("net_pnl") or 0)))[:MARKED_TRADES]
    segments, marks = [], []
    for t in shown:
        if t.get("entry_ts") is None or t.get("entry_price") is None:
            continue
        pnl = float(t.get("net_pnl") or 0)
        side = str(t.get("side"))
        title = (
            f"#{t.get('trade_id')} {side} {t.get('entry_ts')} @ {t['entry_price']:,.6g}"
            f" → {t.get('exit_ts')} @ {t.get('exit_price')} ({t.get('exit_reason')}), "
            f"PnL {pnl:,.2f}"
        )
        marks.append(
            Mark(
                epoch(t["entry_ts"]),
                float(t["entry_price"]),
                COLOUR.get(side, "#57606a"),
                title,
                "up" if side == "LONG" else "down",
            )
        )
        if t.get("exit_ts") and t.get("exit_price") is not None:
            segments.append(
                Segment(
                    epoch(t["entry_ts"]),
                    float(t["entry_price"]),
                    epoch(t["exit_ts"]),
                    float(t["exit_price"]),
                    COLOUR["LONG"] if pnl > 0 else COLOUR["SHORT"],
                    title,
                )
            )
    chart = Chart(
        series=[Series(f"{symbol} close", "#9ab", thin(price), width=1.2)] if price else [],
        segments=segments,
        marks=marks,
        label=f"{symbol} trades",
    )
    wins = sum(1 for t in trades if float(t.get("net_pnl") or 0) > 0)
    note = (
        f"showing the {len(shown)} largest of {len(trades)} trades by |PnL|"
        if len(shown) < len(trades)
        else f"all {len(trades)} trades"
    )
    strip = ""
    if len(shown) < len(trades):
        entries = [
            (epoch(t["entry_ts"]), float(t.get("net_pnl") or 0) > 0)
            for t in trades
            if t.get("entry_ts")
        ]
        ts = [p[0] for p in price] + [e[0] for e in entries]
        strip = (
            density_strip(entries, min(ts), max(ts), css_id=f"trades-density-{symbol}")
            + f'<p class="muted">every one of the {len(trades)} trades, counted per period '
            "(won below, lost above; the tallest bar's count on the left)</p>"
        )
    missing = "" if price else f'<p class="muted">No stored {escape(symbol)} candles to draw.</p>'
    return (
        f'<h3 id="trades-{escape(symbol)}">{escape(symbol)} <span class="muted">{len(trades)} '
        f"trade(s), {wins} won · {note}</span></h3>"
        + missing
        + render(chart, css_id=f"trades-chart-{symbol}")
        + strip
        + legend(
            [
                ("LONG entry ▲", COLOUR["LONG"]),
                ("SHORT entry ▼", COLOUR["SHORT"]),
                ("won (to exit)", COLOUR["LONG"]),
                ("lost (to exit)", COLOUR["SHORT"]),
            ]
        )
    )


def render_replay_page(
    report: dict[str, Any],
    rows: list[dict[str, Any]],
    review: dict[str, Any] | None,
    prices: dict[str, Points],
    run_id: str,
) -> str:
    """The replay's ``index.html``."""
    cfg = report.get("config") or {}
    symbols = list((report.get("trades") or {}).keys()) or list(cfg.get("symbols") or [])
    trades = "".join(
        trades_chart(s, prices.get(s, []), (report.get("trades") or {}).get(s, [])) for s in symbols
    )
    nav = "".join(
        f'<a href="#{a}">{n}</a>'
        for a, n in (
            ("meetings-h", "meetings"),
            ("equity", "equity"),
            ("ablation", "debate"),
            ("trades", "trades"),
        )
    )
    body = (
        f"<h1>Replay {esc(', '.join(cfg.get('symbols') or symbols))} every {esc(cfg.get('every'))}"
        f"</h1><p class=muted>run {escape(run_id)} · {esc(report.get('first_step'))} → "
        f"{esc(report.get('last_step'))} · {num(report.get('steps'))} steps · model "
        f"{esc(cfg.get('model'))} · initial {num(cfg.get('initial'))} USDT</p><nav>{nav}</nav>"
        f'<h2 id="equity">Equity: the desk against each baseline</h2>'
        f"{equity_chart(report.get('equity') or {})}"
        f"{results_table(report.get('results') or {})}"
        f"{ablation_section(report)}"
        f'<h2 id="trades">The desk\'s trades on the price</h2>{trades}'
        f'<h2 id="meetings-h">Meetings <span class="muted">({len(rows)}, desk '
        f"{esc(cfg.get('desk'))})</span></h2>{meetings_table(rows, review, report.get('trades') or {})}"
    )
    return page(f"AuraQuant replay · {run_id}", body, script=TABLE_JS)


def ledger_meeting(row: dict[str, Any], fills: list[dict[str, Any]]) -> dict[str, Any]:
    """A ledger decision in the shape the meeting sections read (with its fills)."""
    rec = row.get("record") or {}
    ex = dict(rec.get("execution") or {})
    ex["fills"] = [
        {
            "id": f.get("fill_id"),
            "side": f.get("side"),
            "quantity": f.get("quantity"),
            "price": f.get("price"),
            "fee": f.get("fee"),
            "ts": f.get("ts"),
        }
        for f in fills
    ]
    return {
        "symbol": row.get("symbol"),
        "at": row.get("at"),
        "decision": rec.get("decision"),
        "gate_result": rec.get("gate"),
        "execution": ex,
        "fallback": rec.get("fallback"),
        "interrupts": rec.get("interrupts") or [],
        "ended_by": rec.get("ended_by"),
    }


def debate_from_ailog(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the AI log of one meeting holds beyond the ledger: the memo's fact values, the
    turns (revisions included) and the interrupts in full."""
    facts: dict[str, Any] = {}
    turns: list[dict[str, Any]] = []
    interrupts: dict[str, dict[str, Any]] = {}
    for r in records:
        out = r.get("output")
        if not isinstance(out, dict):
            continue
        if r.get("node") == "open" and isinstance(out.get("facts"), dict):
            facts = out["facts"]
        elif "stance" in out and "argument" in out and "id" in out:
            turns.append(out)
        elif r.get("node") == "resolve":
            turns.extend(t for t in out.get("revised_turns") or [] if isinstance(t, dict))
            for i in out.get("interrupts") or []:
                if isinstance(i, dict):
                    interrupts[str(i.get("id"))] = i
    memo = {
        "facts": [
            {"id": k, "kind": k.split(".")[0], "text": f"{k} = {v}", "source": "AI log (open)"}
            for k, v in facts.items()
        ]
    }
    return {"memo": memo, "turns": turns, "interrupts": list(interrupts.values())}


def render_ledger_meeting_page(
    row: dict[str, Any],
    fills: list[dict[str, Any]],
    review: dict[str, Any] | None,
    price: Points,
    run_id: str,
    trade: dict[str, Any] | None = None,
    ailog: list[dict[str, Any]] | None = None,
) -> str:
    """One replay meeting's page from its ledger record, the report's trade it opened and its
    records in the AI log (the debate in full when the log has them)."""
    m = ledger_meeting(row, fills)
    debate = debate_from_ailog(ailog or [])
    known = {f["id"] for f in debate["memo"]["facts"]}
    rec = row.get("record") or {}
    stances = [
        f"<tr><td>{escape(role.replace('_', ' '))}</td><td>{tag(s.get('stance'))}</td>"
        f'<td class="n">{num(s.get("confidence"), 3)}</td>'
        f'<td class="n">{num((rec.get("weights") or {}).get(role), 3)}</td></tr>'
        for role, s in sorted((rec.get("stances") or {}).items())
    ]
    interrupts = [
        f"<tr><td><code>{esc(i.get('kind'))}</code></td><td>{esc(i.get('by'))}</td>"
        f"<td>{esc(i.get('target') or i.get('target_role'))}</td><td>{esc(i.get('status'))}</td></tr>"
        for i in m["interrupts"]
    ]
    per = ((review or {}).get("outcomes") or {}).get(
        str(row.get("id", "")).replace("<run>", str((review or {}).get("run_id", "")))
    ) or {}
    outcomes = [
        f'<tr><td>{escape(h)}</td><td class="n">{num(o.get("return_pct"), 4)}</td>'
        f"<td>{'yes' if o.get('direction_right') else 'no'}</td><td>{esc(o.get('first_hit'))}"
        f'</td><td class="n">{num(o.get("mfe_pct"), 4)}</td>'
        f'<td class="n">{num(o.get("mae_pct"), 4)}</td></tr>'
        for h, o in per.items()
    ]
    trade = trade or {}
    exit_mark = (
        [
            Mark(
                epoch(trade["exit_ts"]),
                float(trade["exit_price"]),
                "#1f2328",
                f"exit ({trade.get('exit_reason')}) @ {trade['exit_price']:,.6g}",
            )
        ]
        if trade.get("exit_ts") and trade.get("exit_price") is not None
        else []
    )
    manage = rec.get("manage")
    body = (
        '<p><a href="../index.html#meetings-h">← all meetings of the replay</a></p>'
        f"<h1>Meeting: {esc(row.get('symbol'))} at {esc(row.get('at'))} {tag(row.get('action'))}"
        f"</h1><p class=muted>run {escape(run_id)} · {esc(row.get('kind'))} · memo "
        f"{esc(rec.get('memo_id'))} · price {num(rec.get('price'))} · ATR {num(rec.get('atr'))}"
        f"</p><h2 id='chart'>Price around the meeting</h2>{meeting_chart(m, price, exit_mark)}"
        "<h2>Seats</h2>"
        + table(["seat", "stance", "confidence", "weight"], stances, numeric={2, 3})
        + (
            '<h2 id="debate">Debate</h2>' + "".join(turn_card(t, known) for t in debate["turns"])
            if debate["turns"]
            else ""
        )
        + "<h2>Interrupts</h2>"
        + budget_section(
            last_spent(ailog or []) or {"__meeting__": len(interrupts)}, None, m["ended_by"]
        )
        + (
            "".join(interrupt_card(i, known) for i in debate["interrupts"])
            if debate["interrupts"]
            else table(["kind", "by", "against", "status"], interrupts)
            if interrupts
            else "<p>None.</p>"
        )
        + (f"<p><b>Manage</b>: {esc(manage)}</p>" if manage else "")
        + decision_section(m["decision"], m["fallback"])
        + gate_section(m["gate_result"])
        + execution_section(m["execution"], [], plan_side(m))
        + (
            f"<h2>Trade</h2><p>{esc(trade.get('side'))} {num(trade.get('quantity'))} from "
            f"{esc(trade.get('entry_ts'))} @ {num(trade.get('entry_price'))} to "
            f"{esc(trade.get('exit_ts'))} @ {num(trade.get('exit_price'))} "
            f"({esc(trade.get('exit_reason'))}): net PnL {num(trade.get('net_pnl'), 4)} USDT, "
            f"{num(trade.get('r_multiple'), 3)} R, fees {num(trade.get('fees'), 4)}</p>"
            if trade
            else ""
        )
        + (
            "<h2>Outcome (review)</h2>"
            + table(
                ["horizon", "return %", "direction right", "first hit", "MFE %", "MAE %"],
                outcomes,
                numeric={1, 4, 5},
            )
            if outcomes
            else ""
        )
        + ailog_section(ailog or [])
        + (memo_section(debate["memo"]) if known else "")
    )
    return page(f"AuraQuant meeting · {row.get('symbol')} at {row.get('at')}", body)
