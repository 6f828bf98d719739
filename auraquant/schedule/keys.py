"""The identity of one scheduled meeting, written once: (desk, symbol, scheduled time).

The same key names the meeting's claim (exactly once), its LangGraph thread (its checkpoints)
and the client order id of every order it places (find-before-place after a crash)."""

from __future__ import annotations

import hashlib

from tools.timeutil import iso, parse_utc


def meeting_key(desk: str, symbol: str, at: str) -> str:
    """``desk:symbol:ISO-time``, the time normalised so two spellings are one key."""
    return f"{desk}:{symbol}:{iso(parse_utc(at))}"


def thread_id(key: str) -> str:
    """The LangGraph thread id of the meeting (its checkpoints live under it)."""
    return f"meeting:{key}"


def client_order_id(key: str) -> str:
    """A short, stable client order id for the meeting's entry: ``aq-`` + 24 hex of sha256."""
    return "aq-" + hashlib.sha256(key.encode()).hexdigest()[:24]
