"""``--symbols auto``: the desk's symbols from the eight competition pairs, most liquid first
(24h volume from CoinGecko ``/coins/markets``, with the client's disk cache and its stale-cache
fallback; the pick says which it used)."""

from __future__ import annotations

from pydantic import BaseModel

from tools.coingecko import COINGECKO_IDS, CoinGeckoClient


class LiquidityPick(BaseModel):
    symbols: list[str]
    volumes: dict[str, float]
    source: str  # "api" | "cache" | "stale-cache"
    stale: bool
    fetched_at: str


def most_liquid(client: CoinGeckoClient, n: int) -> LiquidityPick:
    """The ``n`` competition pairs with the largest 24h volume (ties: by symbol)."""
    if not 1 <= n <= len(COINGECKO_IDS):
        raise ValueError(f"--top: {n} must be between 1 and {len(COINGECKO_IDS)}")
    by_id = {v: k for k, v in COINGECKO_IDS.items()}
    res = client.markets(list(COINGECKO_IDS.values()))
    vol = {by_id[c.id]: float(c.total_volume or 0.0) for c in res.coins if c.id in by_id}
    ranked = sorted(vol, key=lambda s: (-vol[s], s))
    return LiquidityPick(symbols=ranked[:n], volumes=dict(sorted(vol.items())), source=res.source,
                         stale=res.stale, fetched_at=res.fetched_at.isoformat())  # fmt: skip
