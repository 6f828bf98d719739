"""The risk gate: a pure function that approves, shrinks or denies the meeting's decision.

It reads numbers only (never rationale, triggers or dissent text), and it can only shrink or deny:
the size comes from the rules (risk per trade / stop distance), never from the decision; leverage
is cut to ``min(limits.max_leverage, 20)``; a stop too far is pulled in; a plan that is not
acceptable as it stands is denied. Every rule that runs leaves a :class:`GateReason` with its id;
every change leaves a :class:`Clamp` with before and after.

Rules (id: pass / clamp / deny):

- ``R00_position_open``, ``R00_clock``, ``R00_market``, ``R00_p_win`` (``decisions.preconditions``,
  inputs in :class:`GateInputs`): run first; any failure denies with the R00 reasons alone.

- ``R01_symbol_allowed``: symbol (a synthetic ``SYNTH-<pair>`` as its pair) in the allow-list and
  equal to the snapshot's; else deny.
- ``R02_action``: LONG or SHORT; FLAT is denied with the reason ``no trade``.
- ``R03_confidence``: confidence >= ``min_confidence``; else deny.
- ``R04_circuit_breaker``: breaker not tripped, daily drawdown and losing streak under the
  limits; else deny.
- ``R05_entry_interval``: at least ``min_entry_interval`` since the last entry on the symbol.
- ``R14_entry_price``: MARKET uses the snapshot price as reference; LIMIT needs a positive price
  within ``max_entry_distance_atr`` ATR of the snapshot price; else deny.
- ``R15_price_tick``: limit entry, stop and take-profit are rounded to the tick, always in the
  safe direction (stop and take-profit toward the entry, a buy limit down, a sell limit up).
  Not a clamp: it is recorded as a passed reason (denied only for a price too large for the
  tick grid).
- ``R06_stop_side``: a stop-loss is given, positive, below the entry for LONG / above for SHORT.
- ``R07_stop_distance_atr``: stop distance >= ``min_stop_atr`` ATR, else deny (widening it would
  enlarge the loss per unit); > ``max_stop_atr`` ATR is CLAMPED in to ``max_stop_atr`` ATR.
- ``R08_take_profit_r``: take-profit on the profit side at >= ``min_reward_risk`` R (measured
  against the final stop); else deny. The gate never moves a take-profit.
- ``R09_leverage``: a finite leverage >= 1 (else deny); above ``min(max_leverage, 20)`` it is
  CLAMPED to that cap.
- ``R10_size_from_risk``: quantity = risk_per_trade_pct % x equity / stop distance, rounded DOWN
  to the quantity step; deny when equity <= 0 or the quantity is below the minimum order.
- ``R11_position_notional``: existing + new notional on the symbol <= ``max_position_notional_pct``
  % of equity; quantity CLAMPED down, or deny when not even the minimum order fits.
- ``R12_total_exposure``: all open notional + new <= ``max_total_exposure_pct`` % of equity; same.
- ``R13_margin_available``: new margin plus fee headroom (notional / leverage + notional x
  ``fee_headroom``) <= available; same.

Rules R01-R05 always run; the price rules run when the entry is valid; sizing runs when the
prices are valid. The verdict is DENIED when any rule failed (plan None, no clamps), CLAMPED when
anything was clamped, else APPROVED.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from decisions.account import AccountState
from decisions.circuit_breaker import breaker_reasons
from decisions.limits import RiskLimits
from decisions.market import MarketSnapshot
from decisions.preconditions import GateInputs, precondition_failures
from decisions.schema import Clamp, Decision, GateReason, GateResult, Verdict
from exchange.types import OrderPlan, OrderType, Side
from tools.symbols import trades_as

RULE_IDS: tuple[str, ...] = (
    "R01_symbol_allowed",
    "R02_action",
    "R03_confidence",
    "R04_circuit_breaker",
    "R05_entry_interval",
    "R06_stop_side",
    "R07_stop_distance_atr",
    "R08_take_profit_r",
    "R09_leverage",
    "R10_size_from_risk",
    "R11_position_notional",
    "R12_total_exposure",
    "R13_margin_available",
    "R14_entry_price",
    "R15_price_tick",
)


def _decimals(step: float) -> int:
    exp = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exp))


def _to_grid(x: float, step: float, *, up: bool) -> float:
    """``x`` on the grid of ``step``, rounded up or down (float noise on exact values ignored);
    NaN when ``x / step`` overflows."""
    q = x / step
    if not math.isfinite(q):
        return math.nan
    tol = abs(q) * 1e-12 + 1e-9
    n = math.ceil(q - tol) if up else math.floor(q + tol)
    return round(n * step, _decimals(step))


def floor_to_step(x: float, step: float) -> float:
    """Largest multiple of ``step`` not above ``x`` (0 for non-positive or non-finite ``x``)."""
    if not math.isfinite(x) or x <= 0:
        return 0.0
    y = _to_grid(x, step, up=False)
    return y if math.isfinite(y) and y > 0 else 0.0


def _finite_positive(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def _g(x: float) -> str:
    return f"{x:.10g}"


class _Trail:
    """Collects reasons and clamps in the order the rules run."""

    def __init__(self) -> None:
        self.reasons: list[GateReason] = []
        self.clamps: list[Clamp] = []

    def ok(self, rule: str, message: str) -> None:
        self.reasons.append(GateReason(rule=rule, message=message, passed=True))

    def fail(self, rule: str, message: str) -> None:
        self.reasons.append(GateReason(rule=rule, message=message, passed=False))

    def clamp(
        self, rule: str, field: str, before: float | None, after: float, message: str
    ) -> None:
        self.clamps.append(Clamp(rule=rule, field=field, before=before, after=after))
        self.reasons.append(GateReason(rule=rule, message=message, passed=True))

    @property
    def failed(self) -> bool:
        return any(not r.passed for r in self.reasons)

    def denied(self) -> GateResult:
        return GateResult(verdict="DENIED", reasons=self.reasons, clamps=[], plan=None)


def risk_gate(
    decision: Decision,
    market: MarketSnapshot | None,
    account: AccountState,
    limits: RiskLimits,
    inputs: GateInputs | None = None,
) -> GateResult:
    """Judge one decision against the limits: APPROVED, CLAMPED (with every clamp) or DENIED.

    ``market`` is None when the memo had no usable price / ATR (``R00_market`` denies)."""
    pre = inputs if inputs is not None else GateInputs()
    if market is None and not pre.market_missing:
        pre = pre.model_copy(update={"market_missing": True})
    blocked = precondition_failures(pre, limits)
    if blocked:
        return GateResult(verdict="DENIED", reasons=blocked, clamps=[], plan=None)
    assert market is not None  # R00_market denied a missing snapshot
    t = _Trail()
    if decision.action == "FLAT":
        t.fail("R02_action", "no trade")
        return t.denied()

    _check_account_rules(decision, market, account, limits, t)
    long = decision.action == "LONG"
    side = Side.BUY if long else Side.SELL
    sign = 1.0 if long else -1.0
    atr = market.atr

    # --- entry and prices -------------------------------------------------------------------
    entry_type = OrderType.MARKET if decision.entry_type == "market" else OrderType.LIMIT
    entry = _entry_price(decision, market, limits, t)
    if entry is None:
        return t.denied()
    stop, take = decision.stop_loss, decision.take_profit
    tick = market.price_tick
    if tick is not None:
        entry, stop, take = _round_prices(entry_type, long, entry, stop, take, tick, t)
        if t.failed and t.reasons[-1].rule == "R15_price_tick":
            return t.denied()

    stop = _check_stop(long, sign, entry, stop, atr, tick, limits, t)
    if stop is None:
        return t.denied()
    dist = sign * (entry - stop)
    if not _check_take_profit(sign, entry, take, dist, limits, t):
        return t.denied()
    assert take is not None

    # --- leverage and size ------------------------------------------------------------------
    leverage = _check_leverage(decision.leverage, limits, t)
    if leverage is None or t.failed:
        return t.denied()
    quantity = _size(entry, dist, leverage, decision.symbol, market, account, limits, t)
    if quantity is None or t.failed:
        return t.denied()

    notional = quantity * entry
    plan = OrderPlan(
        symbol=decision.symbol,
        side=side,
        quantity=quantity,
        leverage=leverage,
        entry_type=entry_type,
        entry_price=entry,
        stop_loss=stop,
        take_profit=take,
        notional=notional,
        risk_amount=quantity * dist,
    )
    verdict: Verdict = "CLAMPED" if t.clamps else "APPROVED"
    return GateResult(verdict=verdict, reasons=t.reasons, clamps=t.clamps, plan=plan)


def _check_account_rules(
    decision: Decision,
    market: MarketSnapshot,
    account: AccountState,
    limits: RiskLimits,
    t: _Trail,
) -> None:
    """R01-R05: the rules that do not depend on the prices. All run, so all failures show."""
    sym = decision.symbol
    if trades_as(sym) not in limits.allowed_symbols:
        t.fail("R01_symbol_allowed", f"{sym!r} is not in the allow-list")
    elif sym != market.symbol:
        t.fail("R01_symbol_allowed", f"market snapshot is for {market.symbol}, decision for {sym}")
    else:
        pair = trades_as(sym)
        t.ok(
            "R01_symbol_allowed",
            f"{sym} is allowed" + (f" (synthetic {pair})" if pair != sym else ""),
        )

    t.ok("R02_action", decision.action)

    if decision.confidence < limits.min_confidence:
        t.fail(
            "R03_confidence",
            f"confidence {_g(decision.confidence)} < minimum {_g(limits.min_confidence)}",
        )
    else:
        t.ok(
            "R03_confidence",
            f"confidence {_g(decision.confidence)} >= minimum {_g(limits.min_confidence)}",
        )

    why = breaker_reasons(
        at=market.at,
        equity=account.equity,
        day_start_equity=account.day_start_equity,
        consecutive_losses=account.consecutive_losses,
        tripped_until=account.breaker_until,
        limits=limits,
    )
    if why:
        t.fail("R04_circuit_breaker", "; ".join(why))
    else:
        t.ok("R04_circuit_breaker", "breaker closed")

    last = account.last_entry_at.get(sym)
    if last is not None and market.at - last < limits.min_entry_interval:
        t.fail(
            "R05_entry_interval",
            f"last entry on {sym} {market.at - last} ago < minimum {limits.min_entry_interval}",
        )
    else:
        t.ok("R05_entry_interval", f"no entry on {sym} within {limits.min_entry_interval}")


def _entry_price(
    decision: Decision, market: MarketSnapshot, limits: RiskLimits, t: _Trail
) -> float | None:
    """R14: the reference entry price (snapshot price for MARKET, the limit for LIMIT)."""
    if decision.entry_type == "market":
        t.ok("R14_entry_price", f"market entry, reference price {_g(market.price)}")
        return market.price
    limit = decision.entry
    if limit is None or not _finite_positive(limit):
        t.fail("R14_entry_price", f"limit entry needs a positive price, got {limit}")
        return None
    away = abs(limit - market.price) / market.atr
    if away > limits.max_entry_distance_atr:
        t.fail(
            "R14_entry_price",
            f"limit {_g(limit)} is {away:.4g} ATR from price {_g(market.price)} "
            f"> maximum {_g(limits.max_entry_distance_atr)} ATR",
        )
        return None
    t.ok("R14_entry_price", f"limit {_g(limit)} is {away:.4g} ATR from price {_g(market.price)}")
    return limit


def _round_prices(
    entry_type: OrderType,
    long: bool,
    entry: float,
    stop: float | None,
    take: float | None,
    tick: float,
    t: _Trail,
) -> tuple[float, float | None, float | None]:
    """R15: prices onto the tick, each in the direction that takes no extra risk."""
    changes: list[str] = []
    off_grid: list[str] = []

    def snap(name: str, x: float | None, up: bool) -> float | None:
        if x is None or not _finite_positive(x):
            return x
        y = _to_grid(x, tick, up=up)
        if not math.isfinite(y):
            off_grid.append(f"{name} {_g(x)}")
            return x
        if y != x:
            changes.append(f"{name} {_g(x)} -> {_g(y)}")
        return y

    if entry_type is OrderType.LIMIT:
        entry = snap("entry", entry, up=not long) or entry
    stop = snap("stop_loss", stop, up=long)  # toward the entry: a long's stop up, a short's down
    take = snap("take_profit", take, up=not long)  # toward the entry as well
    if off_grid:
        t.fail("R15_price_tick", f"{', '.join(off_grid)} cannot be put on tick {_g(tick)}")
    else:
        detail = ", ".join(changes) if changes else "prices on tick"
        t.ok("R15_price_tick", f"{detail} (tick {_g(tick)})")
    return entry, stop, take


def _check_stop(
    long: bool,
    sign: float,
    entry: float,
    stop: float | None,
    atr: float,
    tick: float | None,
    limits: RiskLimits,
    t: _Trail,
) -> float | None:
    """R06 (side) and R07 (distance in ATR). Returns the stop to use, or None on deny."""
    want = "below" if long else "above"
    if stop is None or not _finite_positive(stop):
        t.fail("R06_stop_side", f"a positive stop-loss is required, got {stop}")
        return None
    if sign * (entry - stop) <= 0:
        t.fail("R06_stop_side", f"stop {_g(stop)} must be {want} entry {_g(entry)}")
        return None
    t.ok("R06_stop_side", f"stop {_g(stop)} is {want} entry {_g(entry)}")

    d_atr = sign * (entry - stop) / atr
    if d_atr < limits.min_stop_atr:
        t.fail(
            "R07_stop_distance_atr",
            f"stop {d_atr:.4g} ATR from entry < minimum {_g(limits.min_stop_atr)} ATR",
        )
        return None
    new = entry - sign * limits.max_stop_atr * atr
    if tick is not None:
        new = _to_grid(new, tick, up=long)
    # float noise (a stop a few ulps beyond the band) is not worth a clamp that changes nothing
    if d_atr > limits.max_stop_atr * (1 + 1e-12) and new != stop:
        new_atr = sign * (entry - new) / atr
        if not (sign * (entry - new) > 0 and new_atr >= limits.min_stop_atr and new > 0):
            t.fail(
                "R07_stop_distance_atr",
                f"stop {d_atr:.4g} ATR from entry > maximum {_g(limits.max_stop_atr)} ATR "
                "and cannot be tightened on the tick",
            )
            return None
        t.clamp(
            "R07_stop_distance_atr",
            "stop_loss",
            stop,
            new,
            f"stop {d_atr:.4g} ATR from entry > maximum {_g(limits.max_stop_atr)} ATR: "
            f"tightened {_g(stop)} -> {_g(new)}",
        )
        return new
    t.ok(
        "R07_stop_distance_atr",
        f"stop {d_atr:.4g} ATR from entry, within "
        f"{_g(limits.min_stop_atr)}..{_g(limits.max_stop_atr)} ATR",
    )
    return stop


def _check_take_profit(
    sign: float, entry: float, take: float | None, dist: float, limits: RiskLimits, t: _Trail
) -> bool:
    """R08: the take-profit on the profit side and at least ``min_reward_risk`` R away."""
    if take is None or not _finite_positive(take):
        t.fail("R08_take_profit_r", f"a positive take-profit is required, got {take}")
        return False
    reward = sign * (take - entry)
    if reward <= 0:
        where = "above" if sign > 0 else "below"
        t.fail("R08_take_profit_r", f"take-profit {_g(take)} must be {where} entry {_g(entry)}")
        return False
    r = reward / dist
    if r < limits.min_reward_risk:
        t.fail(
            "R08_take_profit_r",
            f"take-profit at {r:.4g} R < minimum {_g(limits.min_reward_risk)} R",
        )
        return False
    t.ok("R08_take_profit_r", f"take-profit at {r:.4g} R >= {_g(limits.min_reward_risk)} R")
    return True


def _check_leverage(asked: float, limits: RiskLimits, t: _Trail) -> float | None:
    """R09: leverage at least 1 and at most ``min(max_leverage, 20)``."""
    cap = limits.leverage_cap
    if not math.isfinite(asked):
        t.fail("R09_leverage", f"leverage {asked} is not a finite number")
        return None
    if not asked >= 1.0:
        t.fail("R09_leverage", f"leverage {_g(asked)} < 1")
        return None
    if asked > cap:
        t.clamp(
            "R09_leverage",
            "leverage",
            asked,
            cap,
            f"leverage {_g(asked)} > cap {_g(cap)}: clamped to {_g(cap)}",
        )
        return cap
    t.ok("R09_leverage", f"leverage {_g(asked)} <= cap {_g(cap)}")
    return asked


def _size(
    entry: float,
    dist: float,
    leverage: float,
    symbol: str,
    market: MarketSnapshot,
    account: AccountState,
    limits: RiskLimits,
    t: _Trail,
) -> float | None:
    """R10-R13: quantity from the risk budget, then cut by position, exposure and margin."""
    step = market.qty_step
    equity = account.equity
    if equity <= 0:
        t.fail("R10_size_from_risk", f"equity {_g(equity)} <= 0: nothing to risk")
        return None
    budget = limits.risk_per_trade_pct / 100.0 * equity
    qty = floor_to_step(budget / dist, step)
    least = max(step, market.min_quantity)
    if qty < least:
        t.fail(
            "R10_size_from_risk",
            f"quantity {_g(qty)} from risk budget {_g(budget)} / stop distance {_g(dist)} "
            f"is below the minimum order {_g(least)}",
        )
        return None
    t.ok(
        "R10_size_from_risk",
        f"quantity {_g(qty)} = {_g(limits.risk_per_trade_pct)}% of equity {_g(equity)} "
        f"/ stop distance {_g(dist)}, step {_g(step)}",
    )

    existing = account.open_notional.get(symbol, 0.0)
    caps: list[tuple[str, float, Callable[[float], str]]] = [
        (
            "R11_position_notional",
            limits.max_position_notional_pct / 100.0 * equity - existing,
            lambda room: f"{symbol} notional (open {_g(existing)}) room {_g(room)}",
        ),
        (
            "R12_total_exposure",
            limits.max_total_exposure_pct / 100.0 * equity - account.total_notional,
            lambda room: f"total exposure (open {_g(account.total_notional)}) room {_g(room)}",
        ),
        (
            "R13_margin_available",
            account.available / (1.0 / leverage + limits.fee_headroom),
            lambda room: (
                f"margin available {_g(account.available)} at leverage {_g(leverage)} "
                f"(fee headroom {_g(limits.fee_headroom)})"
            ),
        ),
    ]
    for rule, room, what in caps:
        max_qty = floor_to_step(room / entry, step)
        if qty <= max_qty:
            t.ok(rule, f"notional {_g(qty * entry)} fits {what(room)}")
            continue
        if max_qty < least:
            t.fail(rule, f"no room for the minimum order {_g(least)}: {what(room)}")
            return None
        t.clamp(
            rule,
            "quantity",
            qty,
            max_qty,
            f"notional {_g(qty * entry)} exceeds {what(room)}: quantity {_g(qty)} -> {_g(max_qty)}",
        )
        qty = max_qty
    return qty
