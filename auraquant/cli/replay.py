"""`auraquant replay`: the desk's cycle over history beside the baselines, into a run directory.

Writes ``runs/<run_id>/``: ``report.json`` (the figures, byte-identical on a rerun with the
offline models), ``ledger.json`` (the run's decisions, fills, outcomes and weights from the
ledger), ``ailog.ndjson`` (the desk; ``ailog.desk_no_debate.ndjson`` for the ablation),
``equity.png`` (desk against each baseline, with drawdown) and ``trades_<SYMBOL>.png``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from auraquant.cli.common import (
    Timeframe,
    check_model_option,
    console,
    emit_json,
    err_console,
    fail,
    parse_symbol_option,
    parse_time_option,
)
from auraquant.cli.tables import Col, cli_table
from backtest.line_names import line_label
from tools.timeutil import TIMEFRAMES, iso


def _symbols(raw: str) -> tuple[str, ...]:
    out = tuple(parse_symbol_option(s.strip(), "--symbols") for s in raw.split(",") if s.strip())
    if not out:
        fail("--symbols: give at least one symbol, e.g. --symbols BTCUSDT,ETHUSDT")
    if len(set(out)) != len(out):
        fail(f"--symbols: {raw!r} names a symbol twice")
    return out


def _timeframe(value: str, name: str) -> str:
    """A timeframe code, or a one-line error naming the option (``run``, ``worker``)."""
    if value not in TIMEFRAMES:
        fail(f"{name}: {value!r} is not one of {', '.join(TIMEFRAMES)}")
    return value


class Backend(StrEnum):
    """Where a replay's meetings run."""

    PROCESSES = "processes"
    CELERY = "celery"


def replay(
    symbols: Annotated[
        str, typer.Option("--symbols", help="Comma-separated, e.g. BTCUSDT,ETHUSDT,SOLUSDT.")
    ],
    start: Annotated[str, typer.Option("--start", help="First meeting, ISO-8601 UTC.")],
    end: Annotated[str, typer.Option("--end", help="End of the window, ISO-8601 UTC.")],
    every: Annotated[
        Timeframe, typer.Option("--every", help="Meeting cadence (a timeframe code).")
    ] = Timeframe.H4,
    timeframe: Annotated[
        Timeframe, typer.Option("--timeframe", help="The memo's timeframe.")
    ] = Timeframe.H1,
    model: Annotated[
        str,
        typer.Option("--model", callback=check_model_option, help="provider:model for every seat."),
    ] = "offline",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible server.")
    ] = None,
    desk: Annotated[
        str, typer.Option("--desk", help="Desk name the ledger rows carry.")
    ] = "replay",
    budget: Annotated[
        int | None, typer.Option("--budget", min=0, help="Interrupt budget of the desk.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Meeting processes (default: the cores)."),
    ] = None,
    learn: Annotated[
        bool, typer.Option("--learn/--no-learn", help="Role weights from the review loop.")
    ] = True,
    backend: Annotated[
        Backend,
        typer.Option("--backend", help="Where meetings run: processes (here) or celery (workers)."),
    ] = Backend.PROCESSES,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run directory name (new).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay the desk over history: meetings every --every on each symbol, one shared account,
    beside buy-and-hold, the SMA cross and the desk without debate."""
    from auraquant.desks import unique_run_id
    from backtest.replay import ReplayInputError, ReplaySpec, base_run_id, data_hash, load_market
    from graph.desk import DeskError, check_desk_name
    from memos.market import MarketDataError
    from tools.paths import home_dir, store_dir

    syms = _symbols(symbols)
    t0, t1 = parse_time_option(start, "--start"), parse_time_option(end, "--end")
    try:
        check_desk_name(desk)
    except DeskError as exc:
        fail(str(exc))
    spec = ReplaySpec(
        symbols=syms, start=iso(t0), end=iso(t1), every=every.value, timeframe=timeframe.value,
        model=model, base_url=base_url, desk=desk, budget=budget, learn=learn,
    )  # fmt: skip
    n_workers = min(workers or os.cpu_count() or 1, len(syms))
    store = store_dir()
    try:
        market = load_market(spec, store)
        from backtest.replay import check_window

        check_window(market, spec)
        base = run_id or base_run_id(spec, data_hash(market, syms, t1))
        rid = unique_run_id(base, explicit=bool(run_id))
    except (ReplayInputError, MarketDataError, DeskError) as exc:
        fail(str(exc))
    out = home_dir() / "runs" / rid
    out.mkdir(parents=True, exist_ok=False)
    try:
        summary = _run(spec, store, rid, out, n_workers, market, quiet=json_out,
                       pool=_celery_pool(spec, store) if backend is Backend.CELERY else None)  # fmt: skip
    except ReplayInputError as exc:
        fail(str(exc))
    if json_out:
        emit_json(summary)
        return
    _show(summary)


def _celery_pool(spec: Any, store: Path) -> Any:
    """The step's meetings as Celery tasks on the workers (``auraquant worker``)."""
    from auraquant.schedule.celery_app import CeleryPool, make_app, store_init

    return CeleryPool(make_app(), store_init(store, spec.symbols, spec.start, spec.timeframe))


def _run(
    spec: Any,
    store: Path,
    rid: str,
    out: Path,
    workers: int,
    market: Any,
    *,
    quiet: bool,
    pool: Any = None,
) -> dict[str, Any]:
    from auraquant.desks import open_ledger
    from backtest.replay import run_replay
    from backtest.replay_files import write_replay
    from decisions.review import ReviewLearner

    ledger = open_ledger()
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=quiet, disable=quiet,
    )  # fmt: skip
    tasks: dict[str, Any] = {}

    def tick(line: str, done: int, total: int) -> None:
        if line not in tasks:
            tasks[line] = progress.add_task(line, total=total)
        progress.update(tasks[line], completed=done)

    try:
        with progress:
            result = run_replay(
                spec, store=store, run_id=rid, ledger=ledger, ailog_dir=out, workers=workers,
                market=market, progress=tick, pool=pool,
                learner_factory=lambda: ReviewLearner(ledger=ledger, market=market, horizon=spec.horizon),
            )  # fmt: skip
        report = write_replay(result, out, ledger)
    finally:
        ledger.close()
    return {
        "run_dir": str(out),
        "meetings": report["meetings"],
        "results": report["results"],
        "per_symbol": report["per_symbol"],
        "debate_pays": report["debate_pays"],
        "llm_usage": {k: v.usage for k, v in result.lines.items()},
    }


COLUMNS = (("return_pct", "ret %"), ("sharpe", "Sharpe"), ("max_drawdown_pct", "maxDD %"),
           ("trades", "trades"), ("win_rate_pct", "win %"), ("fees", "fees"),
           ("exposure_pct", "expo %"))  # fmt: skip


def _show(summary: dict[str, Any]) -> None:
    """The four lines side by side; fits 80 columns (nothing cut, numbers whole)."""
    from backtest.replay import LINES

    cols = (Col("line"), *(Col(head, right=True) for _, head in COLUMNS))
    rows = [[line_label(name, short=True), *(_fmt(summary["results"][name].get(c))
                                             for c, _ in COLUMNS)] for name in LINES]  # fmt: skip
    console.print(cli_table(cols, rows, title=f"Replay: {summary['meetings']} meetings"))
    for name, u in summary.get("llm_usage", {}).items():
        console.print(
            f"model usage, {line_label(name, short=True)}: {int(u.get('calls', 0))} calls "
            f"({int(u.get('cached_calls', 0))} cached), {int(u.get('prompt_tokens', 0))}+"
            f"{int(u.get('completion_tokens', 0))} tokens, ${u.get('cost', 0.0):.4f}",
            highlight=False,
        )
    console.print(f"run_dir: {summary['run_dir']}", highlight=False)  # folds only if it must


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return f"{v:,.2f}"
