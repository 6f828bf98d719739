"""Binance klines download, replayed from cassettes with the network blocked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import vcr
from tenacity import wait_none

from tools.candles import load_candles
from tools.download import download_candles
from tools.errors import DownloadError
from tools.store import candle_dir, partition_files, read_candle_set

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "binance"
replay = vcr.VCR(record_mode="none", cassette_library_dir=str(CASSETTES))


def test_download_pages_validates_and_stores_real_klines(tmp_path: Path, shared_data: Path) -> None:
    store = tmp_path / "store"
    with replay.use_cassette("klines_paged.yaml") as cassette:
        report = download_candles(
            "BTCUSDT",
            "1m",
            "2023-03-24T00:00:00Z",
            "2023-03-24T20:00:00Z",
            store=store,
            wait=wait_none(),
            progress=False,
        )
    assert cassette.play_count == 2  # two pages: 1000 rows, then the rest
    assert report.rows == 1200 - 80
    assert report.first == "2023-03-24T00:00:00Z" and report.last == "2023-03-24T19:59:00Z"
    assert [g.model_dump() for g in report.gaps] == [
        {"after": "2023-03-24T12:39:00Z", "before": "2023-03-24T14:00:00Z", "missing_bars": 80}
    ]
    got = load_candles("BTCUSDT", "1m", "2023-03-24T00:00:00Z", "2023-03-24T20:00:00Z", store=store)
    csv = pd.read_csv(shared_data / "candles" / "BTCUSDT_1m.csv.gz")
    csv["ts"] = pd.to_datetime(csv["ts"], utc=True)
    want = csv[(csv.ts >= "2023-03-24T00:00:00Z") & (csv.ts < "2023-03-24T20:00:00Z")]
    assert np.array_equal(got.index.asi8, pd.DatetimeIndex(want.ts).as_unit("ns").asi8)
    for col in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(got[col].to_numpy(), want[col].to_numpy()), col


def test_download_retries_a_500_then_succeeds(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with replay.use_cassette("klines_500_then_ok.yaml") as cassette:
        report = download_candles(
            "BTCUSDT",
            "1m",
            "2023-03-24T00:00:00Z",
            "2023-03-24T00:10:00Z",
            store=store,
            wait=wait_none(),
            progress=False,
        )
    assert cassette.play_count == 2
    assert report.rows == 10
    assert len(read_candle_set(store, "BTCUSDT", "1m")) == 10


def test_download_persistent_500_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with (
        replay.use_cassette("klines_500_always.yaml") as cassette,
        pytest.raises(DownloadError) as err,
    ):
        download_candles(
            "BTCUSDT",
            "1m",
            "2023-03-24T00:00:00Z",
            "2023-03-24T00:10:00Z",
            store=store,
            wait=wait_none(),
            progress=False,
        )
    assert cassette.play_count == 5
    assert str(err.value).startswith(
        "Binance /api/v3/klines failed after 5 attempts for BTCUSDT 1m from 1679616000000: "
        'HTTP 500: {"code":-1000,'
    )
    assert str(err.value).endswith("nothing was written")
    assert partition_files(candle_dir(store, "BTCUSDT", "1m")) == []
    assert not store.exists()
