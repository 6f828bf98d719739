"""The services a meeting reads and writes through, kept out of graph state.

State must stay plain JSON (checkpoints, ``langgraph dev``), so market data, the exchange, the
AI-log writers and chat models live here, in per-process caches keyed by what the runtime
context names. A caller that wants its own (replay's shared exchange, a test's scripted model)
registers a bundle with :func:`register_services` and passes its key in the context; otherwise
``langgraph dev`` with only ``{"symbol", "at"}`` gets the store under ``$AURAQUANT_HOME`` and a
fresh virtual exchange per run.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from langchain_core.language_models import BaseChatModel

from agents.roles import Roster, load_roster
from exchange.clock import advance
from exchange.protocol import Exchange
from graph.ailog import AILogRegistry, AILogWriter, secrets_from_env
from graph.context import MeetingContext
from memos.builder import build_memo
from memos.market import MarketData
from memos.models import Memo
from tools.paths import runs_dir, store_dir
from tools.timeutil import iso

MemoBuilder = Callable[..., Memo]


@dataclass
class MeetingServices:
    """What a meeting talks to. Every field is optional: missing ones come from the defaults."""

    market: MarketData | None = None
    exchange: Exchange | None = None
    memo_builder: MemoBuilder = build_memo
    chat_models: dict[str, BaseChatModel] = field(default_factory=dict)
    """Explicit chat models by role id (tests' scripted models); beat the model ids."""
    secrets: list[str] | None = None
    """Values to redact from the AI log (default: the secret env vars that are set)."""
    roster: Roster | None = None
    desk: Any = None
    """The desk whose account the meeting trades (``graph.desk.Desk``): its breaker and cycle
    feed the gate (R04, R05) and the manage rules."""
    account: dict[str, Any] | None = None
    """The account summary the seats see, when the meeting has no exchange (a replay worker)."""
    ailog: AILogWriter | None = None
    """Where the AI log goes instead of ``runs/<run_id>/ailog.ndjson`` (a replay worker
    collects its records and the desk writes them in order)."""


_LOCK = threading.Lock()
_REGISTRY: dict[str, MeetingServices] = {}
_DEFAULT = MeetingServices()
_MARKETS: OrderedDict[tuple[object, ...], MarketData] = OrderedDict()
_EXCHANGES: OrderedDict[str, Exchange] = OrderedDict()
AILOGS = AILogRegistry()


def register_services(key: str, services: MeetingServices) -> None:
    """Make ``services`` available to meetings whose context names ``services_key=key``."""
    with _LOCK:
        _REGISTRY[key] = services


def unregister_services(key: str) -> None:
    with _LOCK:
        _REGISTRY.pop(key, None)


def services_for(ctx: MeetingContext) -> MeetingServices:
    if ctx.services_key is None:
        return _DEFAULT
    try:
        return _REGISTRY[ctx.services_key]
    except KeyError:
        raise KeyError(
            f"services_key {ctx.services_key!r} is not registered in this process"
        ) from None


def home_of(ctx: MeetingContext) -> Path | None:
    return Path(ctx.home).resolve() if ctx.home else None


def roster_for(services: MeetingServices) -> Roster:
    return services.roster or load_roster()


def market_for(
    ctx: MeetingContext,
    services: MeetingServices,
    symbol: str,
    at: pd.Timestamp | None = None,
) -> MarketData:
    """The injected market view, else the store's: for each symbol the stored set covering
    ``at`` (a 2021 meeting gets the 1h history, a 2023 one the 1m bars). Cached by what was
    chosen and the store's on-disk state, so a write to the store loads afresh."""
    if services.market is not None:
        return services.market
    store = Path(ctx.store).resolve() if ctx.store else store_dir(home_of(ctx))
    key = (symbol, ctx.timeframe, *MarketData.store_key([symbol], store=store, at=at))
    with _LOCK:
        md = _MARKETS.get(key)
    if md is None:
        md = MarketData.from_store([symbol], store=store, at=at).warm([symbol], ctx.timeframe)
        with _LOCK:
            _MARKETS[key] = md
            while len(_MARKETS) > 8:  # stale keys (older store states) age out
                _MARKETS.popitem(last=False)
    return md


def exchange_for(ctx: MeetingContext, services: MeetingServices, run_id: str) -> Exchange:
    """The injected exchange, else one fresh virtual exchange per run (kept for a while)."""
    if services.exchange is not None:
        return services.exchange
    key = str(
        runs_dir(home_of(ctx)) / run_id
    )  # a run is a directory: same id, other home = other run
    with _LOCK:
        ex = _EXCHANGES.get(key)
        if ex is None:
            from exchange.virtual import VirtualExchange

            ex = VirtualExchange()
            _EXCHANGES[key] = ex
            while len(_EXCHANGES) > 64:
                _EXCHANGES.popitem(last=False)
        return ex


@lru_cache(maxsize=256)
def _ailog_path(home: str | None, env_home: str | None, run_id: str) -> Path:
    return runs_dir(Path(home).resolve() if home else None) / run_id / "ailog.ndjson"


def ailog_for(ctx: MeetingContext, services: MeetingServices, run_id: str) -> AILogWriter:
    if services.ailog is not None:
        return services.ailog
    path = _ailog_path(ctx.home, os.environ.get("AURAQUANT_HOME"), run_id)
    secrets = services.secrets if services.secrets is not None else secrets_from_env()
    return AILOGS.writer(path, secrets)


def model_id_for(ctx: MeetingContext, services: MeetingServices, role_id: str) -> str:
    """The ``provider:model`` a seat speaks through: context override, roster, default."""
    if role_id in services.chat_models:
        m = services.chat_models[role_id]
        return f"injected:{getattr(m, 'model_name', type(m).__name__)}"
    roster = roster_for(services)
    return ctx.models.get(role_id) or roster.get(role_id).model or ctx.model


@dataclass(frozen=True)
class ExchangeSync:
    """What bringing the exchange to the meeting's moment did (``exchange.clock.advance``).

    ``past``: the exchange's clock for the symbol is already later than the meeting, so an order
    placed "now" would land in the exchange's future; the gate and execution refuse it.
    ``behind``: a pending market order or funding waits for a bar not stored yet (the data ends
    before the meeting): normal for a carried entry; the order fills on the next stored bar."""

    status: Literal["live", "no_data", "synced", "past", "behind", "desk"]
    at: str
    exchange_now: str | None = None
    bars_fed: int = 0
    note: str = ""

    @property
    def past(self) -> bool:
        return self.status == "past"

    def as_log(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "at": self.at,
            "exchange_now": self.exchange_now,
            "bars_fed": self.bars_fed,
            "note": self.note,
        }


def _iso_ns(ns: int | None) -> str | None:
    return None if ns is None else iso(pd.Timestamp(ns, tz="UTC"))


def sync_exchange(
    exchange: Exchange, market: MarketData, symbol: str, at: pd.Timestamp
) -> ExchangeSync:
    """Bring a virtual exchange's clock and mark to ``at`` over the symbol's stored bars (1m
    where they exist, else the finest stored), by the one clock ``exchange.clock.advance``: an
    order placed now is priced from what was known then. Real exchanges need nothing.

    An exchange already past ``at`` is left alone and reported ``past``."""
    at_s = iso(at)
    bars = market.base(symbol) if market.has(symbol) else None
    done = advance(exchange, symbol, bars, int(at.value))
    now_s = _iso_ns(done.now_ns)
    if done.status == "past":
        return ExchangeSync(
            "past",
            at_s,
            now_s,
            note=f"exchange clock {now_s} is past the meeting time {at_s}; "
            "an order now would land in the exchange's future",
        )
    if done.status == "no_data":
        return ExchangeSync("no_data", at_s, now_s, note=f"no {symbol} bar closed by {at_s}")
    if done.status == "behind":
        return ExchangeSync(
            "behind",
            at_s,
            now_s,
            done.bars_fed,
            note=f"a pending order or funding waits for the next stored {symbol} bar",
        )
    return ExchangeSync(done.status, at_s, now_s, done.bars_fed)


def advance_exchange(
    exchange: Exchange, market: MarketData, symbol: str, at: pd.Timestamp, until: pd.Timestamp
) -> int:
    """Move a virtual exchange from ``at`` to ``until`` over the stored bars (an entry placed at
    ``at`` fills at the next bar's open). Returns how many bars were fed one by one."""
    if not market.has(symbol):
        return 0
    return advance(exchange, symbol, market.base(symbol), int(until.value)).bars_fed
