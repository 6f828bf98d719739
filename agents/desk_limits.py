"""The desk's own working limits, written once: the offline seats read them (``agents.policies``)
and the meeting graph derives them inside the gate's limits (``graph.nodes.desk_for``).

They live in ``agents/`` because the seats may not import ``decisions/`` (DESIGN.md §2); the graph
passes the gate's numbers in. The desk is at least as strict as the gate: its stop sits inside the
gate's ATR band, its reward/risk at or above the gate's minimum.
"""

from __future__ import annotations

DESK_MAX_STOP_ATR = 3.0
"""A stop wider than this many ATRs is vetoed by the Risk Manager."""
DESK_STOP_ATR = 1.5
"""The stop the Risk Manager and the CTO set, in ATRs."""
DESK_MIN_REWARD_RISK = 2.0
"""Take-profit distance / stop distance."""
DESK_MAX_LEVERAGE = 5.0
"""The leverage cap when no gate limits are given (the gate's default cap)."""
DESK_MAX_ATR_PCT = 0.03
"""A 1 h ATR above 3 % of price: too wild to trade."""
DESK_MAX_VOL = 1.5
"""Annualised realised volatility above 150 %: too wild."""
DESK_MIN_STOP_ATR = 1.0
"""The Risk Manager's stop floor in calm markets, in ATRs (1h noise stops a tighter stop out)."""
DESK_MIN_CONFIDENCE = 0.5
"""The gate's minimum confidence when the meeting passes none (``RiskLimits.min_confidence``)."""
DESK_TAKER_FEE = 0.0006
DESK_MAKER_FEE = 0.0002
DESK_SLIPPAGE = 0.0001
DESK_FUNDING_8H = 0.0001
"""The costs the desk plans with (the virtual exchange's defaults): fees per fill, a taker's
slippage, funding per 8 h."""
DESK_COST_MARGIN = 2.0
"""A trade's expected move must be at least this many times its round-trip cost."""


def desk_limits(
    *,
    min_stop_atr: float,
    max_stop_atr: float,
    min_reward_risk: float,
    leverage_cap: float,
    min_confidence: float = DESK_MIN_CONFIDENCE,
) -> dict[str, float]:
    """The desk's working numbers inside the gate's limits (given as plain numbers)."""
    return {
        **DEFAULT_DESK,
        "max_stop_atr": min(DESK_MAX_STOP_ATR, max_stop_atr),
        "min_stop_atr": min(max(DESK_MIN_STOP_ATR, min_stop_atr), max_stop_atr),
        "stop_atr": min(max(DESK_STOP_ATR, min_stop_atr), max_stop_atr),
        "min_reward_risk": max(DESK_MIN_REWARD_RISK, min_reward_risk),
        "max_leverage": leverage_cap,
        "min_confidence": min_confidence,
    }


DEFAULT_DESK: dict[str, float] = {
    "max_stop_atr": DESK_MAX_STOP_ATR,
    "stop_atr": DESK_STOP_ATR,
    "min_reward_risk": DESK_MIN_REWARD_RISK,
    "max_leverage": DESK_MAX_LEVERAGE,
    "max_atr_pct": DESK_MAX_ATR_PCT,
    "max_vol": DESK_MAX_VOL,
    "min_stop_atr": DESK_MIN_STOP_ATR,
    "min_confidence": DESK_MIN_CONFIDENCE,
    "taker_fee": DESK_TAKER_FEE,
    "maker_fee": DESK_MAKER_FEE,
    "slippage": DESK_SLIPPAGE,
    "funding_8h": DESK_FUNDING_8H,
    "cost_margin": DESK_COST_MARGIN,
}
"""The desk's numbers when the meeting passes none (the seats' fallback)."""
