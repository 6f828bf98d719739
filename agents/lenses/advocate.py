"""The Bull and the Bear (optional seats): advocates that argue one side with the conviction the
agreeing evidence gives, and structure levels like the Technical Analyst."""

from __future__ import annotations

from typing import Any

from agents.lenses.reading import (
    DECISION_HORIZON,
    SIGN,
    Data,
    clip,
    momentum_sign,
    num,
    r,
    trend_sign,
    view,
)
from agents.lenses.technical import structure_levels
from memos.models import F_NEWS_BIAS


def advocate_view(memo: Data, data: Data, side: str) -> dict[str, Any]:
    sgn = SIGN[side]
    d, s, tev = trend_sign(memo)
    mom, mev = momentum_sign(memo)
    bias = num(memo, F_NEWS_BIAS) or 0.0
    support = max(0.0, sgn * d * s) + max(0.0, sgn * mom) + max(0.0, sgn * bias)
    if support < 0.2:
        return view("FLAT", 0.5, DECISION_HORIZON, f"Even the {side.lower()} case is thin here (support {support:.2f}).", tev + mev)  # fmt: skip
    out = view(side, clip(0.5 + support / 6, 0.5, 0.8), DECISION_HORIZON, f"The {side.lower()} case: trend, momentum and news add to {support:.2f}.", tev + mev)  # fmt: skip
    lv = structure_levels(memo, data, side)
    if lv is not None:
        price, stop, tp, ev, _ = lv
        out.update(entry=r(price, price), stop_loss=r(stop, price), take_profit=r(tp, price))
        out["evidence"] = list(dict.fromkeys(out["evidence"] + ev))
    return out
