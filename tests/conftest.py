"""Shared fixtures: the real data, an isolated AURAQUANT_HOME, placeholder keys, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.paths import shared_data_dir

# Placeholder keys: provider constructors insist on one; none of these is a real secret.
os.environ.setdefault("OPENAI_API_KEY", "sk-placeholder-not-a-key")
os.environ.setdefault("GOOGLE_API_KEY", "placeholder-not-a-key")
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("LANGGRAPH_NO_VERSION_CHECK", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Binance candles and headlines (``$AURAQUANT_DATA`` or ``../shared/data``)."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data not found: set AURAQUANT_DATA or put shared/data beside the project")
    return d


@pytest.fixture()
def aq_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ``$AURAQUANT_HOME`` for one test."""
    home = tmp_path / "aq_home"
    home.mkdir()
    monkeypatch.setenv("AURAQUANT_HOME", str(home))
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
