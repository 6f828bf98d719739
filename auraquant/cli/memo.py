"""`auraquant memo SYMBOL --at TIME`: the facts, signals and unknowns a meeting would argue over."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.text import Text

from auraquant.cli.common import (
    console,
    emit_json,
    err_console,
    fail,
    parse_symbol_option,
    parse_time_option,
)
from auraquant.cli.tables import Col, bias_text, cli_table
from memos.builder import MemoError, build_memo, memo_json
from memos.market import MarketData, MarketDataError
from memos.models import Memo
from tools.paths import store_dir
from tools.runs import run_dir, write_json
from tools.timeutil import TIMEFRAMES, iso


def memo(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. BTCUSDT (one of the allowed pairs).")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Moment of the memo, ISO-8601 UTC (2023-04-20T12:00:00Z). Only bars closed and "
            "news published at or before it are used. Default: the close of the latest stored bar.",
        ),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the memo plus run_dir).")
    ] = False,
    timeframe: Annotated[
        str, typer.Option("--timeframe", "-t", help="Bars for the indicators: 5m, 15m, 1h, 4h …")
    ] = "1h",
) -> None:
    """Build the memo for SYMBOL at --at from the store, print it and write it to runs/."""
    symbol = parse_symbol_option(symbol, "symbol")
    if timeframe not in TIMEFRAMES:
        fail(f"--timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
    at_ts = parse_time_option(at, "--at") if at is not None else None

    store = store_dir()
    market = MarketData.from_store([symbol], store=store, at=at_ts)
    ranges = market.stored_ranges.get(symbol, [])
    if not ranges:
        fail(
            f"no {symbol} candles in the store {store}; import data first: "
            "auraquant data import ../shared/data"
        )
    if at_ts is None:
        at_ts = market.coverage(symbol)[1]
    elif not market.has(symbol):
        have = "; ".join(f"{tf}: {iso(a)} to {iso(b)}" for tf, a, b in ranges)
        fail(f"--at {iso(at_ts)} is outside the stored {symbol} data ({have})")
    try:
        result = build_memo(symbol, at_ts, market=market, timeframe=timeframe)
    except (MemoError, MarketDataError) as exc:
        fail(str(exc))

    rid = f"memo-{symbol}-{at_ts.strftime('%Y%m%dT%H%M%SZ')}-{result.id[:8]}"
    rdir = run_dir(rid)
    path = rdir / "memos" / f"{result.id}.json"
    write_json(path, memo_json(result))
    if json:
        emit_json({**memo_json(result), "run_dir": str(rdir), "memo_path": str(path)})
    else:
        render(result, path)


def render(m: Memo, path: Path) -> None:
    """A readable view: facts grouped by kind, signals, unknowns. Headlines stay plain text."""
    console.print(
        Panel(
            Text(f"{m.symbol} at {iso(m.at)} · {m.timeframe} · memo {m.id} · data {m.data_hash}"),
            title="AuraQuant memo",
        )
    )
    for kind in ("market", "technical", "news", "correlation"):
        facts = [[f.id, f.text] for f in m.facts if f.kind == kind]
        if facts:
            console.print(
                cli_table((Col("id"), Col("fact", fold=True)), facts, title=kind.capitalize())
            )
    signals = [[s.name, s.direction, bias_text(s.strength), s.text] for s in m.signals]
    console.print(cli_table(
        (Col("signal"), Col("direction"), Col("strength", right=True), Col("why", fold=True)),
        signals, title="Signals",
    ))  # fmt: skip
    if m.unknowns:
        unknowns = [[u.id, u.text] for u in m.unknowns]
        console.print(
            cli_table((Col("id"), Col("what is not known", fold=True)), unknowns, title="Unknowns")
        )
    err_console.print(Text(f"written: {path}"))


__all__: list[Any] = ["memo"]
