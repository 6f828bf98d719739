"""The Technical Analyst's lens: structure on several timeframes, and levels from structure.

- **trend** (1h EMA stack), **higher timeframes** (4 h, 24 h and 7 d returns), **momentum**
  (RSI and MACD), **mean reversion** (a close beyond a Bollinger band or an RSI extreme leans
  against the move), **room** (a long right under resistance / a short right above support has no
  room), **volatility regime** (ATR as % of price, stated).
- **levels**: the stop sits just beyond the structure level that invalidates the view (support
  for a long, resistance for a short; else EMA(50)) when that lies inside the desk's stop band,
  else at the band's edge in ATRs; the target is the opposite level when it pays the desk's R
  multiple, else that multiple. The argument names the fact that set each level.
"""

from __future__ import annotations

from typing import Any

from agents.lenses.reading import (
    DECISION_HORIZON,
    SHORT_HORIZON,
    SIGN,
    Data,
    clip,
    desk,
    fact,
    has,
    momentum_sign,
    num,
    r,
    stance_of,
    trend_sign,
    view,
)
from memos.models import (
    F_ATR,
    F_ATR_PCT,
    F_BB_PCTB,
    F_EMA_SLOW,
    F_PRICE,
    F_RESISTANCE,
    F_RET_4H,
    F_RET_7D,
    F_RET_24H,
    F_RSI,
    F_SUPPORT,
    F_TREND,
)

TECH_THRESHOLD = 0.25
"""|score| above which the Technical Analyst takes a side (chosen on the tune window)."""
STOP_BUFFER_ATR = 0.25
"""How far beyond the structure level the stop sits, in ATRs."""


def higher_timeframes(memo: Data) -> tuple[float, list[str]]:
    """The 4 h, 24 h and 7 d returns as one reading in [-1, 1]."""
    parts = [(F_RET_4H, 0.015), (F_RET_24H, 0.03), (F_RET_7D, 0.10)]
    got = [(clip((num(memo, f) or 0.0) / scale, -1, 1), f) for f, scale in parts if has(memo, f)]
    if not got:
        return 0.0, []
    return sum(v for v, _ in got) / len(got), [f for _, f in got]


def mean_reversion(memo: Data) -> tuple[float, list[str]]:
    """A stretch against the move: +1 oversold (leans up), -1 overbought (leans down)."""
    b, rsi = num(memo, F_BB_PCTB), num(memo, F_RSI)
    lean, ev = 0.0, []
    if b is not None and (b > 1.0 or b < 0.0):
        lean += -0.5 if b > 1.0 else 0.5
        ev.append(F_BB_PCTB)
    if rsi is not None and (rsi >= 75 or rsi <= 25):
        lean += -0.5 if rsi >= 75 else 0.5
        ev.append(F_RSI)
    return lean, ev


def room(memo: Data, side: int) -> float:
    """ATRs from the price to the level in the trade's way (None-safe: plenty of room)."""
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    lvl = num(memo, F_RESISTANCE if side > 0 else F_SUPPORT)
    if not price or not atr or lvl is None:
        return 99.0
    return (lvl - price) * side / atr


def technical_score(memo: Data, horizon: str | None = None) -> tuple[float, list[str], str]:
    d, s, tev = trend_sign(memo)
    mom, mev = momentum_sign(memo)
    htf, hev = higher_timeframes(memo)
    rev, rvev = mean_reversion(memo)
    short = (horizon or "") == SHORT_HORIZON
    wt, wh, wm, wr = (0.25, 0.15, 0.45, 0.15) if short else (0.35, 0.35, 0.15, 0.15)
    trend = d * max(s, 0.3 if d else 0.0)
    score = wt * trend + wh * htf + wm * mom + wr * rev
    note = (
        f"trend {fact(memo, F_TREND)} ({trend:+.2f}), higher timeframes {htf:+.2f}, "
        f"momentum {mom:+.2f}, mean reversion {rev:+.2f}"
    )
    side = 1 if score > 0 else -1
    space = room(memo, side)
    if space < 0.5:
        score *= 0.5
        note += f", only {space:.1f} ATR to {'resistance' if side > 0 else 'support'}"
    return score, tev + hev + mev + rvev, note


def natural_horizon(memo: Data) -> str:
    """4 h when momentum dominates the structure, the desk's horizon when trend does."""
    d, s, _ = trend_sign(memo)
    mom, _ = momentum_sign(memo)
    htf, _ = higher_timeframes(memo)
    return (
        SHORT_HORIZON if 0.45 * abs(mom) > 0.35 * abs(d * s) + 0.35 * abs(htf) else DECISION_HORIZON
    )


def structure_levels(
    memo: Data, data: Data, stance: str, floor_atr: float | None = None
) -> tuple[float, float, float, list[str], str] | None:
    """(entry, stop, target, evidence, note) from structure inside the stop band."""
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    if stance == "FLAT" or not price or not atr:
        return None
    dk = desk(data)
    sgn = SIGN[stance]
    lo = max(dk["min_stop_atr"], floor_atr or 0.0)
    hi = max(dk["max_stop_atr"], lo)
    stop, why = None, ""
    for fid in (F_SUPPORT if sgn > 0 else F_RESISTANCE, F_EMA_SLOW):
        lvl = num(memo, fid)
        if lvl is None:
            continue
        dist = (price - lvl) * sgn + STOP_BUFFER_ATR * atr
        if lo * atr <= dist <= hi * atr:
            stop, why = price - sgn * dist, fid
            break
    if stop is None:
        dist = clip(dk["stop_atr"], lo, hi) * atr
        stop, why = price - sgn * dist, F_ATR
    risk = abs(price - stop)
    rr = dk["min_reward_risk"]
    lvl = num(memo, F_RESISTANCE if sgn > 0 else F_SUPPORT)
    if lvl is not None and (lvl - price) * sgn >= rr * risk:
        tp, twhy = lvl, F_RESISTANCE if sgn > 0 else F_SUPPORT
    else:
        tp, twhy = price + sgn * rr * risk, F_ATR
    note = (
        f"stop {r(stop, price)} set by {why} ({risk / atr:.1f} ATR), "
        f"target {r(tp, price)} set by {twhy} ({abs(tp - price) / risk:.1f}R)"
    )
    return price, stop, tp, [F_PRICE, F_ATR, why, twhy], note


def technical_view(
    memo: Data, data: Data, horizon: str | None = None, floor_atr: float | None = None
) -> dict[str, Any]:
    horizon = horizon or natural_horizon(memo)
    score, ev, note = technical_score(memo, horizon)
    stance = stance_of(score, TECH_THRESHOLD)
    conf = 0.5 + 0.3 * min(1.0, abs(score)) if stance != "FLAT" else 0.5
    atr_pct = num(memo, F_ATR_PCT)
    vol = f" ATR {atr_pct:.2%} of price." if atr_pct is not None else ""
    out = view(
        stance,
        conf,
        horizon or DECISION_HORIZON,
        f"Structure {score:+.2f}: {note}.{vol}",
        ev + ([F_ATR_PCT] if atr_pct is not None else []),
    )
    lv = structure_levels(memo, data, stance, floor_atr)
    if lv is not None:
        price, stop, tp, lev, lnote = lv
        out.update(entry=r(price, price), stop_loss=r(stop, price), take_profit=r(tp, price))
        out["argument"] += f" Levels: {lnote}."
        out["evidence"] = list(dict.fromkeys(out["evidence"] + lev))
    return out
