"""`auraquant review RUN`: score a run's decisions at their horizons, calibrate, learn weights.

`auraquant review show DECISION_ID` prints one decision's chain: memo -> debate -> decision ->
gate -> fills -> outcome -> weights in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from auraquant.cli.common import console, emit_json, fail
from auraquant.cli.tables import (
    Col,
    bias_text,
    cli_table,
    money_text,
    price_text,
    qty_text,
    time_text,
)


def _run_id(run: str) -> str:
    p = Path(run)
    return p.name if (p.is_dir() or "/" in run) else run


def review(
    run: Annotated[str, typer.Argument(help="Run id or run directory; or 'show' DECISION_ID.")],
    decision_id: Annotated[
        str | None, typer.Argument(help="With 'show': the decision id from the ledger.")
    ] = None,
    horizons: Annotated[
        str, typer.Option("--horizons", help="Comma-separated horizons.")
    ] = "4h,1d,3d",
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score RUN's decisions at each horizon: direction, return, stop or target first,
    MFE/MAE, each seat's stance; Brier score and reliability; role weights into the ledger."""
    if run == "show":
        if not decision_id:
            fail("show: give the DECISION_ID (see ledger.json or `auraquant review RUN --json`)")
        show(decision_id, json_out)
        return
    from auraquant.desks import open_ledger
    from decisions.review import _delta, review_decisions
    from memos.market import MarketData
    from tools.paths import runs_dir, store_dir
    from tools.runs import write_json

    hs = [h.strip() for h in horizons.split(",") if h.strip()]
    try:
        for h in hs:
            _delta(h)
    except ValueError as exc:
        fail(f"--horizons: {exc}")
    rid = _run_id(run)
    ledger = open_ledger()
    try:
        rows = ledger.decisions(run_id=rid)
        if not rows:
            fail(f"run {rid!r}: no decisions in the ledger ({ledger.kind}); run `auraquant "
                 "replay` or `auraquant meet` first")  # fmt: skip
        symbols = sorted({r.symbol for r in rows})
        market = MarketData.from_store(symbols, store=store_dir(), at=_first(rows))
        result = review_decisions(
            rows, lambda s: market.base(s) if market.has(s) else None, horizons=hs
        )
        for did, by_h in result["outcomes"].items():
            for h, o in by_h.items():
                ledger.record_outcome(did, h, o["known_at"], o)
        desks = sorted({r.desk for r in rows})
        last_known = max((o["known_at"] for by in result["outcomes"].values() for o in by.values()),
                         default=rows[-1].at)  # fmt: skip
        if result["weights"]:
            for d in desks:
                ledger.record_weights(d, rid, last_known, result["weights"])
    finally:
        ledger.close()
    summary = {k: v for k, v in result.items() if k != "outcomes"} | {
        "run_id": rid,
        "decisions": len(rows),
        "scored": len(result["outcomes"]),
    }
    out = runs_dir() / rid
    if out.is_dir():
        write_json(out / "review.json", summary | {"outcomes": result["outcomes"]})
    if json_out:
        emit_json(summary)
        return
    _show(summary)


def _first(rows: list[Any]) -> Any:
    from tools.timeutil import parse_utc

    return parse_utc(rows[0].at)


def _show(s: dict[str, Any]) -> None:
    console.print(
        f"[bold]Review of {s['run_id']}[/]: {s['decisions']} decisions, {s['scored']} scored"
    )
    cal = [[h, str(c["n"]), bias_text(c.get("brier")), bias_text(c.get("base_rate"))]
           for h, c in s["calibration"].items()]  # fmt: skip
    console.print(cli_table(
        (Col("horizon"), Col("n", right=True), Col("Brier", right=True),
         Col("base rate", right=True)),
        cal, title="Calibration of confidence (P(direction right))",
    ))  # fmt: skip
    main = s["weights_horizon"]
    seats = [[seat, str(st["calls"]), bias_text(st["hit_rate"]), bias_text(s["weights"].get(seat))]
             for seat, st in s["seats"].get(main, {}).items()]  # fmt: skip
    console.print(cli_table(
        (Col("seat"), Col("calls", right=True), Col("hit rate", right=True),
         Col("weight", right=True)),
        seats, title=f"Seats at {main}: hit rate and weight",
    ))  # fmt: skip


def show(decision_id: str, json_out: bool) -> None:
    """The chain of one decision: memo -> debate -> decision -> gate -> fills -> outcome -> weights."""
    from auraquant.desks import open_ledger

    ledger = open_ledger()
    try:
        row = ledger.decision(decision_id)
        if row is None:
            fail(f"decision_id: {decision_id!r} is not in the ledger")
        fills = ledger.fills(decision_id=decision_id)
        outcomes = ledger.outcomes(decision_id)
    finally:
        ledger.close()
    rec = row.record
    chain: dict[str, Any] = {
        "id": row.id, "desk": row.desk, "run_id": row.run_id, "symbol": row.symbol, "at": row.at,
        "memo": {"id": rec.get("memo_id"), "price": rec.get("price"), "atr": rec.get("atr")},
        "debate": {"stances": rec.get("stances"), "interrupts": rec.get("interrupts"),
                   "ended_by": rec.get("ended_by")},
        "decision": rec.get("decision"), "gate": rec.get("gate"), "manage": rec.get("manage"),
        "execution": rec.get("execution"), "fills": fills, "trade": rec.get("trade"),
        "outcomes": outcomes, "weights": rec.get("weights"),
    }  # fmt: skip
    if json_out:
        emit_json(chain)
        return
    d = rec.get("decision") or {}
    g = rec.get("gate") or {}
    sym = row.symbol
    memo = chain["memo"]
    console.rule(f"[bold]{escape(row.id)}[/]")
    say(f"memo {memo['id']}  price {price_text(memo['price'], sym)}  ATR {_atr(memo['atr'])}")
    for seat, st in (rec.get("stances") or {}).items():
        say(f"  {seat}: {st['stance']} {bias_text(st['confidence'])}")
    say(f"  interrupts: {len(rec.get('interrupts') or [])}, ended by {rec.get('ended_by')}")
    say(f"decision: {d.get('action')} conf {bias_text(d.get('confidence'))} "
        f"stop {price_text(d.get('stop_loss'), sym) or '-'} "
        f"target {price_text(d.get('take_profit'), sym) or '-'}")  # fmt: skip
    failed = [f"{r['rule']}" for r in g.get("reasons", []) if not r["passed"]]
    say(f"gate: {g.get('verdict')}" + (f" ({', '.join(failed)})" if failed else ""))
    ex = rec.get("execution") or {}
    say(f"execution: {ex.get('status')} {ex.get('entry_order_id') or ex.get('order_id') or ''}")
    fills_rows = [[f["fill_id"], f["side"], qty_text(f["quantity"]), price_text(f["price"], sym),
                   money_text(f["realized_pnl"]), money_text(f["fee"]), time_text(f["ts"])]
                  for f in fills]  # fmt: skip
    if fills_rows:
        console.print(cli_table(
            (Col("fill"), Col("side"), Col("qty", right=True), Col("price", right=True),
             Col("rPnL", right=True), Col("fee", right=True), Col("time (UTC)")),
            fills_rows, title="fills",
        ))  # fmt: skip
    out_rows = [[o["horizon"], _pct(o.get("return_pct")), str(o.get("direction_right")),
                 str(o.get("first_hit") or "-"), time_text(o["known_at"])]
                for o in outcomes]  # fmt: skip
    if out_rows:
        console.print(cli_table(
            (Col("horizon"), Col("return %", right=True), Col("right"), Col("first hit"),
             Col("known at (UTC)")),
            out_rows, title="outcomes",
        ))  # fmt: skip
    weights = rec.get("weights") or {}
    say("weights in force: " + (", ".join(f"{k} {bias_text(v)}" for k, v in weights.items())
                                or "none"))  # fmt: skip


def say(text: str) -> None:
    """A line of plain text (no markup read from data), wrapped at the console's width."""
    console.print(Text(text))


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def _atr(v: Any) -> str:
    return "-" if v is None else f"{v:.4g}"
