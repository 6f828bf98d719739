"""The chat-model factory: ``provider:model`` strings to LangChain chat models.

``offline`` (the default) is the embedded deterministic desk; every other id goes through
``langchain.chat_models.init_chat_model``: ``openai:<model>`` is ChatOpenAI (any
OpenAI-compatible server through ``base_url`` or ``$OPENAI_BASE_URL``: vLLM, LM Studio, Ollama
at ``http://127.0.0.1:11434/v1``…); ``ollama:<model>`` is ChatOpenAI pointed at Ollama's OpenAI
endpoint; ``google_genai:<model>`` is ChatGoogleGenerativeAI. A server named by a base URL needs
no real key: a placeholder is supplied. Every real model gets the request timeout of the
settings and no retries of its own — ``agents.llm`` retries with backoff and ``Retry-After`` —
and, unless disabled, the LLM call cache (``agents.llm_cache``). Provider packages are imported
only when used.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel

from agents.offline import OfflineChatModel

PROVIDERS = ("offline", "openai", "ollama", "google_genai")
OLLAMA_BASE_URL = "http://127.0.0.1:11434/v1"
PLACEHOLDER_KEY = "not-needed-for-a-local-server"
DEFAULT_TIMEOUT = 30.0
_PACKAGES = {"openai": "langchain_openai", "ollama": "langchain_openai"}
_PACKAGES["google_genai"] = "langchain_google_genai"


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


def _require(provider: str) -> None:
    module = _PACKAGES[provider]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ModelSpecError(
            f"provider {provider!r} needs the package {module.replace('_', '-')}: "
            "pip install 'auraquant[llm]'"
        ) from exc


@dataclass(frozen=True)
class ModelOptions:
    """How a real model is built: server, key, temperature, timeout, cache."""

    base_url: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    timeout: float = DEFAULT_TIMEOUT
    cache: BaseCache | bool | None = False


def openai_kwargs(provider: str, name: str, opts: ModelOptions) -> dict[str, Any]:
    """ChatOpenAI's arguments: a base-URL server gets a placeholder key when none is set."""
    url = opts.base_url or (
        OLLAMA_BASE_URL if provider == "ollama" else os.environ.get("OPENAI_BASE_URL") or None
    )
    key = opts.api_key or os.environ.get("OPENAI_API_KEY") or (PLACEHOLDER_KEY if url else None)
    kwargs: dict[str, Any] = {
        "temperature": opts.temperature,
        "max_retries": 0,
        "timeout": opts.timeout,
        "use_responses_api": False,
    }
    if url:
        kwargs["base_url"] = url
    if key:
        kwargs["api_key"] = key
    return kwargs


def google_kwargs(name: str, opts: ModelOptions) -> dict[str, Any]:
    """ChatGoogleGenerativeAI's arguments: the same timeout, one attempt (we retry)."""
    kwargs: dict[str, Any] = {
        "temperature": opts.temperature,
        "max_retries": 1,  # google-genai counts attempts: 1 = no retry of its own
        "timeout": opts.timeout,
    }
    if opts.base_url:
        kwargs["base_url"] = opts.base_url
    key = (
        opts.api_key
        or os.environ.get("GOOGLE_API_KEY")
        or (PLACEHOLDER_KEY if opts.base_url else None)
    )
    if key:
        kwargs["google_api_key"] = key
    return kwargs


def load_chat_model(
    model_id: str = "offline",
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.0,
    timeout: float = DEFAULT_TIMEOUT,
    cache: BaseCache | bool | None = False,
) -> BaseChatModel:
    """Build the chat model named by ``model_id`` (see the module docstring)."""
    provider, name = parse_model_id(model_id)
    if provider == "offline":
        return OfflineChatModel()
    _require(provider)
    from langchain.chat_models import init_chat_model

    opts = ModelOptions(base_url, api_key, temperature, timeout, cache)
    if provider in ("openai", "ollama"):
        kwargs = openai_kwargs(provider, name, opts)
        lc_provider = "openai"
    else:
        kwargs = google_kwargs(name, opts)
        lc_provider = "google_genai"
    model = init_chat_model(name, model_provider=lc_provider, cache=cache, **kwargs)
    assert isinstance(model, BaseChatModel)
    return model


@lru_cache(maxsize=32)
def cached_chat_model(
    model_id: str,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    cache: BaseCache | None = None,
) -> BaseChatModel:
    """One model object per (id, base URL, timeout, cache) per process: building ChatOpenAI is
    not free."""
    return load_chat_model(
        model_id, base_url=base_url, timeout=timeout, cache=cache if cache is not None else False
    )
