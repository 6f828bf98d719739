"""The gate's R00 rules: whether any order may be sized at all, before R01-R15 look at it.

Each rule is a pure function named after its id, reading only :class:`GateInputs` (what the desk
knows beyond the price and the account) and the limits, and returning the :class:`GateReason` it
failed with, or ``None`` when it passed. ``risk_gate`` runs them first:

- ``R00_position_open``: a position is open on the symbol: no second entry (the decision is a
  manage question). When it fails it is the only reason given.
- ``R00_clock``: the exchange's clock is already past the meeting; an order would land in its
  future.
- ``R00_market``: the memo has no usable price / ATR, or its data is stale; no order is sized on
  a missing or stale price (one reason per cause).
- ``R00_p_win``: with ``limits.min_p_win`` set, an entry needs the review loop's P(win) at or
  above it (no estimate: denied; the rule fails closed).

Passed R00 rules leave no reason, so a gate result without a failed R00 reads as it always did.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from decisions.limits import RiskLimits
from decisions.schema import GateReason

R00_POSITION_OPEN = "R00_position_open"
R00_CLOCK = "R00_clock"
R00_MARKET = "R00_market"
R00_P_WIN = "R00_p_win"

PRE_RULE_IDS: tuple[str, ...] = (R00_POSITION_OPEN, R00_CLOCK, R00_MARKET, R00_P_WIN)


class OpenPosition(BaseModel):
    """A position already open on the decision's symbol, and what managing it means now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    quantity: float
    manage_note: str = Field(default="", description="the manage plan, e.g. 'hold: ...'")


class GateInputs(BaseModel):
    """What the gate knows beyond price, ATR and the account: the R00 rules' inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memo_id: str = Field(default="", description="the memo the price came from, for messages")
    market_missing: bool = Field(default=False, description="no positive price / ATR in the memo")
    stale: tuple[str, ...] = Field(default=(), description="the memo's stale-data notes")
    exchange_past: bool = Field(default=False, description="exchange clock past the meeting")
    clock_note: str = ""
    p_win: float | None = Field(default=None, description="the review loop's P(win) estimate")
    open_position: OpenPosition | None = None


def r00_position_open(inputs: GateInputs) -> GateReason | None:
    """``R00_position_open``: no second entry on a symbol with a position open."""
    pos = inputs.open_position
    if pos is None:
        return None
    return GateReason(
        rule=R00_POSITION_OPEN,
        message=f"{pos.symbol} position {pos.quantity:g} open: no second entry; "
        f"manage it ({pos.manage_note})",
        passed=False,
    )


def r00_clock(inputs: GateInputs) -> GateReason | None:
    """``R00_clock``: the exchange is already past the meeting."""
    if not inputs.exchange_past:
        return None
    return GateReason(rule=R00_CLOCK, message=inputs.clock_note, passed=False)


def r00_market(inputs: GateInputs) -> list[GateReason]:
    """``R00_market``: no usable price / ATR, and one reason per stale-data note."""
    out: list[GateReason] = []
    if inputs.market_missing:
        out.append(
            GateReason(
                rule=R00_MARKET, message=f"no price/ATR in memo {inputs.memo_id}", passed=False
            )
        )
    for text in inputs.stale:
        out.append(
            GateReason(
                rule=R00_MARKET,
                message=f"stale data in memo {inputs.memo_id} ({text}); no order is sized on "
                "a stale price",
                passed=False,
            )
        )
    return out


def r00_p_win(p_win: float | None, limits: RiskLimits) -> GateReason | None:
    """``R00_p_win``: with ``limits.min_p_win`` set, P(win) at or above it (fails closed)."""
    if limits.min_p_win is None:
        return None
    if p_win is None or p_win < limits.min_p_win:
        got = "no estimate" if p_win is None else f"{p_win:.3f}"
        return GateReason(
            rule=R00_P_WIN,
            message=f"P(win) {got} < minimum {limits.min_p_win:g}",
            passed=False,
        )
    return None


def precondition_failures(inputs: GateInputs, limits: RiskLimits) -> list[GateReason]:
    """The failed R00 rules: an open position alone, else clock, market and P(win) together."""
    held = r00_position_open(inputs)
    if held is not None:
        return [held]
    out: list[GateReason] = []
    clock = r00_clock(inputs)
    if clock is not None:
        out.append(clock)
    out.extend(r00_market(inputs))
    pw = r00_p_win(inputs.p_win, limits)
    if pw is not None:
        out.append(pw)
    return out
