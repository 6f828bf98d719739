"""Pure performance metrics: trades from fills (FIFO), equity statistics, the hold benchmark.

Every formula is written out in ``backtest/METRICS.md``; the tests in
``tests/backtest/test_metrics.py`` check them on hand-made curves and trade lists. Nothing here
does I/O or reads a clock; the same inputs always give the same numbers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from backtest.line_names import HOLD_BENCHMARK
from tools.timeutil import iso

#: Crypto trades every day of the year.
DAYS_PER_YEAR = 365
_NS_PER_DAY = 86_400 * 10**9
_EPS = 1e-12


class FillLike(Protocol):
    """The fields of ``exchange.types.Fill`` the trade builder reads."""

    order_id: str
    symbol: str
    side: Any
    quantity: float
    price: float
    fee: float
    slippage: float
    ts: datetime
    realized_pnl: float  # gross FIFO PnL the exchange booked on this fill (0 when opening)


@dataclass(frozen=True)
class OrderRole:
    """Why the engine placed an order: the exit reason and initial stop of the trades it makes."""

    role: str  # "entry", "signal", "stop_loss", "take_profit", "end_of_data"
    initial_stop: float | None = None


@dataclass(frozen=True)
class Trade:
    """One FIFO round trip: a lot opened by one fill and closed (wholly or partly) by another."""

    trade_id: int
    symbol: str
    side: str  # LONG or SHORT
    entry_ts: str
    exit_ts: str
    quantity: float
    entry_price: float
    exit_price: float
    entry_fee: float
    exit_fee: float
    fees: float
    slippage_cost: float
    gross_pnl: float
    net_pnl: float
    return_pct: float
    initial_stop: float | None
    r_multiple: float | None
    exit_reason: str
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Lot:
    qty: float  # signed: > 0 long, < 0 short
    price: float
    fee_per_unit: float
    slip_per_unit: float
    ts: datetime
    initial_stop: float | None
    entry_iso: str = ""  # iso(ts), formatted once when the lot opens
    entry_ns: int = 0  # ts in epoch ns


def _trade(values: dict[str, Any]) -> Trade:
    """A ``Trade`` from its fields in declaration order, built as the frozen dataclass's
    ``__init__`` would but with one attribute store instead of nineteen ``object.__setattr__``
    calls (a backtest builds ~10^4)."""
    t = object.__new__(Trade)
    object.__setattr__(t, "__dict__", values)
    return t


def _side_sign(side: Any) -> float:
    if side == "BUY":  # exchange.types.Side is a StrEnum: Side.BUY == "BUY"
        return 1.0
    return 1.0 if str(getattr(side, "value", side)).upper() == "BUY" else -1.0


def trades_from_fills(
    fills: Iterable[FillLike], roles: Mapping[str, OrderRole] | None = None
) -> list[Trade]:
    """Pair fills into round trips, first in first out, per symbol.

    The money comes from the exchange, the pairing from here: a closing fill's gross PnL is its
    ``realized_pnl`` as the exchange booked it (so a liquidation's loss is capped at the margin
    exactly as the wallet was), shared over the lots it closes. The FIFO lot matching only says
    which entry each piece belongs to (times, prices, initial stop). Entry fees are charged to
    the lot pro rata to the quantity closed; exit fees pro rata to the quantity of the closing
    fill used. ``slippage`` on a fill is its quote-currency cost against the reference price
    (open, trigger or limit), also shared pro rata.
    """
    roles = roles or {}
    books: dict[str, deque[_Lot]] = {}
    trades: list[Trade] = []
    fills = list(fills)
    times_ns = epoch_ns([f.ts for f in fills])
    times_iso = iso_many(times_ns)
    for f, f_ns, f_iso in zip(fills, times_ns, times_iso, strict=True):
        role = roles.get(f.order_id)
        lots = books.setdefault(f.symbol, deque())
        sign = _side_sign(f.side)
        remaining = float(f.quantity)
        fee_per_unit = f.fee / f.quantity if f.quantity else 0.0
        slip_per_unit = float(f.slippage or 0.0) / f.quantity if f.quantity else 0.0
        pieces: list[tuple[_Lot, float, float]] = []  # (lot, quantity closed, direction)
        while remaining > _EPS and lots and (lots[0].qty > 0) != (sign > 0):
            lot = lots[0]
            qty = min(remaining, abs(lot.qty))
            direction = 1.0 if lot.qty > 0 else -1.0
            pieces.append((lot, qty, direction))
            lot.qty -= qty * direction
            remaining -= qty
            if abs(lot.qty) <= _EPS * max(1.0, qty):
                lots.popleft()
        if pieces:
            grosses = closed_pnl_split(
                [(f.price - lot.price) * qty * d for lot, qty, d in pieces],
                [qty for _, qty, _ in pieces],
                float(f.realized_pnl),
            )
            exit_iso, exit_ns = f_iso, f_ns
            for (lot, qty, direction), gross in zip(pieces, grosses, strict=True):
                entry_fee = lot.fee_per_unit * qty
                exit_fee = fee_per_unit * qty
                net = gross - entry_fee - exit_fee
                risk = (
                    abs(lot.price - lot.initial_stop) * qty if lot.initial_stop is not None else 0.0
                )
                trades.append(
                    _trade(
                        {
                            "trade_id": len(trades) + 1,
                            "symbol": f.symbol,
                            "side": "LONG" if direction > 0 else "SHORT",
                            "entry_ts": lot.entry_iso,
                            "exit_ts": exit_iso,
                            "quantity": qty,
                            "entry_price": lot.price,
                            "exit_price": f.price,
                            "entry_fee": entry_fee,
                            "exit_fee": exit_fee,
                            "fees": entry_fee + exit_fee,
                            "slippage_cost": (lot.slip_per_unit + slip_per_unit) * qty,
                            "gross_pnl": gross,
                            "net_pnl": net,
                            "return_pct": 100.0 * net / (lot.price * qty),
                            "initial_stop": lot.initial_stop,
                            "r_multiple": net / risk if risk > 0 else None,
                            "exit_reason": role.role if role else "other",
                            "duration_s": (exit_ns - lot.entry_ns) / 1e9,
                        }
                    )
                )
        if remaining > _EPS:
            lots.append(
                _Lot(
                    qty=sign * remaining,
                    price=f.price,
                    fee_per_unit=fee_per_unit,
                    slip_per_unit=slip_per_unit,
                    ts=f.ts,
                    initial_stop=role.initial_stop if role else None,
                    entry_iso=f_iso,
                    entry_ns=f_ns,
                )
            )
    return trades


def epoch_ns(times: list[datetime]) -> list[int]:
    """UTC epoch nanoseconds of each time (a naive time is taken as UTC, as ``iso`` does)."""
    try:
        return [t.value for t in times]  # type: ignore[attr-defined]  # pd.Timestamp: the usual case
    except AttributeError:
        return [pd.Timestamp(t).value for t in times]


def iso_many(times_ns: list[int]) -> list[str]:
    """``iso`` of many epoch-ns times in one vectorised call (a backtest formats ~10^5)."""
    if not times_ns:
        return []
    stamps = np.asarray(times_ns, dtype=np.int64).view("M8[ns]")
    return [t + "Z" for t in np.datetime_as_string(stamps, unit="s").tolist()]


def closed_pnl_split(by_price: list[float], quantities: list[float], booked: float) -> list[float]:
    """Share a closing fill's booked gross PnL over the lots it closed.

    Each lot gets its price PnL ``d x (P_out - P_in) x q`` plus a share, pro rata to ``q``, of
    whatever the exchange booked differently (a liquidation capped at the margin; float noise
    otherwise), so the pieces always add up to ``booked``: the wallet's number, not ours.
    """
    if len(by_price) == 1:
        return [booked]
    gap = booked - math.fsum(by_price)
    total_qty = math.fsum(quantities)
    return [p + gap * q / total_qty for p, q in zip(by_price, quantities, strict=True)]


def _finite(x: float | None) -> float | None:
    """JSON has no NaN or infinity: an undefined metric is ``None``."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def drawdown(equity: pd.Series) -> dict[str, Any]:
    """Max drawdown (fraction and currency) with its peak, trough and recovery, and the longest
    time spent under a previous peak. ``equity`` is indexed by bar time."""
    if equity.empty:
        return {"max_drawdown_pct": 0.0, "max_drawdown_abs": 0.0}
    values = equity.to_numpy(dtype=np.float64)
    ts = equity.index
    peak = np.maximum.accumulate(values)
    dd_abs = peak - values
    dd_frac = np.where(peak > 0, dd_abs / peak, 0.0)
    trough = int(np.argmax(dd_frac))
    peak_at = int(np.flatnonzero(values[: trough + 1] == peak[trough])[0])
    recovered = np.flatnonzero(values[trough:] >= peak[trough])
    recovery_at = trough + int(recovered[0]) if recovered.size and dd_frac[trough] > 0 else None

    # Longest underwater spell: from a peak to the first bar back at or above it (or the end).
    under = dd_abs > 0
    longest = 0.0
    start: int | None = None
    ts_ns = pd.DatetimeIndex(ts).as_unit("ns").asi8
    for i in np.flatnonzero(np.diff(np.concatenate(([0], under.astype(np.int8), [0])))):
        if start is None:
            start = max(int(i) - 1, 0)
        else:
            end = min(int(i), len(values) - 1)
            longest = max(longest, (ts_ns[end] - ts_ns[start]) / 1e9)
            start = None
    return {
        "max_drawdown_pct": float(100.0 * dd_frac[trough]),
        "max_drawdown_abs": float(dd_abs.max()),
        "max_drawdown_peak": iso(ts[peak_at]) if dd_frac[trough] > 0 else None,
        "max_drawdown_trough": iso(ts[trough]) if dd_frac[trough] > 0 else None,
        "max_drawdown_recovery": iso(ts[recovery_at]) if recovery_at is not None else None,
        "max_drawdown_duration_days": longest / 86_400.0,
    }


def daily_returns(equity: pd.Series, initial: float) -> pd.Series:
    """Simple returns of the UTC end-of-day equity; the first day is measured from ``initial``."""
    daily = equity.resample("1D").last().dropna()
    prev = pd.concat([pd.Series([initial]), pd.Series(daily.to_numpy()[:-1])], ignore_index=True)
    return pd.Series(daily.to_numpy() / prev.to_numpy() - 1.0, index=daily.index)


def sharpe(returns: pd.Series) -> float | None:
    """mean / sample std of daily returns × √365 (risk-free rate 0)."""
    if len(returns) < 2:
        return None
    sd = float(returns.std(ddof=1))
    return _finite(float(returns.mean()) / sd * math.sqrt(DAYS_PER_YEAR)) if sd > 0 else None


def sortino(returns: pd.Series) -> float | None:
    """mean / downside deviation of daily returns × √365; downside = √mean(min(r, 0)²)."""
    if len(returns) < 2:
        return None
    down = math.sqrt(float(np.mean(np.minimum(returns.to_numpy(), 0.0) ** 2)))
    return _finite(float(returns.mean()) / down * math.sqrt(DAYS_PER_YEAR)) if down > 0 else None


def cagr(initial: float, final: float, days: float) -> float | None:
    """Compound annual growth, in %: (final / initial)^(365 / days) − 1."""
    if initial <= 0 or final <= 0 or days <= 0:
        return None
    try:
        return _finite(100.0 * ((final / initial) ** (DAYS_PER_YEAR / days) - 1.0))
    except OverflowError:
        return None


def trade_stats(trades: list[Trade]) -> dict[str, Any]:
    """Win rate, average win and loss, profit factor (currency), expectancy (currency and R)."""
    pnl = np.array([t.net_pnl for t in trades], dtype=np.float64)
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    r = np.array([t.r_multiple for t in trades if t.r_multiple is not None], dtype=np.float64)
    gross_loss = float(-losses.sum())
    by_reason: dict[str, int] = {}
    for t in trades:
        by_reason[t.exit_reason] = by_reason.get(t.exit_reason, 0) + 1
    return {
        "trades": len(trades),
        "win_rate_pct": 100.0 * len(wins) / len(pnl) if len(pnl) else None,
        "avg_win": float(wins.mean()) if len(wins) else None,
        "avg_loss": float(losses.mean()) if len(losses) else None,
        "best_trade": float(pnl.max()) if len(pnl) else None,
        "worst_trade": float(pnl.min()) if len(pnl) else None,
        "profit_factor": _finite(float(wins.sum()) / gross_loss) if gross_loss > 0 else None,
        "expectancy": float(pnl.mean()) if len(pnl) else None,
        "expectancy_r": float(r.mean()) if len(r) else None,
        "net_pnl": float(pnl.sum()),
        "fees": float(sum(t.fees for t in trades)),
        "slippage_cost": float(sum(t.slippage_cost for t in trades)),
        "exit_reasons": dict(sorted(by_reason.items())),
    }


def hold_benchmark(bars: pd.DataFrame, initial: float) -> dict[str, Any]:
    """Holding the symbol from the first open to the last close, no fees: the benchmark (not the
    ``buy_and_hold`` strategy, which trades; see ``backtest.line_names``)."""
    if bars.empty:
        return {"return_pct": None}
    first_open = float(bars["open"].iloc[0])
    curve = initial * bars["close"] / first_open
    days = _span_days(curve.index)
    dd = drawdown(curve)
    ret = daily_returns(curve, initial)
    return {
        "return_pct": 100.0 * (float(bars["close"].iloc[-1]) / first_open - 1.0),
        "cagr_pct": cagr(initial, float(curve.iloc[-1]), days),
        "max_drawdown_pct": dd["max_drawdown_pct"],
        "sharpe": sharpe(ret),
    }


def _span_days(idx: pd.Index) -> float:
    """Days covered by 1m-or-coarser bars: first open to last close (one bar step added)."""
    index = pd.DatetimeIndex(idx)
    if len(index) == 0:
        return 0.0
    step = (index[1] - index[0]) if len(index) > 1 else pd.Timedelta(minutes=1)
    return float((index[-1] - index[0] + step).value) / _NS_PER_DAY


def summary(
    equity: pd.Series,
    position: np.ndarray,
    trades: list[Trade],
    fill_notional: float,
    initial: float,
    bars: pd.DataFrame,
) -> dict[str, Any]:
    """The headline metrics of one run (see METRICS.md); every value JSON-safe."""
    final = float(equity.iloc[-1]) if len(equity) else initial
    days = _span_days(equity.index)
    ret = daily_returns(equity, initial) if len(equity) else pd.Series(dtype=float)
    dd = drawdown(equity)
    growth = cagr(initial, final, days)
    calmar = (
        _finite(growth / dd["max_drawdown_pct"])
        if growth is not None and dd["max_drawdown_pct"] > 0
        else None
    )
    out: dict[str, Any] = {
        "initial_equity": initial,
        "final_equity": final,
        "total_return_pct": 100.0 * (final / initial - 1.0),
        "days": days,
        "cagr_pct": growth,
        "sharpe": sharpe(ret),
        "sortino": sortino(ret),
        "calmar": calmar,
        **dd,
        "exposure_pct": 100.0 * float(np.mean(position != 0)) if len(position) else 0.0,
        "turnover": fill_notional / float(equity.mean()) if len(equity) else 0.0,
        **trade_stats(trades),
        HOLD_BENCHMARK: hold_benchmark(bars, initial),
    }
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in out.items()}
