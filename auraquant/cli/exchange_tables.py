"""Rich tables for `auraquant exchange`, under the CLI's table rule (``auraquant.cli.tables``):
80 columns, ids/statuses/prices whole, prices on the tick, more columns with ``--wide``."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType

from auraquant.cli.tables import Col, cli_table, money_text, price_text, qty_text
from exchange.instruments import Instrument

ORDER_COLS = (
    Col("id"), Col("symbol", fold=True), Col("side"), Col("type", fold=True),
    Col("qty", right=True), Col("price", right=True), Col("trigger", right=True), Col("status"),
    Col("filled", right=True, wide=True), Col("avg price", right=True, wide=True),
    Col("role", wide=True), Col("parent", wide=True), Col("reason", fold=True, wide=True),
)  # fmt: skip


def order_table(
    orders: list[Any], instruments: dict[str, Instrument], *, wide: bool = False
) -> RenderableType:
    rows = []
    for o in orders:
        r = o.request
        rows.append([
            o.id, r.symbol, r.side.value, r.type.value, qty_text(r.quantity),
            price_text(r.price, r.symbol, instruments),
            price_text(r.trigger_price, r.symbol, instruments), o.status.value,
            qty_text(o.filled_quantity), price_text(o.average_price, r.symbol, instruments),
            o.role or "", o.parent_id or "", o.reason or "",
        ])  # fmt: skip
    return cli_table(ORDER_COLS, rows, wide=wide)


FILL_COLS = (
    Col("id"), Col("order"), Col("time"), Col("side"), Col("qty", right=True),
    Col("price", right=True), Col("fee", right=True), Col("rPnL", right=True),
    Col("symbol", wide=True), Col("liquidity", wide=True), Col("slippage", right=True, wide=True),
)  # fmt: skip


def fills_table(
    fills: list[Any], instruments: dict[str, Instrument], *, wide: bool = False
) -> RenderableType:
    rows = [
        [
            f.id, f.order_id,
            f.ts.strftime("%Y-%m-%dT%H:%MZ") if wide else f.ts.strftime("%m-%d %H:%M"),
            f.side.value, qty_text(f.quantity), price_text(f.price, f.symbol, instruments),
            f"{f.fee:.4f}", money_text(f.realized_pnl),
            f.symbol, f.liquidity, f"{f.slippage:.4f}",
        ]
        for f in fills
    ]  # fmt: skip
    return cli_table(FILL_COLS, rows, wide=wide)


POSITION_COLS = (
    Col("symbol", fold=True), Col("qty", right=True), Col("entry", right=True),
    Col("liq. price", right=True), Col("margin", right=True), Col("uPnL", right=True),
    Col("rPnL", right=True), Col("leverage", right=True, wide=True),
)  # fmt: skip


def positions_table(
    positions: list[Any], instruments: dict[str, Instrument], *, wide: bool = False
) -> RenderableType:
    rows = [
        [
            p.symbol, qty_text(p.quantity), price_text(p.entry_price, p.symbol, instruments),
            price_text(p.liquidation_price, p.symbol, instruments), money_text(p.margin),
            money_text(p.unrealized_pnl), money_text(p.realized_pnl), f"{p.leverage:g}",
        ]
        for p in positions
    ]  # fmt: skip
    return cli_table(POSITION_COLS, rows, wide=wide)
