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
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from agents.models import cached_chat_model
from agents.roles import Roster, load_roster
from exchange.protocol import Exchange
from graph.ailog import AILogRegistry, AILogWriter, secrets_from_env
from graph.context import MeetingContext
from memos.builder import build_memo
from memos.market import MarketData
from memos.models import Memo
from tools.paths import runs_dir, store_dir

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


_LOCK = threading.Lock()
_REGISTRY: dict[str, MeetingServices] = {}
_DEFAULT = MeetingServices()
_MARKETS: dict[tuple[str, str], MarketData] = {}
_EXCHANGES: OrderedDict[str, Exchange] = OrderedDict()
_STRUCTURED: dict[tuple[int, str], Runnable[Any, Any]] = {}
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


def market_for(ctx: MeetingContext, services: MeetingServices, symbol: str) -> MarketData:
    """The injected market view, else the store's (loaded once per store and symbol)."""
    if services.market is not None:
        return services.market
    store = Path(ctx.store).resolve() if ctx.store else store_dir(home_of(ctx))
    key = (str(store), symbol)
    with _LOCK:
        md = _MARKETS.get(key)
    if md is None:
        md = MarketData.from_store([symbol], store=store).warm([symbol], ctx.timeframe)
        with _LOCK:
            _MARKETS[key] = md
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


def chat_model_for(ctx: MeetingContext, services: MeetingServices, role_id: str) -> BaseChatModel:
    if role_id in services.chat_models:
        return services.chat_models[role_id]
    return cached_chat_model(model_id_for(ctx, services, role_id), ctx.base_url)


def structured(model: BaseChatModel, schema: type[Any]) -> Runnable[Any, Any]:
    """``model.with_structured_output(schema)``, built once per model and schema.

    Not ``include_raw=True``: that wraps the call in a parallel map that starts a thread pool
    per call (most of a meeting's time); parse failures surface as exceptions instead."""
    key = (id(model), schema.__name__)
    r = _STRUCTURED.get(key)
    if r is None:
        r = model.with_structured_output(schema)
        _STRUCTURED[key] = r
    return r


def sync_exchange(exchange: Exchange, market: MarketData, symbol: str, at: pd.Timestamp) -> None:
    """Bring a virtual exchange's clock and mark to ``at`` (the last close at or before it), so an
    order placed now is priced from what was known then. Real exchanges need nothing."""
    mark_bar = getattr(exchange, "mark_bar", None)
    if mark_bar is None or not market.has(symbol):
        return
    base = market.base(symbol)
    n = base.closed(int(at.value))
    if n == 0:
        return
    from exchange.errors import BarRejected

    with suppress(BarRejected):  # the exchange is already at or past this moment
        mark_bar(symbol, int(at.value) - 60_000_000_000, float(base.close[n - 1]))


def advance_exchange(
    exchange: Exchange, market: MarketData, symbol: str, at: pd.Timestamp, bars: int
) -> int:
    """Feed the next ``bars`` 1-minute bars opened at or after ``at`` (the entry fills at the
    first one's open). Returns how many were fed; none when the finest bars are not 1m."""
    on_bar = getattr(exchange, "on_bar", None)
    if on_bar is None or bars <= 0 or not market.has(symbol):
        return 0
    base = market.base(symbol)
    if base.timeframe != "1m":
        return 0
    import numpy as np

    start = int(np.searchsorted(base.ts, int(at.value), side="left"))
    fed = 0
    for i in range(start, min(start + bars, len(base.ts))):
        on_bar(symbol, int(base.ts[i]), float(base.open[i]), float(base.high[i]),
               float(base.low[i]), float(base.close[i]), float(base.volume[i]))  # fmt: skip
        fed += 1
    return fed
