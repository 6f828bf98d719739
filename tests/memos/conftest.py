"""Memo fixtures: the real 1m candles and headlines, read once per session straight from the CSVs.

The builder's core takes plain DataFrames, so these tests do not need the Parquet store.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from memos.market import MarketData, candle_frame, news_frame
from tools.importer import read_candle_csv, read_news_csv

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@pytest.fixture(scope="session")
def real_frames(shared_data: Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(1m candles of BTC/ETH/SOL, all headlines) as DataFrames."""
    candles = {
        s: candle_frame(read_candle_csv(shared_data / "candles" / f"{s}_1m.csv.gz"))
        for s in SYMBOLS
    }
    news = pd.concat(
        [news_frame(read_news_csv(p)) for p in sorted((shared_data / "news").glob("*.csv.gz"))],
        ignore_index=True,
    )
    return candles, news


@pytest.fixture(scope="session")
def real_market(real_frames: tuple[dict[str, pd.DataFrame], pd.DataFrame]) -> MarketData:
    """A warm MarketData over the real data."""
    candles, news = real_frames
    return MarketData(candles=candles, news=news).warm(SYMBOLS, "1h")
