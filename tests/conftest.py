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


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole shared data set (candles 1m, 5m, 1h and both news files) imported once per
    session into a temp ``$AURAQUANT_HOME``; returns its ``store/`` dir. Read-only for tests:
    copy it (``shutil.copytree``) before changing anything. Costs about 6-10 s once."""
    from tools.importer import import_path
    from tools.paths import store_dir

    store = store_dir(tmp_path_factory.mktemp("real_home"))
    import_path(shared_data, store, progress=False, fsync=False)
    return store
