"""The desk's limits, written once: the seats' fallback equals the graph's under default limits,
and the graph's stays inside whatever the gate allows."""

from __future__ import annotations

import pytest

from agents import policies
from agents.desk_limits import DEFAULT_DESK, desk_limits
from decisions.limits import RiskLimits


def _for(lim: RiskLimits) -> dict[str, float]:
    return desk_limits(
        min_stop_atr=lim.min_stop_atr,
        max_stop_atr=lim.max_stop_atr,
        min_reward_risk=lim.min_reward_risk,
        leverage_cap=lim.leverage_cap,
        min_confidence=lim.min_confidence,
    )


def test_the_seats_default_is_the_desk_under_the_gates_default_limits() -> None:
    assert _for(RiskLimits()) == DEFAULT_DESK
    assert policies.DEFAULT_DESK is DEFAULT_DESK  # the policies read the one module


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        ({"min_stop_atr": 2.0, "max_stop_atr": 4.0}, {"stop_atr": 2.0, "max_stop_atr": 3.0}),
        ({"min_stop_atr": 0.2, "max_stop_atr": 1.0}, {"stop_atr": 1.0, "max_stop_atr": 1.0}),
        ({"min_reward_risk": 3.0}, {"min_reward_risk": 3.0}),
        ({"max_leverage": 50.0}, {"max_leverage": 20.0}),
        ({"min_confidence": 0.6}, {"min_confidence": 0.6}),
        ({"min_stop_atr": 2.0, "max_stop_atr": 4.0}, {"min_stop_atr": 2.0}),
    ],
)
def test_the_desk_stays_inside_the_gates_limits(
    kw: dict[str, float], want: dict[str, float]
) -> None:
    got = _for(RiskLimits(**kw))
    assert {k: got[k] for k in want} == want
