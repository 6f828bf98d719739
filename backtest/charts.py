"""The three standard backtest charts, drawn with matplotlib's Agg backend into PNG bytes.

1. equity with the drawdown shaded (and the hold benchmark of the same symbol),
2. the trades on the price,
3. the distribution of trade PnL.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot global state, safe in threads)
and saved without a timestamp, so the same run draws the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from backtest.line_names import HOLD_BENCHMARK, HOLD_STRATEGY, line_label
from backtest.metrics import Trade

_GREEN, _RED, _BLUE, _GREY = "#1a9850", "#d73027", "#2166ac", "#7f7f7f"
_MAX_POINTS = 6000
_DPI = 110


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _thin(series: pd.Series, how: str = "last") -> pd.Series:
    """At most ~_MAX_POINTS points, one per time bucket (``last`` value, or ``min`` for
    drawdowns so the worst point survives)."""
    if len(series) <= _MAX_POINTS:
        return series
    span = series.index[-1] - series.index[0]
    step = max(span / _MAX_POINTS, pd.Timedelta(minutes=1)).ceil("min")
    return series.resample(step).agg(how).dropna()


# Every tick names its month (``Apr 05``, ``Apr 17 12:00``): a concise formatter's offset label
# is taken from the last tick, which can fall past the data (``2023-May`` under an April chart).
_TICK_FORMATS = ["%Y", "%b %Y", "%b %d", "%b %d %H:%M", "%b %d %H:%M", "%b %d %H:%M:%S"]


def _dates(ax: Axes, index: pd.Index | None = None) -> None:
    """Time ticks that each say the month, clipped to the data's span; the year(s) go into the
    axis label."""
    loc = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(
            loc, formats=_TICK_FORMATS, zero_formats=_TICK_FORMATS, show_offset=False
        )
    )
    if index is not None and len(index):
        first, last = pd.Timestamp(index[0]), pd.Timestamp(index[-1])
        if last > first:
            ax.set_xlim(float(mdates.date2num(first)), float(mdates.date2num(last)))
        years = f"{first.year}" if first.year == last.year else f"{first.year}–{last.year}"
        ax.set_xlabel(f"Time (UTC), {years}")
    ax.grid(True, alpha=0.3)


def equity_chart(
    equity: pd.Series, benchmark: pd.Series | None, title: str, initial: float
) -> bytes:
    """Equity (USDT) with the hold benchmark on top, and the drawdown (%) shaded below."""
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.2])
    eq = _thin(equity)
    top.plot(eq.index, eq.to_numpy(), color=_BLUE, lw=1.3, label="Strategy equity")
    if benchmark is not None and len(benchmark):
        bh = _thin(benchmark)
        top.plot(bh.index, bh.to_numpy(), color=_GREY, lw=1.0, ls="--",
                 label=line_label(HOLD_BENCHMARK))  # fmt: skip
    top.axhline(initial, color="black", lw=0.7, alpha=0.5, label=f"Start ({initial:,.0f} USDT)")
    top.set_ylabel("Equity (USDT)")
    top.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    top.legend(loc="best", frameon=False)
    top.set_title(title, loc="left", fontsize=12)
    _dates(top)

    values = equity.to_numpy(dtype=np.float64)
    peak = np.maximum.accumulate(values)
    dd = pd.Series(100.0 * (values / peak - 1.0), index=equity.index)
    dd_thin = _thin(dd, "min")
    bottom.fill_between(dd_thin.index, dd_thin.to_numpy(), 0.0, color=_RED, alpha=0.35, lw=0)
    bottom.plot(dd_thin.index, dd_thin.to_numpy(), color=_RED, lw=0.8)
    worst = float(dd.min()) if len(dd) else 0.0
    bottom.set_ylabel("Drawdown (%)")
    bottom.set_title(f"Drawdown from peak (max {worst:.2f} %)", loc="left", fontsize=10)
    bottom.set_ylim(min(worst * 1.15, -0.01), 0.0)
    _dates(bottom, equity.index)
    return _png(fig)


def trades_chart(close: pd.Series, trades: Sequence[Trade], title: str) -> bytes:
    """Close price with every trade drawn from entry to exit, green if it made money."""
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.subplots()
    px = _thin(close)
    ax.plot(px.index, px.to_numpy(), color=_GREY, lw=0.8, label="Close")
    if trades:
        t_in = pd.to_datetime([t.entry_ts for t in trades], utc=True)
        t_out = pd.to_datetime([t.exit_ts for t in trades], utc=True)
        p_in = np.array([t.entry_price for t in trades])
        p_out = np.array([t.exit_price for t in trades])
        win = np.array([t.net_pnl > 0 for t in trades])
        long_ = np.array([t.side == "LONG" for t in trades])
        x_in, x_out = mdates.date2num(t_in), mdates.date2num(t_out)
        segs = np.stack([np.column_stack([x_in, p_in]), np.column_stack([x_out, p_out])], axis=1)
        ax.add_collection(
            LineCollection(
                list(segs), colors=np.where(win, _GREEN, _RED).tolist(), linewidths=1.6, alpha=0.9
            )
        )
        size = 36 if len(trades) < 200 else 14
        ax.scatter(
            t_in[long_], p_in[long_], marker="^", s=size, color=_BLUE, label="Long entry", zorder=3
        )
        ax.scatter(
            t_in[~long_],
            p_in[~long_],
            marker="v",
            s=size,
            color="#ff7f00",
            label="Short entry",
            zorder=3,
        )
        ax.scatter(
            t_out,
            p_out,
            marker="o",
            s=size * 0.5,
            facecolors="none",
            edgecolors="black",
            lw=0.7,
            label="Exit",
            zorder=3,
        )
        ax.plot([], [], color=_GREEN, lw=1.6, label="Winning trade")
        ax.plot([], [], color=_RED, lw=1.6, label="Losing trade")
    else:
        _no_trades(ax)
    ax.set_title(f"{title} — {len(trades)} trades", loc="left", fontsize=12)
    ax.set_ylabel("Price (USDT)")
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.StrMethodFormatter("{x:,.2f}" if close.iloc[-1] < 100 else "{x:,.0f}")
    )
    ax.legend(loc="best", frameon=False, ncols=2, fontsize=9)
    _dates(ax, close.index)
    return _png(fig)


def _no_trades(ax: Any) -> None:
    """Say so in the middle of an empty chart rather than leave it blank."""
    ax.text(
        0.5,
        0.5,
        "No trades in this run",
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=14,
        color=_GREY,
    )


def pnl_chart(trades: Sequence[Trade], title: str) -> bytes:
    """Histogram of net trade PnL (USDT): wins green, losses red, the mean marked."""
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    pnl = np.array([t.net_pnl for t in trades], dtype=np.float64)
    if len(pnl):
        lo, hi = float(pnl.min()), float(pnl.max())
        if lo == hi:
            lo, hi = lo - 1.0, hi + 1.0
        width = (hi - lo) / int(np.clip(np.sqrt(len(pnl)) * 2, 10, 60))
        # 0 is a bin edge, so no bar mixes wins and losses
        bins = (np.arange(np.floor(lo / width), np.ceil(hi / width) + 1) * width).tolist()
        ax.hist(
            pnl[pnl <= 0], bins=bins, color=_RED, alpha=0.8, label=f"Losing ({(pnl <= 0).sum()})"
        )
        ax.hist(
            pnl[pnl > 0], bins=bins, color=_GREEN, alpha=0.8, label=f"Winning ({(pnl > 0).sum()})"
        )
        ax.axvline(0.0, color="black", lw=0.8)
        mean = float(pnl.mean())
        ax.axvline(mean, color=_BLUE, lw=1.4, ls="--", label=f"Mean {mean:,.2f} USDT")
        ax.legend(loc="best", frameon=False)
    else:
        _no_trades(ax)
    ax.set_title(f"{title} — net PnL per trade (after fees)", loc="left", fontsize=12)
    ax.set_xlabel("Net PnL per trade (USDT)")
    ax.set_ylabel("Number of trades")
    ax.grid(True, alpha=0.3)
    return _png(fig)


_LINE_STYLE = {
    "desk": (_BLUE, "-", 1.6, line_label("desk")),
    "desk_no_debate": ("#6a3d9a", "-", 1.1, line_label("desk_no_debate")),
    HOLD_STRATEGY: (_GREY, "--", 1.0, line_label(HOLD_STRATEGY)),
    "sma_cross": ("#ff7f00", ":", 1.2, line_label("sma_cross")),
}


def replay_equity_chart(curves: dict[str, pd.Series], initial: float, title: str) -> bytes:
    """A replay's portfolio equity, the desk against each baseline, with every line's drawdown."""
    fig = Figure(figsize=(11, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    for name, curve in curves.items():
        color, ls, lw, label = _LINE_STYLE.get(name, ("black", "-", 1.0, name))
        c = _thin(curve)
        final = float(curve.iloc[-1]) if len(curve) else initial
        top.plot(c.index, c.to_numpy(), color=color, ls=ls, lw=lw,
                 label=f"{label} ({100 * (final / initial - 1):+.2f} %)")  # fmt: skip
        values = curve.to_numpy(dtype=np.float64)
        peak = np.maximum.accumulate(values)
        dd = _thin(pd.Series(100.0 * (values / peak - 1.0), index=curve.index), "min")
        bottom.plot(dd.index, dd.to_numpy(), color=color, ls=ls, lw=lw * 0.8)
        if name == "desk":
            bottom.fill_between(dd.index, dd.to_numpy(), 0.0, color=color, alpha=0.2, lw=0)
    top.axhline(initial, color="black", lw=0.7, alpha=0.5)
    top.set_ylabel("Equity (USDT)")
    top.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    top.legend(loc="best", frameon=False, fontsize=9)
    top.set_title(title, loc="left", fontsize=12)
    _dates(top)
    bottom.set_ylabel("Drawdown (%)")
    bottom.set_title("Drawdown from peak (desk shaded)", loc="left", fontsize=10)
    firsts = [c.index[0] for c in curves.values() if len(c)]
    lasts = [c.index[-1] for c in curves.values() if len(c)]
    _dates(bottom, pd.DatetimeIndex([min(firsts), max(lasts)]) if firsts else None)
    return _png(fig)
