"""Property tests: no decision, however absurd, gets an order outside the limits.

Fixed hypothesis profile (derandomized, no deadline) so the suite is deterministic.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.account import AccountState
from decisions.limits import HARD_MAX_LEVERAGE, RiskLimits
from decisions.market import MarketSnapshot
from decisions.risk_gate import RULE_IDS, risk_gate
from decisions.schema import Decision, GateResult
from exchange.types import Side
from tests.decisions.builders import AT, decision
from tools.symbols import ALLOWED_SYMBOLS

MAIN = settings(
    max_examples=2000,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
SMALL = settings(MAIN, max_examples=400)
REL = 1e-9


UNIT = st.floats(0.0, 1.0)
SYMBOLS = st.sampled_from(ALLOWED_SYMBOLS)
BAD = st.sets(
    st.sampled_from(
        (
            "symbol",
            "snapshot_symbol",
            "flat",
            "confidence",
            "breaker",
            "losses",
            "drawdown",
            "recent_entry",
            "entry",
            "stop",
            "stop_side",
            "stop_near",
            "stop_far",
            "take",
            "take_side",
            "take_near",
            "leverage",
            "equity",
            "tiny_equity",
            "exposure",
            "margin",
            "atr",
            "leverage_below_1",
        )
    ),
    max_size=3,
)
ABSURD_PRICE = st.sampled_from(
    [None, 0.0, -1.0, -1e12, 1e-12, 1e12, 1e300, float("nan"), float("inf"), -float("inf")]
)
ABSURD_LEVERAGE = st.sampled_from(
    [1e6, 1e300, 100.0, 20.000001, float("inf"), 0.001, 0.5, 0.999, 1e-300]
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Decision, MarketSnapshot, AccountState, RiskLimits]:
    """A plausible decision within plausible limits, then up to three absurd corruptions.

    Numbers are drawn as unit floats and scaled here (building strategies per example is slow).
    """
    bad = draw(BAD)

    def lin(lo: float, hi: float) -> float:
        return lo + draw(UNIT) * (hi - lo)

    def log(lo: float, hi: float) -> float:
        a, b = math.log10(lo), math.log10(hi)
        return min(hi, max(lo, 10.0 ** (a + draw(UNIT) * (b - a))))

    def coin() -> bool:
        return draw(st.booleans())

    min_stop = lin(0.05, 3.0)
    max_pos = lin(1.0, 1000.0)
    max_losses = 1 + int(lin(0, 5.99))
    lim = RiskLimits(
        max_leverage=log(1.0, 1e6),
        risk_per_trade_pct=lin(0.01, 10.0),
        min_stop_atr=min_stop,
        max_stop_atr=min_stop + lin(0.01, 10.0),
        min_reward_risk=lin(0.1, 5.0),
        max_position_notional_pct=max_pos,
        max_total_exposure_pct=max_pos + lin(0.0, 1000.0),
        min_confidence=lin(0.0, 1.0),
        max_consecutive_losses=max_losses,
    )

    symbol = draw(SYMBOLS)
    price = log(1e-6, 1e7)
    atr = price * (log(0.1, 5.0) if "atr" in bad else log(1e-5, 0.05))
    mkt = MarketSnapshot(
        symbol="PEPEUSDT" if "symbol" in bad else symbol,
        at=AT,
        price=price,
        atr=atr,
        qty_step=log(1e-8, 100.0) if coin() else None,
        price_tick=price * log(1e-7, 1e-3) if coin() else None,
    )
    action = "FLAT" if "flat" in bad else ("LONG" if coin() else "SHORT")
    sign = -1.0 if action == "SHORT" else 1.0
    entry_type = "limit" if coin() else "market"
    entry = (
        draw(ABSURD_PRICE)
        if "entry" in bad
        else price + lin(-1.2, 1.2) * lim.max_entry_distance_atr * atr
    )
    ref = entry if entry_type == "limit" and entry is not None and math.isfinite(entry) else price

    k_stop = lin(lim.min_stop_atr * 1.001, lim.max_stop_atr * 1.5)
    if "stop_near" in bad:
        k_stop = lim.min_stop_atr * lin(0.0, 0.999)
    if "stop_far" in bad:
        k_stop = lim.max_stop_atr * log(1.0, 1e6)
    if "stop_side" in bad:
        k_stop = -k_stop
    stop = draw(ABSURD_PRICE) if "stop" in bad else ref - sign * k_stop * atr
    r = lin(lim.min_reward_risk * 1.001, lim.min_reward_risk * 4)
    if "take_near" in bad:
        r = lim.min_reward_risk * lin(0.0, 0.999)
    if "take_side" in bad:
        r = -r
    take = draw(ABSURD_PRICE) if "take" in bad else ref + sign * r * abs(k_stop) * atr

    d = Decision(
        action=action,
        symbol=draw(SYMBOLS) if "snapshot_symbol" in bad else symbol,
        entry_type=entry_type,
        entry=entry,
        stop_loss=stop,
        take_profit=take,
        confidence=(
            lin(0.0, lim.min_confidence) * 0.999
            if "confidence" in bad
            else lin(lim.min_confidence, 1.0)
        ),
        horizon="4h",
        leverage=(
            log(1e-300, 0.999)
            if "leverage_below_1" in bad
            else draw(ABSURD_LEVERAGE)
            if "leverage" in bad
            else log(1.0, 25.0)
        ),
        main_path="",
        backup_path="",
        triggers=[],
        rationale="",
        dissent=[],
        memo_id="m",
    )

    if "equity" in bad:
        equity = -log(1e-6, 1e6) if coin() else 0.0
    elif "tiny_equity" in bad:
        equity = log(1e-6, 1.0)
    else:
        equity = log(1.0, 1e12)
    scale = 1000.0 if "exposure" in bad else 2.0
    others = {s: lin(0.0, scale) * abs(equity) for s in ALLOWED_SYMBOLS[:3] if coin()}
    dd = lim.daily_drawdown_limit_pct / 100.0
    acct = AccountState(
        equity=equity,
        available=0.0 if "margin" in bad else max(0.0, equity) * lin(0.2, 1.0),
        day_start_equity=equity
        / (1 - dd * (lin(1.0, 10.0) if "drawdown" in bad else lin(-1.0, 0.99))),
        open_notional=others,
        consecutive_losses=max_losses if "losses" in bad else int(lin(0, max_losses - 0.01)),
        last_entry_at=(
            {d.symbol: AT - timedelta(minutes=int(lin(0, 14.9)))}
            if "recent_entry" in bad
            else ({d.symbol: AT - lim.min_entry_interval} if coin() else {})
        ),
        breaker_until=(
            AT + timedelta(minutes=1 + int(lin(0, 600)))
            if "breaker" in bad
            else (AT if coin() else None)
        ),
    )
    return d, mkt, acct, lim


def assert_within_limits(
    d: Decision, m: MarketSnapshot, a: AccountState, lim: RiskLimits, res: GateResult
) -> None:
    assert (res.plan is None) == (res.verdict == "DENIED")
    assert (res.verdict == "CLAMPED") == bool(res.clamps)
    if res.plan is None:
        assert any(not r.passed for r in res.reasons)
        return
    p = res.plan
    assert all(r.passed for r in res.reasons)
    # who, when, how sure
    assert p.symbol == d.symbol == m.symbol and p.symbol in lim.allowed_symbols
    assert d.action in ("LONG", "SHORT")
    assert p.side == (Side.BUY if d.action == "LONG" else Side.SELL)
    assert d.confidence >= lim.min_confidence
    assert a.breaker_until is None or m.at >= a.breaker_until
    assert a.consecutive_losses < lim.max_consecutive_losses
    last = a.last_entry_at.get(p.symbol)
    assert last is None or m.at - last >= lim.min_entry_interval
    # leverage: never above the cap, never above what was asked
    assert 1.0 <= p.leverage <= min(lim.max_leverage, HARD_MAX_LEVERAGE)
    assert p.leverage <= d.leverage
    # prices: stop and take-profit on their sides, stop within the ATR band, TP at >= min R
    entry = p.entry_price
    assert entry is not None and entry > 0
    sign = 1.0 if p.side == Side.BUY else -1.0
    dist = sign * (entry - p.stop_loss)
    assert dist > 0 and p.stop_loss > 0 and p.take_profit > 0
    assert lim.min_stop_atr * m.atr * (1 - REL) <= dist <= lim.max_stop_atr * m.atr * (1 + REL)
    assert sign * (p.take_profit - entry) / dist >= lim.min_reward_risk * (1 - REL)
    # size: on the step, at least the minimum order, risk within budget
    assert p.quantity >= max(m.qty_step, m.min_quantity) * (1 - REL)
    steps = p.quantity / m.qty_step
    assert abs(steps - round(steps)) <= 1e-6 * max(1.0, steps)
    budget = lim.risk_per_trade_pct / 100.0 * a.equity
    assert p.risk_amount <= budget * (1 + REL) + m.qty_step * dist * 1e-6
    assert math.isclose(p.risk_amount, p.quantity * dist, rel_tol=1e-12)
    # exposure: position, total, margin
    assert math.isclose(p.notional, p.quantity * entry, rel_tol=1e-12)
    room_pos = lim.max_position_notional_pct / 100.0 * a.equity
    assert a.open_notional.get(p.symbol, 0.0) + p.notional <= room_pos * (1 + REL)
    room_tot = lim.max_total_exposure_pct / 100.0 * a.equity
    assert a.total_notional + p.notional <= room_tot * (1 + REL)
    assert p.notional / p.leverage + p.notional * lim.fee_headroom <= a.available * (1 + REL)
    # a limit stays a limit at the decision's price (maybe rounded in the safe direction)
    if d.entry_type == "limit":
        assert d.entry is not None and abs(entry - d.entry) <= (m.price_tick or 0.0) + 1e-12
    # every clamp shrank something
    for c in res.clamps:
        assert c.before is not None and c.after is not None
        if c.field in ("quantity", "leverage"):
            assert c.after < c.before
        elif c.field == "stop_loss":
            assert sign * (entry - c.after) < sign * (entry - c.before)
        else:  # pragma: no cover - a new clamp kind must be added to this test
            raise AssertionError(f"unexpected clamp {c}")


@MAIN
@given(scenarios())
def test_no_plan_outside_the_limits(
    s: tuple[Decision, MarketSnapshot, AccountState, RiskLimits],
) -> None:
    d, m, a, lim = s
    res = risk_gate(d, m, a, lim)
    assert_within_limits(d, m, a, lim, res)
    assert risk_gate(d, m, a, lim) == res  # same inputs, same result


@SMALL
@given(scenarios(), st.floats(0.0, 1.0))
def test_tighter_risk_never_buys_more(
    s: tuple[Decision, MarketSnapshot, AccountState, RiskLimits], k: float
) -> None:
    """Lower risk per trade, more open exposure or less leverage asked: never a larger order."""
    d, m, a, lim = s
    base = risk_gate(d, m, a, lim)
    tighter = [
        (d, a, lim.model_copy(update={"risk_per_trade_pct": lim.risk_per_trade_pct * k})),
        (
            d,
            a.model_copy(
                update={
                    "open_notional": {
                        s_: n + k * 1000.0 for s_, n in {d.symbol: 0.0, **a.open_notional}.items()
                    }
                }
            ),
            lim,
        ),
        (d.model_copy(update={"leverage": max(1.0, d.leverage * k)}), a, lim),
    ]
    for d2, a2, lim2 in tighter:
        if lim2.risk_per_trade_pct <= 0:
            continue
        res = risk_gate(d2, m, a2, lim2)
        if base.plan is None:
            continue
        if res.plan is not None:
            assert res.plan.quantity <= base.plan.quantity * (1 + REL)
            assert res.plan.leverage <= base.plan.leverage


@SMALL
@given(scenarios(), st.floats(0.0, 1.0))
def test_confidence_above_the_minimum_does_not_change_the_plan(
    s: tuple[Decision, MarketSnapshot, AccountState, RiskLimits], c: float
) -> None:
    """Confidence gates (R03) but never sizes: a surer agent gets no bigger order."""
    d, m, a, lim = s
    c = max(c, lim.min_confidence)
    r1 = risk_gate(d.model_copy(update={"confidence": c}), m, a, lim)
    r2 = risk_gate(d.model_copy(update={"confidence": 1.0}), m, a, lim)
    assert r1.plan == r2.plan


@SMALL
@given(st.floats(1.0, 1e6), st.floats(1.0, 1e6))
def test_leverage_cap_cannot_be_configured_away(asked: float, configured: float) -> None:
    lim = RiskLimits(max_leverage=configured)
    res = risk_gate(decision(leverage=asked), _market(), _account(), lim)
    assert res.plan is not None
    assert res.plan.leverage == min(asked, configured, HARD_MAX_LEVERAGE)


def _market(**kw: Any) -> MarketSnapshot:
    return MarketSnapshot(**{"symbol": "BTCUSDT", "at": AT, "price": 30000.0, "atr": 150.0, **kw})


def _account() -> AccountState:
    return AccountState(equity=10_000.0, available=10_000.0, day_start_equity=10_000.0)


def test_the_scenarios_reach_every_rule() -> None:
    """Guard against a vacuous property: plenty of plans, and every rule denies or clamps."""
    verdicts: Counter[str] = Counter()
    denied_by: Counter[str] = Counter()
    clamped_by: Counter[str] = Counter()

    @settings(MAIN, max_examples=1000)
    @given(scenarios())
    def sample(s: tuple[Decision, MarketSnapshot, AccountState, RiskLimits]) -> None:
        res = risk_gate(*s)
        verdicts[res.verdict] += 1
        denied_by.update(r.rule for r in res.reasons if not r.passed)
        clamped_by.update(c.rule for c in res.clamps)

    sample()
    total = sum(verdicts.values())
    assert verdicts["APPROVED"] + verdicts["CLAMPED"] >= 0.2 * total, verdicts
    assert verdicts["APPROVED"] > 0 and verdicts["DENIED"] > 0
    missing = set(RULE_IDS) - {"R15_price_tick"} - set(denied_by)
    assert not missing, (missing, denied_by)
    assert set(clamped_by) == {
        "R07_stop_distance_atr",
        "R09_leverage",
        "R11_position_notional",
        "R12_total_exposure",
        "R13_margin_available",
    }, clamped_by
