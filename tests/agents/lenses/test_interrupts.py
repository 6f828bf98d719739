"""Each interrupt rule is a named function; a veto names the breached constraint and what
satisfies it, the revision satisfies it, and a resolved interrupt is not raised again."""

from __future__ import annotations

from agents import policies
from agents.lenses import interrupts
from agents.schemas import INTERRUPT_KINDS
from tests.agents.test_offline_desk import data, memo

TECH = {"id": "technical_analyst#1", "role": "technical_analyst", "stance": "LONG", "confidence": 0.62,
        "horizon": "24h", "evidence": ["tech.trend"], "entry": 100.0, "stop_loss": 99.6, "take_profit": 103.0}  # fmt: skip


def test_every_kind_has_a_named_rule() -> None:
    kinds = set()
    for rules in interrupts.RULES.values():
        for rule in rules:
            assert rule.__name__.startswith(("clarify_", "counter_", "veto_", "reframe_"))
            kinds.add(rule.__name__.split("_")[0])
    assert kinds == {"clarify", "counter", "veto", "reframe"} and len(INTERRUPT_KINDS) == 4


def test_a_stop_inside_the_floor_is_vetoed_naming_the_floor_and_the_revision_clears_it() -> None:
    m = memo("up")
    d = data(m, turns=[TECH], may_raise=["veto_to_revise"])
    out = policies.review({"id": "risk_manager", "lens": "risk"}, d)
    assert [i["kind"] for i in out] == ["veto_to_revise"]
    assert "Breached: stop floor" in out[0]["text"] and "Satisfied by" in out[0]["text"]
    assert out[0]["proposal"].startswith("stop_floor_atr=")
    res = policies.resolve({"id": "technical_analyst", "lens": "technical"},
                           data(m, own_turn=TECH, interrupt=out[0]))  # fmt: skip
    assert res["outcome"] == "revised" and 100.0 - res["stop_loss"] >= 1.0  # >= 1 ATR now
    revised = {
        **TECH,
        "id": "technical_analyst#2",
        **{k: res[k] for k in ("stop_loss", "take_profit")},
    }
    after = policies.review({"id": "risk_manager", "lens": "risk"},
                            data(m, turns=[TECH, revised], may_raise=["veto_to_revise"]))  # fmt: skip
    assert after == []  # the revision satisfies the constraint


def test_a_resolved_interrupt_is_not_raised_again_on_the_revised_turn() -> None:
    m = memo("up")
    first = policies.review({"id": "risk_manager", "lens": "risk"},
                            data(m, turns=[TECH], may_raise=["veto_to_revise"]))[0]  # fmt: skip
    done = {**first, "by": "risk_manager", "target_role": "technical_analyst", "status": "resolved"}
    still = {**TECH, "id": "technical_analyst#2"}  # a revision that did not move the stop
    again = policies.review({"id": "risk_manager", "lens": "risk"},
                            data(m, turns=[TECH, still], may_raise=["veto_to_revise"], interrupts=[done]))  # fmt: skip
    assert again == []
