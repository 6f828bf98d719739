"""CoinGecko ``/coins/markets`` client: disk cache, retries, and a stale fallback.

Universe ranking wants market caps and 24h volumes, but a ranking must not die because a free
API rate-limits us: every good answer is cached on disk (``$AURAQUANT_HOME/cache/coingecko``),
transient failures (network, 429, 5xx) are retried with backoff (tenacity), and when the API
still fails the last cached answer is returned flagged ``stale=True``. With no cache and no API
the caller gets one clear :class:`CoinGeckoError`.

The API key (optional; a demo key raises limits) is sent as a header and never written to the
cache or to a cassette.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from tools.hashing import stable_hash
from tools.paths import home_dir
from tools.runs import write_json

BASE_URL = "https://api.coingecko.com/api/v3"
COINGECKO_IDS: dict[str, str] = {
    "BTCUSDT": "bitcoin",
    "ETHUSDT": "ethereum",
    "SOLUSDT": "solana",
    "DOGEUSDT": "dogecoin",
    "XRPUSDT": "ripple",
    "ADAUSDT": "cardano",
    "BNBUSDT": "binancecoin",
    "LTCUSDT": "litecoin",
}


class CoinGeckoError(RuntimeError):
    """CoinGecko could not answer and there is no cached answer to fall back on."""


class CoinMarket(BaseModel):
    """One row of ``/coins/markets`` (the fields we use; others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    symbol: str
    name: str
    current_price: float | None = None
    market_cap: float | None = None
    market_cap_rank: int | None = None
    total_volume: float | None = None
    price_change_percentage_24h: float | None = None
    last_updated: str | None = None


class MarketsResult(BaseModel):
    """The coins, and whether they are fresh from the API, a fresh cache hit, or stale."""

    model_config = ConfigDict(frozen=True)

    coins: list[CoinMarket]
    stale: bool
    source: str  # "api" | "cache" | "stale-cache"
    fetched_at: datetime
    cache_path: str
    error: str | None = None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return False


class CoinGeckoClient:
    """``markets()`` with a disk cache (``ttl_seconds``) and a stale fallback."""

    def __init__(
        self,
        *,
        base_url: str = BASE_URL,
        api_key: str | None = None,
        cache_dir: Path | None = None,
        ttl_seconds: float = 300.0,
        timeout: float = 10.0,
        attempts: int = 3,
        wait_seconds: float = 1.0,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.cache_dir = cache_dir or home_dir() / "cache" / "coingecko"
        self.ttl_seconds = ttl_seconds
        self.attempts = attempts
        self.wait_seconds = wait_seconds
        self._http = http or httpx.Client(timeout=timeout)
        self._clock = clock or (lambda: datetime.now(UTC))

    def _params(self, ids: Sequence[str] | None, vs_currency: str) -> dict[str, str]:
        p = {
            "vs_currency": vs_currency,
            "order": "market_cap_desc",
            "per_page": "250",
            "page": "1",
            "sparkline": "false",
        }
        if ids:
            p["ids"] = ",".join(ids)
        return p

    def cache_path(self, params: dict[str, str]) -> Path:
        return self.cache_dir / f"coins_markets_{stable_hash(params)}.json"

    def _fetch(self, params: dict[str, str]) -> list[dict[str, Any]]:
        headers = {"accept": "application/json"}
        if self._api_key:
            headers["x-cg-demo-api-key"] = self._api_key
        for attempt in Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.wait_seconds, max=10),
            retry=retry_if_exception(_retryable),
            reraise=True,
        ):
            with attempt:
                r = self._http.get(f"{self.base_url}/coins/markets", params=params, headers=headers)
                r.raise_for_status()
                payload = r.json()
        if not isinstance(payload, list):
            raise CoinGeckoError(
                f"CoinGecko /coins/markets returned {type(payload).__name__}, not a list"
            )
        return payload

    def markets(self, ids: Sequence[str] | None = None, vs_currency: str = "usd") -> MarketsResult:
        """Coins by market cap (``ids`` = CoinGecko ids, e.g. ``bitcoin``)."""
        params = self._params(ids, vs_currency)
        path = self.cache_path(params)
        cached = _read_cache(path)
        now = self._clock()
        if cached is not None:
            age = (now - cached[0]).total_seconds()
            if 0 <= age <= self.ttl_seconds:
                return _result(cached[1], False, "cache", cached[0], path)
        try:
            payload = self._fetch(params)
        except (httpx.HTTPError, CoinGeckoError, ValueError) as exc:
            reason = _describe(exc)
            if cached is None:
                raise CoinGeckoError(
                    f"CoinGecko /coins/markets failed ({reason}) and there is no cached copy at {path}"
                ) from exc
            return _result(cached[1], True, "stale-cache", cached[0], path, error=reason)
        write_json(path, {"fetched_at": now.isoformat(), "params": params, "payload": payload})
        return _result(payload, False, "api", now, path)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return f"{type(exc).__name__}: {exc}"


def _read_cache(path: Path) -> tuple[datetime, list[dict[str, Any]]] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return datetime.fromisoformat(doc["fetched_at"]), list(doc["payload"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _result(
    payload: list[dict[str, Any]],
    stale: bool,
    source: str,
    fetched: datetime,
    path: Path,
    error: str | None = None,
) -> MarketsResult:
    return MarketsResult(
        coins=[CoinMarket.model_validate(c) for c in payload],
        stale=stale,
        source=source,
        fetched_at=fetched,
        cache_path=str(path),
        error=error,
    )
