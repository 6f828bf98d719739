"""Reading the prompt's data blocks, shared by every lens: facts, signals, the desk's numbers,
the turns, and the ``key=value`` notes seats use for machine-readable proposals."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from agents.desk_limits import DEFAULT_DESK
from memos.models import (
    F_EMA_FAST,
    F_EMA_SLOW,
    F_MACD_HIST,
    F_RET_1H,
    F_RSI,
    F_TREND,
)

Data = Mapping[str, Any]

SIGN = {"LONG": 1, "SHORT": -1, "FLAT": 0}
DIRECTION_SIGN = {"LONG": 1, "SHORT": -1, "NEUTRAL": 0, "up": 1, "down": -1, "flat": 0}
SHORT_HORIZON = "4h"
LONG_HORIZON = "24h"
DECISION_HORIZON = LONG_HORIZON
"""The horizon the desk decides at: the 1h memo's trades last hours to a day (4h cadence)."""


def fact(memo: Data, fid: str) -> Any:
    """A fact's value: the prompt's compact ``[value, text]`` or a ``{"value", "text"}`` dict."""
    f = memo.get("facts", {}).get(fid)
    if f is None:
        return None
    return f[0] if isinstance(f, list | tuple) else f.get("value")


def short(value: Any) -> str:
    """A fact value as a reader wants it in an argument: 4 significant digits for numbers."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def num(memo: Data, fid: str) -> float | None:
    v = fact(memo, fid)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def has(memo: Data, fid: str) -> bool:
    return fact(memo, fid) is not None


def unknown(memo: Data, uid: str) -> bool:
    return uid in (memo.get("unknowns") or {})


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
    """The 1h trend's direction and strength from the trend signal, else the trend fact."""
    d, s = signal(memo, "trend")
    ev = [F_TREND, F_EMA_FAST, F_EMA_SLOW]
    if d == 0 and s == 0.0:
        d = DIRECTION_SIGN.get(str(fact(memo, F_TREND)), 0)
        s = 0.5 if d else 0.0
    return d, s, [e for e in ev if has(memo, e)]


def momentum_sign(memo: Data) -> tuple[float, list[str]]:
    """Momentum in [-1, 1]: the momentum signal, else MACD histogram and 1 h return."""
    d, s = signal(memo, "momentum")
    ev = [e for e in (F_MACD_HIST, F_RSI, F_RET_1H) if has(memo, e)]
    if s:
        return d * s, ev
    hist = num(memo, F_MACD_HIST) or 0.0
    r1 = num(memo, F_RET_1H) or 0.0
    return clip((math.copysign(0.5, hist) if hist else 0.0) + clip(r1 / 0.01, -0.5, 0.5), -1, 1), ev


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


def latest(turns: list[Data]) -> list[Data]:
    """Each role's most recent turn."""
    out: dict[str, Data] = {}
    for t in turns:
        out[t["role"]] = t
    return list(out.values())


def hours(horizon: str) -> float:
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


_KV = re.compile(r"([a-z_]+)=([^\s;,()]+)")


def notes(text: str) -> dict[str, str]:
    """The ``key=value`` notes in a text (a proposal, a risk turn's constraints line)."""
    return dict(_KV.findall(text or ""))


def note_float(text: str, key: str, default: float) -> float:
    try:
        return float(notes(text).get(key, default))
    except ValueError:
        return default
