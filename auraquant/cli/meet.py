"""`auraquant meet SYMBOL --at TIME`: hold one meeting on the stored data and show the debate.

``meet`` is a command group: ``meet SYMBOL --at TIME`` (the ``hold`` command) holds a meeting;
with ``--require-approval`` it stops before the gate and prints a thread id, and
``auraquant meet resume THREAD --approve`` (or ``--reject``) continues it. Pauses are kept by a
checkpointer: SQLite under ``$AURAQUANT_HOME/checkpoints.sqlite``, or PostgreSQL when
``DATABASE_URL`` is set.

For a meeting at a past ``--at`` the bracket goes to a virtual exchange; after the graph ends
the CLI feeds it the next 1-minute bar so the entry's fill (at that bar's open) shows. The
journal records the meeting as decided, before that bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text
from typer.core import TyperGroup

from auraquant.cli.common import (
    check_model_option,
    console,
    emit_json,
    err_console,
    fail,
    parse_symbol_option,
    parse_time_option,
)
from auraquant.cli.tables import Col, bias_text, cli_table, price_text
from auraquant.settings import get_settings
from auraquant.view.html import rule_order
from auraquant.view.meeting import resolution_text
from tools.paths import home_dir
from tools.timeutil import iso

EXIT_MODEL = 3  # graph.errors.EXIT_MODEL (not imported: the graph loads only when a meeting runs)


@contextmanager
def checkpointed_graph() -> Iterator[Any]:
    """The meeting graph with a durable checkpointer (Postgres if DATABASE_URL, else SQLite)."""
    from graph.meeting import build_meeting_graph

    url = get_settings().database_url
    if url:
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(url) as saver:
            saver.setup()
            yield build_meeting_graph(checkpointer=saver)
        return
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = home_dir() / "checkpoints.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield build_meeting_graph(checkpointer=SqliteSaver(conn))
    finally:
        conn.close()


class MeetGroup(TyperGroup):
    """``meet SYMBOL …`` holds a meeting (the ``hold`` command); ``meet resume THREAD …``
    continues a paused one. Anything that is not a sub-command's name goes to ``hold``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer vendors click's Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["hold", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=MeetGroup,
    help="Hold one meeting (meet SYMBOL --at TIME), or resume a paused one (meet resume THREAD).",
    no_args_is_help=True,
)

JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON object (incl. run_dir) instead of the account."),
]
DeskOpt = Annotated[
    str,
    typer.Option(
        "--desk",
        help="The desk whose account the meeting trades (its exchange, breaker and ledger).",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of a failure.")]


@app.command("hold")
def meet(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. BTCUSDT.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="Moment of the meeting, ISO-8601 UTC (2023-04-20T12:00:00Z)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            callback=check_model_option,
            is_eager=True,
            help="provider:model for every seat: offline (default), openai:gpt-4o-mini, "
            "ollama:llama3.1, google_genai:gemini-2.5-flash.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible server for openai: models (else $OPENAI_BASE_URL).",
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", min=0, help="Interrupts the whole meeting may spend (default 6)."),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            "--rounds", min=0, help="Review rounds before the CTO closes (default 2; 0: none)."
        ),
    ] = None,
    require_approval: Annotated[
        bool,
        typer.Option(
            "--require-approval",
            help="Stop before the gate for a human; prints the thread id to resume.",
        ),
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Run directory name, [A-Za-z0-9._-]{1,64}, new (default: meet-SYMBOL-TIME, "
            "with -2, -3… when taken).",
        ),
    ] = None,
    desk: DeskOpt = "default",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Hold the meeting and gate it; place nothing.")
    ] = False,
    json: JsonOpt = False,
    role_model: Annotated[
        list[str] | None,
        typer.Option(
            "--role-model",
            help="ROLE=provider:model for one seat (repeatable), e.g. cto=openai:gpt-4o.",
        ),
    ] = None,
    llm_timeout: Annotated[
        float | None,
        typer.Option("--llm-timeout", min=0.1, help="Seconds per model request (default 30)."),
    ] = None,
    llm_retries: Annotated[
        int | None,
        typer.Option(
            "--llm-retries", min=0, help="Retries of a transient provider error (default 2)."
        ),
    ] = None,
    llm_cache: Annotated[
        bool | None,
        typer.Option(
            "--llm-cache/--no-llm-cache",
            help="Cache model calls (SQLite under $AURAQUANT_HOME, Redis with REDIS_URL); default on.",
        ),
    ] = None,
    max_calls: Annotated[
        int | None, typer.Option("--max-calls", min=0, help="Model calls the meeting may make.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=0, help="Tokens the meeting may spend.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0.0, help="USD the meeting may spend.")
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", min=0.0, help="Wall time for the model calls."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Hold one meeting on SYMBOL at --at (the default: `meet SYMBOL --at TIME`).

    Four seats debate, the gate disposes, orders go to a virtual exchange; prints the debate,
    the decision, the gate's verdict and the orders."""
    from graph.context import MeetingContext

    symbol = parse_symbol_option(symbol, "symbol")
    if at is None:
        fail("--at is required, e.g. --at 2023-04-20T12:00:00Z")
    at_ts = parse_time_option(at, "--at")
    from auraquant.desks import unique_run_id
    from graph.desk import DeskError, check_desk_name

    try:
        check_desk_name(desk)
        rid = unique_run_id(
            run_id or f"meet-{symbol}-{at_ts.strftime('%Y%m%dT%H%M%SZ')}", explicit=bool(run_id)
        )
    except DeskError as exc:
        fail(str(exc))
    models = _role_models(role_model or [])
    try:
        ctx = MeetingContext(
            model=model or "",
            models=models,
            base_url=base_url,
            budget=-1 if budget is None else budget,
            max_rounds=-1 if rounds is None else rounds,
            require_approval=require_approval or None,
            run_id=rid,
            dry_run=dry_run,
            llm_timeout=-1 if llm_timeout is None else llm_timeout,
            llm_max_retries=-1 if llm_retries is None else llm_retries,
            llm_cache=llm_cache,
            max_calls=-1 if max_calls is None else max_calls,
            max_tokens=-1 if max_tokens is None else max_tokens,
            max_cost=-1 if max_cost is None else max_cost,
            max_seconds=-1 if max_seconds is None else max_seconds,
        )
    except ValueError as exc:
        fail(str(exc))
    _store_has(symbol)
    result = _run(
        lambda g: _meeting(g, symbol, at_ts, ctx, desk),
        needs_checkpoint=bool(ctx.require_approval),
        debug=debug,
    )
    _show(result, json)
    if result.status == "model_unavailable":
        fail(
            "model_unavailable: every seat abstained (no valid structured output after one "
            f"repair); the meeting closed FLAT. AI log: {result.run_dir}/ailog.ndjson",
            EXIT_MODEL,
        )


@app.command("resume")
def resume(
    thread: Annotated[str, typer.Argument(help="The thread id printed when the meeting paused.")],
    approve: Annotated[
        bool, typer.Option("--approve/--reject", help="The human's answer (required).")
    ],
    note: Annotated[str, typer.Option("--note", help="A note recorded with the answer.")] = "",
    desk: DeskOpt = "default",
    json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Continue a meeting paused by --require-approval.

    --approve: the gate and the orders follow; --reject: the meeting closes FLAT."""
    _resume(thread, approve, note, json, desk, debug)


def _role_models(pairs: list[str]) -> dict[str, str]:
    from agents.models import ModelSpecError, parse_model_id

    out: dict[str, str] = {}
    for pair in pairs:
        role, sep, model_id = pair.partition("=")
        if not sep or not role.strip():
            fail(f"--role-model: {pair!r} is not ROLE=provider:model")
        try:
            parse_model_id(model_id)
        except ModelSpecError as exc:
            fail(f"--role-model {role}: {exc}")
        out[role.strip()] = model_id.strip()
    return out


def _meeting(g: Any, symbol: str, at: Any, ctx: Any, desk_name: str) -> Any:
    """The meeting on the desk's account: sync the desk to ``at``, meet, conclude, save."""
    from auraquant.desks import open_desk
    from graph.meeting import run_meeting
    from graph.services import MeetingServices
    from memos.market import MarketData
    from tools.paths import store_dir

    market = MarketData.from_store([symbol], store=store_dir(), at=at)
    with open_desk(desk_name, ctx.run_id) as desk:
        desk.sync(symbol, market.base(symbol) if market.has(symbol) else None, at)
        if not desk.begin(symbol, iso(at)):
            fail(f"desk {desk_name}: a meeting on {symbol} is already in progress")
        services = MeetingServices(market=market, exchange=desk.exchange, desk=desk)
        if desk.ledger is not None and not ctx.weights:
            desk.weights = desk.ledger.latest_weights(desk.name)
            ctx.weights = dict(desk.weights)
        result = run_meeting(symbol, iso(at), ctx, services=services, graph_=g, advance_bars=1)
        if result.status != "awaiting_approval":
            _conclude(desk, result)
        return result


def _conclude(desk: Any, result: Any) -> None:
    from graph.desk import meeting_extra

    extra = meeting_extra(
        memo=result.memo, turns=result.turns, interrupts=result.interrupts,
        ended_by=result.ended_by, fallback=result.fallback,
    )  # fmt: skip
    desk.conclude(
        symbol=result.symbol, at=result.at, meeting_id=result.meeting_id or result.run_id,
        decision=result.decision, gate=result.gate, manage=result.manage,
        execution=result.execution, extra=extra,
    )  # fmt: skip


def _resume(
    thread: str, approve: bool, note: str, as_json: bool, desk_name: str, debug: bool = False
) -> None:
    from auraquant.desks import open_desk
    from graph.context import MeetingContext
    from graph.meeting import resume_meeting
    from graph.services import MeetingServices

    def go(g: Any) -> Any:
        state = g.get_state({"configurable": {"thread_id": thread}})
        if not state.values:
            fail(f"resume: no meeting with thread id {thread!r} in the checkpoints")
        run_id = state.values.get("run_id") or f"resume-{thread}"
        with open_desk(desk_name, run_id) as desk:
            services = MeetingServices(exchange=desk.exchange, desk=desk)
            result = resume_meeting(
                thread, approve, MeetingContext(run_id=run_id), graph_=g, note=note,
                services=services, advance_bars=1,
            )  # fmt: skip
            if result.status != "awaiting_approval":
                _conclude(desk, result)
            return result

    _show(_run(go, needs_checkpoint=True, debug=debug), as_json)


def _run(fn: Any, *, needs_checkpoint: bool, debug: bool = False) -> Any:
    from agents.models import ModelSpecError
    from graph.errors import MeetingFailed
    from memos.builder import MemoError
    from memos.market import MarketDataError

    try:
        if needs_checkpoint:
            with checkpointed_graph() as g:
                return fn(g)
        return fn(None)
    except MeetingFailed as exc:
        if debug:
            err_console.print_exception()
        fail(escape(f"{exc} (AI log: {exc.record.get('run_dir')}/ailog.ndjson)"), exc.exit_code)
    except (MemoError, MarketDataError, ModelSpecError) as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))


def _store_has(symbol: str) -> None:
    from tools.candles import stored_timeframes
    from tools.paths import store_dir

    if not stored_timeframes(symbol, store_dir()):
        fail(
            f"no {symbol} candles in the store {store_dir()}; import data first: auraquant data import ../shared/data"
        )


def totals_line(r: Any) -> str:
    """The meeting's model usage in one line: calls, cache hits, tokens, cost, abstentions."""
    u = r.usage or {}
    line = (
        f"Model usage: {u.get('calls', 0)} calls ({u.get('cached_calls', 0)} from the cache), "
        f"{u.get('prompt_tokens', 0)} prompt + {u.get('completion_tokens', 0)} completion tokens, "
        f"${u.get('cost', 0.0):.4f}; status {r.status}"
    )
    if r.abstained:
        line += "; abstained/skipped: " + ", ".join(
            f"{a['role']} ({a['kind']})" for a in r.abstained
        )
    return line


def _show(result: Any, as_json: bool) -> None:
    html = _write_view(result)
    if as_json:
        emit_json({**result.model_dump(mode="json"), "meeting_html": html})
        return
    render(result)
    if html:
        console.print(f"meeting view: {html}", highlight=False)


def _write_view(result: Any) -> str | None:
    """``meeting.html`` beside the journal, once the meeting has a journal to show."""
    from pathlib import Path

    from auraquant.meeting_view import write_meeting_html

    journal = Path(result.run_dir) / "journal.json"
    return (
        str(write_meeting_html(journal, execution=result.execution)) if journal.exists() else None
    )


STANCE_STYLE = {"LONG": "green", "SHORT": "red", "FLAT": "yellow"}


def _styled(text: str, style: str) -> str:
    """Rich markup for ``text`` (escaped) in ``style`` (none when empty)."""
    return f"[{style}]{escape(text)}[/]" if style.strip() else escape(text)


def _levels(d: dict[str, Any], symbol: str) -> str:
    """``entry 28607.1  stop 28917.9  target 27985.6``: a decision's prices on the tick."""
    return "  ".join(
        f"{name} {price_text(d.get(k), symbol) or '-'}"
        for name, k in (("entry", "entry"), ("stop", "stop_loss"), ("target", "take_profit"))
    )


def render(r: Any) -> None:
    """The meeting as a reader follows it: who said what, who cut in, what was decided and done."""
    memo = r.memo or {}
    console.rule(f"[bold]Meeting {r.symbol} at {r.at}[/]  memo {memo.get('id', '?')}")
    console.print("[bold]Turns[/]")
    for t in r.turns:
        levels = "  ".join(
            f"{name} {price_text(t[k], r.symbol)}"
            for name, k in (("entry", "entry"), ("stop", "stop_loss"), ("target", "take_profit"))
            if t[k] is not None
        )
        head = (
            f"[bold]{escape(t['id'])}[/] "
            + _styled(t["stance"], "bold " + STANCE_STYLE.get(t["stance"], ""))
            + escape(f" {bias_text(t['confidence'])}  horizon {t['horizon']}  {levels}")
        )
        if t.get("revises"):
            head += _styled(f"  (revises {t['revises']})", "dim")
        console.print(head)
        console.print(Padding(escape(t["argument"]), (0, 0, 0, 4)))
        if t["evidence"]:
            console.print(
                Padding(_styled("evidence: " + ", ".join(t["evidence"]), "dim"), (0, 0, 0, 4))
            )
    console.print()
    if r.interrupts:
        console.print(f"[bold]Interrupts[/] (debate ended by {escape(r.ended_by or '?')})")
        for i in r.interrupts:
            console.print(
                f"[bold]{escape(i['id'])}[/] [magenta]{escape(i['kind'])}[/] "
                + escape(f"{i['by']} -> {i['target']}: {i['text']}")
            )
            res = f"{i['status']}: {resolution_text(i)}".strip()
            console.print(
                Padding(_styled(res, "dim" if i["status"] != "resolved" else ""), (0, 0, 0, 4))
            )
    else:
        console.print(f"No interrupts (debate ended by {r.ended_by or '?'}).")
    console.print()
    if r.status == "awaiting_approval":
        d = (r.pending_approval or {}).get("decision") or r.decision or {}
        console.print(
            Panel(
                escape(
                    f"{d.get('action')} {d.get('symbol')} {_levels(d, r.symbol)} "
                    f"x{d.get('leverage')}\n{d.get('rationale', '')}"
                ),
                title="Decision awaiting approval",
            )
        )
        console.print(
            f"Paused for approval. Continue with:\n  auraquant meet resume {r.thread_id} --approve   (or --reject)"
        )
        console.print(f"run_dir: {r.run_dir}")
        return
    d = r.decision or {}
    body = (
        _styled(str(d.get("action")), "bold " + STANCE_STYLE.get(d.get("action", ""), ""))
        + escape(f" {d.get('symbol')}  confidence {bias_text(d.get('confidence'))}  "
                 f"horizon {d.get('horizon')}  leverage {d.get('leverage')}\n"
                 f"{_levels(d, r.symbol)}\n{d.get('rationale', '')}")
    )  # fmt: skip
    if d.get("dissent"):
        body += "\n" + _styled("dissent: " + " | ".join(d["dissent"]), "dim")
    if r.fallback:
        body += "\n" + _styled(r.fallback, "bold yellow")
    if r.approval:
        body += escape(
            f"\nhuman: {'approved' if r.approval['approved'] else 'rejected'} {r.approval.get('note') or ''}"
        )
    console.print(Panel(body, title="Decision (CTO)"))
    g = r.gate or {}
    reasons = sorted(g.get("reasons", []), key=lambda x: rule_order(x["rule"]))
    rows = [[x["rule"], "yes" if x["passed"] else Text("NO", style="red"), x["message"]]
            for x in reasons]  # fmt: skip
    cols = (Col("rule"), Col("ok"), Col("finding", fold=True))
    console.print(cli_table(cols, rows, title=f"Risk gate: {g.get('verdict')}"))
    for c in g.get("clamps", []):
        console.print(escape(f"  clamp {c['rule']}: {c['field']} {c['before']} -> {c['after']}"))
    plan = g.get("plan")
    if plan:
        p = lambda x: price_text(x, plan["symbol"])  # noqa: E731
        console.print(escape(
            f"Plan: {plan['side']} {plan['quantity']:g} {plan['symbol']} x{plan['leverage']:g} "
            f"{plan['entry_type']} ref {p(plan['entry_price'])}, stop {p(plan['stop_loss'])}, "
            f"target {p(plan['take_profit'])}, risk {plan['risk_amount']:.2f} USDT"
        ))  # fmt: skip
    ex = r.execution or {}
    lines = [f"Execution: {ex.get('status')}"]
    for k in ("entry", "stop_loss", "take_profit"):
        if ex.get(f"{k}_order_id"):
            lines.append(f"  {k}: {ex[f'{k}_order_id']} {ex.get(f'{k}_status')}")
    for f in ex.get("fills", []):
        lines.append(
            f"  fill {f['id']}: {f['side']} {f['quantity']:g} @ {price_text(f['price'], r.symbol)}"
            f" fee {f['fee']:.4f} at {f['ts']}"
        )
    if ex.get("rejection_reason") or ex.get("note"):
        lines.append(f"  {ex.get('rejection_reason') or ex.get('note')}")
    console.print(escape("\n".join(lines)))
    console.print(escape(totals_line(r)))
    console.print(f"run_dir: {r.run_dir}")
    err_console.print(
        f"[dim]AI log: {r.run_dir}/ailog.ndjson; journal: {r.run_dir}/journal.json[/]"
    )
