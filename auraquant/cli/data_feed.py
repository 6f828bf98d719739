"""`auraquant data follow` (keep the store current from Binance klines) and `auraquant data
serve` (the store over HTTP: /last_price, /indicators); ``--symbols auto`` for the most liquid
competition pairs (CoinGecko)."""

from __future__ import annotations

import threading
from typing import Annotated

import httpx
import typer

from auraquant.cli.common import console, emit_json, err_console, fail, parse_symbol_option
from tools.errors import DataValidationError, DownloadError
from tools.timeutil import TIMEFRAMES


def resolve_symbols(raw: str, top: int, *, base_url: str | None = None) -> list[str]:
    """``auto``: the ``top`` most liquid competition pairs; else the comma-separated list."""
    if raw.strip().lower() != "auto":
        out = [parse_symbol_option(s.strip(), "--symbols") for s in raw.split(",") if s.strip()]
        if not out:
            fail("--symbols: give symbols (BTCUSDT,ETHUSDT) or auto")
        return out
    from auraquant.settings import get_settings
    from tools.coingecko import BASE_URL, CoinGeckoClient, CoinGeckoError
    from tools.liquidity import most_liquid

    key = get_settings().coingecko_api_key
    client = CoinGeckoClient(base_url=base_url or BASE_URL,
                             api_key=key.get_secret_value() if key else None)  # fmt: skip
    try:
        pick = most_liquid(client, top)
    except (CoinGeckoError, ValueError) as exc:
        fail(f"--symbols auto: {exc}")
    note = " (stale cache: CoinGecko did not answer)" if pick.stale else ""
    err_console.print(f"--symbols auto: {','.join(pick.symbols)} by 24h volume, {pick.source} "
                      f"{pick.fetched_at}{note}", highlight=False)  # fmt: skip
    return pick.symbols


def follow(
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, or auto.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length.")] = "1m",
    backfill: Annotated[
        str, typer.Option("--backfill", help="History to fetch for a set not stored yet.")
    ] = "1d",
    rounds: Annotated[
        int | None, typer.Option("--rounds", min=1, help="Stop after this many rounds.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="With --symbols auto: how many.")] = 2,
    base_url: Annotated[
        str, typer.Option("--base-url", help="Binance REST base URL.")
    ] = "https://api.binance.com",
    coingecko_url: Annotated[
        str | None, typer.Option("--coingecko-url", help="CoinGecko API base URL.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per round on stdout.")
    ] = False,
) -> None:
    """Keep the store current: closed bars only, atomic, resumed without gap or duplicate."""
    from auraquant.schedule.loop import stop_on_signals
    from feeds.candles import FollowRound
    from feeds.candles import follow as run_follow

    if timeframe not in TIMEFRAMES:
        fail(f"--timeframe: {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
    if backfill not in TIMEFRAMES:
        fail(f"--backfill: {backfill!r} is not one of {', '.join(TIMEFRAMES)}")
    syms = resolve_symbols(symbols, top, base_url=coingecko_url)

    def show(r: FollowRound) -> None:
        if json_out:
            emit_json(r.model_dump(mode="json"))
            return
        holes = "; ".join(f"{g.after} → {g.before} ({g.missing_bars} bars)" for g in r.gaps)
        console.print(f"{r.symbol} {r.timeframe}: {r.rows} closed bars stored up to {r.last}"
                      + (f"; gap the endpoint cannot fill: {holes}" if holes else ""),
                      highlight=False)  # fmt: skip

    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            run_follow(syms, timeframe, stop=stop, backfill=backfill, rounds=rounds,
                       base_url=base_url, on_round=show)  # fmt: skip
    except (DownloadError, DataValidationError, httpx.HTTPError) as exc:
        fail(f"{exc}")


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free one).")] = 8765,
) -> None:
    """Serve the store: GET /last_price?symbol= and GET /indicators?symbol=&timeframe=."""
    import uvicorn

    from feeds.data_api import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
