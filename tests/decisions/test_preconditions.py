"""The gate's R00 rules (``decisions.preconditions``), table-driven through ``risk_gate``."""

from __future__ import annotations

from typing import Any

import pytest

from decisions.preconditions import PRE_RULE_IDS, GateInputs, OpenPosition
from decisions.risk_gate import RULE_IDS, risk_gate
from tests.decisions.builders import account, decision, limits, market

HELD = OpenPosition(symbol="BTCUSDT", quantity=0.5, manage_note="hold: trend intact")
NOTE = "exchange clock 2023-04-20T12:30:00Z is past the meeting time"

# (case id, inputs kw, market missing?, limits kw, decision kw, expected failed (rule, message)s)
CASES: list[tuple[str, dict[str, Any], bool, dict[str, Any], dict[str, Any], list[tuple[str, str]]]]
CASES = [
    ("all pass", {}, False, {}, {}, []),
    (
        "position open denies alone",
        {"open_position": HELD, "exchange_past": True, "clock_note": NOTE},
        True,
        {},
        {},
        [
            (
                "R00_position_open",
                "BTCUSDT position 0.5 open: no second entry; manage it (hold: trend intact)",
            )
        ],
    ),
    (
        "position open even for FLAT",
        {"open_position": HELD},
        False,
        {},
        {"action": "FLAT"},
        [
            (
                "R00_position_open",
                "BTCUSDT position 0.5 open: no second entry; manage it (hold: trend intact)",
            )
        ],
    ),
    (
        "clock past",
        {"exchange_past": True, "clock_note": NOTE},
        False,
        {},
        {},
        [("R00_clock", NOTE)],
    ),
    (
        "no price / ATR",
        {"memo_id": "m1"},
        True,
        {},
        {},
        [("R00_market", "no price/ATR in memo m1")],
    ),
    (
        "stale data, one reason per note",
        {"memo_id": "m1", "stale": ("bar 3h old", "news 2d old")},
        False,
        {},
        {},
        [
            (
                "R00_market",
                "stale data in memo m1 (bar 3h old); no order is sized on a stale price",
            ),
            (
                "R00_market",
                "stale data in memo m1 (news 2d old); no order is sized on a stale price",
            ),
        ],
    ),
    ("p_win off by default", {"p_win": 0.01}, False, {}, {}, []),
    ("p_win at the minimum", {"p_win": 0.55}, False, {"min_p_win": 0.55}, {}, []),
    (
        "p_win below",
        {"p_win": 0.5},
        False,
        {"min_p_win": 0.55},
        {},
        [("R00_p_win", "P(win) 0.500 < minimum 0.55")],
    ),
    (
        "p_win missing fails closed",
        {},
        False,
        {"min_p_win": 0.55},
        {},
        [("R00_p_win", "P(win) no estimate < minimum 0.55")],
    ),
    (
        "clock, market and p_win all show",
        {"exchange_past": True, "clock_note": NOTE, "memo_id": "m1", "p_win": 0.1},
        True,
        {"min_p_win": 0.55},
        {},
        [
            ("R00_clock", NOTE),
            ("R00_market", "no price/ATR in memo m1"),
            ("R00_p_win", "P(win) 0.100 < minimum 0.55"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("inputs_kw", "missing", "limits_kw", "decision_kw", "failed"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_r00_rules(
    inputs_kw: dict[str, Any],
    missing: bool,
    limits_kw: dict[str, Any],
    decision_kw: dict[str, Any],
    failed: list[tuple[str, str]],
) -> None:
    inputs = GateInputs(market_missing=missing, **inputs_kw)
    r = risk_gate(
        decision(**decision_kw),
        None if missing else market(),
        account(),
        limits(**limits_kw),
        inputs,
    )
    got = [(x.rule, x.message) for x in r.reasons if not x.passed]
    if failed:
        assert r.verdict == "DENIED" and r.plan is None and r.clamps == []
        assert got == failed
        assert all(x.rule in PRE_RULE_IDS for x in r.reasons)  # R01-R15 do not run
    else:
        assert r.verdict == "APPROVED" and r.plan is not None
        assert not any(x.rule.startswith("R00") for x in r.reasons)  # passed R00 rules are silent
        assert [x.rule for x in r.reasons if x.rule in RULE_IDS]  # R01-R15 ran


def test_a_missing_snapshot_is_r00_market_even_without_inputs() -> None:
    r = risk_gate(decision(), None, account(), limits())
    assert r.verdict == "DENIED"
    assert [(x.rule, x.message) for x in r.reasons] == [("R00_market", "no price/ATR in memo ")]


def test_the_gate_without_inputs_is_unchanged() -> None:
    assert risk_gate(decision(), market(), account(), limits()) == risk_gate(
        decision(), market(), account(), limits(), GateInputs()
    )
