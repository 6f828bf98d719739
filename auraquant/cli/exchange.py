"""`auraquant exchange`: run and operate the virtual exchange.

State lives in ``$AURAQUANT_HOME/exchange/state.json`` (or in Redis when ``REDIS_URL`` is set)
and every command that changes it saves with a compare-and-swap (``exchange.snapshot.transact``):
these commands and a running ``serve`` share the state without losing an order.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import typer
from pydantic import ValidationError

from auraquant.cli.common import (
    console,
    emit_json,
    err_console,
    fail,
    parse_symbol_option,
    parse_time_option,
)
from auraquant.cli.exchange_tables import fills_table, order_table, positions_table
from auraquant.cli.tables import WideOpt, show
from exchange.clock import advance as advance_clock
from exchange.clock import bars_from
from exchange.errors import ExchangeError
from exchange.snapshot import (
    SnapshotConflict,
    VersionedStore,
    transact,
)
from exchange.types import OrderRequest, OrderType, Side
from exchange.virtual import VirtualExchange
from tools.paths import store_dir
from tools.timeutil import iso

app = typer.Typer(
    help="The virtual exchange: serve it over HTTP, place orders, advance the clock.",
    no_args_is_help=True,
)
order_app = typer.Typer(help="Place, modify, cancel and list orders.", no_args_is_help=True)
app.add_typer(order_app, name="order")

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def snapshot_store() -> VersionedStore:
    """Redis when ``REDIS_URL`` is set (key ``$AURAQUANT_EXCHANGE_REDIS_KEY``, default
    ``auraquant:exchange:state``), else ``$AURAQUANT_HOME/exchange/state.json``."""
    from auraquant.desks import desk_snapshot_store
    from graph.desk import DEFAULT_DESK

    return desk_snapshot_store(DEFAULT_DESK)  # the default desk's account, defined once


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj


def _run(action: Any, *, save: bool) -> tuple[VirtualExchange, Any]:
    """Load, act, save with a compare-and-swap (retried on a conflict): a rejected action
    saves nothing and fails with its message."""
    store = snapshot_store()
    try:
        return transact(store, VirtualExchange.restore, action, save=save)
    except (ExchangeError, ValidationError, ValueError, SnapshotConflict) as exc:
        fail(str(exc).splitlines()[0] if isinstance(exc, ValidationError) else str(exc))


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8765,
) -> None:
    """Serve the exchange over HTTP (FastAPI; docs at /docs), saving state on every change."""
    import uvicorn

    from exchange.http import create_app

    store = snapshot_store()
    try:
        VirtualExchange.restore(store.load())  # a broken snapshot fails here, not later
    except (ExchangeError, ValueError) as exc:
        fail(str(exc))
    err_console.print(f"virtual exchange on http://{host}:{port} (state: {store!r})")
    uvicorn.run(create_app(store=store), host=host, port=port, log_level="warning")


@order_app.command("place")
def order_place(
    symbol: Annotated[str, typer.Option(help="e.g. BTCUSDT")],
    side: Annotated[Side, typer.Option(help="BUY or SELL")],
    quantity: Annotated[float, typer.Option(help="base-asset quantity")],
    type_: Annotated[OrderType, typer.Option("--type", help="order type")] = OrderType.MARKET,
    price: Annotated[float | None, typer.Option(help="limit price")] = None,
    trigger_price: Annotated[float | None, typer.Option(help="stop trigger")] = None,
    reduce_only: Annotated[bool, typer.Option(help="may only reduce a position")] = False,
    leverage: Annotated[float, typer.Option(help="isolated-margin leverage")] = 1.0,
    stop_loss: Annotated[float | None, typer.Option(help="bracket stop-loss")] = None,
    take_profit: Annotated[float | None, typer.Option(help="bracket take-profit")] = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Place an order (it works from the next bar)."""

    def act(ex: VirtualExchange) -> Any:
        req = OrderRequest(
            symbol=symbol,
            side=side,
            type=type_,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            reduce_only=reduce_only,
            leverage=leverage,
            stop_loss=stop_loss,
            take_profit=take_profit,
        )
        return ex.place(req)

    ex, order = _run(act, save=True)
    if json_out:
        emit_json({"order": _dump(order)})
    else:
        show(console, order_table([order], ex.config.instruments, wide=wide), wide)


@order_app.command("modify")
def order_modify(
    order_id: Annotated[str, typer.Argument(help="e.g. O-000001")],
    price: Annotated[
        float | None, typer.Option(help="new limit price (or STOP_MARKET trigger)")
    ] = None,
    quantity: Annotated[float | None, typer.Option(help="new quantity")] = None,
    trigger_price: Annotated[float | None, typer.Option(help="new stop trigger")] = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Modify an open order's price, trigger or quantity."""
    ex, order = _run(
        lambda ex: ex.modify(order_id, price=price, quantity=quantity, trigger_price=trigger_price),
        save=True,
    )
    if json_out:
        emit_json({"order": _dump(order)})
    else:
        show(console, order_table([order], ex.config.instruments, wide=wide), wide)


@order_app.command("cancel")
def order_cancel(
    order_id: Annotated[str, typer.Argument(help="e.g. O-000001")],
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Cancel an open order."""
    ex, order = _run(lambda ex: ex.cancel(order_id), save=True)
    if json_out:
        emit_json({"order": _dump(order)})
    else:
        show(console, order_table([order], ex.config.instruments, wide=wide), wide)


@order_app.command("list")
def order_list(
    symbol: Annotated[str | None, typer.Option(help="only this symbol")] = None,
    all_: Annotated[bool, typer.Option("--all", help="include filled and canceled orders")] = False,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List open orders (or every order with --all)."""
    ex, orders = _run(lambda ex: ex.orders(symbol) if all_ else ex.open_orders(symbol), save=False)
    if json_out:
        emit_json({"orders": [_dump(o) for o in orders]})
    else:
        show(console, order_table(orders, ex.config.instruments, wide=wide), wide)


@app.command("positions")
def positions(json_out: JsonOpt = False, wide: WideOpt = False) -> None:
    """Open positions, marked to the last close."""
    ex, pos = _run(lambda ex: ex.positions(), save=False)
    if json_out:
        emit_json({"positions": [_dump(p) for p in pos]})
        return
    show(console, positions_table(pos, ex.config.instruments, wide=wide), wide)


@app.command("balance")
def balance(json_out: JsonOpt = False) -> None:
    """Wallet, equity, available margin."""
    ex, bal = _run(lambda ex: ex.balance(), save=False)
    if json_out:
        emit_json({"balance": _dump(bal), "now": None if ex.now is None else iso(ex.now)})
        return
    console.print(
        f"wallet {bal.wallet:.2f} {bal.currency}  equity {bal.equity:.2f}  "
        f"available {bal.available:.2f}  margin used {bal.margin_used:.2f}"
    )


@app.command("fills")
def fills(
    symbol: Annotated[str | None, typer.Option(help="only this symbol")] = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Every execution so far."""
    ex, fs = _run(lambda ex: ex.fills(symbol), save=False)
    if json_out:
        emit_json({"fills": [_dump(f) for f in fs]})
        return
    show(console, fills_table(fs, ex.config.instruments, wide=wide), wide)


@app.command("advance")
def advance(
    symbol: Annotated[str, typer.Option(help="e.g. BTCUSDT")],
    to: Annotated[str, typer.Option(help="advance until this time (ISO-8601 UTC)")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="first bar's open time, when the symbol has no bar yet"),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Advance the clock over the stored candles (1m, else the finest stored), matching orders.

    The first bar is the one after the symbol's last processed bar; on a symbol with no bar yet
    it is ``--from``, else the exchange's clock (set by other symbols), else the one bar that
    closes at ``--to``.
    """
    symbol = parse_symbol_option(symbol, "--symbol")
    end = parse_time_option(to, "--to")
    ex, last = _run(lambda ex: ex.now_for(symbol), save=False)
    if from_ is not None:
        start = parse_time_option(from_, "--from")
        if last is not None and start < last:
            fail(
                f"--from: {iso(start)} is before the last processed {symbol} bar close {iso(last)}"
            )
    elif last is not None:
        start = last
    elif ex.now is not None:
        start = ex.now
    else:
        start = end - pd.Timedelta(minutes=1)
    if end <= start:
        fail(f"--to: {iso(end)} is not after the start {iso(start)}")
    from memos.market import MarketData, MarketDataError

    try:
        md = MarketData.from_store([symbol], store=store_dir(), at=end, with_btc=False, news=False)
    except (MarketDataError, ValueError) as exc:
        fail(f"--symbol: cannot load {symbol} candles up to {iso(end)}: {exc}")
    if not md.has(symbol):
        fail(f"--symbol: no stored {symbol} candles cover {iso(end)}")
    bars = bars_from(md.base(symbol), int(start.value))

    def feed(ex: VirtualExchange) -> list[Any]:
        """The one clock (``exchange.clock.advance``) over the finest stored bars: 1m where
        they exist, else the finest set (the 2017-2021 history is 1h)."""
        before = len(ex.fills())
        with _progress(1) as tick:
            advance_clock(ex, symbol, bars, int(end.value))
            tick(1)
        return ex.fills()[before:]

    ex, new_fills = _run(feed, save=True)
    summary = {
        "symbol": symbol,
        "bars": bars.closed_by(int(end.value)),
        "now": None if ex.now is None else iso(ex.now),
        "fills": [_dump(f) for f in new_fills],
        "balance": _dump(ex.balance()),
    }
    if json_out:
        emit_json(summary)
    else:
        console.print(
            f"{symbol}: {summary['bars']} bars, {len(new_fills)} fills, now {summary['now']}, "
            f"equity {ex.balance().equity:.2f}"
        )


@app.command("funding-rates")
def funding_rates(
    path: Annotated[str, typer.Argument(help="Binance funding-rate history: JSON array or CSV")],
    symbol: Annotated[str, typer.Option(help="e.g. BTCUSDT")],
    json_out: JsonOpt = False,
) -> None:
    """Use a funding-rate series for a symbol (funding times it lacks use the constant rate)."""
    from exchange.funding import read_funding_rates

    try:
        rates = read_funding_rates(path, symbol)
    except (OSError, ValueError) as exc:
        fail(f"path: {exc}")
    if not rates:
        fail(f"path: no {symbol} funding rates in {path}")
    _, total = _run(lambda ex: ex.set_funding_rates(symbol, rates), save=True)
    if json_out:
        emit_json({"symbol": symbol, "read": len(rates), "rates": total})
    else:
        console.print(f"{symbol}: {len(rates)} funding rates read, {total} in use")


@app.command("reset")
def reset(json_out: JsonOpt = False) -> None:
    """Forget every order, fill and position (start again from the starting balance)."""
    store = snapshot_store()
    store.clear()
    if json_out:
        emit_json({"reset": True, "store": repr(store)})
    else:
        err_console.print(f"exchange state cleared ({store!r})")


class _progress:
    """A Rich progress bar on stderr for long advances; a no-op for short ones."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> Any:
        if self.total < 10_000:
            return lambda n: None
        from rich.progress import Progress

        self._bar = Progress(console=err_console, transient=True)
        self._bar.__enter__()
        task = self._bar.add_task("bars", total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
