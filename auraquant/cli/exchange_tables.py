"""Rich tables for `auraquant exchange`, readable at 80 columns.

Ids, statuses and prices never wrap or truncate (only a symbol or an order type may fold onto
a second line); prices print with their instrument's tick decimals; ``wide`` adds the columns
that do not fit in 80.
"""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from exchange.instruments import Instrument, resolve

FOLD = ("symbol", "type")  # the only columns that may wrap


def _table(columns: list[str], rows: list[list[str]]) -> Table:
    """A table whose non-folding columns are at least as wide as their widest cell, so Rich
    narrows only the folding ones to fit the terminal."""
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    for i, c in enumerate(columns):
        width = max([len(c), *(len(r[i]) for r in rows)])
        fold = c in FOLD
        t.add_column(c, no_wrap=not fold, overflow="fold", min_width=None if fold else width)
    for r in rows:
        t.add_row(*r)
    return t


def show(console: Console, table: Table, wide: bool) -> None:
    """Print ``table`` on ``console``, or at 200 columns on stdout for ``--wide``."""
    (Console(width=200) if wide else console).print(table)


def tick_decimals(tick: float) -> int:
    """How many decimals a price on ``tick`` needs (0.1 -> 1, 0.00001 -> 5, 10 -> 0)."""
    return max(0, -math.floor(math.log10(tick) + 1e-9))


def price_text(x: float | None, inst: Instrument | None) -> str:
    """A price on its tick (``28000.0`` for BTCUSDT), or blank."""
    if x is None:
        return ""
    if inst is None:
        return f"{x:g}"
    return f"{x:.{tick_decimals(inst.tick_size)}f}"


def _inst(symbol: str, instruments: dict[str, Instrument]) -> Instrument | None:
    return resolve(symbol, instruments)


def order_table(
    orders: list[Any], instruments: dict[str, Instrument], *, wide: bool = False
) -> Table:
    cols = ["id", "symbol", "side", "type", "qty", "price", "trigger", "status"]
    if wide:
        cols += ["filled", "avg price", "role", "parent", "reason"]
    rows = []
    for o in orders:
        r = o.request
        inst = _inst(r.symbol, instruments)
        row = [
            o.id,
            r.symbol,
            r.side.value,
            r.type.value,
            f"{r.quantity:g}",
            price_text(r.price, inst),
            price_text(r.trigger_price, inst),
            o.status.value,
        ]
        if wide:
            row += [
                f"{o.filled_quantity:g}",
                price_text(o.average_price, inst) if o.average_price is not None else "",
                o.role or "",
                o.parent_id or "",
                o.reason or "",
            ]
        rows.append(row)
    return _table(cols, rows)


def fills_table(
    fills: list[Any], instruments: dict[str, Instrument], *, wide: bool = False
) -> Table:
    cols = ["id", "order", "time", "side", "qty", "price", "fee", "rPnL"]
    if wide:
        cols += ["symbol", "liquidity", "slippage"]
    rows = []
    for f in fills:
        inst = _inst(f.symbol, instruments)
        row = [
            f.id,
            f.order_id,
            f.ts.strftime("%Y-%m-%dT%H:%MZ") if wide else f.ts.strftime("%m-%d %H:%M"),
            f.side.value,
            f"{f.quantity:g}",
            price_text(f.price, inst),
            f"{f.fee:.4f}",
            f"{f.realized_pnl:.2f}",
        ]
        if wide:
            row += [f.symbol, f.liquidity, f"{f.slippage:.4f}"]
        rows.append(row)
    return _table(cols, rows)


def positions_table(
    positions: list[Any], instruments: dict[str, Instrument], *, wide: bool = False
) -> Table:
    cols = ["symbol", "qty", "entry", "liq. price", "margin", "uPnL", "rPnL"]
    if wide:
        cols += ["leverage"]
    rows = []
    for p in positions:
        inst = _inst(p.symbol, instruments)
        row = [
            p.symbol,
            f"{p.quantity:g}",
            price_text(p.entry_price, inst),
            price_text(p.liquidation_price, inst),
            f"{p.margin:.2f}",
            f"{p.unrealized_pnl:.2f}",
            f"{p.realized_pnl:.2f}",
        ]
        if wide:
            row += [f"{p.leverage:g}"]
        rows.append(row)
    return _table(cols, rows)
