"""Run directories: everything one command produces lives in ``runs/<run_id>/``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tools.paths import runs_dir


def run_dir(run_id: str, home: Path | None = None) -> Path:
    """Create (if needed) and return ``$AURAQUANT_HOME/runs/<run_id>``."""
    d = runs_dir(home) / run_id
    d.mkdir(parents=True, exist_ok=True)
    return d


def _umask() -> int:
    """The process umask (read by setting and restoring it), so run files get normal modes."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that a killed process leaves either the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented, key-sorted JSON (byte-stable for the same input)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
