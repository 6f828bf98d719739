"""The offline desk: how each seat reasons, as plain functions of the prompt's data blocks.

One module per lens under ``agents.lenses`` (market, technical, risk, chair, advocate), the
interrupt rules as named functions in ``agents.lenses.interrupts`` and the answers to them in
``agents.lenses.answers``. This module only dispatches by the structured output asked for.
"""

from __future__ import annotations

from typing import Any

from agents.desk_limits import DEFAULT_DESK
from agents.lenses import answers, chair, interrupts
from agents.lenses.advocate import advocate_view
from agents.lenses.market import market_view
from agents.lenses.reading import DECISION_HORIZON, Data, view
from agents.lenses.risk import risk_view
from agents.lenses.technical import technical_view

__all__ = ["DEFAULT_DESK", "decide", "lookup", "opening_turn", "resolve", "review"]


def opening_turn(lens: str, data: Data) -> dict[str, Any]:
    """A seat's opening view. The Risk Manager reads the memo, the desk and the account only."""
    memo = data["memo"]
    if lens == "market":
        return market_view(memo)
    if lens == "technical":
        return technical_view(memo, data)
    if lens == "risk":
        return risk_view(memo, {k: v for k, v in data.items() if k != "turns"})
    if lens in ("bull", "bear"):
        return advocate_view(memo, data, "LONG" if lens == "bull" else "SHORT")
    return view("FLAT", 0.5, DECISION_HORIZON, "The chair does not open.", [])


def review(seat: Data, data: Data) -> list[dict[str, Any]]:
    return interrupts.review(seat, data)


def resolve(seat: Data, data: Data) -> dict[str, Any]:
    return answers.resolve(seat, data)


def lookup(seat: Data, data: Data) -> dict[str, Any] | None:
    return answers.lookup(seat, data)


def decide(seat: Data, data: Data) -> dict[str, Any]:
    return chair.decide(seat, data)
