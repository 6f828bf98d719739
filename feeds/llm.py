"""The one place the news labeler touches the model factory (``agents.models``).

If the factory's name or signature changes, this adapter is the one line to fix.
"""

from __future__ import annotations

from typing import Any


def chat_model(model_id: str) -> Any:
    """The chat model for ``model_id`` (``provider:model``) from the agents' factory."""
    from agents.models import cached_chat_model

    return cached_chat_model(model_id)
