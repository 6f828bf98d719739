"""`auraquant memo` (placeholder: filled by its issue)."""

from __future__ import annotations

from auraquant.cli.common import fail


def memo() -> None:
    """Not built yet."""
    fail("not built yet")
