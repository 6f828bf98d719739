"""Download real klines from Binance's public market-data API (no key) into the store.

``GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=1000`` returns up to 1000
12-field rows ``[open_ms, "o", "h", "l", "c", "v", close_ms, quote_vol, trades, taker_base,
taker_quote, "0"]``; we page forward from the last open time, retry rate limits (429), server
errors (5xx) and timeouts with tenacity, then validate and store through the import path — so a
downloaded bar is held to exactly the same rules as an imported one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from pydantic import BaseModel
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.wait import wait_base

from tools.errors import DownloadError
from tools.importer import candles_from_rows, store_batches
from tools.store import Gap, resolve_store
from tools.timeutil import iso, parse_utc, timeframe_delta

BINANCE_URL = "https://api.binance.com"
KLINES_PATH = "/api/v3/klines"
PAGE_LIMIT = 1000


class _Retryable(Exception):
    """A response worth asking again for (429 or 5xx)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}: {response.text[:200]}")


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (_Retryable, httpx.TimeoutException, httpx.TransportError))


def _get_page(
    client: httpx.Client, params: dict[str, Any], attempts: int, wait: wait_base
) -> list[list[Any]]:
    """One page of klines, retried on 429/5xx/timeouts; other errors fail at once."""
    try:
        for attempt in Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(attempts),
            wait=wait,
            reraise=False,
        ):
            with attempt:
                resp = client.get(KLINES_PATH, params=params)
                if resp.status_code == 429 or resp.status_code >= 500:
                    raise _Retryable(resp)
                if resp.status_code != 200:
                    raise DownloadError(
                        f"Binance {KLINES_PATH} refused {params['symbol']} "
                        f"{params['interval']}: HTTP {resp.status_code} {resp.text[:200]}"
                    )
                rows = resp.json()
                if not isinstance(rows, list):
                    raise DownloadError(f"Binance {KLINES_PATH} returned {str(rows)[:200]}")
                return rows
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise DownloadError(
            f"Binance {KLINES_PATH} failed after {attempts} attempts for {params['symbol']} "
            f"{params['interval']} from {params['startTime']}: {last}; nothing was written"
        ) from last
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_klines(
    symbol: str,
    timeframe: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    client: httpx.Client | None = None,
    base_url: str = BINANCE_URL,
    attempts: int = 5,
    wait: wait_base | None = None,
    on_page: Callable[[int], None] | None = None,
) -> list[list[Any]]:
    """All klines with ``start <= open < end``, page by page (``limit=1000``)."""
    step_ms = int(timeframe_delta(timeframe).value // 1_000_000)
    start_ms = int(start.value // 1_000_000)
    end_ms = int(end.value // 1_000_000)
    own = client is None
    http = client or httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0))
    waiter = wait if wait is not None else wait_exponential(multiplier=0.5, max=20)
    rows: list[list[Any]] = []
    try:
        cursor = start_ms
        while cursor < end_ms:
            params = {
                "symbol": symbol,
                "interval": timeframe,
                "startTime": cursor,
                "endTime": end_ms - 1,
                "limit": PAGE_LIMIT,
            }
            page = _get_page(http, params, attempts, waiter)
            page = [r for r in page if start_ms <= int(r[0]) < end_ms]
            if not page:
                break
            rows += page
            if on_page:
                on_page(len(page))
            cursor = int(page[-1][0]) + step_ms
            if len(page) < PAGE_LIMIT:
                break
    finally:
        if own:
            http.close()
    return rows


class DownloadReport(BaseModel):
    """What a download fetched and stored."""

    symbol: str
    timeframe: str
    start: str
    end: str
    rows: int
    first: str | None
    last: str | None
    gap_count: int
    missing_bars: int
    gaps: list[Gap]
    partitions_written: int
    partitions_unchanged: int
    store: str


def download_candles(
    symbol: str,
    timeframe: str,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    store: Path | None = None,
    client: httpx.Client | None = None,
    base_url: str = BINANCE_URL,
    attempts: int = 5,
    wait: wait_base | None = None,
    now: pd.Timestamp | None = None,
    progress: bool = True,
) -> DownloadReport:
    """Fetch klines for ``[start, end)``, drop bars not yet closed at ``now``, validate, store.

    Nothing is written unless every page arrived and every bar is valid.
    """
    t0, t1 = parse_utc(start), parse_utc(end)
    if t1 <= t0:
        raise ValueError(f"end {iso(t1)} is not after start {iso(t0)}")
    step = timeframe_delta(timeframe)
    rows = fetch_klines(
        symbol, timeframe, t0, t1, client=client, base_url=base_url, attempts=attempts, wait=wait
    )
    now_ms = int((now or pd.Timestamp(time.time(), unit="s", tz="UTC")).value // 1_000_000)
    step_ms = int(step.value // 1_000_000)
    rows = [r for r in rows if int(r[0]) + step_ms <= now_ms]
    root = resolve_store(store)
    if not rows:
        return DownloadReport(
            symbol=symbol,
            timeframe=timeframe,
            start=iso(t0),
            end=iso(t1),
            rows=0,
            first=None,
            last=None,
            gap_count=0,
            missing_bars=0,
            gaps=[],
            partitions_written=0,
            partitions_unchanged=0,
            store=str(root),
        )
    batch = candles_from_rows(f"binance {symbol} {timeframe}", symbol, timeframe, rows)
    written, unchanged, _ = store_batches([batch], [], root, progress=progress)
    return DownloadReport(
        symbol=symbol,
        timeframe=timeframe,
        start=iso(t0),
        end=iso(t1),
        rows=len(batch.ts),
        first=iso(pd.Timestamp(int(batch.ts[0]), tz="UTC")),
        last=iso(pd.Timestamp(int(batch.ts[-1]), tz="UTC")),
        gap_count=len(batch.gaps),
        missing_bars=sum(g.missing_bars for g in batch.gaps),
        gaps=batch.gaps,
        partitions_written=written,
        partitions_unchanged=unchanged,
        store=str(root),
    )
