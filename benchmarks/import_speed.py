"""Import speed: the whole ../shared/data set into a fresh temp store, in rows per second.

Usage: ``.venv/bin/python benchmarks/import_speed.py`` (prints one JSON object).
Also times the idempotent re-import (validates everything, rewrites nothing).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.importer import import_path
from tools.paths import shared_data_dir


def main() -> None:
    data = shared_data_dir()
    if data is None:
        print(json.dumps({"error": "shared data not found (set AURAQUANT_DATA)"}))
        raise SystemExit(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        t0 = time.perf_counter()
        report = import_path(data, store, progress=False)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = import_path(data, store, progress=False)
        second = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "benchmark": "import_speed",
                "data": str(data),
                "files": len(report.files),
                "rows": report.rows,
                "partitions_written": report.partitions_written,
                "seconds": round(first, 3),
                "rows_per_s": round(report.rows / first),
                "reimport_seconds": round(second, 3),
                "reimport_partitions_written": again.partitions_written,
                "fsync": True,
                "cpus": os.cpu_count(),
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
