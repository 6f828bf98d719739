"""Funding-rate history in the store: Binance's shape in, Parquet beside the candles, bad rows
refused with the row, field and value before anything is written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from tools.errors import DataValidationError
from tools.funding_store import funding_dir, import_funding, load_funding

MS0 = int(pd.Timestamp("2023-04-20T00:00:00Z").value) // 1_000_000
MS8 = MS0 + 8 * 3_600_000
MS_NEXT_YEAR = int(pd.Timestamp("2024-01-01T00:00:00Z").value) // 1_000_000


def _json(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps(rows))
    return path


def test_json_rows_are_stored_per_symbol_and_year_and_merged(tmp_path: Path) -> None:
    store = tmp_path / "store"
    f = _json(
        tmp_path / "f.json",
        [
            {
                "symbol": "BTCUSDT",
                "fundingTime": MS0,
                "fundingRate": "0.0001",
                "markPrice": "27000.5",
            },
            {
                "symbol": "BTCUSDT",
                "fundingTime": MS8 + 2,
                "fundingRate": "-0.0002",
                "markPrice": "",
            },
            {"symbol": "BTCUSDT", "fundingTime": MS_NEXT_YEAR, "fundingRate": "0.0003"},
            {"symbol": "ETHUSDT", "fundingTime": MS0, "fundingRate": "0.00005"},
        ],
    )
    reports = import_funding(f, store=store, fsync=False)
    assert [(r.symbol, r.rows, r.with_mark_price, r.files_written) for r in reports] == [
        ("BTCUSDT", 3, 1, 2),
        ("ETHUSDT", 1, 0, 1),
    ]
    assert sorted(p.name for p in funding_dir(store, "BTCUSDT").iterdir()) == [
        "2023.parquet",
        "2024.parquet",
    ]
    s = load_funding("BTCUSDT", store)
    assert s is not None
    assert s.times_ns.tolist() == [MS0 * 10**6, (MS8 + 2) * 10**6, MS_NEXT_YEAR * 10**6]
    assert s.rates.tolist() == [0.0001, -0.0002, 0.0003]
    assert s.marks[0] == 27000.5 and math.isnan(s.marks[1]) and math.isnan(s.marks[2])
    assert s.mark_by_time() == {MS0 * 10**6: 27000.5}
    # a second file replaces the rate at a stored time and adds the rest
    g = _json(
        tmp_path / "g.json", [{"symbol": "BTCUSDT", "fundingTime": MS0, "fundingRate": 0.0009}]
    )
    (again,) = import_funding(g, store=store, fsync=False)
    assert again.stored_rows == 3
    s2 = load_funding("BTCUSDT", store)
    assert s2 is not None and s2.rates.tolist() == [0.0009, -0.0002, 0.0003]
    assert load_funding("SOLUSDT", store) is None


def test_csv_without_a_symbol_takes_the_option(tmp_path: Path) -> None:
    store = tmp_path / "store"
    f = tmp_path / "sol.csv"
    f.write_text(f"fundingTime,fundingRate,markPrice\n{MS0},0.0001,21.5\n{MS8},0.0002,\n")
    with pytest.raises(DataValidationError, match="row 1, column symbol: missing"):
        import_funding(f, store=store, fsync=False)
    (r,) = import_funding(f, symbol="solusdt", store=store, fsync=False)
    assert (r.symbol, r.rows, r.with_mark_price) == ("SOLUSDT", 2, 1)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"symbol": "BTCUSDT", "fundingTime": "yesterday", "fundingRate": "0.1"},
         "row 2, column fundingTime: must be a positive integer epoch time in ms (value 'yesterday')"),
        ({"symbol": "BTCUSDT", "fundingTime": MS8, "fundingRate": "abc"},
         "row 2, column fundingRate: must be a finite number (0.0001 = 0.01 %) (value 'abc')"),
        ({"symbol": "BTCUSDT", "fundingTime": MS8, "fundingRate": "NaN"},
         "row 2, column fundingRate: must be a finite number"),
        ({"symbol": "BTCUSDT", "fundingTime": MS8, "fundingRate": "2"},
         "row 2, column fundingRate: |rate| above 1.0 per funding period (value '2')"),
        ({"symbol": "BTCUSDT", "fundingTime": MS8, "fundingRate": "0.1", "markPrice": "-5"},
         "row 2, column markPrice: must be a positive finite price (or empty) (value '-5')"),
        ({"symbol": "FOOUSDT", "fundingTime": MS8, "fundingRate": "0.1"},
         "row 2, column symbol: 'FOOUSDT' is not one of"),
        ({"symbol": "BTCUSDT", "fundingTime": MS0, "fundingRate": "0.5"},
         f"row 2, column fundingTime: appears twice for BTCUSDT with different values (value {MS0})"),
    ],
)  # fmt: skip
def test_a_bad_row_names_the_field_and_value_and_nothing_is_written(
    tmp_path: Path, row: dict[str, object], message: str
) -> None:
    store = tmp_path / "store"
    good = {"symbol": "BTCUSDT", "fundingTime": MS0, "fundingRate": "0.0001"}
    f = _json(tmp_path / "bad.json", [good, row])
    with pytest.raises(DataValidationError) as info:
        import_funding(f, store=store, fsync=False)
    assert str(info.value).startswith(f"bad.json: {message}")
    assert not (store / "funding").exists()  # the good first row was not written either


def test_a_file_that_is_not_funding_history_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "candles.csv"
    f.write_text("ts,open,high,low,close\n1,2,3,1,2\n")
    with pytest.raises(DataValidationError, match="header, column fundingTime: missing"):
        import_funding(f, store=tmp_path / "store", fsync=False)
