"""Shared fixtures: the real data, an isolated AURAQUANT_HOME, placeholder keys, no network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.paths import shared_data_dir

# Placeholder keys: provider constructors insist on one; none of these is a real secret.
os.environ.setdefault("OPENAI_API_KEY", "placeholder-not-a-key")
os.environ.setdefault("GOOGLE_API_KEY", "placeholder-not-a-key")
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("LANGGRAPH_NO_VERSION_CHECK", "1")


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Every test leaves the process environment as it found it: code under test may load a
    ``.env`` into ``os.environ`` (``load_environment``), which ``monkeypatch`` does not undo
    for variables that were not set before, and a leaked ``AURAQUANT_MEETING_BUDGET=2`` would
    change every later meeting."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
        from auraquant.settings import get_settings

        get_settings.cache_clear()


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
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The whole shared data set (candles 1m, 5m, 1h and both news files) imported once per
    session into a temp ``$AURAQUANT_HOME``; yields its ``store/`` dir. Read-only for tests:
    copy it (``shutil.copytree``) before changing anything.

    The store is ~11,000 small daily partitions (~60 MB); creating that many files on a busy
    disk is slow, so it goes to RAM (``/dev/shm``) when there is room, and is removed at the end
    of the session. Costs about 5-10 s once.
    """
    import shutil
    import tempfile

    from tools.importer import import_path
    from tools.paths import store_dir

    shm = Path("/dev/shm")
    in_ram = shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2**30
    home = (
        Path(tempfile.mkdtemp(prefix="aq_real_home_", dir=shm))
        if in_ram
        else tmp_path_factory.mktemp("real_home")
    )
    store = store_dir(home)
    try:
        import_path(shared_data, store, progress=False, fsync=False)
        yield store
    finally:
        if in_ram:
            shutil.rmtree(home, ignore_errors=True)
