"""`auraquant review RUN`: score a run's decisions at their horizons, calibrate, learn weights.

`auraquant review show DECISION_ID` prints one decision's chain: memo -> debate -> decision ->
gate -> fills -> outcome -> weights in force.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from auraquant.cli.common import console, emit_json, fail


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
    t = Table(title="Calibration of confidence (P(direction right))")
    for c in ("horizon", "n", "Brier", "base rate"):
        t.add_column(c, justify="right")
    for h, cal in s["calibration"].items():
        t.add_row(h, str(cal["n"]), _f(cal.get("brier")), _f(cal.get("base_rate")))
    console.print(t)
    main = s["weights_horizon"]
    w = Table(title=f"Seats at {main}: hit rate and weight")
    for c in ("seat", "calls", "hit rate", "weight"):
        w.add_column(c, justify="right")
    for seat, st in s["seats"].get(main, {}).items():
        w.add_row(seat, str(st["calls"]), _f(st["hit_rate"]), _f(s["weights"].get(seat)))
    console.print(w)


def _f(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


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
    console.rule(f"[bold]{row.id}[/]")
    console.print(
        f"memo {chain['memo']['id']}  price {chain['memo']['price']}  ATR {chain['memo']['atr']}"
    )
    for seat, st in (rec.get("stances") or {}).items():
        console.print(f"  {seat}: {st['stance']} {st['confidence']:.2f}")
    console.print(
        f"  interrupts: {len(rec.get('interrupts') or [])}, ended by {rec.get('ended_by')}"
    )
    console.print(f"decision: {d.get('action')} conf {d.get('confidence')} stop {d.get('stop_loss')} "
                  f"target {d.get('take_profit')}")  # fmt: skip
    failed = [f"{r['rule']}" for r in g.get("reasons", []) if not r["passed"]]
    console.print(f"gate: {g.get('verdict')}" + (f" ({', '.join(failed)})" if failed else ""))
    ex = rec.get("execution") or {}
    console.print(
        f"execution: {ex.get('status')} {ex.get('entry_order_id') or ex.get('order_id') or ''}"
    )
    for f in fills:
        console.print(f"  fill {f['fill_id']} {f['side']} {f['quantity']:g} @ {f['price']:g} "
                      f"pnl {f['realized_pnl']:.2f} fee {f['fee']:.2f} at {f['ts']}")  # fmt: skip
    for o in outcomes:
        console.print(f"outcome {o['horizon']}: return {o.get('return_pct')} % right "
                      f"{o.get('direction_right')} first {o.get('first_hit')} (known {o['known_at']})")  # fmt: skip
    console.print(f"weights in force: {json.dumps(rec.get('weights') or {})}")
