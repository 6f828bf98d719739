"""Every proposed stop is on the loss side of the entry and every target on the profit side, for
the Technical Analyst's structure stops (level far, near, or missing) and the other seats."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from agents import policies
from tests.agents.test_offline_desk import data, memo

CASES = list(
    itertools.product(
        ["up", "down"],
        [None, 99.9, 95.0, 80.0],  # support: missing, right under the price, near, far
        [None, 100.1, 104.0, 125.0],  # resistance likewise above
    )
)


def _side_ok(view: dict[str, Any]) -> None:
    if view["stance"] == "FLAT":
        return
    sgn = 1 if view["stance"] == "LONG" else -1
    entry, stop, tp = view["entry"], view["stop_loss"], view["take_profit"]
    assert entry is not None and stop is not None and tp is not None, view
    assert (entry - stop) * sgn > 0, f"stop {stop} on the wrong side of {entry} ({view['stance']})"
    assert (tp - entry) * sgn > 0, f"target {tp} on the wrong side of {entry} ({view['stance']})"


@pytest.mark.parametrize(("trend", "support", "resistance"), CASES)
def test_the_technical_analysts_stop_is_on_the_loss_side(
    trend: str, support: float | None, resistance: float | None
) -> None:
    values: dict[str, Any] = {"tech.macd_hist": 0.4 if trend == "up" else -0.4}
    if trend == "down":
        values["tech.rsi_14"] = 40.0
    m = memo(trend, **values)
    d = data(m, desk=policies.DEFAULT_DESK)
    facts = d["memo"]["facts"]
    for key, level in (("tech.support", support), ("tech.resistance", resistance)):
        if level is None:
            facts.pop(key, None)
        else:
            facts[key] = {"value": level, "text": f"{key} {level}"}
    view = policies.opening_turn("technical", d)
    want = "LONG" if trend == "up" else "SHORT"
    in_the_way = resistance if trend == "up" else support
    if in_the_way is not None and abs(in_the_way - 100.0) < 0.5:  # no room: the view halves
        assert view["stance"] in (want, "FLAT")
    else:
        assert view["stance"] == want
    _side_ok(view)
