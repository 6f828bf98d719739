"""The chat-model factory: ``provider:model`` strings to LangChain chat models.

``offline`` (the default) is the embedded deterministic desk; ``openai:<model>`` is ChatOpenAI
(any OpenAI-compatible server through ``base_url`` or ``$OPENAI_BASE_URL``: vLLM, LM Studio…);
``ollama:<model>`` is ChatOpenAI pointed at Ollama's OpenAI endpoint; ``google_genai:<model>`` is
ChatGoogleGenerativeAI. Provider SDKs are imported only when used, so nothing needs a key or
an SDK unless that provider is chosen.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.offline import OfflineChatModel

PROVIDERS = ("offline", "openai", "ollama", "google_genai")
OLLAMA_BASE_URL = "http://127.0.0.1:11434/v1"


class ModelSpecError(ValueError):
    """A model id the factory cannot build, with the reason."""


def parse_model_id(model_id: str) -> tuple[str, str]:
    """``'openai:gpt-4o-mini'`` -> ``('openai', 'gpt-4o-mini')``; ``'offline'`` -> ``('offline', '')``."""
    spec = (model_id or "").strip()
    provider, _, name = spec.partition(":")
    if provider not in PROVIDERS:
        raise ModelSpecError(
            f"model {model_id!r}: unknown provider {provider!r}; use one of "
            "offline, openai:<model>, ollama:<model>, google_genai:<model>"
        )
    if provider != "offline" and not name:
        raise ModelSpecError(
            f"model {model_id!r}: name the model after the colon, e.g. {provider}:<model>"
        )
    return provider, name


def _import(module: str, cls: str, extra: str) -> Any:
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise ModelSpecError(
            f"provider {extra!r} needs the package {module.replace('_', '-')}: "
            "pip install 'auraquant[llm]'"
        ) from exc


def load_chat_model(
    model_id: str = "offline",
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.0,
    max_retries: int = 2,
    timeout: float | None = 60.0,
) -> BaseChatModel:
    """Build the chat model named by ``model_id`` (see the module docstring)."""
    provider, name = parse_model_id(model_id)
    if provider == "offline":
        return OfflineChatModel()
    if provider in ("openai", "ollama"):
        chat_openai = _import("langchain_openai", "ChatOpenAI", provider)
        url = base_url or (
            OLLAMA_BASE_URL if provider == "ollama" else os.environ.get("OPENAI_BASE_URL")
        )
        key = (
            api_key
            or os.environ.get("OPENAI_API_KEY")
            or ("ollama" if provider == "ollama" else None)
        )
        kwargs: dict[str, Any] = {
            "model": name,
            "temperature": temperature,
            "max_retries": max_retries,
            "timeout": timeout,
            "use_responses_api": False,
        }
        if url:
            kwargs["base_url"] = url
        if key:
            kwargs["api_key"] = key
        model: BaseChatModel = chat_openai(**kwargs)
        return model
    chat_google = _import("langchain_google_genai", "ChatGoogleGenerativeAI", provider)
    gkwargs: dict[str, Any] = {
        "model": name,
        "temperature": temperature,
        "max_retries": max_retries,
    }
    if base_url:
        gkwargs["base_url"] = base_url
    if api_key:
        gkwargs["google_api_key"] = api_key
    google: BaseChatModel = chat_google(**gkwargs)
    return google


@lru_cache(maxsize=32)
def cached_chat_model(model_id: str, base_url: str | None = None) -> BaseChatModel:
    """One model object per (id, base URL) per process: building ChatOpenAI is not free."""
    return load_chat_model(model_id, base_url=base_url)
