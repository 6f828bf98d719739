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


def shared_data_dir() -> Path | None:
    """The real market data: ``$AURAQUANT_DATA``, else ``../shared/data`` beside the project.

    Returns None when neither exists, so callers can fall back to synthetic data and say so.
    """
    env = os.environ.get("AURAQUANT_DATA")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd().parent / "shared" / "data", PROJECT_ROOT.parent / "shared" / "data"]
    for c in candidates:
        if (c / "candles").is_dir() or (c / "news").is_dir():
            return c.resolve()
    return None
