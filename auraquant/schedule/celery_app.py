"""The Celery app: scheduled desk steps and replay meetings on workers, Redis as broker and
result backend (``REDIS_URL``, default the Redis on this machine).

- ``auraquant.desk_tick`` (what ``auraquant beat`` sends at every bar close): under the desk's
  Redis lock, the closes missed since the desk's last step are run late or skipped by its policy
  (``schedule.loop.catch_up``), then the step at the latest close is held — the same
  ``DeskRunner.step`` as ``auraquant run``, each meeting claimed exactly once. A desk with
  ``exchange="weex"`` trades WEEX from the worker's settings (``WEEX_*``): orders carry the
  meeting's client id (a redelivered tick finds its order instead of placing another) and, with
  ``WEEX_AI_LOG_ENABLED``, the worker uploads the AI log from its own disk-queue slot.
- ``auraquant.hold_meeting``: one decide-only replay meeting (``backtest.replay_worker``), so
  ``auraquant replay --backend celery`` fans a step's meetings out over the workers.

``task_acks_late`` and ``task_reject_on_worker_lost``: a message is acknowledged only when its
task finished, so a worker killed mid-task leaves it to be delivered again (after the broker's
visibility timeout), and the claim table and the checkpoints make that second delivery finish
the work instead of repeating it. ``worker_prefetch_multiplier=1``: a worker holds one task at a
time. Time limits: a meeting 10 minutes, a desk step 30 (soft limits one minute earlier).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import redis
from celery import Celery, group
from celery.schedules import crontab

from auraquant.settings import get_settings
from backtest.replay_worker import MeetingOutcome, MeetingTask
from tools.timeutil import iso, timeframe_delta

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
LOCK_TTL_S = 15
"""The desk lock expires this long after its holder stops renewing it (a killed worker)."""

WALL_WAIT_S = 30.0
"""A beat tick waits this long for the bar closing at its time to reach the store."""
UPLOAD_DRAIN_S = 10.0
"""A WEEX desk's tick waits this long for its AI-log records to reach WEEX (the rest stays
queued on the worker's disk slot and is sent in the background)."""
MEETING_LIMITS = (540, 600)
STEP_LIMITS = (1740, 1800)


def crontab_for(every: str) -> crontab:
    """The beat schedule of a cadence, aligned to bar closes (minutes past the hour, UTC)."""
    minutes = int(timeframe_delta(every).total_seconds() // 60)
    if minutes < 60 and 60 % minutes == 0:
        return crontab(minute=f"*/{minutes}")
    if minutes % 60 == 0 and minutes < 1440 and 1440 % minutes == 0:
        return crontab(minute="0", hour=f"*/{minutes // 60}")
    if minutes == 1440:
        return crontab(minute="0", hour="0")
    raise ValueError(f"--every: {every!r} does not divide a day into whole bars")


def make_app(
    url: str | None = None, *, prefix: str | None = None, visibility_timeout: int | None = None
) -> Celery:
    """The app on ``url`` (default ``REDIS_URL``), every key under ``prefix``."""
    s = get_settings()
    url = url or s.redis_url or DEFAULT_REDIS
    prefix = prefix if prefix is not None else s.celery_prefix
    vt = visibility_timeout or s.celery_visibility_timeout
    app = Celery("auraquant", broker=url, backend=url)
    opts = {"global_keyprefix": prefix, "visibility_timeout": vt}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_transport_options=opts,
        result_backend_transport_options={"global_keyprefix": prefix},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        result_expires=24 * 3600,
    )
    app.conf.auraquant_prefix = prefix
    register_tasks(app)
    return app


# --- the tasks ------------------------------------------------------------------------------
_MARKETS: dict[tuple[Any, ...], Any] = {}
_RUNNERS: dict[str, Any] = {}


def _market(init: list[Any]) -> Any:
    """The replay's market, loaded once per worker process (as the process pool's initializer)."""
    from backtest.replay_worker import init_worker, use_market

    key = tuple(map(str, init))
    if key not in _MARKETS:
        store, symbols, at, timeframe = init
        init_worker(store, list(symbols), at, timeframe)
        from backtest import replay_worker

        _MARKETS[key] = replay_worker._STATE["market"]
    use_market(_MARKETS[key])
    return _MARKETS[key]


def run_meeting_task(task: dict[str, Any], init: list[Any]) -> dict[str, Any]:
    from backtest.replay_worker import hold_meeting

    _market(init)
    return asdict(hold_meeting(MeetingTask(**task)))


@contextmanager
def desk_lock(url: str, prefix: str, desk: str) -> Iterator[bool]:
    """The desk's Redis lock, renewed while held; yields False when another worker has it."""
    r = redis.Redis.from_url(url)
    lock = r.lock(f"{prefix}desk-lock:{desk}", timeout=LOCK_TTL_S, blocking_timeout=LOCK_TTL_S + 5)
    if not lock.acquire():
        r.close()
        yield False
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(LOCK_TTL_S / 3):
            lock.extend(LOCK_TTL_S, replace_ttl=True)

    t = threading.Thread(target=renew, daemon=True)
    t.start()
    try:
        yield True
    finally:
        done.set()
        t.join()
        try:
            lock.release()
        finally:
            r.close()


def run_desk_tick(app: Celery, config: dict[str, Any], at: str | None) -> dict[str, Any]:
    from auraquant.schedule.clock import next_close
    from auraquant.schedule.loop import catch_up
    from auraquant.schedule.runtime import build_runner
    from auraquant.schedule.step import ScheduleConfig

    cfg = ScheduleConfig(**{**config, "symbols": tuple(config["symbols"])})
    now = pd.Timestamp.now(tz="UTC")
    if at is None:  # the latest close at or before now
        t = next_close(now, cfg.every)
        t = t if t <= now else t - timeframe_delta(cfg.every)
    else:
        t = pd.Timestamp(at)
    key = repr(sorted(config.items()))
    url = str(app.conf.broker_url)
    received = time.time()
    with desk_lock(url, app.conf.auraquant_prefix, cfg.desk) as held:
        if not held:
            return {"desk": cfg.desk, "at": iso(t), "busy": True}
        if key not in _RUNNERS:
            _RUNNERS[key] = build_runner(cfg)
        runner = _RUNNERS[key]
        runner.claims.save_desk(cfg.desk, {**cfg.to_dict(), "clock": "celery beat",
                                           "next_at": iso(t + timeframe_delta(cfg.every))})  # fmt: skip
        caught = catch_up(runner, t - pd.Timedelta(1, "ns"))
        rep = runner.step(t, wait_for_data=WALL_WAIT_S if at is None else 0.0)
        if runner.weex_ailog is not None:  # sent before the next holder of the lock steps
            runner.weex_ailog.drain(UPLOAD_DRAIN_S)
    return {"desk": cfg.desk, "caught_up": caught, **rep.to_dict(), "worker_pid": os.getpid(),
            "received_at": received}  # fmt: skip


def register_tasks(app: Celery) -> None:
    @app.task(name="auraquant.hold_meeting", shared=False, soft_time_limit=MEETING_LIMITS[0],
              time_limit=MEETING_LIMITS[1])  # fmt: skip
    def hold_meeting_task(task: dict[str, Any], init: list[Any]) -> dict[str, Any]:
        return run_meeting_task(task, init)

    @app.task(name="auraquant.desk_tick", shared=False, soft_time_limit=STEP_LIMITS[0],
              time_limit=STEP_LIMITS[1])  # fmt: skip
    def desk_tick(config: dict[str, Any], at: str | None = None) -> dict[str, Any]:
        return run_desk_tick(app, config, at)


def beat_schedule(config: dict[str, Any]) -> dict[str, Any]:
    """One beat entry: the desk's tick at every close of its cadence."""
    return {
        f"desk-{config['desk']}": {
            "task": "auraquant.desk_tick",
            "schedule": crontab_for(config["every"]),
            "args": (config,),
        }
    }


class CeleryPool:
    """A step's replay meetings on the workers: ``map(hold_meeting, tasks)`` like a process
    pool, one ``auraquant.hold_meeting`` task per meeting, results in order."""

    def __init__(self, app: Celery, init: list[Any], timeout: float = 900.0) -> None:
        self.app, self.init, self.timeout = app, init, timeout

    def map(self, fn: Any, tasks: Iterable[MeetingTask]) -> list[MeetingOutcome]:
        items = list(tasks)
        if not items:
            return []
        sig = self.app.signature("auraquant.hold_meeting")
        res = group(sig.clone(args=(asdict(t), self.init)) for t in items).apply_async()
        try:
            outs = res.get(timeout=self.timeout, propagate=True)
        finally:
            res.forget()
        return [MeetingOutcome(**o) for o in outs]

    def shutdown(self) -> None:
        return None


def store_init(store: Path, symbols: Iterable[str], start: str, timeframe: str) -> list[Any]:
    return [str(store), list(symbols), start, timeframe]


app = make_app()
