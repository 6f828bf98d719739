"""CoinGecko client on hand-written cassettes: fresh answer, cache hit, 500 -> stale, no cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import vcr

from tools.coingecko import CoinGeckoClient, CoinGeckoError

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
IDS = ["bitcoin", "ethereum", "solana"]
T0 = datetime(2023, 4, 20, 12, 0, tzinfo=UTC)

my_vcr = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",  # never touch the network
    filter_headers=["x-cg-demo-api-key", "x-cg-pro-api-key"],
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _client(tmp_path: Path, clock: Clock) -> CoinGeckoClient:
    return CoinGeckoClient(
        cache_dir=tmp_path / "cache", clock=clock, wait_seconds=0, ttl_seconds=300
    )


def test_markets_parses_the_response_and_caches_it(tmp_path: Path) -> None:
    clock = Clock(T0)
    client = _client(tmp_path, clock)
    with my_vcr.use_cassette("coingecko_markets.yaml") as cass:
        res = client.markets(IDS)
        assert cass.play_count == 1
    assert (res.source, res.stale) == ("api", False)
    assert [c.id for c in res.coins] == IDS
    btc = res.coins[0]
    assert btc.market_cap_rank == 1 and btc.total_volume == 21034000000
    assert Path(res.cache_path).exists()
    # within the TTL the cache answers; no HTTP (no cassette is active: a request would fail)
    clock.now = T0 + timedelta(seconds=299)
    hit = client.markets(IDS)
    assert (hit.source, hit.stale, hit.coins) == ("cache", False, res.coins)


def test_server_error_falls_back_to_the_stale_cache(tmp_path: Path) -> None:
    clock = Clock(T0)
    client = _client(tmp_path, clock)
    with my_vcr.use_cassette("coingecko_markets.yaml"):
        fresh = client.markets(IDS)
    clock.now = T0 + timedelta(hours=2)  # cache expired: the client asks the API again
    with my_vcr.use_cassette("coingecko_markets_500.yaml", allow_playback_repeats=True) as cass:
        res = client.markets(IDS)
        assert cass.play_count == 3  # retried three times
    assert (res.source, res.stale, res.error) == ("stale-cache", True, "HTTP 500")
    assert res.coins == fresh.coins and res.fetched_at == T0


def test_failure_without_a_cache_is_one_clear_error(tmp_path: Path) -> None:
    client = _client(tmp_path, Clock(T0))
    path = client.cache_path(client._params(IDS, "usd"))
    with (
        my_vcr.use_cassette("coingecko_markets_500.yaml", allow_playback_repeats=True),
        pytest.raises(CoinGeckoError) as err,
    ):
        client.markets(IDS)
    assert str(err.value) == (
        f"CoinGecko /coins/markets failed (HTTP 500) and there is no cached copy at {path}"
    )
    assert not path.exists()


def test_api_key_never_lands_in_the_cache(tmp_path: Path) -> None:
    client = CoinGeckoClient(
        cache_dir=tmp_path / "cache", clock=Clock(T0), wait_seconds=0, api_key="cg-secret-123"
    )
    with my_vcr.use_cassette("coingecko_markets.yaml"):
        res = client.markets(IDS)
    assert "cg-secret-123" not in Path(res.cache_path).read_text()
