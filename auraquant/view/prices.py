"""Price data for the charts (read from the candle store) and the meeting's price chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from auraquant.view.html import COLOUR
from auraquant.view.svg import Chart, Level, Mark, Series, legend, render, thin
from tools.candles import load_candles
from tools.errors import StoreError

Points = list[tuple[float, float]]
PRICE = "#0969da"
AROUND = pd.Timedelta("1D")


def epoch(ts: Any) -> float:
    """Seconds since the epoch of an ISO time or a timestamp."""
    return float(pd.Timestamp(ts).timestamp())


def closes(
    symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp, store: Path | None
) -> Points:
    """``(time of close, close)`` of the stored bars in ``[start, end]``; what is not stored is
    left out (an empty list when nothing is), so a chart shows "after" only when the data has it.
    """
    step = pd.Timedelta(timeframe)
    try:
        frame = load_candles(symbol, timeframe, start, end, store=store)
    except (StoreError, ValueError):
        return []
    return [
        ((ts + step).timestamp(), float(c))
        for ts, c in zip(frame.index, frame["close"], strict=True)
    ]


def meeting_levels(meeting: dict[str, Any]) -> list[Level]:
    """Entry, stop-loss and take-profit: the execution's prices, else the gate plan's, else the
    decision's."""
    ex = meeting.get("execution") or {}
    plan = (meeting.get("gate_result") or meeting.get("gate") or {}).get("plan") or {}
    d = meeting.get("decision") or {}
    entry = ex.get("entry_price") or plan.get("entry_price") or d.get("entry")
    stop = ex.get("stop_loss_price") or plan.get("stop_loss") or d.get("stop_loss")
    target = ex.get("take_profit_price") or plan.get("take_profit") or d.get("take_profit")
    out = []
    for label, value, colour in (
        ("entry", entry, "#57606a"),
        ("stop-loss", stop, COLOUR["SHORT"]),
        ("take-profit", target, COLOUR["LONG"]),
    ):
        if isinstance(value, int | float):
            out.append(Level(label, float(value), colour))
    return out


def meeting_chart(meeting: dict[str, Any], price: Points, extra: list[Mark] | None = None) -> str:
    """The price a day either side of the meeting, the meeting's time, its levels and fills,
    with what came after shaded (only as far as the data goes)."""
    if not price:
        return '<p class="muted">No stored candles around the meeting to chart.</p>'
    at = epoch(meeting["at"])
    fills = (meeting.get("execution") or {}).get("fills") or []
    marks = [
        Mark(
            epoch(f["ts"]),
            float(f["price"]),
            COLOUR["LONG"] if f.get("side") == "BUY" else COLOUR["SHORT"],
            f"fill {f.get('id')}: {f.get('side')} {f.get('quantity')} @ {f.get('price')}",
        )
        for f in fills
        if f.get("ts") and f.get("price") is not None
    ] + list(extra or [])
    after = [p for p in price if p[0] > at]
    chart = Chart(
        series=[Series(f"{meeting.get('symbol')} close", PRICE, thin(price))],
        levels=meeting_levels(meeting),
        marks=marks,
        vline=(at, "meeting"),
        shade_after=at if after else None,
        label=f"{meeting.get('symbol')} price around the meeting",
    )
    note = (
        f"shaded: the {len(after)} bar(s) after the meeting, not known to the desk"
        if after
        else "no stored bars after the meeting yet"
    )
    return (
        render(chart, css_id="price-chart")
        + legend([("close", PRICE), ("meeting", "#8250df")])
        + f'<p class="muted">{note}</p>'
    )


def around(at: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The window a meeting's chart shows: a day before and a day after."""
    t = pd.Timestamp(at)
    return t - AROUND, t + AROUND
