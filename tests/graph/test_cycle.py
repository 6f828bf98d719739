"""The trading cycle's state machine and the manage rules, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from decisions.limits import RiskLimits
from decisions.manage import manage_position
from decisions.schema import Decision
from graph.cycle import TRANSITIONS, IllegalTransition, SymbolCycle, begin_meeting

ALL = ("SCAN", "QUALIFY", "ENTER", "MANAGE", "EXIT", "RECONCILE")


@pytest.mark.parametrize("src", ALL)
@pytest.mark.parametrize("dst", ALL)
def test_only_the_drawn_transitions_are_allowed(src: str, dst: str) -> None:
    c = SymbolCycle(symbol="BTCUSDT", stage=src)  # type: ignore[arg-type]
    if dst in TRANSITIONS[src]:  # type: ignore[index]
        assert c.to(dst).stage == dst  # type: ignore[arg-type]
    else:
        with pytest.raises(IllegalTransition, match=f"BTCUSDT: {src} -> {dst} is not a transition"):
            c.to(dst)  # type: ignore[arg-type]


def test_a_second_tick_while_a_meeting_is_held_does_nothing() -> None:
    c = begin_meeting(SymbolCycle(symbol="ETHUSDT"))
    assert c is not None and c.stage == "QUALIFY" and c.resume_stage == "SCAN"
    assert begin_meeting(c) is None
    held = begin_meeting(SymbolCycle(symbol="ETHUSDT", stage="MANAGE"))
    assert held is not None and held.holding
    assert begin_meeting(SymbolCycle(symbol="ETHUSDT", stage="EXIT")) is None


def _d(action: str, conf: float = 0.7, stop: float | None = 95.0) -> Decision:
    return Decision(
        action=action, symbol="BTCUSDT", entry_type="market", entry=100.0, stop_loss=stop,  # type: ignore[arg-type]
        take_profit=110.0, confidence=conf, horizon="4h", leverage=2, main_path="", backup_path="",
        triggers=[], rationale="", dissent=[], memo_id="m",
    )  # fmt: skip


T = datetime(2023, 4, 19, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("qty", "decision", "current_stop", "opened", "action", "rule"),
    [
        (1.0, _d("FLAT"), 90.0, T, "hold", "M00_hold"),
        (1.0, _d("LONG", stop=95.0), 90.0, T, "tighten", "M03_tighten"),
        (1.0, _d("LONG", stop=85.0), 90.0, T, "hold", "M00_hold"),  # looser: never
        (1.0, _d("LONG", stop=99.9), 90.0, T, "hold", "M00_hold"),  # too near the price
        (1.0, _d("SHORT", conf=0.7), 90.0, T, "close", "M02_reversal"),
        (1.0, _d("SHORT", conf=0.3), 90.0, T, "hold", "M00_hold"),  # not confident enough
        (-1.0, _d("SHORT", stop=104.0), 108.0, T, "tighten", "M03_tighten"),
        (-1.0, _d("LONG", conf=0.9), 108.0, T, "close", "M02_reversal"),
        (1.0, _d("LONG"), 90.0, T - timedelta(days=4), "close", "M01_max_hold"),
    ],
)
def test_manage_rules(qty, decision, current_stop, opened, action, rule) -> None:  # type: ignore[no-untyped-def]
    plan = manage_position(decision, quantity=qty, current_stop=current_stop, price=100.0,
                           atr=2.0, opened_at=opened, at=T, limits=RiskLimits())  # fmt: skip
    assert (plan.action, plan.rule) == (action, rule), plan.reason
    if action == "tighten":
        assert plan.stop_loss == decision.stop_loss
