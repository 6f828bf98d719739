"""Where AuraQuant reads and writes: $AURAQUANT_HOME, its store, its runs, the shared data."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home_dir() -> Path:
    """``$AURAQUANT_HOME``, default ``.auraquant/`` in the working directory."""
    return Path(os.environ.get("AURAQUANT_HOME") or ".auraquant").resolve()


def store_dir(home: Path | None = None) -> Path:
    """The Parquet store: ``$AURAQUANT_HOME/store``."""
    return (home or home_dir()) / "store"


def runs_dir(home: Path | None = None) -> Path:
    """Every run's output: ``$AURAQUANT_HOME/runs``."""
    return (home or home_dir()) / "runs"


class DataDirError(ValueError):
    """``$AURAQUANT_DATA`` is set but names no data folder."""


def shared_data_dir() -> Path | None:
    """The real market data: ``$AURAQUANT_DATA``, else ``../shared/data`` beside the project.

    Returns None when neither is there, so callers can fall back to synthetic data and say so.
    ``$AURAQUANT_DATA`` set to a path that does not exist, or that holds no ``candles/`` or
    ``news/`` folder, raises :class:`DataDirError` naming the variable and the path: a setting
    that points nowhere is a mistake, not a reason to fall back quietly.
    """
    env = os.environ.get("AURAQUANT_DATA")
    if env:
        c = Path(env)
        if not c.exists():
            raise DataDirError(f"AURAQUANT_DATA={env}: no such file or directory")
        if not ((c / "candles").is_dir() or (c / "news").is_dir()):
            raise DataDirError(f"AURAQUANT_DATA={env}: no candles/ or news/ folder in it")
        return c.resolve()
    for c in (Path.cwd().parent / "shared" / "data", PROJECT_ROOT.parent / "shared" / "data"):
        if (c / "candles").is_dir() or (c / "news").is_dir():
            return c.resolve()
    return None
