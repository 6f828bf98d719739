"""The CTO's lens: weigh the seats, take levels from their proposals, count the costs, and
return FLAT with the reason rather than a trade the gate would kill.

- **direction**: each analyst's confidence is read as its P(direction right); the desk's P(up)
  is the role-weighted mean of the analysts' P(up) (the review loop's role weights). The Risk
  Manager does not vote: its constraints (stand-aside, stop floor and cap, maximum leverage)
  bound the decision.
- **the gate's limits**: the decision's confidence (its P(direction right)) must reach the
  gate's minimum and the desk's entry probability; the stop must sit inside the risk seat's band
  (itself inside the gate's); the target must pay the desk's R multiple.
- **levels**: from the proposal of the highest-weighted seat that argued the decided side,
  cited by name; a stop inside the floor is widened to it (citing the Risk Manager).
- **costs**: the expected move, ``(2p - 1)`` stop distances, must clear the round-trip cost
  (entry and exit fees, slippage, funding over the horizon) ``cost_margin`` times; a maker limit
  entry is chosen when only its lower fee clears the margin.
"""

from __future__ import annotations

from typing import Any

from agents.lenses.reading import (
    DECISION_HORIZON,
    SIGN,
    Data,
    clip,
    desk,
    hours,
    latest,
    num,
    r,
)
from agents.lenses.risk import Constraints, constraints, read_constraints
from memos.models import F_ATR, F_NEWS_BIAS, F_PRICE, F_TREND

ENTRY_PROBABILITY = 0.56
"""The desk trades only when its P(direction right) reaches this (chosen on the tune window)."""


def p_up(turns: list[Data], weights: Data) -> float:
    """The role-weighted mean of the seats' P(up) (a FLAT seat says 0.5)."""
    total = sum(float(weights.get(t["role"], 1.0)) for t in turns)
    if total <= 0:
        return 0.5
    s = 0.0
    for t in turns:
        p = float(t["confidence"])
        up = 0.5 if t["stance"] == "FLAT" else (p if t["stance"] == "LONG" else 1.0 - p)
        s += float(weights.get(t["role"], 1.0)) * up
    return s / total


def round_trip_cost(dk: Data, entry_type: str, horizon: str) -> float:
    """Fees both ways, a taker's slippage, funding over the horizon — as a fraction of price."""
    entry_fee = dk["maker_fee"] if entry_type == "limit" else dk["taker_fee"] + dk["slippage"]
    exit_fee = dk["taker_fee"] + dk["slippage"]  # the pessimistic exit: the stop, a taker
    return entry_fee + exit_fee + dk["funding_8h"] * hours(horizon) / 8.0


def choose_levels(
    action: str, voters: list[Data], weights: Data, c: Constraints, memo: Data, dk: Data
) -> tuple[dict[str, float], str] | str:
    """Levels from the best-weighted proposal on the decided side, fitted to the constraints;
    or why none will do."""
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    if price is None or not atr:
        return "no price or ATR to check levels against"
    sgn = SIGN[action]
    props = [
        t for t in voters
        if t["stance"] == action and None not in (t.get("stop_loss"), t.get("take_profit"))
    ]  # fmt: skip
    if not props:
        return f"no seat proposed levels for {action}"
    best = max(props, key=lambda t: float(weights.get(t["role"], 1.0)))
    stop, tp = float(best["stop_loss"]), float(best["take_profit"])
    dist = (price - stop) * sgn
    note = f"levels from {best['role']}"
    if dist < c.stop_floor_atr * atr:
        dist = c.stop_floor_atr * atr
        stop = price - sgn * dist
        note += f", stop widened to the Risk Manager's floor {c.stop_floor_atr:.1f} ATR"
    if dist > c.stop_cap_atr * atr:
        return f"{best['role']}'s stop is {dist / atr:.1f} ATR away, beyond the cap {c.stop_cap_atr:.1f} ATR"
    if (tp - price) * sgn < 0.999 * dk["min_reward_risk"] * dist:
        tp = price + sgn * dk["min_reward_risk"] * dist
        note += f", target moved to {dk['min_reward_risk']:.1f}R"
    return {"entry": price, "stop": stop, "target": tp, "dist": dist}, note


def flat(reason: str, conf: float, dissent: list[str]) -> dict[str, Any]:
    return {
        "action": "FLAT", "entry_type": "market", "entry": None, "stop_loss": None,
        "take_profit": None, "confidence": round(clip(conf, 0.0, 1.0), 4),
        "horizon": DECISION_HORIZON, "leverage": 1.0, "main_path": "Stand aside.",
        "backup_path": "Meet again at the next cadence step.",
        "triggers": ["the analysts agree with conviction", "the Risk Manager lifts its stand-aside"],
        "rationale": f"FLAT: {reason}.", "dissent": dissent,
    }  # fmt: skip


def decide(seat: Data, data: Data) -> dict[str, Any]:
    memo = data["memo"]
    dk = desk(data)
    weights = data.get("weights") or {}
    risk_role = data.get("risk_role")
    turns = [t for t in latest(list(data.get("turns") or [])) if t["role"] != seat["id"]]
    voters = [t for t in turns if t["role"] != risk_role]
    risk = next((t for t in turns if t["role"] == risk_role), None)
    c = read_constraints(risk)
    source = "the Risk Manager"
    if c is None:
        c, source = constraints(memo, data), "the desk's own reading (no risk turn)"
    up = p_up(voters, weights)
    action = "LONG" if up > 0.5 else "SHORT" if up < 0.5 else "FLAT"
    p = up if action != "SHORT" else 1.0 - up
    votes = ", ".join(
        f"{t['role']} {t['stance']} {float(t['confidence']):.2f} (w {float(weights.get(t['role'], 1.0)):.2f})"
        for t in voters
    )
    reasons = f"P({action.lower() if action != 'FLAT' else 'up'}) {p:.2f} from {votes}"
    dissent = [
        f"{t['role']}: {t['stance']} ({float(t['confidence']):.2f}) {t['argument']}"[:300]
        for t in voters
        if t["stance"] not in (action, "FLAT")
    ]
    no_edge = 1.0 - abs(2 * up - 1)
    if c.stand_aside:
        return flat(
            f"{source} stands aside ({'; '.join(c.stand_aside)}); {reasons}", no_edge, dissent
        )
    need = max(dk["min_confidence"], ENTRY_PROBABILITY)
    if action == "FLAT" or p < need:
        return flat(
            f"{reasons} is below the {need:.2f} the desk trades at (gate minimum {dk['min_confidence']:.2f})",
            no_edge,
            dissent,
        )
    got = choose_levels(action, voters, weights, c, memo, dk)
    if isinstance(got, str):
        return flat(f"{got}; {reasons}", no_edge, dissent)
    lv, lnote = got
    price = lv["entry"]
    stop_pct = lv["dist"] / price
    edge = (2 * p - 1) * stop_pct
    cost_m = round_trip_cost(dk, "market", DECISION_HORIZON)
    cost_l = round_trip_cost(dk, "limit", DECISION_HORIZON)
    margin = dk["cost_margin"]
    if edge >= margin * cost_m:
        entry_type, cost = "market", cost_m
    elif edge >= margin * cost_l:
        entry_type, cost = "limit", cost_l
    else:
        return flat(
            f"the expected move {edge:.3%} does not clear {margin:.1f}x the round-trip cost "
            f"{cost_l:.3%} (maker entry) / {cost_m:.3%} (market); {reasons}", no_edge, dissent,
        )  # fmt: skip
    lev = float(clip(min(c.max_leverage, dk["max_leverage"]), 1, dk["max_leverage"]))
    cost_note = f"expected move {edge:.3%} vs round-trip cost {cost:.3%} ({entry_type} entry)"
    return {
        "action": action, "entry_type": entry_type, "entry": r(price, price),
        "stop_loss": r(lv["stop"], price), "take_profit": r(lv["target"], price),
        "confidence": round(clip(p, 0.0, 1.0), 4), "horizon": DECISION_HORIZON, "leverage": lev,
        "main_path": f"{action} {'at market' if entry_type == 'market' else 'with a maker limit'} near {r(price, price)}, stop {r(lv['stop'], price)}, target {r(lv['target'], price)} ({lnote}).",
        "backup_path": "If the stop is hit, stand aside until the analysts agree again.",
        "triggers": ["close beyond the stop", f"{F_TREND} flips", f"{F_NEWS_BIAS} flips sign"],
        "rationale": f"{action}: {reasons}; {lnote}; {cost_note}; constraints from {source} (max leverage {c.max_leverage:.0f}).",
        "dissent": dissent,
    }  # fmt: skip
