"""The one rule every CLI table follows, and how numbers print in them.

Column width policy (:func:`cli_table`): a table reads at 80 columns, which is also the width
when output is piped (:func:`fit_to_output`). Ids, statuses, prices, counts and times are never
wrapped or cut: each such column is at least as wide as its widest cell, so Rich narrows only
the columns of free text (``Col(fold=True)``), which fold onto more lines. Columns that do not
fit in 80 are ``Col(wide=True)`` and show only with ``--wide`` (printed at :data:`WIDE_WIDTH`).

Numbers print rounded to their meaning: a price on its instrument's tick
(:func:`price_text`), a bias or a probability to 3 places (:func:`bias_text`), money to cents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from exchange.instruments import Instrument, default_instruments, resolve

WIDTH = 80
"""The width a table must fit when the output is not a terminal (or COLUMNS says nothing)."""
WIDE_WIDTH = 200
"""The width of a ``--wide`` view."""

WideOpt = Annotated[bool, typer.Option("--wide", help="More columns (wider than 80).")]


@dataclass(frozen=True)
class Col:
    """One column: ``fold`` for free text (the only cells that may wrap), ``right`` to align
    numbers, ``wide`` for a column shown only with ``--wide``."""

    head: str
    fold: bool = False
    right: bool = False
    wide: bool = False


def fit_to_output(console: Console) -> None:
    """Piped output is :data:`WIDTH` wide (``COLUMNS`` wins when set); a terminal keeps its own
    width. Rich would otherwise take the width of the terminal the pipe started in."""
    columns = console._environ.get("COLUMNS", "")  # Rich's view of the terminal variables
    if columns.isdigit():
        console.width = int(columns)
    elif not console.is_terminal:
        console.width = WIDTH
    else:
        console._width = None  # the terminal's own width, read at each print


def _cell(value: Any) -> Text:
    """A cell as plain text: no Rich markup is read from data (``Text`` passes through)."""
    return value if isinstance(value, Text) else Text("" if value is None else str(value))


def cli_table(
    cols: Sequence[Col],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    wide: bool = False,
) -> RenderableType:
    """A table (under its title) under the column width policy (module docstring). ``rows`` hold one cell per
    column in ``cols`` (the ``wide`` ones included; they are dropped unless ``wide``)."""
    shown = [i for i, c in enumerate(cols) if wide or not c.wide]
    cells = [[_cell(r[i]) for i in shown] for r in rows]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for j, i in enumerate(shown):
        c = cols[i]
        longest = max([len(c.head), *(r[j].cell_len for r in cells)])
        t.add_column(
            c.head,
            justify="right" if c.right else "left",
            no_wrap=not c.fold,
            overflow="fold",
            min_width=None if c.fold else longest,
        )
    for r in cells:
        t.add_row(*r)
    return t if title is None else Group(Text(title, style="bold"), t)


def show(console: Console, table: RenderableType, wide: bool = False) -> None:
    """Print ``table`` on ``console``; a ``--wide`` view at :data:`WIDE_WIDTH` on stdout."""
    if wide:
        Console(width=WIDE_WIDTH, highlight=False).print(table)
    else:
        console.print(table)


def tick_decimals(tick: float) -> int:
    """How many decimals a price on ``tick`` needs (0.1 -> 1, 0.00001 -> 5, 10 -> 0)."""
    return max(0, -math.floor(math.log10(tick) + 1e-9))


_DEFAULTS: dict[str, Instrument] = {}


def instrument(symbol: str, instruments: dict[str, Instrument] | None = None) -> Instrument | None:
    """The instrument ``symbol`` trades as (``SYNTH-BTCUSDT`` as BTCUSDT), or None."""
    if instruments is None:
        if not _DEFAULTS:
            _DEFAULTS.update(default_instruments())
        instruments = _DEFAULTS
    return resolve(symbol, instruments)


def price_text(
    x: float | None,
    symbol: str | Instrument | None,
    instruments: dict[str, Instrument] | None = None,
) -> str:
    """A price on its instrument's tick (``28000.0`` for BTCUSDT, ``0.38120`` for ADAUSDT);
    blank for None; 4 significant places for a symbol without an instrument."""
    if x is None:
        return ""
    inst = (
        symbol
        if isinstance(symbol, Instrument)
        else (instrument(symbol, instruments) if symbol else None)
    )
    if inst is None:
        return f"{x:.6g}"
    return f"{inst.round_price(x):.{tick_decimals(inst.tick_size)}f}"


def bias_text(x: float | None) -> str:
    """A bias, weight, probability or score to 3 places; ``-`` when unknown."""
    return "-" if x is None else f"{x:.3f}"


def money_text(x: float | None) -> str:
    """USDT to the cent; ``-`` when unknown."""
    return "-" if x is None else f"{x:,.2f}"


def qty_text(x: float | None) -> str:
    """A quantity as stored (it is already on the instrument's step)."""
    return "" if x is None else f"{x:g}"


def time_text(ts: Any, wide: bool = False) -> str:
    """``2023-04-20 12:00`` (``2023-04-20T12:00:00Z`` with ``--wide``) from a time or ISO text."""
    if ts is None:
        return ""
    text = ts if isinstance(ts, str) else ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text if wide else text.replace("T", " ")[:16]
