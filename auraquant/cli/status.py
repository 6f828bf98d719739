"""`auraquant status`: the desk at a glance — positions, open orders, equity and drawdown, the
breaker, the last decisions with their gate verdicts, the schedule's next meeting per symbol.

A desk scheduled on WEEX (``run``/``beat --exchange weex``; ``--exchange weex`` forces it) is
read from WEEX itself with the ``WEEX_*`` settings: its positions, open orders with the TP/SL
(plan) orders and their roles, its equity; the breaker and the decisions come from the ledger
as for any desk."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import typer

from auraquant.cli.common import console, emit_json, fail
from auraquant.cli.tables import (
    Col,
    WideOpt,
    cli_table,
    money_text,
    price_text,
    qty_text,
    show,
    time_text,
)
from exchange.weex.errors import WeexError
from graph.desk import DEFAULT_DESK, DeskError, check_desk_name
from tools.timeutil import iso


def venue_of(desk: str, sched: dict[str, Any] | None, exchange: str | None) -> tuple[Any, str]:
    """The desk's exchange and its label: WEEX (read live) for a desk scheduled on it or when
    asked, else its virtual snapshot."""
    venue = exchange or (sched or {}).get("exchange") or "virtual"
    if venue == "weex":
        from auraquant.schedule.venue import weex_exchange
        from auraquant.settings import get_settings

        settings = get_settings()
        wx = weex_exchange(settings)
        wx.reconcile()  # the TP/SL (plan) orders' roles, read back as the desk reads them
        return wx, f"weex ({settings.weex_base_url})"
    from auraquant.desks import desk_snapshot_store
    from exchange.virtual import VirtualExchange

    state = desk_snapshot_store(desk).load()
    ex = VirtualExchange() if state is None else VirtualExchange.from_state(state)
    return ex, "virtual" if state is not None else "virtual (no snapshot yet)"


def desk_status(desk: str, last: int = 10, exchange: str | None = None) -> dict[str, Any]:
    """The status object (JSON) of ``desk``, read from its venue, ledger and schedule."""
    from auraquant.desks import open_ledger
    from auraquant.schedule.clock import next_close
    from auraquant.schedule.runtime import open_claims

    claims = open_claims()
    try:
        sched = claims.desk(desk)
        meetings = claims.meetings(desk, limit=last)
    finally:
        claims.close()
    ex, label = venue_of(desk, sched, exchange)
    bal = ex.balance()
    ledger = open_ledger()
    try:
        dstate = ledger.desk_state(desk) or {}
        rows = ledger.decisions(desk=desk)[-last:]
    finally:
        ledger.close()
    breaker = dstate.get("breaker") or {}
    start_eq = breaker.get("day_start_equity")
    drawdown = None if not start_eq else round(100 * min(0.0, bal.equity / start_eq - 1), 4)
    nxt: dict[str, str] = {}
    if sched:
        last_at = meetings[0].at if meetings else None
        at = sched.get("next_at") or iso(next_close(pd.Timestamp.now(tz="UTC"), sched["every"]))
        if last_at is not None and at <= last_at:  # the loop stopped after that step
            at = iso(next_close(pd.Timestamp(last_at) + pd.Timedelta(1, "ns"), sched["every"]))
        nxt = dict.fromkeys(sched["symbols"], at)
    return {
        "desk": desk,
        "exchange": label,
        "equity": round(bal.equity, 2),
        "available": round(bal.available, 2),
        "day_drawdown_pct": drawdown,
        "breaker": breaker,
        "positions": [
            {
                "symbol": p.symbol,
                "quantity": p.quantity,
                "entry_price": p.entry_price,
                "unrealized_pnl": round(p.unrealized_pnl, 4),
            }
            for p in ex.positions()
            if p.quantity
        ],
        "open_orders": [
            {
                "id": o.id,
                "symbol": o.request.symbol,
                "side": o.request.side.value,
                "type": o.request.type.value,
                "quantity": o.request.quantity,
                "price": o.request.price,
                "trigger_price": o.request.trigger_price,
                "client_order_id": o.request.client_order_id,
                "role": o.role,
            }
            for o in ex.open_orders()
        ],
        "cycles": {s: c.get("stage") for s, c in (dstate.get("cycles") or {}).items()},
        "decisions": [
            {
                "id": r.id,
                "symbol": r.symbol,
                "at": r.at,
                "action": r.action,
                "verdict": r.verdict,
                "status": r.status,
            }
            for r in reversed(rows)
        ],
        "schedule": sched,
        "meetings": [
            {
                "symbol": m.symbol,
                "at": m.at,
                "status": m.status,
                "reason": m.reason,
                "attempts": m.attempts,
            }
            for m in meetings
        ],
        "next_meeting": nxt,
    }


def status(
    desk: Annotated[str, typer.Option("--desk", help="The desk.")] = DEFAULT_DESK,
    last: Annotated[int, typer.Option("--last", min=1, help="How many decisions to show.")] = 10,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    wide: WideOpt = False,
    exchange: Annotated[
        str | None,
        typer.Option("--exchange", help="virtual or weex (default: where the desk is scheduled)."),
    ] = None,
) -> None:
    """The desk at a glance: positions, orders, equity, breaker, decisions, next meetings."""
    from auraquant.schedule.venue import EXCHANGES

    try:
        check_desk_name(desk)
    except DeskError as exc:
        fail(f"--desk: {exc}")
    if exchange is not None and exchange not in EXCHANGES:
        fail(f"--exchange: {exchange!r} is not one of {', '.join(EXCHANGES)}")
    try:
        s = desk_status(desk, last, exchange)
    except WeexError as exc:  # WEEX refused or could not be reached: one line, no secret
        from auraquant.cli.weex import _mask
        from auraquant.settings import get_settings

        fail(f"WEEX: {_mask(str(exc), get_settings().secret_values())} (check WEEX_BASE_URL and "
             "the WEEX_API_* keys)", code=3)  # fmt: skip
    if json_out:
        emit_json(s)
        return
    dd = s["day_drawdown_pct"]
    console.print(f"desk [bold]{desk}[/]: equity {s['equity']:.2f} (available {s['available']:.2f}),"
                  f" day drawdown {'n/a' if dd is None else f'{dd:.2f}%'}", highlight=False)  # fmt: skip
    b = s["breaker"]
    console.print(f"breaker: {b.get('consecutive_losses', 0)} losses in a row"
                  + (f", tripped until {b['tripped_until']} ({b.get('trip_reason')})"
                     if b.get("tripped_until") else ", not tripped"), highlight=False)  # fmt: skip
    for title, cols, rows in status_tables(s, wide):
        if rows:
            show(console, cli_table(cols, rows, title=title, wide=wide), wide)
        else:
            console.print(f"{title}: none", highlight=False)
    for sym, at in s["next_meeting"].items():
        console.print(f"next meeting {sym}: {at}", highlight=False)


def status_tables(s: dict[str, Any], wide: bool) -> list[tuple[str, tuple[Col, ...], list[Any]]]:
    """The status object's tables: (title, columns, rows), prices on the tick."""
    pos = [[p["symbol"], qty_text(p["quantity"]), price_text(p["entry_price"], p["symbol"]),
            money_text(p["unrealized_pnl"])] for p in s["positions"]]  # fmt: skip
    orders = [[o["id"], o["symbol"], o["side"], o["type"], o.get("role") or "",
               qty_text(o["quantity"]),
               price_text(o["price"], o["symbol"]), price_text(o["trigger_price"], o["symbol"]),
               o["client_order_id"] or ""] for o in s["open_orders"]]  # fmt: skip
    decisions = [[time_text(d["at"], wide), d["symbol"], d["action"], d["verdict"] or "",
                  d["status"] or "", d["id"]] for d in s["decisions"]]  # fmt: skip
    meetings = [[time_text(m["at"], wide), m["symbol"], m["status"], str(m["attempts"]),
                 m["reason"] or ""] for m in s["meetings"]]  # fmt: skip
    return [
        ("positions", (Col("symbol", fold=True), Col("qty", right=True),
                       Col("entry", right=True), Col("uPnL", right=True)), pos),
        ("open orders", (Col("id"), Col("symbol", fold=True), Col("side"), Col("type", fold=True),
                         Col("role", fold=True), Col("qty", right=True), Col("price", right=True),
                         Col("trigger", right=True), Col("client id", wide=True)), orders),
        ("last decisions", (Col("at (UTC)"), Col("symbol", fold=True), Col("action"),
                            Col("verdict"), Col("status"), Col("id", wide=True)), decisions),
        ("scheduled meetings", (Col("at (UTC)"), Col("symbol", fold=True), Col("status"),
                                Col("tries", right=True), Col("reason", fold=True)), meetings),
    ]  # fmt: skip
