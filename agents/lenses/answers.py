"""Answering an interrupt: each kind changes what it is about, or says why it does not.

- **veto_to_revise**: the proposal names the constraint (``stop_floor_atr`` / ``stop_cap_atr`` /
  ``min_reward_risk``); the seat re-derives its levels from structure inside it.
- **counterevidence**: the seat weighs the cited facts against its own edge: its P(direction
  right) drops by the contradiction's weight; when that leaves no edge it concedes FLAT.
- **reframe**: the seat re-argues at the proposed horizon with its own lens.
- **clarify**: a look-up. When a tool result answers it (``<tool_result>`` in the prompt), the
  seat re-argues with it: the 4 h chart agreeing with its side raises its P, disagreeing lowers
  it; a question the memo answers (an unknown, a cited id) is answered from the memo.
"""

from __future__ import annotations

from typing import Any

from agents.lenses.market import market_view
from agents.lenses.reading import (
    DIRECTION_SIGN,
    SIGN,
    Data,
    clip,
    desk,
    fact,
    note_float,
    notes,
    num,
    r,
    resolution,
)
from agents.lenses.technical import structure_levels, technical_view
from memos.models import F_ATR, F_PRICE, F_TREND

COUNTER_HIT = 0.06
"""How much one contradicting fact lowers a seat's P(direction right)."""
NO_EDGE = 0.54
"""Below this P the seat concedes FLAT."""
LOOKUP_SHIFT = 0.06
"""How much a looked-up higher-timeframe trend moves the seat's P (agreeing: up; against: down)."""

VIEW_KEYS = ("stance", "confidence", "horizon", "entry", "stop_loss", "take_profit")


def _keep(own: Data) -> dict[str, Any]:
    return {k: own.get(k) for k in VIEW_KEYS}


def answer_veto(seat: Data, data: Data, own: Data, intr: Data) -> dict[str, Any]:
    memo, keep = data["memo"], _keep(own)
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    if own["stance"] == "FLAT" or not price or not atr:
        return resolution("answered", "I propose no trade, so no level to revise.", [], keep)
    prop = str(intr.get("proposal") or "")
    if "min_reward_risk" in notes(prop):
        rr = note_float(prop, "min_reward_risk", desk(data)["min_reward_risk"])
        sgn = SIGN[own["stance"]]
        risk = abs(float(own["entry"]) - float(own["stop_loss"]))
        tp = float(own["entry"]) + sgn * rr * risk
        return resolution("revised", f"Revised: target {r(tp, price)} at {rr:.1f}R.", [F_PRICE], {**keep, "take_profit": r(tp, price)})  # fmt: skip
    floor = note_float(prop, "stop_floor_atr", 0.0) or None
    cap = note_float(prop, "stop_cap_atr", 0.0) or None
    d = {**data, "desk": {**desk(data), **({"max_stop_atr": cap} if cap else {})}}
    lv = structure_levels(memo, d, own["stance"], floor)
    if lv is None:
        return resolution("answered", "No price or ATR: cannot revise.", [], keep)
    _, stop, tp, ev, note = lv
    new = {
        **keep,
        "entry": r(price, price),
        "stop_loss": r(stop, price),
        "take_profit": r(tp, price),
    }
    return resolution("revised", f"Revised inside the constraint: {note}.", ev, new)


def answer_counterevidence(seat: Data, data: Data, own: Data, intr: Data) -> dict[str, Any]:
    keep = _keep(own)
    cited = list(intr.get("evidence") or [])
    hit = min(0.2, COUNTER_HIT * max(1, len(cited)))
    p = float(own["confidence"]) - hit
    if p < NO_EDGE:
        new = {**keep, "stance": "FLAT", "confidence": 0.5, "entry": None, "stop_loss": None, "take_profit": None}  # fmt: skip
        return resolution("revised", f"Conceded: with {', '.join(cited)} against me my P falls to {p:.2f}, no edge; FLAT.", cited, new)  # fmt: skip
    return resolution(
        "maintained",
        f"Maintained at P {p:.2f}: {', '.join(own.get('evidence') or [])[:120]} still outweighs {', '.join(cited)}.",
        list(own.get("evidence") or []),
        {**keep, "confidence": round(p, 4)},
    )


def answer_reframe(seat: Data, data: Data, own: Data, intr: Data) -> dict[str, Any]:
    memo, keep = data["memo"], _keep(own)
    horizon = notes(str(intr.get("proposal") or "")).get("horizon") or own["horizon"]
    if seat["lens"] == "technical":
        v = technical_view(memo, data, horizon)
    elif seat["lens"] == "market":
        v = market_view(memo, horizon)
    else:
        v = {**keep, "horizon": horizon}
    new = {k: v.get(k, keep.get(k)) for k in VIEW_KEYS}
    conf = float(new["confidence"] or 0.5)
    return resolution("revised", f"Re-argued on {horizon}: {new['stance']} at {conf:.2f}.", v.get("evidence") or list(own.get("evidence") or []), new)  # fmt: skip


def answer_clarify(seat: Data, data: Data, own: Data, intr: Data) -> dict[str, Any]:
    memo, keep = data["memo"], _keep(own)
    looked = data.get("tool_result")
    if isinstance(looked, dict) and looked.get("trend") is not None:
        tf = looked.get("timeframe", "?")
        d = DIRECTION_SIGN.get(str(looked["trend"]), 0)
        sg = SIGN[own["stance"]]
        ev = [F_TREND]  # the look-up's result is in the answer; evidence stays memo ids
        if sg == 0:
            return resolution("answered", f"Looked up the {tf} chart: trend {looked['trend']}; I hold no side, so it changes nothing.", ev, keep)  # fmt: skip
        # agreeing: more sure; against: less; flat: the higher timeframe gives no support
        shift = LOOKUP_SHIFT * d * sg if d else -LOOKUP_SHIFT / 2
        p = clip(float(own["confidence"]) + shift, 0.0, 0.95)
        if p < NO_EDGE:
            new = {**keep, "stance": "FLAT", "confidence": 0.5, "entry": None, "stop_loss": None, "take_profit": None}  # fmt: skip
            return resolution("revised", f"Looked up the {tf} chart: trend {looked['trend']}, against my {own['stance']}; no edge left, FLAT.", ev, new)  # fmt: skip
        verb = "with" if d == sg else "against" if d else "giving no support to"
        return resolution("revised", f"Looked up the {tf} chart: trend {looked['trend']}, {verb} my {own['stance']}; P now {p:.2f}.", [*(own.get('evidence') or []), *ev], {**keep, "confidence": round(p, 4)})  # fmt: skip
    if isinstance(looked, str) and looked:
        return resolution("answered", f"The look-up failed ({looked[:160]}); my view stands on the memo.", list(own.get("evidence") or []), keep)  # fmt: skip
    asked = list(intr.get("evidence") or [])
    unknown = [a for a in asked if a in (memo.get("unknowns") or {})]
    if unknown:
        return resolution("answered", f"{', '.join(unknown)} is unknown; my view rests on {', '.join(own.get('evidence') or ['no facts'])}.", list(own.get("evidence") or []), keep)  # fmt: skip
    known = {a: fact(memo, a) for a in asked if a in memo.get("facts", {})}
    if not known and asked:
        # a citation the memo lacks: withdraw it (the view no longer leans on it)
        ev = [e for e in own.get("evidence") or [] if e not in asked]
        return resolution("revised", f"Withdrawn: {', '.join(asked)} is not in the memo; my view rests on {', '.join(ev) or 'nothing'}.", ev, {**keep, "confidence": round(max(0.5, float(own['confidence']) - 0.05), 4)})  # fmt: skip
    return resolution(
        "answered", f"From the memo: {known or 'nothing on that'}.", list(known), keep
    )


ANSWERS = {
    "veto_to_revise": answer_veto,
    "counterevidence": answer_counterevidence,
    "reframe": answer_reframe,
    "clarify": answer_clarify,
}


def resolve(seat: Data, data: Data) -> dict[str, Any]:
    own, intr = dict(data["own_turn"]), data["interrupt"]
    return ANSWERS.get(intr["kind"], answer_clarify)(seat, data, own, intr)


def lookup(seat: Data, data: Data) -> dict[str, Any] | None:
    """The tool call a seat makes to answer a clarify (None: the memo answers it)."""
    intr = data.get("interrupt") or {}
    if intr.get("kind") != "clarify":
        return None
    tf = notes(str(intr.get("proposal") or "")).get("timeframe")
    memo = data["memo"]
    if not tf:
        return None
    return {"name": "technical_indicators",
            "args": {"symbol": memo["symbol"], "at": memo["at"], "timeframe": tf},
            "reason": f"the {tf} chart answers what the 1h memo cannot"}  # fmt: skip
