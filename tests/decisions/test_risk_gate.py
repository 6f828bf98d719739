"""Each gate rule's pass, clamp and deny, with the exact reason it leaves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from decisions.risk_gate import RULE_IDS, floor_to_step, risk_gate
from decisions.schema import Clamp
from exchange.types import OrderType, Side
from tests.decisions.builders import AT, account, decision, limits, market

# (case id, decision kw, market kw, account kw, limits kw, verdict, rule, passed, message, clamps)
CASES: list[tuple[str, dict, dict, dict, dict, str, str, bool, str, list[Clamp]]] = [
    ("R01 pass", {}, {}, {}, {}, "APPROVED", "R01_symbol_allowed", True, "BTCUSDT is allowed", []),
    (
        "R01 deny unknown symbol",
        {"symbol": "PEPEUSDT"},
        {"symbol": "PEPEUSDT"},
        {},
        {},
        "DENIED",
        "R01_symbol_allowed",
        False,
        "'PEPEUSDT' is not in the allow-list",
        [],
    ),
    (
        "R01 deny symbol outside configured list",
        {},
        {},
        {},
        {"allowed_symbols": ("ETHUSDT",)},
        "DENIED",
        "R01_symbol_allowed",
        False,
        "'BTCUSDT' is not in the allow-list",
        [],
    ),
    (
        "R01 pass synthetic series of an allowed pair",
        {"symbol": "SYNTH-BTCUSDT"},
        {"symbol": "SYNTH-BTCUSDT"},
        {},
        {},
        "APPROVED",
        "R01_symbol_allowed",
        True,
        "SYNTH-BTCUSDT is allowed (synthetic BTCUSDT)",
        [],
    ),
    (
        "R01 deny synthetic series of a pair outside the configured list",
        {"symbol": "SYNTH-BTCUSDT"},
        {"symbol": "SYNTH-BTCUSDT"},
        {},
        {"allowed_symbols": ("ETHUSDT",)},
        "DENIED",
        "R01_symbol_allowed",
        False,
        "'SYNTH-BTCUSDT' is not in the allow-list",
        [],
    ),
    (
        "R01 deny synthetic series of an unknown pair",
        {"symbol": "SYNTH-PEPEUSDT"},
        {"symbol": "SYNTH-PEPEUSDT"},
        {},
        {},
        "DENIED",
        "R01_symbol_allowed",
        False,
        "'SYNTH-PEPEUSDT' is not in the allow-list",
        [],
    ),
    (
        "R01 deny snapshot of another symbol",
        {"symbol": "ETHUSDT"},
        {},
        {},
        {},
        "DENIED",
        "R01_symbol_allowed",
        False,
        "market snapshot is for BTCUSDT, decision for ETHUSDT",
        [],
    ),
    (
        "R02 pass short",
        {"action": "SHORT", "stop_loss": 30300.0, "take_profit": 29400.0},
        {},
        {},
        {},
        "APPROVED",
        "R02_action",
        True,
        "SHORT",
        [],
    ),
    (
        "R03 pass at the minimum",
        {"confidence": 0.5},
        {},
        {},
        {},
        "APPROVED",
        "R03_confidence",
        True,
        "confidence 0.5 >= minimum 0.5",
        [],
    ),
    (
        "R03 deny",
        {"confidence": 0.49},
        {},
        {},
        {},
        "DENIED",
        "R03_confidence",
        False,
        "confidence 0.49 < minimum 0.5",
        [],
    ),
    ("R04 pass", {}, {}, {}, {}, "APPROVED", "R04_circuit_breaker", True, "breaker closed", []),
    (
        "R04 deny tripped",
        {},
        {},
        {"breaker_until": AT + timedelta(hours=1)},
        {},
        "DENIED",
        "R04_circuit_breaker",
        False,
        "breaker tripped until 2023-04-20T13:00:00+00:00",
        [],
    ),
    (
        "R04 pass when the cooldown is over",
        {},
        {},
        {"breaker_until": AT},
        {},
        "APPROVED",
        "R04_circuit_breaker",
        True,
        "breaker closed",
        [],
    ),
    (
        "R04 deny daily drawdown",
        {},
        {},
        {"equity": 9690.0, "available": 9690.0},
        {},
        "DENIED",
        "R04_circuit_breaker",
        False,
        "daily drawdown 3.1% >= limit 3%",
        [],
    ),
    (
        "R04 deny losing streak",
        {},
        {},
        {"consecutive_losses": 3},
        {},
        "DENIED",
        "R04_circuit_breaker",
        False,
        "3 consecutive losses >= limit 3",
        [],
    ),
    (
        "R05 deny",
        {},
        {},
        {"last_entry_at": {"BTCUSDT": AT - timedelta(minutes=10)}},
        {},
        "DENIED",
        "R05_entry_interval",
        False,
        "last entry on BTCUSDT 0:10:00 ago < minimum 0:15:00",
        [],
    ),
    (
        "R05 pass at the interval",
        {},
        {},
        {"last_entry_at": {"BTCUSDT": AT - timedelta(minutes=15)}},
        {},
        "APPROVED",
        "R05_entry_interval",
        True,
        "no entry on BTCUSDT within 0:15:00",
        [],
    ),
    (
        "R05 pass other symbol",
        {},
        {},
        {"last_entry_at": {"ETHUSDT": AT}},
        {},
        "APPROVED",
        "R05_entry_interval",
        True,
        "no entry on BTCUSDT within 0:15:00",
        [],
    ),
    (
        "R14 pass market",
        {"entry": 12345.0},
        {},
        {},
        {},
        "APPROVED",
        "R14_entry_price",
        True,
        "market entry, reference price 30000",
        [],
    ),
    (
        "R14 pass limit",
        {"entry_type": "limit", "entry": 29900.0, "stop_loss": 29600.0, "take_profit": 30500.0},
        {},
        {},
        {},
        "APPROVED",
        "R14_entry_price",
        True,
        "limit 29900 is 0.6667 ATR from price 30000",
        [],
    ),
    (
        "R14 deny limit without price",
        {"entry_type": "limit", "entry": None},
        {},
        {},
        {},
        "DENIED",
        "R14_entry_price",
        False,
        "limit entry needs a positive price, got None",
        [],
    ),
    (
        "R14 deny limit far away",
        {"entry_type": "limit", "entry": 29000.0},
        {},
        {},
        {},
        "DENIED",
        "R14_entry_price",
        False,
        "limit 29000 is 6.667 ATR from price 30000 > maximum 3 ATR",
        [],
    ),
    (
        "R15 rounds toward the entry",
        {"stop_loss": 29700.03, "take_profit": 30600.07},
        {},
        {},
        {},
        "APPROVED",
        "R15_price_tick",
        True,
        "stop_loss 29700.03 -> 29700.1, take_profit 30600.07 -> 30600 (tick 0.1)",
        [],
    ),
    (
        "R15 short rounds toward the entry",
        {"action": "SHORT", "stop_loss": 30299.97, "take_profit": 29399.93},
        {},
        {},
        {},
        "APPROVED",
        "R15_price_tick",
        True,
        "stop_loss 30299.97 -> 30299.9, take_profit 29399.93 -> 29400 (tick 0.1)",
        [],
    ),
    (
        "R06 pass",
        {},
        {},
        {},
        {},
        "APPROVED",
        "R06_stop_side",
        True,
        "stop 29700 is below entry 30000",
        [],
    ),
    (
        "R06 deny long stop above",
        {"stop_loss": 30100.0},
        {},
        {},
        {},
        "DENIED",
        "R06_stop_side",
        False,
        "stop 30100 must be below entry 30000",
        [],
    ),
    (
        "R06 deny short stop below",
        {"action": "SHORT", "stop_loss": 29700.0, "take_profit": 29400.0},
        {},
        {},
        {},
        "DENIED",
        "R06_stop_side",
        False,
        "stop 29700 must be above entry 30000",
        [],
    ),
    (
        "R06 deny no stop",
        {"stop_loss": None},
        {},
        {},
        {},
        "DENIED",
        "R06_stop_side",
        False,
        "a positive stop-loss is required, got None",
        [],
    ),
    (
        "R06 deny negative stop",
        {"stop_loss": -5.0},
        {},
        {},
        {},
        "DENIED",
        "R06_stop_side",
        False,
        "a positive stop-loss is required, got -5.0",
        [],
    ),
    (
        "R07 pass",
        {},
        {},
        {},
        {},
        "APPROVED",
        "R07_stop_distance_atr",
        True,
        "stop 2 ATR from entry, within 0.5..4 ATR",
        [],
    ),
    (
        "R07 deny too near",
        {"stop_loss": 29950.0, "take_profit": 30600.0},
        {},
        {},
        {},
        "DENIED",
        "R07_stop_distance_atr",
        False,
        "stop 0.3333 ATR from entry < minimum 0.5 ATR",
        [],
    ),
    (
        "R07 clamp too far",
        {"stop_loss": 29000.0, "take_profit": 31600.0},
        {},
        {},
        {},
        "CLAMPED",
        "R07_stop_distance_atr",
        True,
        "stop 6.667 ATR from entry > maximum 4 ATR: tightened 29000 -> 29400",
        [Clamp(rule="R07_stop_distance_atr", field="stop_loss", before=29000.0, after=29400.0)],
    ),
    (
        "R08 pass",
        {},
        {},
        {},
        {},
        "APPROVED",
        "R08_take_profit_r",
        True,
        "take-profit at 2 R >= 1.5 R",
        [],
    ),
    (
        "R08 deny below minimum R",
        {"take_profit": 30400.0},
        {},
        {},
        {},
        "DENIED",
        "R08_take_profit_r",
        False,
        "take-profit at 1.333 R < minimum 1.5 R",
        [],
    ),
    (
        "R08 deny wrong side",
        {"take_profit": 29900.0},
        {},
        {},
        {},
        "DENIED",
        "R08_take_profit_r",
        False,
        "take-profit 29900 must be above entry 30000",
        [],
    ),
    (
        "R08 deny short wrong side",
        {"action": "SHORT", "stop_loss": 30300.0, "take_profit": 30100.0},
        {},
        {},
        {},
        "DENIED",
        "R08_take_profit_r",
        False,
        "take-profit 30100 must be below entry 30000",
        [],
    ),
    (
        "R08 deny missing",
        {"take_profit": None},
        {},
        {},
        {},
        "DENIED",
        "R08_take_profit_r",
        False,
        "a positive take-profit is required, got None",
        [],
    ),
    (
        "R08 measured against the tightened stop",
        {"stop_loss": 29000.0, "take_profit": 30900.0},
        {},
        {},
        {},
        "CLAMPED",
        "R08_take_profit_r",
        True,
        "take-profit at 1.5 R >= 1.5 R",
        [Clamp(rule="R07_stop_distance_atr", field="stop_loss", before=29000.0, after=29400.0)],
    ),
    ("R09 pass", {}, {}, {}, {}, "APPROVED", "R09_leverage", True, "leverage 3 <= cap 5", []),
    (
        "R09 clamp",
        {"leverage": 100.0},
        {},
        {},
        {},
        "CLAMPED",
        "R09_leverage",
        True,
        "leverage 100 > cap 5: clamped to 5",
        [Clamp(rule="R09_leverage", field="leverage", before=100.0, after=5.0)],
    ),
    (
        "R09 hard cap beats config",
        {"leverage": 30.0},
        {},
        {},
        {"max_leverage": 50.0},
        "CLAMPED",
        "R09_leverage",
        True,
        "leverage 30 > cap 20: clamped to 20",
        [Clamp(rule="R09_leverage", field="leverage", before=30.0, after=20.0)],
    ),
    (
        "R09 deny below 1",
        {"leverage": 0.5},
        {},
        {},
        {},
        "DENIED",
        "R09_leverage",
        False,
        "leverage 0.5 < 1",
        [],
    ),
    (
        "R10 pass",
        {},
        {},
        {},
        {},
        "APPROVED",
        "R10_size_from_risk",
        True,
        "quantity 0.166 = 0.5% of equity 10000 / stop distance 300, step 0.001",
        [],
    ),
    (
        "R10 deny no equity",
        {},
        {},
        {"equity": -5.0, "available": 0.0, "day_start_equity": -5.0},
        {},
        "DENIED",
        "R10_size_from_risk",
        False,
        "equity -5 <= 0: nothing to risk",
        [],
    ),
    (
        "R10 deny below minimum order",
        {},
        {},
        {"equity": 10.0, "available": 10.0, "day_start_equity": 10.0},
        {},
        "DENIED",
        "R10_size_from_risk",
        False,
        "quantity 0 from risk budget 0.05 / stop distance 300 is below the minimum order 0.001",
        [],
    ),
    (
        "R11 pass",
        {},
        {},
        {},
        {},
        "APPROVED",
        "R11_position_notional",
        True,
        "notional 4980 fits BTCUSDT notional (open 0) room 20000",
        [],
    ),
    (
        "R11 clamp",
        {},
        {},
        {"open_notional": {"BTCUSDT": 18000.0}},
        {},
        "CLAMPED",
        "R11_position_notional",
        True,
        "notional 4980 exceeds BTCUSDT notional (open 18000) room 2000: quantity 0.166 -> 0.066",
        [Clamp(rule="R11_position_notional", field="quantity", before=0.166, after=0.066)],
    ),
    (
        "R11 deny",
        {},
        {},
        {"open_notional": {"BTCUSDT": 20000.0}},
        {},
        "DENIED",
        "R11_position_notional",
        False,
        "no room for the minimum order 0.001: BTCUSDT notional (open 20000) room 0",
        [],
    ),
    (
        "R12 clamp",
        {},
        {},
        {"open_notional": {"ETHUSDT": 18000.0, "SOLUSDT": 10000.0}},
        {},
        "CLAMPED",
        "R12_total_exposure",
        True,
        "notional 4980 exceeds total exposure (open 28000) room 2000: quantity 0.166 -> 0.066",
        [Clamp(rule="R12_total_exposure", field="quantity", before=0.166, after=0.066)],
    ),
    (
        "R12 deny",
        {},
        {},
        {"open_notional": {"ETHUSDT": 20000.0, "SOLUSDT": 10000.0}},
        {},
        "DENIED",
        "R12_total_exposure",
        False,
        "no room for the minimum order 0.001: total exposure (open 30000) room 0",
        [],
    ),
    (
        "R13 clamp",
        {},
        {},
        {"available": 500.0},
        {},
        "CLAMPED",
        "R13_margin_available",
        True,
        "notional 4980 exceeds margin available 500 at leverage 3 (fee headroom 0.001): "
        "quantity 0.166 -> 0.049",
        [Clamp(rule="R13_margin_available", field="quantity", before=0.166, after=0.049)],
    ),
    (
        "R13 deny",
        {},
        {},
        {"available": 5.0},
        {},
        "DENIED",
        "R13_margin_available",
        False,
        "no room for the minimum order 0.001: margin available 5 at leverage 3 "
        "(fee headroom 0.001)",
        [],
    ),
]


@pytest.mark.parametrize(
    ("dkw", "mkw", "akw", "lkw", "verdict", "rule", "passed", "message", "clamps"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_rule(
    dkw: dict[str, Any],
    mkw: dict[str, Any],
    akw: dict[str, Any],
    lkw: dict[str, Any],
    verdict: str,
    rule: str,
    passed: bool,
    message: str,
    clamps: list[Clamp],
) -> None:
    res = risk_gate(decision(**dkw), market(**mkw), account(**akw), limits(**lkw))
    assert res.verdict == verdict
    found = [(r.passed, r.message) for r in res.reasons if r.rule == rule]
    assert found == [(passed, message)], res.reasons
    assert res.clamps == clamps
    assert (res.plan is None) == (verdict == "DENIED")
    for r in res.reasons:
        assert r.rule in RULE_IDS


def test_flat_is_no_trade() -> None:
    res = risk_gate(decision(action="FLAT"), market(), account(), limits())
    assert res.verdict == "DENIED"
    assert [(r.rule, r.message, r.passed) for r in res.reasons] == [
        ("R02_action", "no trade", False)
    ]
    assert res.plan is None and res.clamps == []


def test_approved_plan_numbers() -> None:
    res = risk_gate(decision(), market(), account(), limits())
    assert res.verdict == "APPROVED"
    p = res.plan
    assert p is not None
    assert (p.symbol, p.side, p.entry_type) == ("BTCUSDT", Side.BUY, OrderType.MARKET)
    assert (p.quantity, p.leverage, p.entry_price) == (0.166, 3.0, 30000.0)
    assert (p.stop_loss, p.take_profit) == (29700.0, 30600.0)
    assert p.notional == pytest.approx(4980.0)
    assert p.risk_amount == pytest.approx(49.8)
    assert [r.rule for r in res.reasons] == [
        "R01_symbol_allowed",
        "R02_action",
        "R03_confidence",
        "R04_circuit_breaker",
        "R05_entry_interval",
        "R14_entry_price",
        "R15_price_tick",
        "R06_stop_side",
        "R07_stop_distance_atr",
        "R08_take_profit_r",
        "R09_leverage",
        "R10_size_from_risk",
        "R11_position_notional",
        "R12_total_exposure",
        "R13_margin_available",
    ]
    assert all(r.passed for r in res.reasons)


def test_short_limit_plan() -> None:
    res = risk_gate(
        decision(
            action="SHORT",
            entry_type="limit",
            entry=30100.0,
            stop_loss=30400.0,
            take_profit=29500.0,
        ),
        market(),
        account(),
        limits(),
    )
    assert res.verdict == "APPROVED"
    p = res.plan
    assert p is not None
    assert (p.side, p.entry_type, p.entry_price, p.stop_loss, p.take_profit) == (
        Side.SELL,
        OrderType.LIMIT,
        30100.0,
        30400.0,
        29500.0,
    )
    assert p.quantity == 0.166


def test_every_failure_is_listed() -> None:
    """Account-level rules all run, so one deny shows every reason at once."""
    res = risk_gate(
        decision(confidence=0.1),
        market(),
        account(consecutive_losses=5, last_entry_at={"BTCUSDT": AT}),
        limits(),
    )
    assert res.verdict == "DENIED"
    assert [r.rule for r in res.reasons if not r.passed] == [
        "R03_confidence",
        "R04_circuit_breaker",
        "R05_entry_interval",
    ]


def test_clamps_accumulate_in_rule_order() -> None:
    res = risk_gate(
        decision(leverage=50.0, stop_loss=29000.0, take_profit=31600.0),
        market(),
        account(open_notional={"BTCUSDT": 19000.0}),
        limits(),
    )
    assert res.verdict == "CLAMPED"
    assert [(c.rule, c.field, c.before, c.after) for c in res.clamps] == [
        ("R07_stop_distance_atr", "stop_loss", 29000.0, 29400.0),
        ("R09_leverage", "leverage", 50.0, 5.0),
        ("R11_position_notional", "quantity", 0.083, 0.033),
    ]
    assert res.plan is not None and res.plan.quantity == 0.033


def test_result_is_deterministic() -> None:
    a = risk_gate(decision(leverage=40.0), market(), account(), limits())
    b = risk_gate(decision(leverage=40.0), market(), account(), limits())
    assert a == b
    assert a.model_dump_json() == b.model_dump_json()


def test_floor_to_step_never_rounds_up() -> None:
    assert floor_to_step(0.3, 0.1) == 0.3
    assert floor_to_step(0.1669, 0.001) == 0.166
    assert floor_to_step(0.0009, 0.001) == 0.0
    assert floor_to_step(float("nan"), 0.001) == 0.0
    assert floor_to_step(-1.0, 0.001) == 0.0
    assert floor_to_step(250.0, 100.0) == 200.0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"max_stop_atr": 0.4}, "max_stop_atr (0.4) must be greater than min_stop_atr (0.5)"),
        (
            {"max_total_exposure_pct": 100.0},
            "max_total_exposure_pct (100.0) must be at least max_position_notional_pct (200.0)",
        ),
        ({"risk_per_trade_pct": 0.0}, "risk_per_trade_pct\n  Input should be greater than 0"),
        (
            {"risk_per_trade_pct": 25.0},
            "risk_per_trade_pct\n  Input should be less than or equal to 10",
        ),
        ({"max_leverage": 0.5}, "max_leverage\n  Input should be greater than or equal to 1"),
        ({"min_confidence": 1.5}, "min_confidence\n  Input should be less than or equal to 1"),
        (
            {"max_consecutive_losses": 0},
            "max_consecutive_losses\n  Input should be greater than or equal to 1",
        ),
        ({"breaker_cooldown": timedelta(hours=-1)}, "must not be negative, got -1 day, 23:00:00"),
        ({"allowed_symbols": ("BTCUSDT", "FOOUSDT")}, "allowed_symbols ['FOOUSDT'] are outside"),
        ({"allowed_symbols": ()}, "allowed_symbols must name at least one symbol"),
        ({"min_stop_atr": float("nan")}, "min_stop_atr\n  Input should be a finite number"),
        ({"max_leveridge": 3}, "max_leveridge\n  Extra inputs are not permitted"),
    ],
)
def test_nonsense_limits_are_refused(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        limits(**kw)
    assert message in str(exc.value)


def test_leverage_cap_property() -> None:
    assert limits().leverage_cap == 5.0
    assert limits(max_leverage=1000.0).leverage_cap == 20.0


def test_market_snapshot_takes_the_instrument_filters() -> None:
    m = market(symbol="DOGEUSDT", price=0.08, atr=0.001)
    assert (m.qty_step, m.min_quantity, m.price_tick) == (100.0, 100.0, 0.00001)
    with pytest.raises(ValidationError, match="atr\n  Input should be greater than 0"):
        market(atr=0.0)
    with pytest.raises(ValidationError, match="has no timezone"):
        market(at=AT.replace(tzinfo=None))
