"""The desk's live venue (``--exchange weex`` on ``auraquant run`` and ``auraquant beat``): the
``WeexExchange`` built from the settings, its upkeep before each step, and the AI-log uploader
and forwarder when ``WEEX_AI_LOG_ENABLED``.

A live venue keeps its own account and time: it is never fed stored bars (``Desk.sync`` says
``live``), it is not saved as a snapshot, and at start ``WeexExchange.reconcile()`` reads its
positions, open orders and stop roles before the scheduler's ``reconcile`` moves a held
symbol's cycle to MANAGE.

The uploader's disk queue is one process's at a time: each process takes the lowest free slot
``<home>/weex/ailog-queue/<n>`` (an ``flock`` held while it lives), so two Celery workers, or
two desks run side by side, never read and compact the same files. A slot a dead process left
is free again, and the next process to take it sends what it left queued.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from auraquant import __version__
from auraquant.settings import Settings
from exchange.weex.client import WeexClient
from exchange.weex.exchange import WeexExchange
from exchange.weex.uploader import AILogUploader
from graph.ailog_weex import WeexAILogForwarder

EXCHANGES = ("virtual", "weex")
QUEUE_DIR = Path("weex") / "ailog-queue"
MAX_SLOTS = 64


def weex_exchange(settings: Settings, **overrides: Any) -> WeexExchange:
    """``WeexExchange`` on ``WEEX_BASE_URL`` with the ``WEEX_API_*`` keys (and
    ``WEEX_MAX_HOLD_S``)."""
    from auraquant.cli.weex import weex_config

    return WeexExchange(WeexClient(weex_config(settings, **overrides)))


@dataclass(frozen=True)
class UpkeepEvent:
    """One thing the live upkeep did on a symbol, with the WEEX orders it placed."""

    symbol: str
    action: str  # "stops_placed" | "local_stop_loss" | "local_take_profit" | "max_hold"
    order_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "action": self.action, "order_ids": list(self.order_ids)}


def live_upkeep(exchange: WeexExchange, symbols: tuple[str, ...]) -> list[UpkeepEvent]:
    """Before a step: stops for entries filled since (``sync``), the local last-resort stops,
    and the maximum hold (``WeexConfig.max_hold_s``, closed by order type 3/4). Returns what
    was done, one event per symbol and action."""
    events: list[UpkeepEvent] = []
    placed = exchange.sync()
    if placed:
        by_symbol: dict[str, list[str]] = {}
        for oid in placed:
            by_symbol.setdefault(exchange.symbol_of(oid), []).append(oid)
        events += [UpkeepEvent(s, "stops_placed", tuple(ids)) for s, ids in by_symbol.items()]
    for s in symbols:
        why = exchange.check_local_stops(s)
        if why is not None:
            events.append(UpkeepEvent(s, why, tuple(exchange.closed_orders.get(s, ()))))
    for s in exchange.enforce_max_hold():
        events.append(UpkeepEvent(s, "max_hold", tuple(exchange.closed_orders.get(s, ()))))
    return events


class QueueSlot:
    """The lowest free ``<base>/<n>`` directory, held with an ``flock`` until ``release``."""

    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        for n in range(MAX_SLOTS):
            path = base / str(n)
            path.mkdir(exist_ok=True)
            fh: IO[str] = (path / ".lock").open("a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}\n")
            fh.flush()
            self.path, self._fh = path, fh
            return
        raise RuntimeError(f"{base}: all {MAX_SLOTS} AI-log queue slots are in use")

    def release(self) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


class WeexAILog:
    """The process's uploader on its queue slot, and the forwarder a run's writer uses."""

    def __init__(self, exchange: WeexExchange, settings: Settings, home: Path) -> None:
        self.slot = QueueSlot(home / QUEUE_DIR)
        self.uploader = AILogUploader(self.slot.path, exchange.client.upload_ai_log,
                                      secrets=settings.secret_values()).start()  # fmt: skip
        self.forward = WeexAILogForwarder(self.uploader, local_version=f"auraquant-{__version__}")

    def drain(self, timeout: float) -> bool:
        return self.uploader.drain(timeout)

    def close(self, drain_s: float = 0.0) -> None:
        """Send what is queued for up to ``drain_s``, then stop; the rest stays on disk."""
        try:
            if drain_s > 0:
                self.uploader.drain(drain_s)
            self.uploader.stop()
        finally:
            self.slot.release()


def use_weex(runner: Any, settings: Settings) -> None:
    """The runner's venue becomes WEEX (from the settings); with ``WEEX_AI_LOG_ENABLED`` its AI
    log is forwarded to WEEX as written (``runner.weex_ailog``, closed by ``runner.close``)."""
    runner.exchange = weex_exchange(settings)
    if settings.weex_ai_log_enabled:
        runner.weex_ailog = WeexAILog(runner.exchange, settings, runner.home)
        runner.forward = runner.weex_ailog.forward
