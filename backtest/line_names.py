"""The names of the lines a report compares, written once for report.json, charts, tables and
the HTML view.

``buy_and_hold`` is a *strategy*: it trades (a long from the first step, with fees and
slippage), in a backtest (``--strategy buy_and_hold``) or as a replay baseline. The *benchmark*
is not traded: the symbol's close over its first open, no fees. They have different keys and
different labels everywhere, so a reader never takes one for the other.
"""

from __future__ import annotations

HOLD_STRATEGY = "buy_and_hold"
HOLD_BENCHMARK = "hold_benchmark"

LABELS: dict[str, str] = {
    "desk": "Desk",
    "desk_no_debate": "Desk without debate",
    HOLD_STRATEGY: "Buy-and-hold strategy",
    "sma_cross": "SMA 20/60 cross",
    "sma_cross_atr": "SMA cross + ATR stops",
    HOLD_BENCHMARK: "Hold benchmark (no fees)",
}
"""A line's label in charts and the view."""

SHORT_LABELS: dict[str, str] = {
    "desk": "desk",
    "desk_no_debate": "no debate",
    HOLD_STRATEGY: "hold strategy",
    "sma_cross": "SMA cross",
    "sma_cross_atr": "SMA+ATR",
    HOLD_BENCHMARK: "hold benchmark",
}
"""A line's label in an 80-column table."""


def line_label(name: str, short: bool = False) -> str:
    """The label of line ``name`` (the name itself when it has none)."""
    return (SHORT_LABELS if short else LABELS).get(name, name)
