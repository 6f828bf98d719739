"""The Risk Manager's lens: constraints, not a direction.

It reads the memo, the desk's numbers and the account only — never another seat's turn — so it
can speak in the same step as the analysts. It sets, each from a cited fact:

- **stand-aside** (no new entry): stale data, a data gap or halted bars in the last day, ATR or
  realised volatility above the desk's ceiling, the symbol already held (the question is then
  hold / close / tighten, not a new entry), margin nearly all in use;
- **stop floor** (ATRs): wider in a hot volatility regime or after a gap, so noise does not stop
  the trade out;
- **stop cap** (ATRs) and **maximum risk** (a share of the gate's risk per trade): cut by event
  risk (unusual volume, a burst of headlines with a strong bias) and by exposure elsewhere;
- **maximum leverage**: the liquidation price stays at least twice the stop's distance away.

Its turn is always FLAT (not a vote); the constraints travel in the argument's last line as
``constraints: key=value …`` for the CTO and the veto to read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from agents.lenses.reading import (
    DECISION_HORIZON,
    Data,
    clip,
    desk,
    note_float,
    notes,
    num,
    unknown,
    view,
)
from memos.models import (
    F_ATR,
    F_ATR_PCT,
    F_NEWS_BIAS,
    F_NEWS_COUNT,
    F_PRICE,
    F_VOL,
    F_VOLUME_Z,
    U_DATA_GAP,
    U_HALTED,
    U_STALE,
)

CONSTRAINTS = "constraints:"
HOT_VOL_SHARE = 0.6
"""Realised vol above this share of the desk's ceiling: a hot regime, the stop floor widens."""
LIQUIDATION_MARGIN = 2.0
"""The liquidation distance is at least this many stop distances."""


@dataclass
class Constraints:
    stand_aside: list[str] = field(default_factory=list)
    stop_floor_atr: float = 1.0
    stop_cap_atr: float = 3.0
    max_risk: float = 1.0
    max_leverage: float = 5.0
    evidence: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{CONSTRAINTS} stand_aside={int(bool(self.stand_aside))} "
            f"stop_floor_atr={self.stop_floor_atr:.2f} stop_cap_atr={self.stop_cap_atr:.2f} "
            f"max_risk={self.max_risk:.2f} max_leverage={self.max_leverage:.0f}"
        )


def read_constraints(turn: Data | None) -> Constraints | None:
    """The constraints a risk turn states (None when it states none)."""
    if turn is None or CONSTRAINTS not in str(turn.get("argument", "")):
        return None
    text = str(turn["argument"]).rpartition(CONSTRAINTS)[2]
    c = Constraints(
        stop_floor_atr=note_float(text, "stop_floor_atr", 1.0),
        stop_cap_atr=note_float(text, "stop_cap_atr", 3.0),
        max_risk=note_float(text, "max_risk", 1.0),
        max_leverage=note_float(text, "max_leverage", 5.0),
        evidence=list(turn.get("evidence") or []),
    )
    if notes(text).get("stand_aside") == "1":
        c.stand_aside = [str(turn["argument"]).partition(CONSTRAINTS)[0].strip()]
    return c


def constraints(memo: Data, data: Data) -> Constraints:
    dk = desk(data)
    c = Constraints(
        stop_floor_atr=dk["min_stop_atr"],
        stop_cap_atr=dk["max_stop_atr"],
        max_leverage=dk["max_leverage"],
    )
    price, atr = num(memo, F_PRICE), num(memo, F_ATR)
    atr_pct = num(memo, F_ATR_PCT) or ((atr / price) if atr and price else None)
    vol = num(memo, F_VOL)

    def aside(reason: str, *ev: str) -> None:
        c.stand_aside.append(reason)
        c.evidence += list(ev)

    if price is None or atr is None:
        aside("no price or ATR in the memo: risk cannot be sized")
    for uid, what in ((U_STALE, "stale data"), (U_DATA_GAP, "a data gap in the last day"),
                      (U_HALTED, "halted (zero-volume) bars in the last day")):  # fmt: skip
        if unknown(memo, uid):
            aside(f"{what} ({uid})", uid)
    if atr_pct is not None and atr_pct > dk["max_atr_pct"]:
        aside(f"ATR {atr_pct:.2%} of price is above {dk['max_atr_pct']:.1%}", F_ATR_PCT)
    if vol is not None and vol > dk["max_vol"]:
        aside(f"realised vol {vol:.0%} is above {dk['max_vol']:.0%}", F_VOL)
    account = data.get("account") or {}
    symbol = memo.get("symbol")
    positions = [p for p in account.get("positions", []) if p.get("quantity")]
    if any(p.get("symbol") == symbol for p in positions):
        aside(f"{symbol} is already held: hold, close or tighten, no new entry")
    equity, avail = account.get("equity"), account.get("available")
    if equity and avail is not None and equity > 0:
        used = 1.0 - float(avail) / float(equity)
        if used > 0.8:
            aside(f"{used:.0%} of equity is already margin")
        elif positions:
            c.max_risk = min(c.max_risk, 1.0 - 0.15 * len(positions))
            c.reasons.append(f"{len(positions)} other position(s) open: max risk {c.max_risk:.2f}")
    if vol is not None and vol > HOT_VOL_SHARE * dk["max_vol"]:
        c.stop_floor_atr = min(c.stop_cap_atr, c.stop_floor_atr + 0.5)
        c.reasons.append(f"hot volatility ({vol:.0%}): stop floor {c.stop_floor_atr:.1f} ATR")
        c.evidence.append(F_VOL)
    vz = num(memo, F_VOLUME_Z)
    count, bias = num(memo, F_NEWS_COUNT), num(memo, F_NEWS_BIAS)
    if vz is not None and vz >= 3.0:
        c.max_risk = min(c.max_risk, 0.5)
        c.reasons.append(f"volume {vz:+.1f} sigma: event risk, max risk {c.max_risk:.2f}")
        c.evidence.append(F_VOLUME_Z)
    if count is not None and bias is not None and count >= 20 and abs(bias) >= 0.5:
        c.max_risk = min(c.max_risk, 0.5)
        c.reasons.append(f"{count:.0f} headlines at bias {bias:+.2f}: event risk")
        c.evidence += [F_NEWS_COUNT, F_NEWS_BIAS]
    if atr and price:
        stop_pct = c.stop_floor_atr * atr / price
        lev = math.floor(1.0 / (LIQUIDATION_MARGIN * stop_pct)) if stop_pct > 0 else 1
        c.max_leverage = float(clip(lev, 1, dk["max_leverage"]))
        c.evidence += [F_ATR, F_PRICE]
    c.evidence = list(dict.fromkeys(c.evidence))
    return c


def risk_view(memo: Data, data: Data) -> dict[str, Any]:
    """The Risk Manager's opening turn: its constraints (from memo, desk, account only)."""
    c = constraints(memo, data)
    if c.stand_aside:
        head = "Stand aside: " + "; ".join(c.stand_aside) + "."
        conf = 0.8
    else:
        head = "A trade is allowed within these limits" + (
            ": " + "; ".join(c.reasons) + "." if c.reasons else "."
        )
        conf = 0.5
    return view("FLAT", conf, DECISION_HORIZON, f"{head}\n{c.line()}", c.evidence)
