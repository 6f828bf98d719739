"""`auraquant backtest` (placeholder: filled by its issue)."""

from __future__ import annotations

from auraquant.cli.common import fail


def backtest() -> None:
    """Not built yet."""
    fail("not built yet")
