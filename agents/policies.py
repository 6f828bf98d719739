"""The offline desk: how each role reasons, as plain functions of the prompt's data blocks.

These are real (if simple) trading policies, deterministic and explainable, not random fakes:

- Market Analyst: news sentiment (decayed bias), the BTC lead-lag reading and the 24 h regime.
- Technical Analyst: trend (EMA alignment) and momentum (MACD, RSI); stops at structure
  (support/resistance), which is often wider than the risk allows — hence vetoes.
- Risk Manager: ATR and realised volatility against the account; stands aside when the market
  is too wild or the symbol is already held; otherwise sizes the stop in ATRs.
- CTO: a confidence- and weight-weighted vote of the latest turns; entry at the price, stop and
  take-profit from the ATR.
- Bull / Bear: advocates that lean one way and argue the strongest case for it.

Interrupt rules (each one a clear, checkable condition on the data):

- counterevidence: a turn whose stance is against the trend (Technical) or against a strong
  news bias / BTC lead (Market).
- veto_to_revise: a proposed stop wider than ``max_stop_atr`` x ATR or on the wrong side
  (Risk Manager), or a take-profit below ``min_reward_risk`` x the stop distance (CTO).
- clarify: an unknown in the memo, or a cited fact the memo lacks; asked of the role whose lens
  covers it.
- reframe: two turns in opposite directions on different horizons, or a trend call that 1 h
  momentum contradicts (CTO): judge both on the shorter horizon.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agents.desk_limits import DEFAULT_DESK
from agents.schemas import ASK_ONCE
from memos.models import (
    F_ATR,
    F_ATR_PCT,
    F_BTC_LEAD,
    F_EMA_FAST,
    F_EMA_SLOW,
    F_MACD_HIST,
    F_NEWS_BIAS,
    F_NEWS_COUNT,
    F_PRICE,
    F_RESISTANCE,
    F_RET_1H,
    F_RET_24H,
    F_RSI,
    F_SUPPORT,
    F_TREND,
    F_VOL,
)

Data = Mapping[str, Any]

SIGN = {"LONG": 1, "SHORT": -1, "FLAT": 0}
DIRECTION_SIGN = {"LONG": 1, "SHORT": -1, "NEUTRAL": 0, "up": 1, "down": -1, "flat": 0}
SHORT_HORIZON = "4h"
LONG_HORIZON = "24h"


# --- reading the data blocks ---------------------------------------------------------------
def fact(memo: Data, fid: str) -> Any:
    """A fact's value: the prompt's compact ``[value, text]`` or a ``{"value", "text"}`` dict."""
    f = memo.get("facts", {}).get(fid)
    if f is None:
        return None
    return f[0] if isinstance(f, list | tuple) else f.get("value")


def _short(value: Any) -> str:
    """A fact value as a reader wants it in an argument: 4 significant digits for numbers."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def num(memo: Data, fid: str) -> float | None:
    v = fact(memo, fid)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def signal(memo: Data, name: str) -> tuple[int, float]:
    s = memo.get("signals", {}).get(name)
    if not s:
        return 0, 0.0
    if isinstance(s, list | tuple):  # the prompt's compact [direction, strength, evidence]
        return DIRECTION_SIGN.get(s[0], 0), float(s[1] or 0.0)
    return DIRECTION_SIGN.get(s.get("direction"), 0), float(s.get("strength") or 0.0)


def desk(data: Data) -> dict[str, float]:
    return {**DEFAULT_DESK, **(data.get("desk") or {})}


def clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def stance_of(score: float, threshold: float) -> str:
    return "LONG" if score > threshold else "SHORT" if score < -threshold else "FLAT"


def r(x: float | None, price: float | None) -> float | None:
    """Round a price to a sensible number of significant digits for the symbol's price level."""
    if x is None or price is None or price <= 0:
        return x
    digits = max(0, 6 - math.floor(math.log10(price)) - 1)
    return round(x, digits)


def trend_sign(memo: Data) -> tuple[int, float, list[str]]:
    """The trend's direction and strength from the trend signal, else the trend fact."""
    d, s = signal(memo, "trend")
    ev = [F_TREND, F_EMA_FAST, F_EMA_SLOW]
    if d == 0 and s == 0.0:
        d = DIRECTION_SIGN.get(str(fact(memo, F_TREND)), 0)
        s = 0.5 if d else 0.0
    return d, s, [e for e in ev if fact(memo, e) is not None]


def momentum_sign(memo: Data) -> tuple[float, list[str]]:
    """Momentum in [-1, 1]: the momentum signal, else MACD histogram and 1 h return."""
    d, s = signal(memo, "momentum")
    ev = [e for e in (F_MACD_HIST, F_RSI, F_RET_1H) if fact(memo, e) is not None]
    if s:
        return d * s, ev
    hist = num(memo, F_MACD_HIST) or 0.0
    r1 = num(memo, F_RET_1H) or 0.0
    return clip((math.copysign(0.5, hist) if hist else 0.0) + clip(r1 / 0.01, -0.5, 0.5), -1, 1), ev


def levels(side: str, price: float, atr: float, stop_atr: float, rr: float) -> tuple[float, float]:
    """Stop and take-profit ``stop_atr`` ATRs and ``rr`` x that distance from the price."""
    sgn = SIGN[side]
    dist = stop_atr * atr
    return price - sgn * dist, price + sgn * rr * dist


# --- opening views ----------------------------------------------------------------------
def market_view(memo: Data, horizon: str | None = None) -> dict[str, Any]:
    parts: list[tuple[float, float, str]] = []  # (score, weight, fact id)
    bias = num(memo, F_NEWS_BIAS)
    if bias is not None:
        parts.append((clip(bias, -1, 1), 1.0, F_NEWS_BIAS))
    else:
        d, s = signal(memo, "sentiment_bias")
        if s:
            parts.append((d * s, 0.8, F_NEWS_BIAS))
    lead = num(memo, F_BTC_LEAD)
    if lead is not None:
        parts.append((clip(lead, -1, 1), 0.8, F_BTC_LEAD))
    ret24 = num(memo, F_RET_24H)
    if ret24 is not None:
        parts.append((clip(ret24 / 0.03, -1, 1), 0.6, F_RET_24H))
    if not parts:
        return view(
            "FLAT",
            0.3,
            horizon or SHORT_HORIZON,
            "No sentiment, lead-lag or regime data: no view.",
            [],
        )
    score = sum(s * w for s, w, _ in parts) / sum(w for _, w, _ in parts)
    stance = stance_of(score, 0.12)
    # the horizon follows the reading that dominates: the 24 h regime, or news / BTC lead
    regime = sum(abs(s) * w for s, w, fid in parts if fid == F_RET_24H)
    fast = sum(abs(s) * w for s, w, fid in parts if fid != F_RET_24H)
    natural = LONG_HORIZON if regime > fast else SHORT_HORIZON
    evidence = [fid for _, _, fid in parts if fid != F_NEWS_BIAS or bias is not None]
    why = ", ".join(
        f"{fid}={_short(fact(memo, fid))}" for _, _, fid in parts if fact(memo, fid) is not None
    )
    conf = 0.35 + 0.5 * min(1.0, abs(score) / 0.6) if stance != "FLAT" else 0.4
    return view(
        stance,
        conf,
        horizon or natural,
        f"Market read {score:+.2f} from sentiment, BTC lead and regime ({why}).",
        evidence,
    )


def technical_view(memo: Data, data: Data, horizon: str | None = None) -> dict[str, Any]:
    d, s, tev = trend_sign(memo)
    mom, mev = momentum_sign(memo)
    short = (horizon or "") == SHORT_HORIZON
    wt, wm = (0.3, 0.7) if short else (0.6, 0.4)
    score = wt * d * max(s, 0.3 if d else 0.0) + wm * mom
    rsi = num(memo, F_RSI)
    note = ""
    if rsi is not None and ((score > 0 and rsi > 75) or (score < 0 and rsi < 25)):
        score *= 0.5
        note = f" RSI {rsi:.0f} is stretched, so I halve the conviction."
    stance = stance_of(score, 0.15)
    hz = horizon or (LONG_HORIZON if wt * abs(d * s) >= wm * abs(mom) else SHORT_HORIZON)
    conf = 0.35 + 0.55 * min(1.0, abs(score) / 0.7) if stance != "FLAT" else 0.45
    out = view(
        stance,
        conf,
        hz,
        f"Trend {fact(memo, F_TREND)} (strength {s:.2f}), momentum {mom:+.2f}: score {score:+.2f}.{note}",
        tev + mev + ([F_RSI] if note and F_RSI not in mev else []),
    )
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    if stance != "FLAT" and price and atr:
        # a structure stop: just beyond the support (long) or resistance (short)
        lvl = num(memo, F_SUPPORT if stance == "LONG" else F_RESISTANCE)
        sgn = SIGN[stance]
        if lvl is None or (price - lvl) * sgn <= 0.25 * atr:
            stop = price - sgn * 2.0 * atr
        else:
            stop = lvl - sgn * 0.25 * atr
        dist = abs(price - stop)
        target = num(memo, F_RESISTANCE if stance == "LONG" else F_SUPPORT)
        rr = desk(data)["min_reward_risk"]
        tp = (
            target
            if target is not None and (target - price) * sgn >= rr * dist
            else price + sgn * rr * dist
        )
        out.update(entry=r(price, price), stop_loss=r(stop, price), take_profit=r(tp, price))
        out["evidence"] += [
            e for e in (F_PRICE, F_ATR, F_SUPPORT, F_RESISTANCE) if fact(memo, e) is not None
        ]
    return out


def risk_view(memo: Data, data: Data, turns: list[Data]) -> dict[str, Any]:
    dk = desk(data)
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    atr_pct = num(memo, F_ATR_PCT) or ((atr / price) if atr and price else None)
    vol = num(memo, F_VOL)
    account = data.get("account") or {}
    symbol = memo.get("symbol")
    ev = [e for e in (F_ATR, F_ATR_PCT, F_VOL) if fact(memo, e) is not None]
    if price is None or atr is None:
        return view(
            "FLAT", 0.8, SHORT_HORIZON, "No price or ATR in the memo: risk cannot be sized.", ev
        )
    if atr_pct is not None and atr_pct > dk["max_atr_pct"]:
        return view(
            "FLAT",
            0.8,
            SHORT_HORIZON,
            f"ATR is {atr_pct:.2%} of price, above {dk['max_atr_pct']:.1%}: too wild.",
            ev,
        )
    if vol is not None and vol > dk["max_vol"]:
        return view(
            "FLAT",
            0.75,
            SHORT_HORIZON,
            f"Realised vol {vol:.0%} is above {dk['max_vol']:.0%}: too wild.",
            ev,
        )
    held = [
        p for p in account.get("positions", []) if p.get("symbol") == symbol and p.get("quantity")
    ]
    if held:
        return view("FLAT", 0.7, SHORT_HORIZON, f"Already holding {symbol}: no second entry.", ev)
    score = sum(SIGN[t["stance"]] * float(t["confidence"]) for t in turns) / max(1, len(turns))
    stance = stance_of(score, 0.1)
    calm = 1.0 - 0.5 * min(1.0, (atr_pct or 0.0) / dk["max_atr_pct"])
    if stance == "FLAT":
        return view(
            "FLAT",
            0.5,
            SHORT_HORIZON,
            f"The analysts do not agree (net {score:+.2f}): no risk worth taking.",
            ev,
        )
    stop, tp = levels(stance, price, atr, dk["stop_atr"], dk["min_reward_risk"])
    out = view(
        stance,
        clip(abs(score) * calm + 0.2, 0.0, 0.9),
        SHORT_HORIZON,
        f"Analysts net {score:+.2f}; ATR {atr_pct or 0:.2%} of price allows a {dk['stop_atr']:.1f} ATR stop and "
        f"{dk['min_reward_risk']:.1f}R target; equity {account.get('equity', 'n/a')}.",
        [*ev, F_PRICE],
    )
    out.update(entry=r(price, price), stop_loss=r(stop, price), take_profit=r(tp, price))
    return out


def advocate_view(memo: Data, data: Data, side: str) -> dict[str, Any]:
    """A Bull or a Bear: argues its side, with conviction from the evidence that agrees."""
    sgn = SIGN[side]
    d, s, tev = trend_sign(memo)
    mom, mev = momentum_sign(memo)
    bias = num(memo, F_NEWS_BIAS) or 0.0
    support = max(0.0, sgn * d * s) + max(0.0, sgn * mom) + max(0.0, sgn * bias)
    if support < 0.2:
        return view(
            "FLAT",
            0.4,
            SHORT_HORIZON,
            f"Even the {side.lower()} case is thin here (support {support:.2f}).",
            tev + mev,
        )
    out = view(
        side,
        clip(0.35 + support / 3, 0.0, 0.85),
        SHORT_HORIZON,
        f"The {side.lower()} case: trend, momentum and news add to {support:.2f}.",
        tev + mev,
    )
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    if price and atr:
        dk = desk(data)
        stop, tp = levels(side, price, atr, dk["stop_atr"], dk["min_reward_risk"])
        out.update(entry=r(price, price), stop_loss=r(stop, price), take_profit=r(tp, price))
    return out


def view(
    stance: str, confidence: float, horizon: str, argument: str, evidence: list[str]
) -> dict[str, Any]:
    return {
        "stance": stance,
        "confidence": round(clip(confidence, 0.0, 1.0), 4),
        "horizon": horizon,
        "argument": argument,
        "evidence": list(dict.fromkeys(evidence)),
        "entry": None,
        "stop_loss": None,
        "take_profit": None,
    }


def opening_turn(lens: str, data: Data) -> dict[str, Any]:
    memo = data["memo"]
    if lens == "market":
        return market_view(memo)
    if lens == "technical":
        return technical_view(memo, data)
    if lens == "risk":
        return risk_view(memo, data, list(data.get("turns") or []))
    if lens in ("bull", "bear"):
        return advocate_view(memo, data, "LONG" if lens == "bull" else "SHORT")
    return view("FLAT", 0.5, SHORT_HORIZON, "The chair does not open.", [])


# --- reviews: the interrupt rules -------------------------------------------------------
def _raised(data: Data, by: str, kind: str, target: Data) -> bool:
    """Already raised: on this very turn, or (for a question) on this role at all."""
    return any(
        i.get("by") == by
        and i.get("kind") == kind
        and (
            i.get("target") == target["id"]
            or (kind in ASK_ONCE and i.get("target_role") == target["role"])
        )
        for i in data.get("interrupts") or []
    )


def _latest(turns: list[Data]) -> list[Data]:
    """Each role's most recent turn."""
    out: dict[str, Data] = {}
    for t in turns:
        out[t["role"]] = t
    return list(out.values())


def review(seat: Data, data: Data) -> list[dict[str, Any]]:
    memo = data["memo"]
    me, lens = seat["id"], seat["lens"]
    may = set(data.get("may_raise") or [])
    turns = [t for t in _latest(list(data.get("turns") or [])) if t["role"] != me]
    dk = desk(data)
    atr = num(memo, F_ATR)
    found: list[dict[str, Any]] = []

    def raise_(kind: str, target: Data, text: str, evidence: list[str], proposal: str = "") -> None:
        dup = any(f["kind"] == kind and f["target"] == target["id"] for f in found)
        if kind in may and not dup and not _raised(data, me, kind, target):
            found.append(
                {
                    "kind": kind,
                    "target": target["id"],
                    "text": text,
                    "evidence": evidence,
                    "proposal": proposal,
                }
            )

    facts = memo.get("facts", {})
    unknowns = memo.get("unknowns", {})
    for t in turns:
        missing = [e for e in t.get("evidence", []) if e not in facts]
        if missing:
            raise_(
                "clarify",
                t,
                f"You cite {', '.join(missing)}, which the memo does not have. What is it?",
                missing,
            )
    if lens == "technical":
        d, s, ev = trend_sign(memo)
        for t in turns:
            if d and SIGN[t["stance"]] == -d and s >= 0.2:
                raise_(
                    "counterevidence",
                    t,
                    f"{t['stance']} is against the {fact(memo, F_TREND)} trend (strength {s:.2f}).",
                    ev,
                )
    if lens == "market":
        bias = num(memo, F_NEWS_BIAS)
        lead = num(memo, F_BTC_LEAD)
        ret24 = num(memo, F_RET_24H)
        for t in turns:
            sg = SIGN[t["stance"]]
            if bias is not None and abs(bias) >= 0.3 and sg == -math.copysign(1, bias):
                raise_(
                    "counterevidence",
                    t,
                    f"{t['stance']} fights a news bias of {bias:+.2f}.",
                    [F_NEWS_BIAS],
                )
            elif lead is not None and abs(lead) >= 0.3 and sg == -math.copysign(1, lead):
                raise_(
                    "counterevidence",
                    t,
                    f"{t['stance']} fights the BTC lead of {lead:+.2f}.",
                    [F_BTC_LEAD],
                )
            elif ret24 is not None and abs(ret24) >= 0.03 and sg == -math.copysign(1, ret24):
                raise_(
                    "counterevidence",
                    t,
                    f"{t['stance']} fights a 24h move of {ret24:+.1%}.",
                    [F_RET_24H],
                )
    if lens == "risk":
        for t in turns:
            entry, stop = t.get("entry"), t.get("stop_loss")
            if t["stance"] == "FLAT" or entry is None or stop is None or not atr:
                continue
            dist = (entry - stop) * SIGN[t["stance"]]
            if dist <= 0:
                raise_(
                    "veto_to_revise",
                    t,
                    f"Stop {stop} is on the wrong side of entry {entry}.",
                    [F_PRICE],
                    f"stop_atr={dk['stop_atr']}",
                )
            elif dist > dk["max_stop_atr"] * atr:
                raise_(
                    "veto_to_revise",
                    t,
                    f"Stop {stop} is {dist / atr:.1f} ATR away; the risk allows at most {dk['max_stop_atr']:.1f} ATR.",
                    [F_ATR, F_PRICE],
                    f"stop_atr={dk['stop_atr']}",
                )
        count = num(memo, F_NEWS_COUNT)
        for t in turns:
            if (
                t["stance"] != "FLAT"
                and F_NEWS_BIAS in t.get("evidence", [])
                and count is not None
                and count < 5
            ):
                raise_(
                    "clarify",
                    t,
                    f"Your sentiment rests on {count:.0f} headline(s) in 24h. How much of your view is news?",
                    [F_NEWS_COUNT, F_NEWS_BIAS],
                )
        owner = {"news": "market", "correlation": "market"}
        for uid, u in unknowns.items():
            want = owner.get(str(u.get("kind")), "technical")
            target = next((t for t in turns if t.get("lens", _lens_of(t, data)) == want), None)
            if target is not None:
                raise_(
                    "clarify",
                    target,
                    f"The memo lacks {uid} ({u.get('text')}). Does your view hold without it?",
                    [uid],
                )
                break  # one clarify per review: the rest is the same question
    if lens == "chair":
        mom, mev = momentum_sign(memo)
        active = [t for t in turns if t["stance"] != "FLAT"]
        longs = [t for t in active if t["stance"] == "LONG"]
        shorts = [t for t in active if t["stance"] == "SHORT"]
        if longs and shorts:
            pairs = [(a, b) for a in longs for b in shorts if a["horizon"] != b["horizon"]]
            if pairs:
                a, b = pairs[0]
                longer = a if _hours(a["horizon"]) > _hours(b["horizon"]) else b
                shorter = b if longer is a else a
                raise_(
                    "reframe",
                    longer,
                    f"You argue {longer['stance']} on {longer['horizon']}, {shorter['role']} argues {shorter['stance']} on "
                    f"{shorter['horizon']}: judge it on {shorter['horizon']}.",
                    mev,
                    f"horizon={shorter['horizon']}",
                )
        for t in active:
            if (
                _hours(t["horizon"]) > _hours(SHORT_HORIZON)
                and mom
                and abs(mom) >= 0.3
                and math.copysign(1, mom) == -SIGN[t["stance"]]
            ):
                raise_(
                    "reframe",
                    t,
                    f"Your {t['horizon']} {t['stance']} call has 1h momentum ({mom:+.2f}) against it: judge it on {SHORT_HORIZON}.",
                    mev,
                    f"horizon={SHORT_HORIZON}",
                )
            entry, stop, tp = t.get("entry"), t.get("stop_loss"), t.get("take_profit")
            if entry is not None and stop is not None and tp is not None:
                risk, reward = abs(entry - stop), (tp - entry) * SIGN[t["stance"]]
                if risk > 0 and reward < 0.999 * dk["min_reward_risk"] * risk:
                    raise_(
                        "veto_to_revise",
                        t,
                        f"Take-profit {tp} pays {reward / risk:.2f}R; the desk wants {dk['min_reward_risk']:.1f}R.",
                        [F_PRICE],
                        f"min_reward_risk={dk['min_reward_risk']}",
                    )
    return found


def _lens_of(turn: Data, data: Data) -> str:
    return str((data.get("lenses") or {}).get(turn["role"], ""))


def _hours(horizon: str) -> float:
    h = horizon.strip().lower()
    try:
        if h.endswith("h"):
            return float(h[:-1])
        if h.endswith("d"):
            return 24 * float(h[:-1])
        if h.endswith("m"):
            return float(h[:-1]) / 60
    except ValueError:
        pass
    return 24.0


# --- answering an interrupt -------------------------------------------------------------
def resolve(seat: Data, data: Data) -> dict[str, Any]:
    memo, own, intr = data["memo"], dict(data["own_turn"]), data["interrupt"]
    keep = {
        k: own.get(k)
        for k in ("stance", "confidence", "horizon", "entry", "stop_loss", "take_profit")
    }
    kind, lens = intr["kind"], seat["lens"]
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    dk = desk(data)
    if kind == "veto_to_revise" and own["stance"] != "FLAT" and price and atr:
        stop, tp = levels(own["stance"], price, atr, dk["stop_atr"], dk["min_reward_risk"])
        new = {
            **keep,
            "entry": r(price, price),
            "stop_loss": r(stop, price),
            "take_profit": r(tp, price),
        }
        return resolution(
            "revised",
            f"Revised: stop {dk['stop_atr']:.1f} ATR away at {new['stop_loss']}, target {dk['min_reward_risk']:.1f}R at {new['take_profit']}.",
            [F_ATR, F_PRICE],
            new,
        )
    if kind == "counterevidence":
        hit = 0.25 if len(intr.get("evidence") or []) > 1 else 0.15
        conf = float(own["confidence"]) - hit
        if conf < 0.4:
            new = {
                **keep,
                "stance": "FLAT",
                "confidence": 0.5,
                "entry": None,
                "stop_loss": None,
                "take_profit": None,
            }
            return resolution(
                "revised",
                f"Conceded: with {', '.join(intr.get('evidence') or [])} against me my edge is gone; FLAT.",
                intr.get("evidence") or [],
                new,
            )
        return resolution(
            "maintained",
            f"Maintained at lower confidence {conf:.2f}: my evidence ({', '.join(own.get('evidence') or [])}) still outweighs it.",
            own.get("evidence") or [],
            {**keep, "confidence": round(conf, 4)},
        )
    if kind == "reframe":
        horizon = (intr.get("proposal") or "").partition("horizon=")[2] or SHORT_HORIZON
        if lens == "technical":
            new_view = technical_view(memo, data, horizon)
        elif lens == "market":
            new_view = market_view(memo, horizon)
        else:
            new_view = {**keep, "horizon": horizon}
        new = {k: new_view.get(k, keep.get(k)) for k in keep}
        return resolution(
            "revised",
            f"Reframed on {horizon}: {new['stance']} at {new['confidence']:.2f}.",
            new_view.get("evidence") or own.get("evidence") or [],
            new,
        )
    # clarify (and anything else): answer from the memo (a look-up), changing the view only when
    # the answer shows the view leaned on thin evidence
    asked = intr.get("evidence") or []
    if F_NEWS_COUNT in asked and F_NEWS_BIAS in (own.get("evidence") or []):
        count, bias = num(memo, F_NEWS_COUNT), num(memo, F_NEWS_BIAS)
        if count is not None and count < 5 and own["stance"] != "FLAT":
            conf = round(max(0.0, float(own["confidence"]) - 0.1), 4)
            return resolution(
                "revised",
                f"Looked up: {count:.0f} headline(s) in 24h, bias {bias}. Thin, so I cut my confidence to {conf:.2f}.",
                [F_NEWS_COUNT, F_NEWS_BIAS],
                {**keep, "confidence": conf},
            )
    unknown = [a for a in asked if a in memo.get("unknowns", {})]
    if unknown:
        return resolution(
            "answered",
            f"{', '.join(unknown)} is unknown; my view rests on {', '.join(own.get('evidence') or ['no facts'])}, which do not depend on it.",
            own.get("evidence") or [],
            keep,
        )
    known = {a: fact(memo, a) for a in asked if a in memo.get("facts", {})}
    return resolution(
        "answered", f"From the memo: {known or 'nothing on that'}.", list(known), keep
    )


def resolution(
    outcome: str, answer: str, evidence: list[str], v: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "answer": answer,
        "evidence": list(dict.fromkeys(evidence)),
        "stance": v["stance"],
        "confidence": round(float(v["confidence"]), 4),
        "horizon": v["horizon"],
        "entry": v.get("entry"),
        "stop_loss": v.get("stop_loss"),
        "take_profit": v.get("take_profit"),
    }


# --- the chair's decision ---------------------------------------------------------------
def decide(seat: Data, data: Data) -> dict[str, Any]:
    memo = data["memo"]
    dk = desk(data)
    weights = data.get("weights") or {}
    turns = [t for t in _latest(list(data.get("turns") or [])) if t["role"] != seat["id"]]
    total_w = sum(float(weights.get(t["role"], 1.0)) for t in turns) or 1.0
    score = (
        sum(
            float(weights.get(t["role"], 1.0)) * float(t["confidence"]) * SIGN[t["stance"]]
            for t in turns
        )
        / total_w
    )
    action = stance_of(score, 0.15)
    risk = next((t for t in turns if t["role"] == data.get("risk_role")), None)
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    votes = ", ".join(
        "{} {} {:.2f}".format(t["role"], t["stance"], float(t["confidence"])) for t in turns
    )
    reasons = f"weighted vote {score:+.2f} over {votes}"
    if (
        action != "FLAT"
        and risk is not None
        and risk["stance"] == "FLAT"
        and float(risk["confidence"]) >= 0.7
    ):
        action, reasons = "FLAT", f"the Risk Manager stands aside ({risk['argument']}); {reasons}"
    if action != "FLAT" and (price is None or atr is None):
        action, reasons = "FLAT", f"no price/ATR to set levels; {reasons}"
    dissent = [
        f"{t['role']}: {t['stance']} ({float(t['confidence']):.2f}) {t['argument']}"[:300]
        for t in turns
        if t["stance"] != action
    ]
    if action == "FLAT" or price is None or atr is None:
        return {
            "action": "FLAT", "entry_type": "market", "entry": None, "stop_loss": None, "take_profit": None,
            "confidence": round(clip(1.0 - abs(score), 0.0, 1.0), 4), "horizon": SHORT_HORIZON, "leverage": 1.0,
            "main_path": "Stand aside.", "backup_path": "Meet again at the next cadence step.",
            "triggers": ["a clear trend and momentum agreement", "a strong news bias"],
            "rationale": f"FLAT: {reasons}.", "dissent": dissent,
        }  # fmt: skip
    agree = [t for t in turns if t["stance"] == action]
    conf = sum(float(weights.get(t["role"], 1.0)) * float(t["confidence"]) for t in agree) / total_w
    stop, tp = levels(action, price, atr, dk["stop_atr"], dk["min_reward_risk"])
    stop_pct = dk["stop_atr"] * atr / price
    leverage = float(
        clip(math.floor(0.10 / stop_pct) if stop_pct > 0 else 1, 1, dk["max_leverage"])
    )
    horizons = sorted({t["horizon"] for t in agree}, key=_hours)
    return {
        "action": action, "entry_type": "market", "entry": r(price, price), "stop_loss": r(stop, price),
        "take_profit": r(tp, price), "confidence": round(clip(conf, 0.0, 1.0), 4),
        "horizon": horizons[0] if horizons else SHORT_HORIZON, "leverage": leverage,
        "main_path": f"{action} at market near {r(price, price)}, stop {r(stop, price)} ({dk['stop_atr']:.1f} ATR), target {r(tp, price)} ({dk['min_reward_risk']:.1f}R).",
        "backup_path": "If the stop is hit, stand aside until trend and momentum agree again.",
        "triggers": ["close beyond the stop", f"{F_TREND} flips", f"{F_NEWS_BIAS} flips sign"],
        "rationale": f"{action}: {reasons}.", "dissent": dissent,
    }  # fmt: skip
