"""`auraquant weex`: the WEEX contract API from the command line.

- ``check``: dry; server time, contracts, balances, leverage. Never places an order.
- ``test-trade``: the competition's API test; dry unless ``--execute``; opens and closes a
  ~10 USDT position and writes an evidence log of every request and answer, secrets masked.
- ``mock``: the loopback WEEX on 127.0.0.1, replaying candles from the store.

Credentials come from ``.env``/the environment (``WEEX_API_KEY``, ``WEEX_API_SECRET``,
``WEEX_API_PASSPHRASE``, ``WEEX_BASE_URL``); errors are one line naming what is wrong, with no
traceback (``--debug`` shows it) and no secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from auraquant.cli.common import console, emit_json, err_console, fail, parse_symbol_option
from auraquant.cli.tables import Col, cli_table
from auraquant.settings import Settings, get_settings
from exchange.weex.client import WeexClient
from exchange.weex.config import WeexConfig
from exchange.weex.contracts import fmt, to_weex_symbol
from exchange.weex.errors import (
    WeexAuthError,
    WeexConfigError,
    WeexError,
    WeexNetworkError,
)
from exchange.weex.evidence import EvidenceLog
from exchange.weex.models import usdt_asset
from tools.paths import home_dir

app = typer.Typer(
    help="WEEX contract API: check the keys, run the API test trade, serve a loopback WEEX.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="show the traceback of an error")]
DEMO_KEY, DEMO_SECRET, DEMO_PASSPHRASE = "mock-key", "mock-secret", "mockpass"


def weex_config(settings: Settings, **overrides: Any) -> WeexConfig:
    """The client configuration from the settings (``.env``)."""

    def secret(v: SecretStr | None) -> SecretStr:
        return v if v is not None else SecretStr("")

    return WeexConfig(
        base_url=settings.weex_base_url,
        api_key=secret(settings.weex_api_key),
        api_secret=secret(settings.weex_secret_key),
        passphrase=secret(settings.weex_passphrase),
        **{"max_hold_s": settings.weex_max_hold_s, **overrides},
    )


def _mask(text: str, secrets: list[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if s:
            text = text.replace(s, "****")
    return text


@contextmanager
def _weex_errors(secrets: list[str], debug: bool) -> Iterator[None]:
    """One clear line per failure, secrets masked, no traceback unless ``--debug``."""
    try:
        yield
    except (WeexError, ValueError) as exc:
        if debug:
            raise
        msg = _mask(str(exc), secrets)
        if isinstance(exc, WeexConfigError):
            fail(msg)
        if isinstance(exc, WeexAuthError):
            fail(f"WEEX refused the credentials ({msg}); check WEEX_API_KEY, WEEX_API_SECRET "
                 "and WEEX_API_PASSPHRASE (and that this IP is whitelisted)", code=3)  # fmt: skip
        if isinstance(exc, WeexNetworkError):
            fail(f"{msg}; check WEEX_BASE_URL", code=3)
        fail(msg, code=3)


def _client(settings: Settings, evidence: EvidenceLog | None = None, **kw: Any) -> WeexClient:
    cfg = weex_config(settings, **kw)
    return WeexClient(cfg, on_event=evidence)


@app.command("check")
def check(
    symbol: Annotated[str, typer.Option(help="pair whose leverage is read")] = "BTCUSDT",
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Dry check of the keys and the venue: server time, contracts, balances, leverage."""
    settings = get_settings()
    sym = parse_symbol_option(symbol, "--symbol")
    secrets = settings.secret_values()
    with _weex_errors(secrets, debug):
        client = _client(settings, timeout_s=10.0, retries=2)
        with client:
            t0 = time.time()
            server = client.server_time()
            skew_ms = server.timestamp - int((t0 + time.time()) / 2 * 1000)
            contracts = client.contracts()
            wsym = to_weex_symbol(sym)
            allowed = [s for s in client.config.allowed_symbols if s in contracts]
            assets = client.assets()
            usdt = usdt_asset(assets)
            leverage = client.leverage_settings(wsym)
    c = contracts.get(wsym)
    report: dict[str, Any] = {
        "base_url": settings.weex_base_url,
        "server_time": server.timestamp,
        "clock_skew_ms": skew_ms,
        "contracts": len(contracts),
        "competition_pairs_listed": allowed,
        "usdt": {"equity": str(usdt.equity), "available": str(usdt.available)},
        "symbol": wsym,
        "contract": None if c is None else {
            "size_decimals": c.size_increment, "price_decimals": c.tick_size,
            "min_order_size": str(c.min_order_size), "taker_fee": str(c.taker_fee_rate),
            "max_leverage": c.max_leverage,
        },
        "leverage": leverage,
        "orders_placed": 0,
    }  # fmt: skip
    if json_out:
        emit_json(report)
        return
    rows = [
        ["server time", f"{server.iso or server.timestamp} (skew {skew_ms} ms)"],
        ["contracts", f"{len(contracts)} listed; competition pairs: {len(allowed)}/8"],
        ["USDT", f"equity {usdt.equity}, available {usdt.available}"],
    ]
    if c is not None:
        rows.append([wsym, f"size decimals {c.size_increment}, price decimals {c.tick_size}, "
                     f"min {c.min_order_size}, taker fee {c.taker_fee_rate}"])  # fmt: skip
    rows += [["leverage", json.dumps(leverage)], ["orders placed", "none (check is dry)"]]
    cols = (Col("check"), Col("result", fold=True))
    console.print(cli_table(cols, rows, title=f"WEEX check ({settings.weex_base_url})"))
    if abs(skew_ms) > 10_000:
        err_console.print(f"[yellow]warning:[/] clock skew {skew_ms} ms; WEEX allows 30 s")


@app.command("upload-ailog")
def upload_ailog(
    run_dir: Annotated[Path, typer.Argument(help="a run folder holding ailog.ndjson")],
    model_version: Annotated[
        str | None,
        typer.Option(
            help="appended to each record's model name (default: the version each model's "
            "server returned, the package's for local models)"
        ),
    ] = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for WEEX to acknowledge")] = 60.0,
    workers: Annotated[
        int, typer.Option(help="uploads in flight (1 keeps the log's order)", min=1, max=8)
    ] = 1,
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Upload a run's AI log to WEEX's uploadAiLog (needs WEEX_AI_LOG_ENABLED=true).

    Records go through the fsynced disk queue in $AURAQUANT_HOME/weex/ailog-queue/N; what WEEX has
    not acknowledged when --wait runs out stays queued and is sent by the next upload. A record
    already queued by an earlier upload is not queued again."""
    from auraquant import __version__
    from auraquant.schedule.venue import QUEUE_DIR, QueueSlot
    from exchange.weex.ailog import ModelVersions, to_weex_body
    from exchange.weex.uploader import AILogUploader

    settings = get_settings()
    if not settings.weex_ai_log_enabled:
        fail("WEEX_AI_LOG_ENABLED is off; set it to true (in .env) to upload AI logs")
    path = run_dir / "ailog.ndjson"
    if not path.is_file():
        fail(f"run_dir: no ailog.ndjson in {run_dir}")
    try:
        records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
    except ValueError as exc:
        fail(f"run_dir: {path} is not NDJSON ({exc})")
    secrets = settings.secret_values()
    state_path = home_dir() / "weex" / "ailog-queued.json"
    queued: set[str] = set(json.loads(state_path.read_text())) if state_path.exists() else set()
    with _weex_errors(secrets, debug):
        client = _client(settings)
        client._require_keys()
        slot = QueueSlot(home_dir() / QUEUE_DIR)  # this process's queue, left by no one else
        uploader = AILogUploader(slot.path, client.upload_ai_log, secrets=secrets,
                                 workers=workers).start()  # fmt: skip
        added = 0
        versions = ModelVersions(None if model_version else f"auraquant-{__version__}")
        try:
            for rec in records:
                key = f"{rec.get('run_id')}:{rec.get('seq')}"
                if key in queued:
                    continue
                model = versions.model_for(rec)
                mapped = to_weex_body({**rec, "model": model}, model_version=model_version)
                uploader.enqueue(mapped.body, mapped.blobs)
                queued.add(key)
                added += 1
                state_path.parent.mkdir(parents=True, exist_ok=True)
                state_path.write_text(json.dumps(sorted(queued)))
            drained = uploader.drain(wait)
        finally:
            uploader.stop()
            slot.release()
    result = {"records": len(records), "queued_now": added, "delivered": uploader.stats.delivered,
              "failed_posts": uploader.stats.failures, "pending": uploader.pending,
              "all_acknowledged": drained}  # fmt: skip
    if json_out:
        emit_json(result)
        return
    console.print(f"{added} of {len(records)} records queued; {uploader.stats.delivered} "
                  f"acknowledged by WEEX, {uploader.pending} still queued")  # fmt: skip


def _evidence_path(path: Path | None) -> Path:
    if path is not None:
        return path
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return home_dir() / "weex" / f"evidence-{stamp}.jsonl"


def _wait_filled(client: WeexClient, order_id: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        row = client.order_detail(order_id)
        if row.status in ("filled", "canceled") or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


@app.command("test-trade")
def test_trade(
    symbol: Annotated[str, typer.Option(help="pair to trade")] = "BTCUSDT",
    notional: Annotated[float, typer.Option(help="target position value, USDT")] = 10.0,
    execute: Annotated[bool, typer.Option("--execute", help="really place the orders")] = False,
    repeat: Annotated[int, typer.Option(help="open/close cycles", min=1, max=20)] = 1,
    leverage: Annotated[int, typer.Option(help="leverage to set", min=1, max=20)] = 1,
    max_notional: Annotated[
        float, typer.Option(help="use the contract minimum when --notional is below it, up to this")
    ] = 50.0,
    evidence: Annotated[Path | None, typer.Option(help="evidence JSONL path")] = None,
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """The competition's API test: open and close a ~10 USDT market position (dry by default)."""
    settings = get_settings()
    sym = parse_symbol_option(symbol, "--symbol")
    if notional <= 0:
        fail(f"--notional: {notional} must be > 0")
    secrets = settings.secret_values()
    path = _evidence_path(evidence)
    log = EvidenceLog(path, secrets)
    cycles: list[dict[str, Any]] = []
    with _weex_errors(secrets, debug):
        client = _client(settings, log)
        with client:
            wsym = to_weex_symbol(sym)
            contract = client.contracts(wsym).get(wsym)
            if contract is None:
                fail(f"--symbol: WEEX lists no contract {wsym}")
            last = client.ticker(wsym).last
            size = contract.round_size(Decimal(str(notional)) / last)
            note = None
            if size < contract.min_order_size:
                min_value = contract.min_order_size * last
                if min_value > Decimal(str(max_notional)):
                    fail(f"--notional: {notional} USDT is below the minimum order "
                         f"{fmt(contract.min_order_size)} {sym[:-4]} (~{min_value:.2f} USDT) of "
                         f"{wsym}; raise --notional or --max-notional")  # fmt: skip
                size = contract.min_order_size
                note = (f"--notional {notional} is below the minimum order; using the minimum "
                        f"{fmt(size)} (~{min_value:.2f} USDT)")  # fmt: skip
            usdt = usdt_asset(client.assets())  # the dry run checks the keys too
            plan = {"symbol": wsym, "last": str(last), "size": fmt(size),
                    "notional": f"{size * last:.4f}", "leverage": leverage,
                    "available_usdt": str(usdt.available),
                    "open": {"type": "1", "match_price": "1", "order_type": "0"},
                    "close": {"type": "3", "match_price": "1", "order_type": "0"}}  # fmt: skip
            if usdt.available < size * last / leverage:
                fail(f"--notional: available {usdt.available} USDT cannot margin "
                     f"{size * last:.2f} USDT at {leverage}x")  # fmt: skip
            if execute:
                client.set_leverage(wsym, leverage)
                for i in range(repeat):
                    cycles.append(_one_cycle(client, wsym, size, i))
    log.close()
    result = {"executed": execute, "plan": plan, "note": note, "cycles": cycles,
              "evidence": str(path), "requests_logged": log.count}  # fmt: skip
    if json_out:
        emit_json(result)
        return
    if note:
        err_console.print(f"[yellow]note:[/] {note}")
    console.print(f"plan: {json.dumps(plan)}")
    if not execute:
        console.print("[bold]dry run[/]: nothing placed; add --execute to open and close it")
    for c in cycles:
        console.print(f"cycle {c['cycle']}: open {c['open_order_id']} {c['open_status']} at "
                      f"{c['open_price']}, close {c['close_order_id']} {c['close_status']} at "
                      f"{c['close_price']}; flat: {c['flat']}")  # fmt: skip
    console.print(f"evidence: {path} ({log.count} requests, secrets masked)")


def _one_cycle(client: WeexClient, wsym: str, size: Decimal, i: int) -> dict[str, Any]:
    def place(type_code: int, tag: str) -> Any:
        last = client.ticker(wsym).last
        oid = f"aqtt{int(time.time() * 1000)}{tag}{i}"
        placed = client.place_order(symbol=wsym, client_oid=oid, size=size, type=type_code,
                                    match_price=1, price=last)  # fmt: skip
        return _wait_filled(client, placed.order_id, 15.0)

    opened = place(1, "o")
    if opened.status != "filled":
        fail(f"the open order {opened.order_id} is {opened.status}, not filled; "
             "close it by hand on WEEX", code=4)  # fmt: skip
    client.cancel_all(wsym, "plan")
    client.cancel_all(wsym, "normal")
    closed = place(3, "c")
    flat = not any(p.size > 0 and p.is_long for p in client.positions(wsym))
    return {"cycle": i + 1, "open_order_id": opened.order_id, "open_status": opened.status,
            "open_price": str(opened.price_avg), "close_order_id": closed.order_id,
            "close_status": closed.status, "close_price": str(closed.price_avg),
            "flat": flat}  # fmt: skip


@app.command("mock")
def mock(
    port: Annotated[
        int, typer.Option(help="port on 127.0.0.1 (0: any free port)", min=0, max=65535)
    ] = 8088,
    symbol: Annotated[list[str] | None, typer.Option(help="pairs to serve (repeat)")] = None,
    start: Annotated[str, typer.Option(help="first bar of the replayed path")] = (
        "2023-04-20T00:00:00Z"
    ),
    days: Annotated[float, typer.Option(help="length of the replayed path", min=0.01)] = 1.0,
    bar_seconds: Annotated[
        float, typer.Option(help="advance one bar every N seconds (0: only on market orders)")
    ] = 5.0,
    balance: Annotated[float, typer.Option(help="starting USDT")] = 1000.0,
    faults: Annotated[Path | None, typer.Option(help="JSON list of fault rules")] = None,
    ready_file: Annotated[Path | None, typer.Option(help="write the URL here when ready")] = None,
) -> None:
    """Serve the loopback WEEX (signatures verified) replaying 1m candles from the store."""
    import pandas as pd

    from auraquant.cli.common import parse_time_option
    from exchange.weex.mock.app import MockServer
    from exchange.weex.mock.config import Account, FaultRule, MockConfig
    from exchange.weex.mock.engine import MockWeex, bars_from_frame
    from tools.candles import load_candles
    from tools.timeutil import iso

    settings = get_settings()
    rules: list[FaultRule] = []
    if faults is not None:
        try:
            rules = [FaultRule.model_validate(r) for r in json.loads(faults.read_text())]
        except (OSError, ValueError) as exc:
            fail(f"--faults: {faults}: {' '.join(str(exc).split())[:300]}")
    symbols = [parse_symbol_option(s, "--symbol") for s in (symbol or ["BTCUSDT", "ETHUSDT"])]
    t0 = parse_time_option(start, "--start")
    t1 = t0 + pd.Timedelta(days=days)
    paths = {}
    for s in symbols:
        try:
            frame = load_candles(s, "1m", t0, t1)
        except Exception as exc:  # StoreError and friends: one line with the hint
            fail(f"--symbol: no 1m candles for {s} from {iso(t0)} ({exc}); "
                 "run `auraquant data import ../shared/data` first")  # fmt: skip
        if frame.empty:
            fail(f"--start: no 1m candles for {s} in {iso(t0)} .. {iso(t1)}")
        paths[to_weex_symbol(s.removeprefix("SYNTH-"))] = bars_from_frame(frame)
    accounts = [Account(api_key=DEMO_KEY, secret=DEMO_SECRET, passphrase=DEMO_PASSPHRASE)]
    configured = settings.weex_api_key and settings.weex_secret_key and settings.weex_passphrase
    if configured:
        accounts.append(Account(
            api_key=settings.weex_api_key.get_secret_value(),  # type: ignore[union-attr]
            secret=settings.weex_secret_key.get_secret_value(),  # type: ignore[union-attr]
            passphrase=settings.weex_passphrase.get_secret_value(),  # type: ignore[union-attr]
        ))  # fmt: skip
    if port and not _port_free(port):
        fail(f"--port: 127.0.0.1:{port} is already in use (another `weex mock`?); pick another "
             "port, or 0 for any free one")  # fmt: skip
    cfg = MockConfig(accounts=accounts, starting_balance=balance, faults=rules)
    server = MockServer(MockWeex(cfg, paths), port=port, bar_interval_s=bar_seconds)
    lines = [
        f"replaying {', '.join(paths)} from {iso(t0)} "
        f"({sum(len(p) for p in paths.values())} bars, one every {bar_seconds:g} s)",
        f"demo credentials: WEEX_API_KEY={DEMO_KEY} WEEX_API_SECRET={DEMO_SECRET} "
        f"WEEX_API_PASSPHRASE={DEMO_PASSPHRASE}",
    ]
    if configured:
        lines.append("the WEEX_* credentials from .env / the environment are accepted too")
    _announce_when_ready(server, lines, ready_file)
    server.serve_forever()


def _port_free(port: int) -> bool:
    """Can 127.0.0.1:``port`` be bound now?"""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _announce_when_ready(server: Any, lines: list[str], ready_file: Path | None) -> None:
    """Print the URL (a port 0 is known only once bound) and write ``ready_file``."""
    import threading

    def wait() -> None:
        while not server.server.started:
            time.sleep(0.02)
        err_console.print(f"loopback WEEX on [bold]{server.url}[/]", highlight=False)
        err_console.print(f"  export WEEX_BASE_URL={server.url}", highlight=False, soft_wrap=True)
        for line in lines:
            err_console.print(f"  {line}", highlight=False, soft_wrap=True)
        err_console.print("  Ctrl-C stops it", highlight=False)
        if ready_file is not None:
            ready_file.write_text(server.url)

    threading.Thread(target=wait, daemon=True).start()


def demo_steps(run: Any, symbol: str, at: str) -> None:
    """The WEEX part of ``auraquant demo``: a loopback WEEX replaying ``symbol``'s stored 1m
    candles from ``at`` (for BTCUSDT's contract), then ``weex check`` and an executed
    ``weex test-trade`` against it, run as a user would type them. Any WEEX settings of the
    user are set aside for these two commands and restored after."""
    import os

    import pandas as pd

    from exchange.weex.mock.app import MockServer
    from exchange.weex.mock.config import Account, MockConfig
    from exchange.weex.mock.engine import MockWeex, bars_from_frame
    from tools.candles import load_candles

    t0 = pd.Timestamp(at)
    frame = load_candles(symbol, "1m", t0, t0 + pd.Timedelta(hours=6))
    account = Account(api_key=DEMO_KEY, secret=DEMO_SECRET, passphrase=DEMO_PASSPHRASE)
    mock = MockWeex(MockConfig(accounts=[account]), {"cmt_btcusdt": bars_from_frame(frame)})
    demo_env = {"WEEX_API_KEY": DEMO_KEY, "WEEX_API_SECRET": DEMO_SECRET,
                "WEEX_API_PASSPHRASE": DEMO_PASSPHRASE}  # fmt: skip
    names = [*demo_env, "WEEX_BASE_URL", "WEEX_SECRET_KEY", "WEEX_PASSPHRASE"]
    saved = {n: os.environ.get(n) for n in names}
    with MockServer(mock) as server:
        console.print(f"loopback WEEX on {server.url} replaying {symbol} 1m candles from {at}")
        try:
            for n in names:
                os.environ.pop(n, None)
            os.environ.update({**demo_env, "WEEX_BASE_URL": server.url})
            get_settings.cache_clear()
            run(["weex", "check"])
            run(["weex", "test-trade", "--symbol", "BTCUSDT", "--notional", "10", "--execute"])
        finally:
            for n, v in saved.items():
                if v is None:
                    os.environ.pop(n, None)
                else:
                    os.environ[n] = v
            get_settings.cache_clear()
