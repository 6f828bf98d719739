"""Universe ranking: by-hand quote volume and ranks; no look-ahead; real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools.universe import rank_universe, rank_universe_from_store

AT = pd.Timestamp("2023-04-20T12:00:00Z")


def _bars(closes: list[float], volume: float, start: str = "2023-04-20T09:00:00Z") -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(closes), freq="1h", tz="UTC")
    c = np.array(closes)
    return pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": volume}, index=idx)


def test_ranks_by_hand() -> None:
    candles = {
        # quote volume = sum(close x volume): 3 bars closed by 12:00 (09, 10, 11)
        "BTCUSDT": _bars([100, 101, 100, 999], 10),  # 100*10 + 101*10 + 100*10 = 3010, calm
        "ETHUSDT": _bars([10, 12, 9, 10], 100),  # 10*100 + 12*100 + 9*100 = 3100, wild
        "SOLUSDT": _bars([1, 1.01, 1.0, 1.0], 50),  # 50 + 50.5 + 50 = 150.5
    }
    r = rank_universe(
        candles, AT, lookback_hours=24, symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
    )
    by = {e.symbol: e for e in r.entries}
    assert by["BTCUSDT"].quote_volume == pytest.approx(3010.0)  # the 12:00 bar (999) is not closed
    assert by["ETHUSDT"].quote_volume == pytest.approx(3100.0)
    assert [by[s].liquidity_rank for s in ("ETHUSDT", "BTCUSDT", "SOLUSDT")] == [1, 2, 3]
    assert by["ETHUSDT"].volatility_rank == 1
    # score = 1 - ((liq-1) + (vol-1)) / (2*(n-1)); ETH: ranks 1,1 -> 1.0
    assert r.entries[0].symbol == "ETHUSDT" and r.entries[0].score == 1.0
    assert r.missing == ["XRPUSDT"]


@pytest.mark.data
def test_real_store_ranking(real_store) -> None:
    r = rank_universe_from_store("2023-04-20T12:00:00Z", store=real_store)
    syms = [e.symbol for e in r.entries]
    assert set(syms) == {
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
        "DOGEUSDT",
        "XRPUSDT",
        "ADAUSDT",
        "LTCUSDT",
    }
    assert r.missing == ["BNBUSDT"]  # only 2017-2021 hourly data for BNB
    liq = {e.symbol: e.liquidity_rank for e in r.entries}
    assert liq["BTCUSDT"] <= 2 and liq["ETHUSDT"] <= 3
    old = rank_universe_from_store("2021-11-10T12:00:00Z", store=real_store)
    assert "BNBUSDT" in {e.symbol for e in old.entries}
