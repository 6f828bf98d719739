"""`auraquant meet` (placeholder: filled by its issue)."""

from __future__ import annotations

from auraquant.cli.common import fail


def meet() -> None:
    """Not built yet."""
    fail("not built yet")
