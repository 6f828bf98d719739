"""The interrupt rules: each a named function of (the reviewing seat, the data, one turn) that
returns the interrupt to raise or None. ``review`` runs the rules the seat's lens owns.

Each kind has one job:

- **clarify** asks for a fact the memo lacks: a turn cites an id the memo does not have, or an
  analyst took a side on one timeframe while the other timeframe (the 4 h chart) is not in the
  memo — the target answers with a tool call (``technical_indicators``) and re-argues with it.
- **counterevidence** cites memo facts that contradict a turn: the multi-timeframe trend against
  it (Technical Analyst), or the market regime / cross-asset move against it (Market Analyst).
- **reframe** moves a question to another horizon: two seats on opposite sides at different
  horizons are both judged at the decision's horizon (the CTO).
- **veto_to_revise** names a breached constraint and what satisfies it: a stop outside the Risk
  Manager's band (floor / cap, ATRs) or on the wrong side; a target below the R multiple (CTO).

A seat never repeats an interrupt the meeting already resolved: the same seat, kind and target
role with the same evidence is not raised twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from agents.lenses.market import cross_asset_reading, regime_reading
from agents.lenses.reading import (
    DECISION_HORIZON,
    SIGN,
    Data,
    desk,
    fact,
    hours,
    latest,
    num,
    trend_sign,
)
from agents.lenses.risk import Constraints, constraints
from agents.lenses.technical import higher_timeframes
from memos.models import F_ATR, F_PRICE, F_TREND

Found = dict[str, Any]
Rule = Callable[[Data, Data, Data], Found | None]
CLARIFY_TIMEFRAME = "4h"
"""The timeframe a clarify asks the Technical Analyst to look up with its tool."""


def interrupt(kind: str, target: Data, text: str, evidence: list[str], proposal: str = "") -> Found:
    return {"kind": kind, "target": target["id"], "text": text, "evidence": evidence,
            "proposal": proposal}  # fmt: skip


# --- clarify ---------------------------------------------------------------------------------
def clarify_missing_citation(seat: Data, data: Data, t: Data) -> Found | None:
    """A turn cites a fact id the memo does not have."""
    facts = data["memo"].get("facts", {})
    missing = [e for e in t.get("evidence", []) if e not in facts]
    if not missing:
        return None
    return interrupt("clarify", t, f"You cite {', '.join(missing)}, which the memo does not have. What is it?", missing)  # fmt: skip


def clarify_higher_timeframe(seat: Data, data: Data, t: Data) -> Found | None:
    """The Technical Analyst took a side from 1h bars: what does the 4 h chart say? (a look-up
    the memo cannot answer; the target answers it with its indicators tool)."""
    lenses = data.get("lenses") or {}
    if lenses.get(t["role"]) != "technical" or t["stance"] == "FLAT":
        return None
    return interrupt(
        "clarify", t,
        f"Your {t['stance']} rests on 1h structure. What does the {CLARIFY_TIMEFRAME} chart say?",
        [F_TREND], f"timeframe={CLARIFY_TIMEFRAME}",
    )  # fmt: skip


# --- counterevidence -------------------------------------------------------------------------
def counter_trend(seat: Data, data: Data, t: Data) -> Found | None:
    """A side against the 1h trend *and* the higher timeframes (Technical Analyst)."""
    memo = data["memo"]
    d, s, ev = trend_sign(memo)
    htf, hev = higher_timeframes(memo)
    sg = SIGN[t["stance"]]
    if sg and d == -sg and s >= 0.2 and htf * sg < -0.2:
        return interrupt(
            "counterevidence", t,
            f"{t['stance']} is against the {fact(memo, F_TREND)} 1h trend (strength {s:.2f}) and the higher timeframes ({htf:+.2f}).",
            ev + hev,
        )  # fmt: skip
    return None


def counter_regime(seat: Data, data: Data, t: Data) -> Found | None:
    """A side against the market regime or BTC's move carried by the correlation (Market)."""
    memo = data["memo"]
    sg = SIGN[t["stance"]]
    if not sg:
        return None
    for reading in (regime_reading, cross_asset_reading):
        score, w, ev, note = reading(memo)
        if w > 0 and abs(score) >= 0.5 and math.copysign(1, score) == -sg:
            return interrupt("counterevidence", t, f"{t['stance']} fights the {note}.", ev)
    return None


# --- veto_to_revise --------------------------------------------------------------------------
def _band(data: Data) -> Constraints:
    return constraints(data["memo"], data)


def veto_stop_outside_band(seat: Data, data: Data, t: Data) -> Found | None:
    """A stop on the wrong side, inside the Risk Manager's floor or beyond its cap (ATRs)."""
    entry, stop = t.get("entry"), t.get("stop_loss")
    atr = num(data["memo"], F_ATR)
    if t["stance"] == "FLAT" or entry is None or stop is None or not atr:
        return None
    c = _band(data)
    dist = (entry - stop) * SIGN[t["stance"]]
    ev = [F_ATR, F_PRICE]
    if dist <= 0:
        return interrupt("veto_to_revise", t, f"Breached: stop {stop} is on the wrong side of entry {entry}. Satisfied by a stop at least {c.stop_floor_atr:.1f} ATR on the loss side.", ev, f"stop_floor_atr={c.stop_floor_atr:.2f}")  # fmt: skip
    if dist < 0.999 * c.stop_floor_atr * atr:
        return interrupt("veto_to_revise", t, f"Breached: stop floor. Stop {stop} is {dist / atr:.2f} ATR away; the floor is {c.stop_floor_atr:.1f} ATR ({'; '.join(c.reasons) or 'the desk minimum'}). Satisfied by a stop at least {c.stop_floor_atr:.1f} ATR away.", ev + c.evidence, f"stop_floor_atr={c.stop_floor_atr:.2f}")  # fmt: skip
    if dist > 1.001 * c.stop_cap_atr * atr:
        return interrupt("veto_to_revise", t, f"Breached: stop cap. Stop {stop} is {dist / atr:.1f} ATR away; the risk allows at most {c.stop_cap_atr:.1f} ATR. Satisfied by a stop within {c.stop_cap_atr:.1f} ATR.", ev, f"stop_cap_atr={c.stop_cap_atr:.2f}")  # fmt: skip
    return None


def veto_reward_below_minimum(seat: Data, data: Data, t: Data) -> Found | None:
    """A target paying less than the desk's R multiple (CTO)."""
    entry, stop, tp = t.get("entry"), t.get("stop_loss"), t.get("take_profit")
    if t["stance"] == "FLAT" or entry is None or stop is None or tp is None:
        return None
    rr = desk(data)["min_reward_risk"]
    risk, reward = abs(entry - stop), (tp - entry) * SIGN[t["stance"]]
    if risk > 0 and reward < 0.999 * rr * risk:
        return interrupt("veto_to_revise", t, f"Breached: R multiple. Take-profit {tp} pays {reward / risk:.2f}R. Satisfied by a target at {rr:.1f}R or more.", [F_PRICE], f"min_reward_risk={rr}")  # fmt: skip
    return None


# --- reframe ---------------------------------------------------------------------------------
def reframe_horizon_conflict(seat: Data, data: Data, t: Data) -> Found | None:
    """``t`` and another seat argue opposite sides on different horizons: re-argue ``t`` at the
    decision's horizon (only the turn not already on it)."""
    if t["stance"] == "FLAT" or hours(t["horizon"]) == hours(DECISION_HORIZON):
        return None
    others = [
        o for o in _others(seat, data) if o["id"] != t["id"] and o["role"] != data.get("risk_role")
    ]
    for o in others:
        if SIGN[o["stance"]] == -SIGN[t["stance"]] and o["horizon"] != t["horizon"]:
            return interrupt(
                "reframe", t,
                f"You argue {t['stance']} on {t['horizon']}, {o['role']} argues {o['stance']} on {o['horizon']}: judge it on the desk's {DECISION_HORIZON}.",
                list(t.get("evidence") or [])[:3], f"horizon={DECISION_HORIZON}",
            )  # fmt: skip
    return None


RULES: dict[str, tuple[Rule, ...]] = {
    "technical": (clarify_missing_citation, counter_trend),
    "market": (clarify_missing_citation, counter_regime),
    "risk": (clarify_missing_citation, veto_stop_outside_band, clarify_higher_timeframe),
    "chair": (reframe_horizon_conflict, veto_reward_below_minimum),
    "bull": (clarify_missing_citation,),
    "bear": (clarify_missing_citation,),
}
"""Which rules each lens runs, in order."""


def _others(seat: Data, data: Data) -> list[Data]:
    return [t for t in latest(list(data.get("turns") or [])) if t["role"] != seat["id"]]


def already_resolved(data: Data, by: str, found: Found, target: Data) -> bool:
    """The meeting already has this interrupt: same seat, kind, target role and evidence (or,
    for a question, the same seat asked that role once)."""
    for i in data.get("interrupts") or []:
        if i.get("by") != by or i.get("kind") != found["kind"]:
            continue
        if i.get("target") == target["id"]:
            return True
        same_role = i.get("target_role") == target["role"]
        if same_role and (
            found["kind"] in ("clarify", "reframe")
            or sorted(i.get("evidence") or []) == sorted(found["evidence"])
        ):
            return True
    return False


def review(seat: Data, data: Data) -> list[Found]:
    may = set(data.get("may_raise") or [])
    me = seat["id"]
    found: list[Found] = []
    for t in _others(seat, data):
        for rule in RULES.get(str(seat["lens"]), ()):
            got = rule(seat, data, t)
            if got is None or got["kind"] not in may:
                continue
            if any(f["kind"] == got["kind"] and f["target"] == got["target"] for f in found):
                continue
            if already_resolved(data, me, got, t):
                continue
            found.append(got)
    return found
