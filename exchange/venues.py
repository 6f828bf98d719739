"""Venue profiles: the defaults of ``ExchangeConfig.for_venue("weex" | "binance")``.

Every value cites its source in exchange/CONTRACT.md ("Venue profiles"); what could not be
confirmed stays a setting with the project default. WEEX is the target venue (the competition);
Binance USDⓈ-M is the reference the notes and most tools follow.
"""

from __future__ import annotations

from typing import Any

from exchange.instruments import Instrument, default_instruments

# Binance BTCUSDT leverage brackets (notional cap, maintenance rate, cumulative amount), as
# reverse-engineered from Binance's UI (gist highfestiva/b71e76f5…, 2021); the live table is
# GET /fapi/v1/leverageBracket and changes over time.
BINANCE_BTCUSDT_TIERS: tuple[tuple[float, float, float], ...] = (
    (50_000.0, 0.004, 0.0),
    (250_000.0, 0.005, 50.0),
    (1_000_000.0, 0.01, 1_300.0),
    (10_000_000.0, 0.025, 16_300.0),
    (20_000_000.0, 0.05, 266_300.0),
    (50_000_000.0, 0.10, 1_266_300.0),
    (100_000_000.0, 0.125, 2_516_300.0),
    (200_000_000.0, 0.15, 5_016_300.0),
    (300_000_000.0, 0.25, 25_016_300.0),
    (500_000_000.0, 0.50, 100_016_300.0),
)
BINANCE_MIN_NOTIONAL = 5.0  # USDⓈ-M rule since 2021-02-24 (announcement); per symbol since
BINANCE_PRICE_BAND = 0.05  # PERCENT_PRICE multiplierUp 1.05 / multiplierDown 0.95 (BTCUSDT)


def _binance_instruments() -> dict[str, Instrument]:
    out = {}
    for sym, inst in default_instruments().items():
        update: dict[str, Any] = {
            "min_notional": BINANCE_MIN_NOTIONAL,
            "price_band": BINANCE_PRICE_BAND,
        }
        if sym == "BTCUSDT":
            update["maintenance_tiers"] = BINANCE_BTCUSDT_TIERS
        out[sym] = inst.model_copy(update=update)
    return out


def venue_defaults(venue: str) -> dict[str, Any]:
    """The ``ExchangeConfig`` fields a venue profile sets."""
    if venue == "weex":
        return {
            "venue": "weex",
            "maker_fee": 0.0002,  # contracts endpoint example makerFeeRate
            "taker_fee": 0.0006,  # 0.0006-0.0008 in the examples; the lower is the default
            "funding_from_margin": True,
            "position_accounting": "average",
            "instruments": default_instruments(),
        }
    if venue == "binance":
        return {
            "venue": "binance",
            "maker_fee": 0.0002,  # USDⓈ-M regular tier
            "taker_fee": 0.0005,
            "funding_from_margin": False,  # not confirmed: a setting
            "position_accounting": "average",
            "instruments": _binance_instruments(),
        }
    raise ValueError(f"venue: unknown venue {venue!r} (known: binance, weex)")
