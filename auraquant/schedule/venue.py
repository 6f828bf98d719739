"""The desk's live venue (``auraquant run --exchange weex``): the ``WeexExchange`` built from the
settings, its upkeep before each step, and the AI-log forwarder when ``WEEX_AI_LOG_ENABLED``.

A live venue keeps its own account and time: it is never fed stored bars (``Desk.sync`` says
``live``), it is not saved as a snapshot, and at start ``WeexExchange.reconcile()`` reads its
positions, open orders and stop roles before the scheduler's ``reconcile`` moves a held
symbol's cycle to MANAGE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auraquant.settings import Settings
from exchange.weex.client import WeexClient
from exchange.weex.exchange import WeexExchange
from exchange.weex.uploader import AILogUploader
from graph.ailog_weex import WeexAILogForwarder

EXCHANGES = ("virtual", "weex")


def weex_exchange(settings: Settings, **overrides: Any) -> WeexExchange:
    """``WeexExchange`` on ``WEEX_BASE_URL`` with the ``WEEX_API_*`` keys."""
    from auraquant.cli.weex import weex_config

    return WeexExchange(WeexClient(weex_config(settings, **overrides)))


def live_upkeep(exchange: WeexExchange, symbols: tuple[str, ...]) -> dict[str, Any]:
    """Before a step: stops for entries filled since (``sync``), the local last-resort stops,
    and the maximum hold. Returns what was done."""
    placed = exchange.sync()
    local = {s: why for s in symbols if (why := exchange.check_local_stops(s)) is not None}
    held_too_long = exchange.enforce_max_hold()
    return {"stops_placed": placed, "local_stops": local, "max_hold_closed": held_too_long}


def weex_ailog_uploader(
    exchange: WeexExchange, settings: Settings, home: Path
) -> tuple[AILogUploader, WeexAILogForwarder]:
    """The uploader (disk queue under ``<home>/weex/ailog-queue``) and the forwarder to attach
    to each AI-log writer of the run."""
    uploader = AILogUploader(home / "weex" / "ailog-queue", exchange.client.upload_ai_log,
                             secrets=settings.secret_values()).start()  # fmt: skip
    return uploader, WeexAILogForwarder(uploader)
