"""Keep the candle store current from Binance's public klines endpoint (`auraquant data follow`).

Each round, per symbol: read the last stored bar, fetch from the bar after it up to now with the
download code (``tools.download``: httpx + tenacity, paged, validated, written through the import
path — each daily partition replaced atomically), keep closed bars only. So a restart resumes at
the bar after the last one stored: no gap, no duplicate. A hole the endpoint itself cannot fill
(no bars exist there, as in the real 2023-03-24 Binance halt) is reported, once, and left.
Between rounds it sleeps until the next bar close (plus ``delay``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
from pydantic import BaseModel

from tools.download import BINANCE_URL, download_candles
from tools.store import Gap, candle_dir, partition_files, read_candle_files, resolve_store
from tools.timeutil import iso, timeframe_delta

DEFAULT_BACKFILL = "1d"


class FollowRound(BaseModel):
    """One symbol's round: what was asked, what was stored, the holes left."""

    symbol: str
    timeframe: str
    since: str
    until: str
    resumed: bool
    rows: int
    last: str | None
    gaps: list[Gap]


def last_stored_open(store: Path, symbol: str, timeframe: str) -> pd.Timestamp | None:
    """Open time of the newest stored bar of the set (read from its last daily partition)."""
    files = partition_files(candle_dir(store, symbol, timeframe))
    for f in reversed(files):
        arrays = read_candle_files([f])
        if len(arrays):
            return pd.Timestamp(int(arrays.ts[-1]), tz="UTC")
    return None


def follow_once(
    symbol: str,
    timeframe: str,
    *,
    store: Path | None = None,
    now: pd.Timestamp | None = None,
    backfill: str = DEFAULT_BACKFILL,
    client: httpx.Client | None = None,
    base_url: str = BINANCE_URL,
    attempts: int = 5,
) -> FollowRound:
    """Fetch and store the closed bars after the last stored one (or the last ``backfill``)."""
    root = resolve_store(store)
    now = now if now is not None else pd.Timestamp(time.time(), unit="s", tz="UTC")
    step = timeframe_delta(timeframe)
    last = last_stored_open(root, symbol, timeframe)
    since = last + step if last is not None else (now - timeframe_delta(backfill)).floor(step)
    until = now.floor(step)  # bars opened before this are closed by now
    gaps: list[Gap] = []
    rows, last_out = 0, None if last is None else iso(last)
    if until > since:
        rep = download_candles(symbol, timeframe, since, until, store=root, client=client,
                               base_url=base_url, attempts=attempts, now=now,
                               progress=False)  # fmt: skip
        rows, gaps = rep.rows, list(rep.gaps)
        if rep.first is not None and pd.Timestamp(rep.first) > since:
            gaps.insert(0, _hole(since, pd.Timestamp(rep.first), step))
        if rep.last is not None:
            last_out = rep.last
    return FollowRound(symbol=symbol, timeframe=timeframe, since=iso(since), until=iso(until),
                       resumed=last is not None, rows=rows, last=last_out, gaps=gaps)  # fmt: skip


def _hole(since: pd.Timestamp, first: pd.Timestamp, step: pd.Timedelta) -> Gap:
    """The bars between the last stored one and the first the endpoint returned."""
    return Gap(after=iso(since - step), before=iso(first), missing_bars=int((first - since) / step))


def follow(
    symbols: list[str],
    timeframe: str,
    *,
    stop: threading.Event,
    store: Path | None = None,
    backfill: str = DEFAULT_BACKFILL,
    delay: float = 2.0,
    rounds: int | None = None,
    client: httpx.Client | None = None,
    base_url: str = BINANCE_URL,
    on_round: Callable[[FollowRound], None] | None = None,
    clock: Callable[[], pd.Timestamp] | None = None,
) -> int:
    """Rounds until ``stop`` (or ``rounds``); each round fetches every symbol, then sleeps until
    the next bar close + ``delay`` seconds. Returns the rounds done."""
    now_fn = clock or (lambda: pd.Timestamp(time.time(), unit="s", tz="UTC"))
    step = timeframe_delta(timeframe)
    done = 0
    while not stop.is_set() and (rounds is None or done < rounds):
        for s in symbols:
            r = follow_once(s, timeframe, store=store, now=now_fn(), backfill=backfill,
                            client=client, base_url=base_url)  # fmt: skip
            if on_round is not None:
                on_round(r)
        done += 1
        if rounds is not None and done >= rounds:
            break
        now = now_fn()
        wait = ((now.floor(step) + step) - now).total_seconds() + delay
        if stop.wait(max(wait, 0.0)):
            break
    return done
