"""One clock for the virtual exchange: ``advance(exchange, symbol, bars, until)``.

Every caller that moves a virtual exchange through stored history (the meeting graph's sync, the
desk's replay, the CLI's ``exchange advance``) goes through this one function, so the
first-touch catch-up is written once.

- **Which bars.** Whatever the caller stores: 1m where it exists, else the finest stored set
  (the 2017-2021 history is 1h). The virtual exchange matches one bar at a time on its OHLC
  path; a coarser bar is presented to it as the *last minute* of its span (open time
  ``t + span - 1m``), so the exchange's clock after the bar is exactly the bar's close, and an
  order placed at a close works from the next bar — never inside a bar that had already begun.
  The price of that choice: a fill inside a coarse bar is stamped at the bar's last minute, not
  at the (unknown) minute it happened.
- **Skipping.** Bars that touch no working level, hold no funding and carry no pending market
  order change nothing but the mark (CONTRACT "Skipping bars"); a quiet run is passed with one
  ``mark_bar``. The next bar that matters is found with a vectorised search.
- **Never past ``until``.** Only bars *closed* by ``until`` are fed; the clock then moves to
  ``until`` itself by the mark alone when nothing is pending (across a data hole, or a fresh
  exchange), so an order placed "now" is priced from the last known close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

MINUTE_NS = 60_000_000_000


class BarSeries(Protocol):
    """One symbol's stored bars as numpy arrays, oldest first (``memos.market.Bars`` is one);
    ``ts`` holds the open times in int64 ns UTC."""

    @property
    def ts(self) -> np.ndarray: ...
    @property
    def open(self) -> np.ndarray: ...
    @property
    def high(self) -> np.ndarray: ...
    @property
    def low(self) -> np.ndarray: ...
    @property
    def close(self) -> np.ndarray: ...
    @property
    def volume(self) -> np.ndarray: ...
    @property
    def bar_ns(self) -> int: ...


class ClockedExchange(Protocol):
    """What the clock needs of an exchange: the virtual exchange's bar interface."""

    def on_bar(
        self, symbol: str, ts: Any, open: float, high: float, low: float, close: float,
        volume: float = 0.0,
    ) -> Any: ...  # fmt: skip

    def mark_bar(self, symbol: str, ts: Any, close: float) -> None: ...

    def level_state(self, symbol: str) -> tuple[float, float, bool, int | None]: ...

    def now_for(self, symbol: str) -> Any: ...


@dataclass(frozen=True)
class Advanced:
    """What one ``advance`` did. ``status``: ``synced`` (the clock is at ``until``), ``behind``
    (something is pending past the last stored bar, so the clock stopped short), ``past`` (the
    exchange was already later than ``until``: nothing was done), ``no_data`` (no bar of the
    symbol closed by ``until``), ``live`` (not a clocked exchange: a real venue keeps its own)."""

    status: Literal["synced", "behind", "past", "no_data", "live"]
    until_ns: int
    now_ns: int | None
    bars_fed: int = 0
    bars_skipped: int = 0


def is_clocked(exchange: Any) -> bool:
    """True for an exchange whose time moves only when bars are fed (the virtual one); a live
    venue (``live = True``, e.g. WEEX) keeps the wall clock and is never fed stored bars."""
    if getattr(exchange, "live", False):
        return False
    return all(hasattr(exchange, m) for m in ("on_bar", "mark_bar", "level_state", "now_for"))


def exchange_now_ns(exchange: ClockedExchange, symbol: str) -> int | None:
    """The close time of the last bar the exchange processed for ``symbol``, in ns."""
    now = exchange.now_for(symbol)
    return None if now is None else int(getattr(now, "value", now))


def presented_open_ns(bar_open_ns: int, bar_ns: int) -> int:
    """The open time a stored bar is shown to the exchange with: its last minute."""
    return bar_open_ns + bar_ns - MINUTE_NS


def _blocked(exchange: ClockedExchange, symbol: str, end_ns: int) -> bool:
    """Would ``mark_bar`` refuse a bar closing at ``end_ns`` (a pending market order, or
    funding due before the close)?"""
    _, _, pending, due = exchange.level_state(symbol)
    return bool(pending) or (due is not None and due < end_ns)


def _feed_one(ex: ClockedExchange, bars: BarSeries, symbol: str, i: int, shift: int) -> None:
    ex.on_bar(symbol, int(bars.ts[i]) + shift, float(bars.open[i]), float(bars.high[i]),
              float(bars.low[i]), float(bars.close[i]), float(bars.volume[i]))  # fmt: skip


_INF = float("inf")


def first_touch(
    low: np.ndarray, high: np.ndarray, start: int, stop: int, below: float, above: float
) -> int:
    """First index in [start, stop) whose bar reaches ``below`` or ``above``; ``stop`` if none.

    Searches in growing windows, so the cost is proportional to the distance actually skipped
    rather than to the rest of the data. (The backtester's loop and ``advance`` both use it.)
    """
    if below == -_INF and above == _INF:
        return stop
    i, size = start, 64
    while i < stop:
        e = min(stop, i + size)
        hit = (low[i:e] <= below) | (high[i:e] >= above)
        k = int(hit.argmax())
        if hit[k]:
            return i + k
        i, size = e, min(size * 4, 1 << 16)
    return stop


def next_active_bar(ex: ClockedExchange, bars: BarSeries, symbol: str, i: int, stop: int) -> int:
    """The first bar in ``[i, stop)`` that can change the exchange's state: it touches a working
    level, or its close passes funding, or a market order waits for it; ``stop`` if none."""
    below, above, pending, due = ex.level_state(symbol)
    if pending:
        return i
    if due is not None:  # the first bar whose close passes the funding time
        stop = min(stop, max(i, int(np.searchsorted(bars.ts, due - bars.bar_ns, side="right"))))
    return first_touch(bars.low, bars.high, i, stop, below, above)


def advance(exchange: Any, symbol: str, bars: BarSeries | None, until_ns: int) -> Advanced:
    """Bring ``exchange``'s clock for ``symbol`` to ``until_ns`` over the stored ``bars``.

    Bars after the exchange's last one and closed by ``until_ns`` are fed (funding settles,
    pending market orders fill at the next open, resting stops and targets match); quiet runs
    are skipped by the mark. An exchange already later than ``until_ns`` is left alone
    (``past``). A real venue is ``live`` and needs nothing.
    """
    if not is_clocked(exchange):
        return Advanced("live", until_ns, None)
    now = exchange_now_ns(exchange, symbol)
    if now is not None and now > until_ns:
        return Advanced("past", until_ns, now)
    if bars is None or len(bars.ts) == 0:
        return Advanced("no_data", until_ns, now)
    bar_ns = int(bars.bar_ns)
    shift = bar_ns - MINUTE_NS
    n = int(np.searchsorted(bars.ts, until_ns - bar_ns, side="right"))  # bars closed by until
    if n == 0:
        return Advanced("no_data", until_ns, now)
    # first bar not yet seen: its close is after the exchange's clock
    i = 0 if now is None else int(np.searchsorted(bars.ts, now - bar_ns, side="right"))
    fed = skipped = 0
    while i < n:
        j = next_active_bar(exchange, bars, symbol, i, n)
        if j > i:
            exchange.mark_bar(symbol, int(bars.ts[j - 1]) + shift, float(bars.close[j - 1]))
            skipped += j - i
            i = j
            continue
        _feed_one(exchange, bars, symbol, i, shift)
        i, fed = i + 1, fed + 1
    # the clock to `until` itself (a data hole, or a fresh exchange): only the mark moves.
    # Funding or a market order pending in the hole waits for the next real bar.
    now = exchange_now_ns(exchange, symbol)
    if now is None or now < until_ns:
        if _blocked(exchange, symbol, until_ns):
            return Advanced("behind", until_ns, now, fed, skipped)
        exchange.mark_bar(symbol, until_ns - MINUTE_NS, float(bars.close[n - 1]))
        now = exchange_now_ns(exchange, symbol)
    return Advanced("synced", until_ns, now, fed, skipped)


@dataclass(frozen=True)
class BarsView:
    """A slice of a ``BarSeries`` (the same arrays, no copy)."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bar_ns: int

    def closed_by(self, until_ns: int) -> int:
        """How many of these bars have closed by ``until_ns``."""
        return int(np.searchsorted(self.ts, until_ns - self.bar_ns, side="right"))


def bars_from(bars: BarSeries, start_ns: int) -> BarsView:
    """The bars that close after ``start_ns`` (where a fresh symbol's clock should begin)."""
    i = int(np.searchsorted(bars.ts, start_ns - int(bars.bar_ns), side="right"))
    return BarsView(bars.ts[i:], bars.open[i:], bars.high[i:], bars.low[i:], bars.close[i:],
                    bars.volume[i:], int(bars.bar_ns))  # fmt: skip
