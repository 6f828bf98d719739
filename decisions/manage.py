"""MANAGE: what a meeting's decision means when the desk already holds a position on the symbol.

With a position open the question is hold / close / tighten, never a second entry. A pure
function of (decision, position, market, limits), like the gate, and like the gate it can only
reduce risk: close the position, or move its stop toward the price.

- ``manage_close_on_reversal``: the decision is the opposite side with confidence at least the
  gate's ``min_confidence`` -> close at market.
- ``manage_tighten_stop``: the decision is the same side and names a stop that is tighter than
  the working one, on the safe side of the price by at least ``min_stop_atr`` ATR -> move it.
- otherwise hold (a FLAT decision is "no new trade", not "sell what we have").
- ``manage_max_hold``: a position held longer than ``max_hold`` is closed whatever the meeting
  says (checked on every bar the desk sees, not only at meetings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from decisions.limits import RiskLimits
from decisions.schema import Decision

ManageAction = Literal["hold", "close", "tighten"]


class ManagePlan(BaseModel):
    """What the desk does with an open position after a meeting."""

    model_config = ConfigDict(frozen=True)

    action: ManageAction
    symbol: str
    rule: str
    reason: str
    stop_loss: float | None = None  # the new stop, for "tighten"


def _side(quantity: float) -> str:
    return "LONG" if quantity > 0 else "SHORT"


def manage_max_hold(
    *, symbol: str, opened_at: datetime | None, at: datetime, limits: RiskLimits
) -> ManagePlan | None:
    """Close a position held for ``limits.max_hold`` or longer."""
    if opened_at is None or at - opened_at < limits.max_hold:
        return None
    return ManagePlan(
        action="close",
        symbol=symbol,
        rule="M01_max_hold",
        reason=f"held since {opened_at.isoformat()} >= max hold {limits.max_hold}",
    )


def manage_close_on_reversal(
    decision: Decision, quantity: float, limits: RiskLimits
) -> ManagePlan | None:
    held = _side(quantity)
    if decision.action in ("FLAT", held) or decision.confidence < limits.min_confidence:
        return None
    return ManagePlan(
        action="close",
        symbol=decision.symbol,
        rule="M02_reversal",
        reason=f"holding {held}, the meeting says {decision.action} at confidence "
        f"{decision.confidence:.2f} >= {limits.min_confidence:g}: close, no flip in one step",
    )


def manage_tighten_stop(
    decision: Decision,
    quantity: float,
    current_stop: float | None,
    price: float,
    atr: float,
    limits: RiskLimits,
) -> ManagePlan | None:
    new = decision.stop_loss
    if decision.action != _side(quantity) or new is None or atr <= 0:
        return None
    room = limits.min_stop_atr * atr
    safe = new <= price - room if quantity > 0 else new >= price + room
    tighter = current_stop is None or (new > current_stop if quantity > 0 else new < current_stop)
    if not (safe and tighter):
        return None
    return ManagePlan(
        action="tighten",
        symbol=decision.symbol,
        rule="M03_tighten",
        reason=f"same side ({decision.action}); stop {current_stop} -> {new:g}, still "
        f">= {limits.min_stop_atr:g} ATR from price {price:g}",
        stop_loss=new,
    )


def manage_position(
    decision: Decision,
    *,
    quantity: float,
    current_stop: float | None,
    price: float,
    atr: float,
    opened_at: datetime | None,
    at: datetime,
    limits: RiskLimits,
) -> ManagePlan:
    """Hold, close or tighten, by the rules above in order."""
    for plan in (
        manage_max_hold(symbol=decision.symbol, opened_at=opened_at, at=at, limits=limits),
        manage_close_on_reversal(decision, quantity, limits),
        manage_tighten_stop(decision, quantity, current_stop, price, atr, limits),
    ):
        if plan is not None:
            return plan
    return ManagePlan(
        action="hold",
        symbol=decision.symbol,
        rule="M00_hold",
        reason=f"holding {_side(quantity)}; the meeting says {decision.action} "
        f"({decision.confidence:.2f}): stop and target stay",
    )
