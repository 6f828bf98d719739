"""`auraquant worker` and `auraquant beat`: the desk on many machines (Celery on Redis).

``auraquant worker`` runs Celery workers for scheduled desk steps and replay meetings
(``auraquant.schedule.celery_app``); ``auraquant beat`` sends a desk's tick at every bar close
of its cadence. Broker and result backend: ``REDIS_URL`` (default the Redis on this machine),
keys under ``AURAQUANT_CELERY_PREFIX``; claims, checkpoints and the ledger in PostgreSQL with
``DATABASE_URL`` (every worker must see the same ones: SQLite files only on one machine).
``auraquant beat --exchange weex`` makes the workers trade WEEX with their own ``WEEX_*``
settings (and upload the AI log with ``WEEX_AI_LOG_ENABLED``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from auraquant.cli.common import fail
from auraquant.cli.replay import _symbols, _timeframe
from graph.desk import DEFAULT_DESK, DeskError, check_desk_name
from tools.paths import home_dir


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Worker processes.")
    ] = 1,
    pool: Annotated[str, typer.Option("--pool", help="prefork, solo or threads.")] = "prefork",
    name: Annotated[str | None, typer.Option("--name", "-n", help="Node name (name@host).")] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker for scheduled desk steps and replay meetings."""
    if pool not in ("prefork", "solo", "threads"):
        fail(f"--pool: {pool!r} is not one of prefork, solo, threads")
    from auraquant.schedule.celery_app import app

    argv = ["worker", f"--concurrency={concurrency}", f"--pool={pool}", f"--loglevel={loglevel}",
            "--without-gossip", "--without-mingle"]  # fmt: skip
    if name:
        argv += ["-n", name]
    app.worker_main(argv)


def beat(
    symbols: Annotated[
        str,
        typer.Option(
            "--symbols",
            help="Comma-separated (BTCUSDT,ETHUSDT), or auto: the most "
            "liquid competition pairs by CoinGecko 24h volume.",
        ),
    ],
    top: Annotated[int, typer.Option("--top", help="With --symbols auto: how many.")] = 2,
    every: Annotated[
        str, typer.Option("--every", help="Meeting cadence (a timeframe code).")
    ] = "15m",
    desk: Annotated[str, typer.Option("--desk", help="The desk.")] = DEFAULT_DESK,
    exchange: Annotated[
        str,
        typer.Option(
            "--exchange",
            help="virtual (fed from the store) or weex (each worker's WEEX_* settings).",
        ),
    ] = "virtual",
    timeframe: Annotated[str, typer.Option("--timeframe", help="The memo's timeframe.")] = "1h",
    model: Annotated[
        str, typer.Option("--model", help="provider:model for every seat.")
    ] = "offline",
    missed: Annotated[
        str,
        typer.Option(
            "--missed", help="Closes missed while beat or the workers were down: skip or late."
        ),
    ] = "skip",
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery log level.")] = "INFO",
) -> None:
    """Send the desk's tick at every bar close (the workers hold the meetings)."""
    try:
        check_desk_name(desk)
    except DeskError as exc:
        fail(f"--desk: {exc}")
    from auraquant.schedule.venue import EXCHANGES

    if exchange not in EXCHANGES:
        fail(f"--exchange: {exchange!r} is not one of {', '.join(EXCHANGES)}")
    _timeframe(every, "--every")
    _timeframe(timeframe, "--timeframe")
    if missed not in ("skip", "late"):
        fail(f"--missed: {missed!r} is not one of skip, late")
    from auraquant.schedule.celery_app import app, beat_schedule, crontab_for
    from auraquant.schedule.step import ScheduleConfig

    try:
        crontab_for(every)
    except ValueError as exc:
        fail(str(exc))
    cfg = ScheduleConfig(desk=desk, symbols=_pick(symbols, top), every=every, timeframe=timeframe,
                         model=model, missed=missed, exchange=exchange)  # fmt: skip
    app.conf.beat_schedule = beat_schedule(cfg.to_dict())
    path = home_dir() / f"celerybeat-{desk}"
    path.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", f"--schedule={path}", f"--loglevel={loglevel}"])


def _pick(raw: str, top: int) -> tuple[str, ...]:
    """``auto``: the ``top`` most liquid competition pairs (CoinGecko); else the list."""
    if raw.strip().lower() == "auto":
        from auraquant.cli.data_feed import resolve_symbols

        return tuple(resolve_symbols(raw, top))
    return _symbols(raw)
