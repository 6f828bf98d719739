"""Build a scheduled desk's runner from the settings: claims and checkpoints in PostgreSQL
when ``DATABASE_URL`` is set, else SQLite files under ``$AURAQUANT_HOME``; with
``exchange="weex"`` the venue is WEEX and, with ``WEEX_AI_LOG_ENABLED``, the AI log is uploaded
(``schedule.venue.use_weex``) — the same in ``auraquant run`` and on a Celery worker."""

from __future__ import annotations

from pathlib import Path

from auraquant.schedule.claims import Claims
from auraquant.schedule.meeting import open_checkpointer
from auraquant.schedule.step import DeskRunner, ScheduleConfig
from auraquant.settings import get_settings
from tools.paths import home_dir, store_dir


def open_claims(home: Path | None = None) -> Claims:
    return Claims.for_home(home or home_dir(), get_settings().database_url)


def build_runner(config: ScheduleConfig, home: Path | None = None) -> DeskRunner:
    h = home or home_dir()
    settings = get_settings()
    url = settings.database_url
    runner = DeskRunner(
        config, home=h, store=store_dir(h), claims=Claims.for_home(h, url),
        checkpointer=open_checkpointer(h, url), database_url=url,
    )  # fmt: skip
    if config.exchange == "weex":
        from auraquant.schedule.venue import use_weex

        use_weex(runner, settings)
    elif config.exchange != "virtual":
        raise ValueError(f"exchange: {config.exchange!r} is not one of virtual, weex")
    return runner
