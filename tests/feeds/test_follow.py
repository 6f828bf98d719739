"""`auraquant data follow` against a loopback klines server (a real HTTP server on 127.0.0.1,
port 0): closed bars only, resumed with no gap and no duplicate, a hole the endpoint cannot fill
reported once; `data serve` answers from the store; `--symbols auto` ranks by 24h volume with
the stale-cache fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from feeds.candles import follow_once, last_stored_open
from tests.feeds.venue import T0, Venue, _price, serve_venue
from tools.store import candle_dir, find_gaps, partition_files, read_candle_files


@pytest.fixture()
def venue() -> Iterator[tuple[Venue, str]]:
    with serve_venue() as v:
        yield v


def _stored(store: Path) -> np.ndarray:
    return read_candle_files(partition_files(candle_dir(store, "BTCUSDT", "1m"))).ts


def test_follow_stores_closed_bars_and_resumes_without_gap_or_duplicate(
    venue: tuple[Venue, str], tmp_path: Path
) -> None:
    v, url = venue
    store = tmp_path / "store"
    v.now = T0 + pd.Timedelta("10min30s")  # the 00:10 bar is still open
    r1 = follow_once(
        "BTCUSDT", "1m", store=store, now=v.now, backfill="1h", base_url=url, attempts=1
    )
    assert (r1.resumed, r1.rows, r1.gaps) == (False, 60, [])  # 23:10 .. 00:09, all closed
    assert last_stored_open(store, "BTCUSDT", "1m") == T0 + pd.Timedelta("9min")
    # a restart 20 minutes later with a 3-bar hole at the venue: resumed at the next bar
    v.holes = {int((T0 + pd.Timedelta(m, "min")).value // 1_000_000) for m in (15, 16, 17)}
    v.now = T0 + pd.Timedelta("30min5s")
    r2 = follow_once("BTCUSDT", "1m", store=store, now=v.now, base_url=url, attempts=1)
    assert r2.resumed and r2.since == "2024-03-01T00:10:00Z" and r2.rows == 20 - 3
    assert [(g.after, g.before, g.missing_bars) for g in r2.gaps] == [
        ("2024-03-01T00:14:00Z", "2024-03-01T00:18:00Z", 3)]  # fmt: skip
    ts = _stored(store)
    assert len(ts) == len(set(ts.tolist())) == 60 + 17  # no duplicate
    assert np.all(np.diff(ts) > 0)
    assert [g.missing_bars for g in find_gaps(ts, 60_000_000_000)] == [3]  # only the venue's hole
    # the next round starts after the hole: it is not reported again, nothing is refetched
    v.now = T0 + pd.Timedelta("31min1s")
    r3 = follow_once("BTCUSDT", "1m", store=store, now=v.now, base_url=url, attempts=1)
    assert (r3.since, r3.rows, r3.gaps) == ("2024-03-01T00:30:00Z", 1, [])
    # the stored closes are the venue's
    last = read_candle_files(partition_files(candle_dir(store, "BTCUSDT", "1m")))
    assert float(last.close[-1]) == round(_price(int(last.ts[-1] // 1_000_000)) + 0.5, 2)


def test_a_failing_venue_writes_nothing_and_says_so(
    venue: tuple[Venue, str], tmp_path: Path
) -> None:
    from tools.errors import DownloadError

    v, url = venue
    v.fail = True
    v.now = T0
    with pytest.raises(DownloadError, match="nothing was written"):
        follow_once("BTCUSDT", "1m", store=tmp_path / "store", now=v.now, backfill="1h",
                    base_url=url, attempts=2)  # fmt: skip
    assert not candle_dir(tmp_path / "store", "BTCUSDT", "1m").exists()


def test_data_follow_cli_with_symbols_auto_and_the_stale_cache(
    venue: tuple[Venue, str], aq_home: Path
) -> None:
    from auraquant.cli import app

    v, url = venue
    v.now = pd.Timestamp.now(tz="UTC")
    runner = CliRunner()
    args = ["data", "follow", "--symbols", "auto", "--top", "2", "--rounds", "1",
            "--backfill", "1h", "--base-url", url, "--coingecko-url", f"{url}/api/v3", "--json"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.stderr
    rounds = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["symbol"] for r in rounds] == ["BTCUSDT", "XRPUSDT"]  # by 24h volume
    assert all(55 <= r["rows"] <= 60 for r in rounds) and "api" in res.stderr
    # CoinGecko down (and its cache older than the TTL is not needed: same answer, stale)
    from tools.coingecko import CoinGeckoClient
    from tools.liquidity import most_liquid

    v.fail = True
    pick = most_liquid(CoinGeckoClient(base_url=f"{url}/api/v3", ttl_seconds=0, attempts=1,
                                       wait_seconds=0), 2)  # fmt: skip
    assert pick.symbols == ["BTCUSDT", "XRPUSDT"] and pick.stale and pick.source == "stale-cache"


def test_data_serve_answers_last_price_and_indicators_from_the_store(
    venue: tuple[Venue, str], tmp_path: Path
) -> None:
    from feeds.data_api import create_app
    from tools.candles import load_candles
    from tools.indicators import snapshot_frame

    v, url = venue
    store = tmp_path / "store"
    v.now = T0 + pd.Timedelta("5min")
    follow_once("BTCUSDT", "1m", store=store, now=v.now, backfill="1d", base_url=url, attempts=1)
    client = TestClient(create_app(store))
    lp = client.get("/last_price", params={"symbol": "btcusdt"}).json()
    assert lp["closed_at"] == "2024-03-01T00:05:00Z" and lp["timeframe"] == "1m"
    assert lp["price"] == round(
        _price(int((T0 + pd.Timedelta("4min")).value // 1_000_000)) + 0.5, 2
    )
    ind = client.get(
        "/indicators", params={"symbol": "BTCUSDT", "timeframe": "15m", "bars": 60}
    ).json()
    frame = load_candles("BTCUSDT", "15m", T0 - pd.Timedelta("15min") * 60, T0, store=store)
    assert ind["as_of"] == "2024-03-01T00:00:00Z"  # the last complete 15m bar
    assert ind["rsi_14"] == snapshot_frame(frame).rsi_14 and ind["bars"] == len(frame)
    bad = client.get("/last_price", params={"symbol": "NOPEUSDT"})
    assert bad.status_code == 404 and "NOPEUSDT" in bad.json()["detail"]
    bad_tf = client.get("/indicators", params={"symbol": "BTCUSDT", "timeframe": "7m"})
    assert bad_tf.status_code == 422 and "7m" in bad_tf.json()["detail"]
