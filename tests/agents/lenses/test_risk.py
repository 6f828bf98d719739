"""The Risk Manager sets constraints from the memo, the desk and the account — never from the
other seats' turns — and never votes a direction."""

from __future__ import annotations

from typing import Any

from agents import policies
from agents.lenses.risk import constraints, read_constraints
from memos.models import F_VOL, U_STALE, Unknown
from tests.agents.test_offline_desk import data, memo

TURNS = [
    {"id": "market_analyst#1", "role": "market_analyst", "stance": "LONG", "confidence": 0.8, "horizon": "24h",
     "argument": "", "evidence": [], "entry": None, "stop_loss": None, "take_profit": None},
    {"id": "technical_analyst#1", "role": "technical_analyst", "stance": "LONG", "confidence": 0.9, "horizon": "24h",
     "argument": "", "evidence": [], "entry": 100.0, "stop_loss": 99.0, "take_profit": 103.0},
]  # fmt: skip


def _risk(m: Any, **more: Any) -> dict[str, Any]:
    return policies.opening_turn("risk", data(m, **more))


def test_the_risk_turn_ignores_the_other_seats_turns_and_votes_no_direction() -> None:
    m = memo("up")
    alone = _risk(m)
    with_longs = _risk(m, turns=TURNS)
    with_shorts = _risk(m, turns=[{**t, "stance": "SHORT"} for t in TURNS])
    assert alone == with_longs == with_shorts
    assert alone["stance"] == "FLAT" and "constraints:" in alone["argument"]


def test_stale_data_and_a_held_symbol_make_it_stand_aside_citing_why() -> None:
    stale = memo("up").model_copy(
        update={"unknowns": [Unknown(id=U_STALE, kind="stale", text="old bars")]}
    )
    c = read_constraints(_risk(stale))
    assert c is not None and c.stand_aside and U_STALE in _risk(stale)["evidence"]
    held = {"equity": 1000.0, "available": 900.0,
            "positions": [{"symbol": "SOLUSDT", "quantity": 1.0, "entry_price": 99.0}]}  # fmt: skip
    c2 = read_constraints(_risk(memo("up"), account=held))
    assert c2 is not None and any("already held" in s for s in c2.stand_aside)
    calm = read_constraints(_risk(memo("up")))
    assert calm is not None and not calm.stand_aside


def test_a_hot_market_raises_the_stop_floor_and_cites_the_volatility() -> None:
    calm = constraints(data(memo("up"))["memo"], data(memo("up")))
    hot_memo = memo("up", **{"market.realized_vol_24h": 1.2})
    hot = constraints(data(hot_memo)["memo"], data(hot_memo))
    assert hot.stop_floor_atr > calm.stop_floor_atr and F_VOL in hot.evidence
    assert hot.max_leverage <= calm.max_leverage  # liquidation stays beyond the wider stop
