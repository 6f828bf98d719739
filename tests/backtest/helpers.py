"""Tiny bar sequences for engine tests."""

from __future__ import annotations

import pandas as pd

from exchange.virtual import ExchangeConfig

START = pd.Timestamp("2023-01-01T00:00:00Z")


def make_bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """1m bars from (open, high, low, close) rows, starting 2023-01-01T00:00Z."""
    idx = pd.date_range(START, periods=len(rows), freq="1min", name="ts")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx, dtype=float)
    frame["volume"] = 1.0
    return frame


def flat(n: int, px: float = 100.0) -> list[tuple[float, float, float, float]]:
    return [(px, px + 0.5, px - 0.5, px)] * n


def cfg(**kw: float) -> ExchangeConfig:
    """No slippage and no funding unless asked: hand calculations stay short."""
    base = {"taker_fee": 0.001, "maker_fee": 0.0005, "slippage_bps": 0.0, "funding_rate": 0.0}
    base.update(kw)
    return ExchangeConfig(**base)
