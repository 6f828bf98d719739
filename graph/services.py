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

import numpy as np
import pandas as pd
from langchain_core.language_models import BaseChatModel

from agents.roles import Roster, load_roster
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


_MINUTE_NS = 60_000_000_000
_SEARCH = 4096  # bars scanned per look for the next bar that can change the exchange's state


class ExchangeSyncError(RuntimeError):
    """The virtual exchange cannot be brought to the meeting's moment; never silently ignored."""


@dataclass(frozen=True)
class ExchangeSync:
    """What bringing the exchange to the meeting's moment did.

    ``past``: the exchange's clock for the symbol is already later than the meeting, so an order
    placed "now" would land in the exchange's future; the gate and execution refuse it."""

    status: Literal["live", "no_data", "synced", "past"]
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


def _symbol_now(exchange: Any, symbol: str) -> pd.Timestamp | None:
    now_for = getattr(exchange, "now_for", None)
    return now_for(symbol) if now_for is not None else None


def _blocked(exchange: Any, symbol: str, end_ns: int) -> bool:
    """Would ``mark_bar`` refuse a bar closing at ``end_ns`` (CONTRACT K3: a pending market
    order, or funding due before the close)? An exchange that cannot say is tried: its
    ``mark_bar`` then raises ``BarRejected`` itself."""
    level_state = getattr(exchange, "level_state", None)
    if level_state is None:
        return False
    _, _, pending, due = level_state(symbol)
    return bool(pending) or (due is not None and due < end_ns)


def _feed(exchange: Any, base: Any, symbol: str, i: int) -> None:
    exchange.on_bar(symbol, int(base.ts[i]), float(base.open[i]), float(base.high[i]),
                    float(base.low[i]), float(base.close[i]), float(base.volume[i]))  # fmt: skip


def _catch_up(exchange: Any, base: Any, symbol: str, start: int, stop: int) -> int:
    """Feed bars ``[start, stop)``: every bar that can change the state (touches a resting level,
    holds funding or a pending market order) through ``on_bar``, the quiet runs between them by
    one ``mark_bar`` (CONTRACT "Skipping bars": the identical state). Returns bars fed."""
    level_state = getattr(exchange, "level_state", None)
    fed = 0
    i = start
    while i < stop:
        if level_state is not None:
            below, above, pending, due = level_state(symbol)
            if not pending:
                hi = min(stop, i + _SEARCH)
                hit = (base.low[i:hi] <= below) | (base.high[i:hi] >= above)
                if due is not None:
                    hit |= base.ts[i:hi] + _MINUTE_NS > due
                j = i + int(np.argmax(hit)) if hit.any() else hi
                if j > i:
                    exchange.mark_bar(symbol, int(base.ts[j - 1]), float(base.close[j - 1]))
                    i = j
                    continue
        _feed(exchange, base, symbol, i)
        i, fed = i + 1, fed + 1
    return fed


def sync_exchange(
    exchange: Exchange, market: MarketData, symbol: str, at: pd.Timestamp
) -> ExchangeSync:
    """Bring a virtual exchange's clock and mark to ``at`` (the last close at or before it), so an
    order placed now is priced from what was known then. Real exchanges need nothing.

    Bars since the exchange's last one are fed (funding settles, a pending market order fills,
    resting stops and targets are matched) rather than jumped over. An exchange already past
    ``at`` is left alone and reported ``past``; any other refusal is raised.
    """
    at_s = iso(at)
    if getattr(exchange, "mark_bar", None) is None:
        return ExchangeSync("live", at_s)
    at_ns = int(at.value)
    now = _symbol_now(exchange, symbol)
    now_s = iso(now) if now is not None else None
    if now is not None and int(now.value) > at_ns:
        return ExchangeSync(
            "past",
            at_s,
            now_s,
            note=f"exchange clock {now_s} is past the meeting time {at_s}; "
            "an order now would land in the exchange's future",
        )
    if not market.has(symbol):
        return ExchangeSync("no_data", at_s, now_s, note=f"no {symbol} bars to sync with")
    base = market.base(symbol)
    n = base.closed(at_ns)
    if n == 0:
        return ExchangeSync("no_data", at_s, now_s, note=f"no {symbol} bar closed by {at_s}")
    fed = 0
    if now is not None and int(now.value) < at_ns:
        start = int(np.searchsorted(base.ts, int(now.value) - _MINUTE_NS, side="right"))
        if start < n:
            if base.bar_ns != _MINUTE_NS and _blocked(
                exchange, symbol, int(base.ts[n - 1]) + base.bar_ns
            ):
                raise ExchangeSyncError(
                    f"{symbol}: funding or a market order is pending before {at_s} but the "
                    f"stored bars are {base.timeframe}; the virtual exchange needs 1m bars"
                )
            if base.bar_ns == _MINUTE_NS:
                fed = _catch_up(exchange, base, symbol, start, n)
    # the clock to `at` itself (across a data hole, or on a fresh exchange): only the mark moves.
    # Funding that falls in a data hole blocks it and settles on the next real bar (CONTRACT C4).
    now = _symbol_now(exchange, symbol)
    behind = now is None or int(now.value) < at_ns
    if behind and not _blocked(exchange, symbol, at_ns):
        exchange.mark_bar(symbol, at_ns - _MINUTE_NS, float(base.close[n - 1]))  # type: ignore[attr-defined]
    now = _symbol_now(exchange, symbol)
    return ExchangeSync("synced", at_s, iso(now) if now is not None else at_s, bars_fed=fed)


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
    start = int(np.searchsorted(base.ts, int(at.value), side="left"))
    fed = 0
    for i in range(start, min(start + bars, len(base.ts))):
        on_bar(symbol, int(base.ts[i]), float(base.open[i]), float(base.high[i]),
               float(base.low[i]), float(base.close[i]), float(base.volume[i]))  # fmt: skip
        fed += 1
    return fed
