"""The backtester settles funding from a stored series when one is given, the constant otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.engine import Intent, run_intents
from exchange.types import Side
from exchange.virtual import ExchangeConfig
from tools.funding_store import import_funding, load_funding

SYM = "BTCUSDT"
T8 = pd.Timestamp("2023-04-20T08:00:00Z")


def _bars() -> pd.DataFrame:
    idx = pd.date_range("2023-04-20T07:50:00Z", periods=30, freq="1min", name="ts")
    px = np.full(len(idx), 100.0)
    return pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=idx)


def _run(funding_path: Path | None, store: Path) -> float:
    cfg = ExchangeConfig(
        starting_balance=10_000.0, maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0,
        funding_rate=0.0001,
    )  # fmt: skip
    series = None
    if funding_path is not None:
        import_funding(funding_path, store=store, fsync=False)
        series = load_funding(SYM, store)
    res = run_intents(
        _bars(), [Intent(index=0, side=Side.BUY, quantity=2.0)], symbol=SYM,
        exchange_config=cfg, funding=series,
    )  # fmt: skip
    return res.funding


def test_a_stored_series_sets_the_rate_and_the_mark_of_each_settlement(tmp_path: Path) -> None:
    ms8 = T8.value // 1_000_000
    f = tmp_path / "btc.json"
    # Binance stamps a few ms late; the exchange puts it on the 08:00 grid
    f.write_text(json.dumps([{"symbol": SYM, "fundingTime": ms8 + 4, "fundingRate": "0.002",
                              "markPrice": "125.5"}]))  # fmt: skip
    assert _run(f, tmp_path / "store") == pytest.approx(-2.0 * 125.5 * 0.002)
    # no series: the constant rate on the last price (the 08:00 bar's open)
    assert _run(None, tmp_path / "empty") == pytest.approx(-2.0 * 100.0 * 0.0001)
    # a series without the mark: its rate on the last price
    g = tmp_path / "g.json"
    g.write_text(json.dumps([{"symbol": SYM, "fundingTime": ms8, "fundingRate": "0.002"}]))
    assert _run(g, tmp_path / "s2") == pytest.approx(-2.0 * 100.0 * 0.002)
