"""Run a strategy's signals, or a feed of decisions, through the virtual exchange on 1m bars.

Time moves one 1-minute bar at a time, as the exchange contract says, but most bars change
nothing: no working order price lies inside the bar, no funding or expiry falls in it, and no
decision is due. The exchange tells us its working levels (``active_levels``); a vectorised
first-touch search jumps straight to the next bar that matters, and the equity of the skipped
bars is marked in bulk (wallet + unrealised PnL at each close). Only bars that touch a level,
carry an event or end in a decision go through the exchange (``on_bar_count``: ``on_bar``
without building public fills, which are read once at the end with ``fills()``). The cyclic
garbage collector is paused while a run allocates its records (see ``cyclic_gc_paused``).
"""

from __future__ import annotations

import gc
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from backtest import assumptions
from backtest.metrics import OrderRole, Trade, trades_from_fills
from backtest.strategies import Signals, Strategy
from exchange.clock import first_touch, presented_open_ns
from exchange.errors import OrderRejected
from exchange.funding import on_funding_grid
from exchange.instruments import resolve
from exchange.margin import unrealized_pnl
from exchange.records import trusted_request
from exchange.types import Fill, OrderPlan, OrderRequest, OrderType, Side
from exchange.virtual import ExchangeConfig, VirtualExchange
from tools.candles import resample_frame
from tools.funding_store import FundingSeries
from tools.timeutil import TIMEFRAMES, iso, timeframe_delta

ENGINE_VERSION = 1
_MINUTE_NS = 60 * 10**9
_INF = float("inf")
_NEAR = 48  # bars scanned in Python before the vectorised first-touch search

ProgressFn = Callable[[int, int], None]


class BacktestInputError(ValueError):
    """Input the backtester cannot run on; the message names the field and the value."""


@dataclass(frozen=True, slots=True)
class Intent:
    """What to do after the close of 1m bar ``index``: the engine's single kind of instruction."""

    index: int
    side: Side | None  # None: only flatten
    stop_loss: float | None = None
    take_profit: float | None = None
    quantity: float | None = None  # None: size from equity (assumptions.position_size)
    entry_type: OrderType = OrderType.MARKET
    entry_price: float | None = None
    leverage: float = 1.0
    flatten_first: bool = False  # an explicit exit signal on this bar


@dataclass
class BacktestResult:
    """Everything one run produced, before it is turned into a report."""

    symbol: str
    bars: pd.DataFrame
    equity: pd.Series
    position: np.ndarray
    fills: list[Fill]
    roles: dict[str, OrderRole]
    trades: list[Trade]
    initial_equity: float
    bars_total: int
    bars_stepped: int
    intents: int
    intents_ignored: int
    end_of_data_close: bool
    funding: float = 0.0  # Σ funding settled: > 0 received, < 0 paid (quote currency)
    signal_bars: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fill_notional(self) -> float:
        return float(sum(abs(f.quantity) * f.price for f in self.fills))


# --------------------------------------------------------------------------------------- data


def ns_index(idx: pd.Index) -> np.ndarray:
    """Bar open times as int64 nanoseconds, whatever unit pandas stored them in."""
    return pd.DatetimeIndex(idx).as_unit("ns").asi8


def check_bars(bars: pd.DataFrame, name: str = "bars") -> None:
    """Refuse candles the engine would silently mis-handle: unsorted, duplicated, not UTC, empty."""
    missing = [c for c in ("open", "high", "low", "close") if c not in bars.columns]
    if missing:
        raise BacktestInputError(f"{name}: missing column(s) {', '.join(missing)}")
    if bars.empty:
        raise BacktestInputError(f"{name}: no candles in the requested window")
    idx = bars.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
        raise BacktestInputError(f"{name}: index must be a tz-aware UTC DatetimeIndex of bar opens")
    if not idx.is_monotonic_increasing or idx.has_duplicates:
        raise BacktestInputError(f"{name}: bar times must be strictly increasing")


def normalise_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Check the candles and put the index in UTC nanoseconds (pandas may hand us seconds or
    microseconds; every time comparison in the engine is in ns)."""
    check_bars(bars)
    idx = bars.index
    assert isinstance(idx, pd.DatetimeIndex)
    if idx.unit == "ns" and str(idx.tz) == "UTC":
        return bars
    out = bars.copy()
    out.index = idx.tz_convert("UTC").as_unit("ns")
    return out


def data_fingerprint(bars: pd.DataFrame) -> dict[str, Any]:
    """sha256 over the bar times and OHLCV values, plus rows, span and missing-minute count."""
    ts = ns_index(bars.index)
    h = hashlib.sha256(np.ascontiguousarray(ts, dtype=np.int64).tobytes())
    for col in ("open", "high", "low", "close", "volume"):
        if col in bars.columns:
            h.update(np.ascontiguousarray(bars[col].to_numpy(dtype=np.float64)).tobytes())
    expected = int((ts[-1] - ts[0]) // _MINUTE_NS) + 1 if len(ts) else 0
    return {
        "sha256": h.hexdigest(),
        "rows": len(bars),
        "first": iso(bars.index[0]) if len(bars) else None,
        "last": iso(bars.index[-1]) if len(bars) else None,
        "missing_minutes": expected - len(bars),
    }


def bar_span_ns(bars: pd.DataFrame) -> int:
    """The stored bars' timeframe in ns: their smallest spacing (1m for a single bar). The
    engine runs on 1m bars where they exist and on the finest stored set otherwise (the
    2017-2021 history is 1h); a coarser bar is shown to the exchange as its last minute
    (``exchange.clock``), so the exchange's clock after it is the bar's close."""
    ts = ns_index(bars.index)
    if len(ts) < 2:
        return _MINUTE_NS
    return int(np.diff(ts).min())


def base_timeframe(bars: pd.DataFrame) -> str:
    """The timeframe code of the stored bars (``1m``, ``1h`` …)."""
    span = pd.Timedelta(bar_span_ns(bars), unit="ns")
    for code, delta in TIMEFRAMES.items():
        if delta == span:
            return code
    raise BacktestInputError(f"bars: spacing {span} is not a known timeframe")


def resample(bars_1m: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Strategy-timeframe bars from 1m bars, by the store's own resampler
    (``tools.candles.resample_arrays``): epoch-aligned, open-labelled, and a window the 1m data
    does not cover from end to end (a partial first or last bar) is dropped, so a strategy sees
    exactly the bars ``load_candles`` would give it at that timeframe."""
    base = base_timeframe(bars_1m)
    if base == timeframe:
        return bars_1m
    return resample_frame(bars_1m, base, timeframe)


# ------------------------------------------------------------------------------------ intents


def intents_from_signals(
    bars_1m: pd.DataFrame,
    signal_bars: pd.DataFrame,
    signals: Signals,
    timeframe: str,
    quantity: float | None = None,
) -> list[Intent]:
    """Map each strategy-bar signal to the 1m bar after whose close it is acted on (sized at a
    fixed ``quantity`` when given, else from equity)."""
    if len(signals) != len(signal_bars):
        raise BacktestInputError(
            f"strategy returned {len(signals)} signals for {len(signal_bars)} bars"
        )
    active = np.flatnonzero((signals.entry != 0) | signals.exit)
    if active.size == 0:
        return []
    closes = ns_index(signal_bars.index)[active] + timeframe_delta(timeframe).value
    dec = assumptions.decision_bar_index(ns_index(bars_1m.index), closes)
    out: list[Intent] = []
    entry = signals.entry[active].tolist()
    stop_loss = signals.stop_loss[active].tolist()
    take_profit = signals.take_profit[active].tolist()
    exit_ = signals.exit[active].tolist()
    isfinite = math.isfinite
    for n, d in enumerate(dec.tolist()):
        if d < 0:
            continue
        e = int(entry[n])
        sl = float(stop_loss[n])
        tp = float(take_profit[n])
        out.append(
            Intent(
                index=d,
                side=Side.BUY if e > 0 else Side.SELL if e < 0 else None,
                stop_loss=sl if isfinite(sl) else None,
                take_profit=tp if isfinite(tp) else None,
                quantity=quantity,
                flatten_first=bool(exit_[n]),
            )
        )
    return out


def intents_from_decisions(
    bars_1m: pd.DataFrame, decisions: Sequence[tuple[datetime, OrderPlan]], symbol: str
) -> list[Intent]:
    """Each (decided_at, plan) acts after the last 1m bar closed at or before ``decided_at``."""
    closes = ns_index(bars_1m.index) + bar_span_ns(bars_1m)
    out: list[Intent] = []
    for n, (at, plan) in enumerate(decisions):
        if plan.symbol != symbol:
            raise BacktestInputError(
                f"decisions[{n}].symbol: {plan.symbol!r} is not the backtest symbol {symbol!r}"
            )
        at_ns = pd.Timestamp(at).value
        d = int(np.searchsorted(closes, at_ns, side="right")) - 1
        if d < 0:
            raise BacktestInputError(
                f"decisions[{n}].decided_at: {iso(pd.Timestamp(at))} is before the first bar closed"
            )
        out.append(
            Intent(
                index=d,
                side=plan.side,
                stop_loss=plan.stop_loss,
                take_profit=plan.take_profit,
                quantity=plan.quantity,
                entry_type=plan.entry_type,
                entry_price=plan.entry_price if plan.entry_type is OrderType.LIMIT else None,
                leverage=plan.leverage,
            )
        )
    out.sort(key=lambda it: it.index)
    return out


# ---------------------------------------------------------------------------------- the loop


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the bar loop, restoring it afterwards.

    A run allocates ~10^5 long-lived, acyclic records (orders, fills, roles) that reference
    counting frees on its own; the cyclic collector would re-scan all of them on each of its
    full passes, which costs about a fifth of a long backtest for nothing. Garbage cycles made
    meanwhile (there should be none) are collected on the first pass after the run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def next_touch(
    low_list: list[float],
    high_list: list[float],
    low: np.ndarray,
    high: np.ndarray,
    start: int,
    stop: int,
    below: float,
    above: float,
) -> int:
    """``exchange.clock.first_touch`` (the first bar in ``[start, stop)`` reaching ``below`` or
    ``above``), with its first ``_NEAR`` bars scanned in plain Python over the lists: most
    events are a few dozen bars apart, where numpy's per-call cost dominates."""
    k, near = start, min(stop, start + _NEAR)
    while k < near and not (low_list[k] <= below or high_list[k] >= above):
        k += 1
    if k == near and near < stop:
        return first_touch(low, high, near, stop, below, above)
    return k


class _Runner:
    """One pass over the bars; kept as a class so the state the loop mutates is in one place."""

    def __init__(
        self,
        ex: VirtualExchange,
        symbol: str,
        bars: pd.DataFrame,
        size_fraction: float,
        progress: ProgressFn | None,
    ) -> None:
        self.ex, self.symbol, self.bars = ex, symbol, bars
        self.size_fraction = size_fraction
        self.progress = progress
        self.ts_ns = ns_index(bars.index)
        span = bar_span_ns(bars)
        self.close_ns = self.ts_ns + span
        self.shift = presented_open_ns(0, span)  # a coarse bar is shown as its last minute
        self.o = bars["open"].to_numpy(dtype=np.float64)
        self.h = bars["high"].to_numpy(dtype=np.float64)
        self.lo = bars["low"].to_numpy(dtype=np.float64)
        self.c = bars["close"].to_numpy(dtype=np.float64)
        self.v = (
            bars["volume"].to_numpy(dtype=np.float64)
            if "volume" in bars.columns
            else np.zeros(len(bars))
        )
        inst = resolve(symbol, ex.config.instruments)
        if inst is None:
            raise BacktestInputError(f"symbol: {symbol!r} is not an instrument the exchange knows")
        self.tick, self.step = inst.tick_size, inst.step_size
        n = len(bars)
        self.wallet = np.empty(n)
        self.qty = np.empty(n)
        self.entry = np.empty(n)
        self.roles: dict[str, OrderRole] = {}
        self.stepped = 0
        self.ignored = 0
        self.rejections: list[str] = []

    # state ----------------------------------------------------------------------------------
    def _state(self) -> tuple[float, float, float]:
        """(wallet, position quantity, entry price) after the last bar."""
        return self.ex.position_state(self.symbol)

    def _place(self, request: OrderRequest, role: OrderRole) -> bool:
        """Place an order; a refusal is counted and kept (first 20 reasons), never fatal."""
        try:
            order_id = self.ex.submit(request)
        except OrderRejected as exc:
            self.ignored += 1
            if len(self.rejections) < 20:
                now = self.ex.now
                self.rejections.append(f"{iso(now) if now is not None else 'start'}: {exc}")
            return False
        self.roles[order_id] = role
        return True

    def _cancel_all(self) -> None:
        self.ex.cancel_all(self.symbol)

    def _flatten(self, qty: float, role: str) -> None:
        side = Side.SELL if qty > 0 else Side.BUY
        req = trusted_request(self.symbol, side, OrderType.MARKET, abs(qty), reduce_only=True)
        self._place(req, OrderRole(role))

    # decisions ------------------------------------------------------------------------------
    def act(self, it: Intent, k: int, wallet: float, qty: float, entry: float) -> None:
        """Turn one intent into orders after bar ``k``'s close (assumptions.py decides how)."""
        want_flat = it.flatten_first and qty != 0
        signal = 0 if it.side is None else 1 if it.side is Side.BUY else -1
        if not want_flat and assumptions.same_side_signal_ignored(qty, signal):
            self.ignored += 1
            return
        self._cancel_all()  # stale entries and the old bracket's children
        equity = wallet + (unrealized_pnl(qty, entry, self.c[k]) if qty else 0.0)
        if want_flat or assumptions.opposite_signal_closes_first(qty, signal):
            self._flatten(qty, "signal")
        if it.side is None:
            return
        quantity = (
            it.quantity
            if it.quantity is not None
            else assumptions.position_size(equity, self.c[k], self.size_fraction, self.step)
        )
        if quantity <= 0:
            self.ignored += 1
            return
        stop = assumptions.level_on_tick(it.stop_loss, self.tick)
        # the intent's values are already typed (Side, OrderType, floats); the exchange checks
        # each one again, so pydantic's validation of the request is skipped
        req = trusted_request(
            self.symbol,
            it.side,
            it.entry_type,
            float(quantity),
            None if it.entry_price is None else float(it.entry_price),
            False,
            float(it.leverage),
            stop,
            assumptions.level_on_tick(it.take_profit, self.tick),
        )
        self._place(req, OrderRole("entry", stop))

    # the loop -------------------------------------------------------------------------------
    def run(self, intents: list[Intent]) -> None:
        ex, sym = self.ex, self.symbol
        n = len(self.c)
        by_index: dict[int, list[Intent]] = {}
        for it in intents:
            by_index.setdefault(it.index, []).append(it)
        decision_idx = sorted(by_index)
        decision_idx.append(n)  # sentinel: no decision left
        ptr = 0
        ts_a, o_a, h_a, l_a, c_a, v_a = self.ts_ns, self.o, self.h, self.lo, self.c, self.v
        wallet, qty, entry = self._state()
        # The state after each bar sent to the exchange; bars in between hold the last one.
        at: list[int] = [0]
        wallets, qtys, entries = [wallet], [qty], [entry]
        j = 0
        stepped = 0
        report_every = max(n // 200, 1)
        next_report = report_every if self.progress is not None else n + 1
        close_ns = self.close_ns
        ev_seen, ev_bar = -1, n  # memo of the last event time's bar (it changes rarely)
        level_state, on_bar, lo, hi = ex.level_state, ex.on_bar_count, self.lo, self.h
        shift = self.shift
        lo_l, hi_l = lo.tolist(), hi.tolist()
        while j < n:
            next_dec = decision_idx[ptr]
            below, above, pending, ev = level_state(sym)  # = active_levels(sym)
            if pending:
                k = j
            else:
                stop = next_dec
                if ev is not None:
                    # the first bar whose close passes the event time must go to the exchange
                    if ev != ev_seen:
                        ev_seen, ev_bar = ev, int(np.searchsorted(close_ns, ev, side="right"))
                    if ev_bar < stop:
                        stop = ev_bar
                if stop < j:
                    stop = j
                k = next_touch(lo_l, hi_l, lo, hi, j, stop, below, above)
            if k >= n:
                break
            fills = on_bar(
                sym,
                int(ts_a[k]) + shift,
                float(o_a[k]),
                float(h_a[k]),
                float(l_a[k]),
                float(c_a[k]),
                float(v_a[k]),
            )
            stepped += 1
            if fills or (ev is not None and ev < close_ns[k]):
                wallet, qty, entry = self._state()
            at.append(k)
            wallets.append(wallet)
            qtys.append(qty)
            entries.append(entry)
            if k == next_dec:
                for it in by_index[k]:
                    self.act(it, k, wallet, qty, entry)
                ptr += 1
            j = k + 1
            if j >= next_report:
                self.progress(j, n)  # type: ignore[misc]
                next_report = j + report_every
        self.stepped += stepped
        # forward-fill: bar i holds the state recorded at the last stepped bar <= i
        runs = np.diff(np.append(np.asarray(at, dtype=np.int64), n))
        self.wallet = np.repeat(np.asarray(wallets, dtype=np.float64), runs)
        self.qty = np.repeat(np.asarray(qtys, dtype=np.float64), runs)
        self.entry = np.repeat(np.asarray(entries, dtype=np.float64), runs)
        if self.progress is not None:
            self.progress(n, n)

    def close_at_end(self) -> bool:
        """assumptions.end_of_data_bar: flatten at the last close; True if a position was open."""
        self._cancel_all()
        _, qty, _ = self._state()
        if qty == 0:
            return False
        self._flatten(qty, "end_of_data")
        last = self.bars.index[-1] + pd.Timedelta(self.shift, unit="ns")
        ts, px = assumptions.end_of_data_bar(last, float(self.c[-1]))
        self.ex.on_bar(self.symbol, ts, px, px, px, px, 0.0)
        self.stepped += 1
        return True

    def equity(self) -> np.ndarray:
        # exchange.margin.unrealized_pnl, vectorised: quantity × (close − entry)
        upnl = np.where(self.qty != 0, self.qty * (self.c - self.entry), 0.0)
        return np.asarray(self.wallet + upnl, dtype=np.float64)


def _label_children(ex: VirtualExchange, fills: list[Fill], roles: dict[str, OrderRole]) -> None:
    """Bracket legs and liquidations are created by the exchange: label them from its role."""
    for f in fills:
        if f.order_id in roles:
            continue
        role, parent_id = ex.order_origin(f.order_id)
        parent = roles.get(parent_id or "")
        stop = parent.initial_stop if parent else None
        roles[f.order_id] = OrderRole(role or "other", stop)


def use_funding_series(ex: VirtualExchange, symbol: str, funding: FundingSeries | None) -> None:
    """Give the exchange a stored funding series (``tools.funding_store``): its rates, and its
    mark prices where known, at the funding times (put on the exchange's 00/08/16 UTC grid).
    Without one the exchange settles at ``config.funding_rate`` on the last price."""
    if funding is None or len(funding.times_ns) == 0:
        return
    ex.set_funding_rates(symbol, {on_funding_grid(t): r for t, r in funding.rate_by_time().items()})
    marks = {on_funding_grid(t): m for t, m in funding.mark_by_time().items()}
    if marks:
        ex.set_mark_prices(symbol, marks)


def run_intents(
    bars: pd.DataFrame,
    intents: list[Intent],
    *,
    symbol: str,
    exchange_config: ExchangeConfig | None = None,
    size_fraction: float = 0.5,
    close_at_end: bool = True,
    progress: ProgressFn | None = None,
    funding: FundingSeries | None = None,
) -> BacktestResult:
    """The core: feed 1m bars and intents through a fresh VirtualExchange (with the stored
    ``funding`` series when given: ``tools.funding_store.load_funding``)."""
    bars = normalise_bars(bars)
    with cyclic_gc_paused():
        # The exchange and the runner are dropped inside the pause, so the collector never
        # has to look at their tens of thousands of order records.
        result = _run(
            bars, intents, symbol, exchange_config, size_fraction, close_at_end, progress, funding
        )
    return result


def _run(
    bars: pd.DataFrame,
    intents: list[Intent],
    symbol: str,
    exchange_config: ExchangeConfig | None,
    size_fraction: float,
    close_at_end: bool,
    progress: ProgressFn | None,
    funding: FundingSeries | None = None,
) -> BacktestResult:
    ex = VirtualExchange(exchange_config or ExchangeConfig())
    use_funding_series(ex, symbol, funding)
    initial = float(ex.balance().equity)
    runner = _Runner(ex, symbol, bars, size_fraction, progress)
    runner.run(intents)
    equity = runner.equity()
    closed = runner.close_at_end() if close_at_end else False
    if closed:
        equity[-1] = float(ex.balance().equity)
    fills = list(ex.fills(symbol))
    _label_children(ex, fills, runner.roles)
    trades = trades_from_fills(fills, runner.roles)
    return BacktestResult(
        symbol=symbol,
        bars=bars,
        equity=pd.Series(equity, index=bars.index, name="equity"),
        position=runner.qty.copy(),
        fills=fills,
        roles=runner.roles,
        trades=trades,
        initial_equity=initial,
        bars_total=len(bars),
        bars_stepped=runner.stepped,
        intents=len(intents),
        intents_ignored=runner.ignored,
        end_of_data_close=closed,
        funding=math.fsum(p.amount for p in ex.funding_payments(symbol)),
        extra={"rejections": runner.rejections},
    )


def run_strategy(
    bars_1m: pd.DataFrame,
    strategy: Strategy,
    *,
    symbol: str,
    timeframe: str = "1m",
    exchange_config: ExchangeConfig | None = None,
    size_fraction: float = 0.5,
    quantity: float | None = None,
    progress: ProgressFn | None = None,
    funding: FundingSeries | None = None,
) -> BacktestResult:
    """Compute the strategy's causal signals on ``timeframe`` bars and execute them on 1m bars.

    Positions are ``size_fraction`` of equity, or a fixed base ``quantity`` when one is given.
    """
    bars_1m = normalise_bars(bars_1m)
    signal_bars = resample(bars_1m, timeframe)
    if signal_bars.empty:
        raise BacktestInputError(f"timeframe {timeframe!r}: no complete bar in the window")
    with cyclic_gc_paused():  # the intents are tens of thousands of records too
        signals = strategy.signals(signal_bars)
        intents = intents_from_signals(bars_1m, signal_bars, signals, timeframe, quantity)
        result = run_intents(
            bars_1m,
            intents,
            symbol=symbol,
            exchange_config=exchange_config,
            size_fraction=size_fraction,
            progress=progress,
            funding=funding,
        )
        del intents
    result.signal_bars = signal_bars
    return result


def run_decisions(
    bars_1m: pd.DataFrame,
    decisions: Sequence[tuple[datetime, OrderPlan]],
    *,
    symbol: str,
    exchange_config: ExchangeConfig | None = None,
    progress: ProgressFn | None = None,
    funding: FundingSeries | None = None,
) -> BacktestResult:
    """Execute a feed of (decided_at, OrderPlan) as brackets: the meeting graph's replay path."""
    bars_1m = normalise_bars(bars_1m)
    intents = intents_from_decisions(bars_1m, decisions, symbol)
    return run_intents(
        bars_1m,
        intents,
        symbol=symbol,
        exchange_config=exchange_config,
        progress=progress,
        funding=funding,
    )
