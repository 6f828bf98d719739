"""Fixtures for the meeting graph: the real market view (built once) and meeting helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memos.market import MarketData

DAY = "2023-04-19"
SYMBOLS = ["BTCUSDT", "SOLUSDT"]


@pytest.fixture(scope="session")
def real_market(real_store: Path) -> MarketData:
    """BTC and SOL from the imported real store, warmed once for the session."""
    return MarketData.from_store(SYMBOLS, store=real_store).warm(SYMBOLS, "1h")


@pytest.fixture()
def meet(real_market: MarketData, aq_home: Path) -> Callable[..., Any]:
    """Hold one meeting on the real data in a fresh home; keyword args go to MeetingServices."""
    from graph.context import MeetingContext
    from graph.meeting import run_meeting
    from graph.services import MeetingServices

    def _meet(symbol: str, at: str, ctx: dict[str, Any] | None = None, **services: Any) -> Any:
        svc = MeetingServices(market=real_market, **services)
        return run_meeting(symbol, at, MeetingContext(**(ctx or {})), services=svc)

    return _meet
