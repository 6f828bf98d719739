"""`auraquant data`: import, list, download and synthesise market data in the Parquet store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer

from auraquant.cli.common import console, emit_json, err_console, fail, parse_time_option
from auraquant.cli.tables import Col, cli_table
from tools.errors import DataValidationError, DownloadError
from tools.store import Gap, list_store
from tools.timeutil import TIMEFRAMES

app = typer.Typer(
    help="Market data: import files, list the store, download from Binance, synthesise.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _gap_text(gaps: list[Gap], limit: int = 3) -> str:
    shown = [f"{g.after} → {g.before} ({g.missing_bars} bars)" for g in gaps[:limit]]
    if len(gaps) > limit:
        shown.append(f"… {len(gaps) - limit} more")
    return "; ".join(shown) if shown else "none"


def _short(ts: str | None) -> str:
    """``2023-03-16T22:15:00Z`` -> ``2023-03-16 22:15`` for narrow tables (JSON keeps ISO)."""
    return ts.replace("T", " ")[:16] if ts else ""


@app.command("import")
def import_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="A file or folder: candle CSV(.gz), freqtrade JSON(.gz), news CSV(.gz)."
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Validate and import candles and headlines into the store (idempotent, atomic)."""
    from tools.importer import import_path

    try:
        report = import_path(path)
    except (DataValidationError, FileNotFoundError) as exc:
        fail(f"{exc}; nothing was written")
    if json_out:
        emit_json(report.model_dump())
        return
    rows = [
        [
            f"{f.symbol} {f.timeframe}" if f.symbol else (f.dataset or f.file), f"{f.rows:,}",
            _short(f.first), _short(f.last),
            f"{f.gap_count} ({f.missing_bars} bars)" if f.gap_count else "0",
        ]
        for f in report.files
    ]  # fmt: skip
    cols = (Col("data", fold=True), Col("rows", right=True), Col("first (UTC)"),
            Col("last (UTC)"), Col("gaps", right=True))  # fmt: skip
    console.print(cli_table(cols, rows, title=f"imported into {report.store}"))
    for f in report.files:
        if f.gap_count and f.gap_count <= 3:
            console.print(f"gap in {f.file}: {_gap_text(f.gaps)}", highlight=False)
        if f.duplicates_dropped or f.out_of_order_sorted:
            console.print(
                f"{f.file}: {f.duplicates_dropped} identical duplicate rows dropped"
                + (
                    "; rows were out of order and have been sorted" if f.out_of_order_sorted else ""
                ),
                highlight=False,
            )
    console.print(
        f"{report.rows} rows, {report.partitions_written} partitions written, "
        f"{report.partitions_unchanged} unchanged, {report.seconds:.1f} s",
        highlight=False,
    )


@app.command("import-funding")
def import_funding_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="Binance funding-rate history (JSON array or CSV): symbol, fundingTime (ms), "
            "fundingRate[, markPrice]."
        ),
    ],
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="for a file whose rows name no symbol")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate and store a funding-rate (and mark-price) series beside the candles; backtests
    use it when present, the constant rate otherwise."""
    from tools.funding_store import import_funding

    try:
        reports = import_funding(path, symbol=symbol)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        fail(f"{exc}; nothing was written")
    if json_out:
        emit_json({"imported": [r.model_dump() for r in reports]})
        return
    for r in reports:
        console.print(
            f"{r.symbol}: {r.rows} funding rates ({r.with_mark_price} with a mark price) "
            f"{_short(r.first)} → {_short(r.last)}; {r.stored_rows} stored",
            highlight=False,
        )


@app.command("ls")
def ls_cmd(json_out: JsonOpt = False) -> None:
    """List stored symbols and timeframes with their ranges, row counts and gaps."""
    listing = list_store()
    if json_out:
        emit_json(listing.model_dump())
        return
    if not listing.candles and not listing.news:
        console.print(f"the store {listing.store} is empty: run `auraquant data import PATH`")
        return
    cols = (Col("symbol", fold=True), Col("tf"), Col("first bar (UTC)"), Col("last bar (UTC)"),
            Col("rows", right=True), Col("gaps", right=True), Col("missing", right=True))  # fmt: skip
    rows = [
        [c.symbol, c.timeframe, _short(c.first), _short(c.last), f"{c.rows:,}", str(c.gap_count),
         str(c.missing_bars)]
        for c in listing.candles
    ]  # fmt: skip
    console.print(cli_table(cols, rows, title=f"candles in {listing.store}"))
    for c in listing.candles:
        if 0 < c.gap_count <= 3:
            console.print(f"gap in {c.symbol} {c.timeframe}: {_gap_text(c.gaps)}", highlight=False)
    if listing.news:
        ncols = (Col("dataset", fold=True), Col("first (UTC)"), Col("last (UTC)"),
                 Col("rows", right=True))  # fmt: skip
        nrows = [[n.dataset, _short(n.first), _short(n.last), f"{n.rows:,}"] for n in listing.news]
        console.print(cli_table(ncols, nrows, title="news"))


@app.command("download")
def download_cmd(
    symbol: Annotated[str, typer.Argument(help="Binance spot symbol, e.g. BTCUSDT.")],
    start: Annotated[str, typer.Option("--start", help="First bar open, ISO-8601 UTC.")],
    end: Annotated[str, typer.Option("--end", help="Exclusive end, ISO-8601 UTC.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length.")] = "1m",
    base_url: Annotated[
        str, typer.Option("--base-url", help="Binance REST base URL.")
    ] = "https://api.binance.com",
    json_out: JsonOpt = False,
) -> None:
    """Download real klines from Binance's public API (no key) into the store."""
    from tools.download import download_candles

    if timeframe not in TIMEFRAMES:
        fail(f"--timeframe: {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
    t0 = parse_time_option(start, "--start")
    t1 = parse_time_option(end, "--end")
    if t1 <= t0:
        fail(f"--end {end} is not after --start {start}")
    try:
        report = download_candles(symbol.upper(), timeframe, t0, t1, base_url=base_url)
    except (DownloadError, DataValidationError, httpx.HTTPError) as exc:
        fail(f"{exc}")
    if json_out:
        emit_json(report.model_dump())
        return
    console.print(
        f"{report.symbol} {report.timeframe}: {report.rows} bars {report.first} → {report.last}, "
        f"gaps: {_gap_text(report.gaps)}; {report.partitions_written} partitions written, "
        f"{report.partitions_unchanged} unchanged",
        highlight=False,
    )


@app.command("synth")
def synth_cmd(
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")] = 7,
    days_per_regime: Annotated[
        int, typer.Option("--days-per-regime", min=1, help="Days of each regime (up, chop, down).")
    ] = 3,
    start: Annotated[
        str, typer.Option("--start", help="First bar, ISO-8601 UTC.")
    ] = "2024-01-01T00:00:00Z",
    json_out: JsonOpt = False,
) -> None:
    """Write a seeded synthetic 1m market (SYNTH-BTCUSDT, …) with up, chop and down regimes."""
    from tools.synth import write_synth

    parse_time_option(start, "--start")
    report = write_synth(seed, days_per_regime=days_per_regime, start=start)
    if json_out:
        emit_json(report.model_dump())
        return
    err_console.print(
        "[bold yellow]SYNTHETIC DATA[/]: these bars are generated, not market history.",
    )
    console.print(
        f"{', '.join(report.symbols)} 1m {report.start} → {report.end} "
        f"({report.bars_per_symbol} bars each); regimes: "
        + ", ".join(f"{r.kind} {r.start}→{r.end}" for r in report.regimes),
        highlight=False,
    )
