"""A funding-rate series (Binance's history shape) drives funding when present."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.settings import get_settings
from exchange.funding import funding_rates, on_funding_grid, read_funding_rates
from exchange.virtual import VirtualExchange
from tests.exchange.kit import SYM, make, mkt

T8 = int(pd.Timestamp("2023-04-20T08:00:00Z").value)
T16 = int(pd.Timestamp("2023-04-20T16:00:00Z").value)
MS8 = T8 // 1_000_000


def test_binance_rows_json_and_csv_land_on_the_funding_grid(tmp_path: Path) -> None:
    rows = [
        {"symbol": "BTCUSDT", "fundingTime": MS8 + 3, "fundingRate": "0.00010280"},  # 3 ms late
        {"symbol": "ETHUSDT", "fundingTime": MS8, "fundingRate": "0.5"},
    ]
    assert funding_rates(rows, "BTCUSDT") == {T8: pytest.approx(0.0001028)}
    (tmp_path / "f.json").write_text(json.dumps(rows))
    assert read_funding_rates(tmp_path / "f.json", "BTCUSDT") == {T8: pytest.approx(0.0001028)}
    (tmp_path / "f.csv").write_text(
        f"calc_time,funding_interval_hours,last_funding_rate\n{MS8},8,-0.0002\n"
    )
    assert read_funding_rates(tmp_path / "f.csv") == {T8: -0.0002}
    assert on_funding_grid(T8 - 1) == T8
    with pytest.raises(ValueError, match="row 1: no funding rate"):
        funding_rates([{"fundingTime": MS8}])


def test_the_series_rate_is_used_and_the_constant_fills_its_gaps() -> None:
    ex = make(funding_rate=0.0001)
    assert ex.set_funding_rates(SYM, {T8: 0.002}) == 1
    t = pd.Timestamp("2023-04-20T07:58:00Z")
    ex.on_bar(SYM, t, 100.0, 100.0, 100.0, 100.0)
    ex.place(mkt("BUY"))
    for minutes in (1, 2):  # fill at 07:59, then the 08:00 bar settles funding
        ex.on_bar(SYM, t + pd.Timedelta(minutes=minutes), 100.0, 100.0, 100.0, 100.0)
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T16:00:00Z"), 100.0, 100.0, 100.0, 100.0)
    pays = [(int(p.ts.value), p.rate, p.amount) for p in ex.funding_payments()]
    assert pays == [(T8, 0.002, pytest.approx(-0.2)), (T16, 0.0001, pytest.approx(-0.01))]
    again = VirtualExchange.from_state(json.loads(json.dumps(ex.state_dict())))
    assert again.state_dict() == ex.state_dict()


def test_cli_imports_a_series(
    aq_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    get_settings.cache_clear()
    f = tmp_path / "btc.json"
    f.write_text(json.dumps([{"symbol": "BTCUSDT", "fundingTime": MS8, "fundingRate": "0.0003"}]))
    res = CliRunner().invoke(
        app, ["exchange", "funding-rates", str(f), "--symbol", "BTCUSDT", "--json"]
    )
    assert res.exit_code == 0 and json.loads(res.stdout) == {
        "symbol": "BTCUSDT",
        "read": 1,
        "rates": 1,
    }
    state = json.loads((aq_home / "exchange" / "state.json").read_text())
    assert state["funding_rates"] == {"BTCUSDT": [[T8, 0.0003]]}
    bad = CliRunner().invoke(app, ["exchange", "funding-rates", str(f), "--symbol", "FOOUSDT"])
    assert bad.exit_code != 0 and "no FOOUSDT funding rates" in bad.stderr
    get_settings.cache_clear()


def test_a_stored_mark_price_is_what_funding_settles_on_and_the_last_price_otherwise() -> None:
    """C3c: funding = −quantity × mark × rate with the mark of the funding time when one is set,
    the bar's open (last price) for a funding time without one."""
    ex = make(funding_rate=0.001)
    assert ex.set_mark_prices(SYM, {T8: 120.0}) == 1
    t = pd.Timestamp("2023-04-20T07:58:00Z")
    ex.on_bar(SYM, t, 100.0, 100.0, 100.0, 100.0)
    ex.place(mkt("BUY", 2.0))
    for minutes in (1, 2):
        ex.on_bar(SYM, t + pd.Timedelta(minutes=minutes), 100.0, 100.0, 100.0, 100.0)
    ex.on_bar(SYM, pd.Timestamp("2023-04-20T16:00:00Z"), 90.0, 90.0, 90.0, 90.0)
    pays = [(int(p.ts.value), p.price, p.amount) for p in ex.funding_payments()]
    assert pays == [(T8, 120.0, pytest.approx(-0.24)), (T16, 90.0, pytest.approx(-0.18))]
    again = VirtualExchange.from_state(json.loads(json.dumps(ex.state_dict())))
    assert again.state_dict() == ex.state_dict()  # kept in the snapshot
    with pytest.raises(ValueError, match="mark_price"):
        ex.set_mark_prices(SYM, {T8: -1.0})
