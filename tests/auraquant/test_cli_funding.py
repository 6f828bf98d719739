"""`auraquant data import-funding FILE`: stored beside the candles; a bad row is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from auraquant.cli import app
from tools.funding_store import load_funding

MS8 = int(pd.Timestamp("2023-04-20T08:00:00Z").value) // 1_000_000


def test_import_funding_stores_the_series_and_refuses_a_bad_row(
    aq_home: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    f = tmp_path / "btc.json"
    f.write_text(json.dumps([
        {"symbol": "BTCUSDT", "fundingTime": MS8, "fundingRate": "0.0001", "markPrice": "27000"},
        {"symbol": "BTCUSDT", "fundingTime": MS8 + 28_800_000, "fundingRate": "-0.0002"},
    ]))  # fmt: skip
    res = runner.invoke(app, ["data", "import-funding", str(f), "--json"])
    assert res.exit_code == 0, res.stderr
    (rep,) = json.loads(res.stdout)["imported"]
    assert (rep["symbol"], rep["rows"], rep["with_mark_price"]) == ("BTCUSDT", 2, 1)
    assert (aq_home / "store" / "funding" / "BTCUSDT" / "2023.parquet").is_file()
    series = load_funding("BTCUSDT")
    assert series is not None and series.rates.tolist() == [0.0001, -0.0002]

    bad = tmp_path / "bad.csv"
    bad.write_text(f"symbol,fundingTime,fundingRate\nETHUSDT,{MS8},0.0001\nETHUSDT,{MS8},1e9x\n")
    res = runner.invoke(app, ["data", "import-funding", str(bad)])
    assert res.exit_code == 2
    assert "bad.csv: row 2, column fundingRate" in res.stderr and "'1e9x'" in res.stderr
    assert "nothing was written" in res.stderr and "Traceback" not in res.stderr
    assert load_funding("ETHUSDT") is None
