"""Fault-injection points for the crash tests (empty in normal runs).

``BEFORE_RECORD`` is called with every AI-log record a scheduled meeting is about to keep (the
tests kill the worker when the node after the CTO starts reporting), ``AFTER_PLACE`` with the
meeting key once its order is on the exchange and before the ledger records it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BEFORE_RECORD: list[Callable[[dict[str, Any]], None]] = []
AFTER_PLACE: list[Callable[[str], None]] = []
