"""The memo: the facts, signals and unknowns an agent meeting argues over."""

from memos.models import Fact, Memo, Signal, Unknown

__all__ = ["Fact", "Memo", "Signal", "Unknown"]
