"""Start and stop real Celery workers for the schedule benchmarks (own Redis key prefix, own
PostgreSQL schema, removed afterwards)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REDIS = "redis://127.0.0.1:6379/0"
PG = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def workers(n: int, home: Path) -> Iterator[dict[str, str]]:
    """``n`` solo-pool worker processes on the machine's Redis; yields the environment."""
    import psycopg
    import redis

    tag = uuid.uuid4().hex[:10]
    schema, prefix = f"aqbench_{tag}", f"aqbench-{tag}:"
    with psycopg.connect(PG, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    env = {"AURAQUANT_HOME": str(home), "REDIS_URL": REDIS,
           "DATABASE_URL": f"{PG}?options=-csearch_path%3D{schema}",
           "AURAQUANT_CELERY_PREFIX": prefix, "AURAQUANT_EXCHANGE_REDIS_KEY": f"{prefix}exchange"}  # fmt: skip
    os.environ.update(env)
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    procs, logs = [], []
    try:
        for i in range(n):
            log = home / f"bench-worker{i}.log"
            f = log.open("w")
            procs.append(subprocess.Popen(
                [sys.executable, "-c", "from auraquant.cli import main; main()", "worker",
                 "--pool", "solo", "--name", f"bench{i}-{tag}@%h", "--loglevel", "INFO"],
                env={**os.environ, **env}, stdout=f, stderr=f, cwd=ROOT,
            ))  # fmt: skip
            logs.append(log)
        deadline = time.monotonic() + 60
        while not all("ready." in lg.read_text() for lg in logs):
            if time.monotonic() > deadline:
                raise SystemExit("workers not ready in 60 s")
            time.sleep(0.2)
        yield env
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        r = redis.Redis.from_url(REDIS)
        keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            r.delete(*keys)
        with psycopg.connect(PG, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
