"""`auraquant exchange …`: orders from the command line, state kept between commands."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tools.candles
from auraquant.cli import app
from auraquant.settings import get_settings

runner = CliRunner()
START = pd.Timestamp("2023-04-20T01:00:00Z")


def _fake_candles(
    symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp, *, store=None
) -> pd.DataFrame:
    """A stand-in for the candle store: a 1m ramp from 100, +0.1 per minute."""
    assert (symbol, timeframe) == ("BTCUSDT", "1m")
    idx = pd.date_range(START, periods=120, freq="1min", tz="UTC")
    base = 100 + 0.1 * pd.Series(range(120), index=idx, dtype="float64")
    frame = pd.DataFrame(
        {"open": base, "high": base + 0.2, "low": base - 0.2, "close": base + 0.1, "volume": 1.0},
        index=idx,
    )
    return frame[(frame.index >= start) & (frame.index + pd.Timedelta(minutes=1) <= end)]


def _store_ramp(home: Path) -> None:
    """Write the ramp into the home's Parquet store, where ``exchange advance`` reads it."""
    import numpy as np

    from tools.store import candle_dir, candle_table, partition_name, write_partition

    frame = _fake_candles("BTCUSDT", "1m", START, START + pd.Timedelta(hours=3))
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    values = {
        c: frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")
    }
    path = candle_dir(home / "store", "BTCUSDT", "1m") / partition_name(int(ts[0]))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_partition(path, candle_table(ts, values), fsync=False)


@pytest.fixture()
def cli(aq_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setattr(tools.candles, "load_candles", _fake_candles)
    _store_ramp(aq_home)
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, dict | None, str]:
        res = runner.invoke(app, ["exchange", *args])
        out = json.loads(res.stdout) if "--json" in args and res.exit_code == 0 else None
        return res.exit_code, out, res.stderr

    yield invoke
    get_settings.cache_clear()


def test_place_advance_positions_balance_fills(cli, aq_home: Path) -> None:
    code, out, err = cli(
        "order", "place", "--symbol", "BTCUSDT", "--side", "BUY", "--quantity", "0.01", "--json"
    )
    assert code == 2 and "symbol: no market price for BTCUSDT yet; feed a bar first" in err
    code, out, _ = cli(
        "advance",
        "--symbol",
        "BTCUSDT",
        "--from",
        "2023-04-20T01:00:00Z",
        "--to",
        "2023-04-20T01:05:00Z",
        "--json",
    )
    assert code == 0 and out["bars"] == 5 and out["now"] == "2023-04-20T01:05:00Z"
    code, out, _ = cli(
        "order",
        "place",
        "--symbol",
        "BTCUSDT",
        "--side",
        "BUY",
        "--quantity",
        "0.01",
        "--stop-loss",
        "99",
        "--take-profit",
        "101.5",
        "--json",
    )
    assert code == 0 and out["order"]["id"] == "O-000001" and out["order"]["status"] == "NEW"
    code, out, _ = cli("advance", "--symbol", "BTCUSDT", "--to", "2023-04-20T01:07:00Z", "--json")
    assert code == 0 and out["bars"] == 2
    assert [(f["side"], f["liquidity"]) for f in out["fills"]] == [("BUY", "TAKER")]
    code, out, _ = cli("positions", "--json")
    assert out["positions"][0]["quantity"] == 0.01
    code, out, _ = cli("order", "list", "--json")
    assert [o["role"] for o in out["orders"]] == ["stop_loss", "take_profit"]
    code, out, _ = cli("balance", "--json")
    assert out["balance"]["margin_used"] > 0 and out["now"] == "2023-04-20T01:07:00Z"
    code, out, _ = cli("fills", "--json")
    assert len(out["fills"]) == 1
    assert (aq_home / "exchange" / "state.json").exists()
    code, _, err = cli("order", "cancel", "O-999999")
    assert code == 2 and "order_id: unknown order 'O-999999'" in err
    code, out, _ = cli("order", "modify", "O-000003", "--price", "101.8", "--json")
    assert out["order"]["request"]["price"] == 101.8
    code, out, _ = cli("order", "cancel", "O-000002", "--json")
    assert out["order"]["status"] == "CANCELED"
    code, out, _ = cli("order", "list", "--all", "--json")
    assert len(out["orders"]) == 3


def test_a_rejected_order_leaves_the_state_file_untouched(cli, aq_home: Path) -> None:
    cli(
        "advance",
        "--symbol",
        "BTCUSDT",
        "--from",
        "2023-04-20T01:00:00Z",
        "--to",
        "2023-04-20T01:02:00Z",
    )
    state = aq_home / "exchange" / "state.json"
    before = state.read_bytes()
    code, _, err = cli(
        "order",
        "place",
        "--symbol",
        "BTCUSDT",
        "--side",
        "BUY",
        "--type",
        "LIMIT",
        "--quantity",
        "0.01",
        "--price",
        "100.05",
    )
    assert code == 2 and "price: 100.05 is not on the BTCUSDT tick 0.1" in err
    code, _, err = cli(
        "order", "place", "--symbol", "BTCUSDT", "--side", "BUY", "--quantity", "0.0105"
    )
    assert code == 2 and "quantity: 0.0105 is not a multiple of the BTCUSDT size step 0.001" in err
    assert state.read_bytes() == before


def test_advance_on_a_fresh_exchange_feeds_the_bar_closing_at_to(cli) -> None:
    code, out, _ = cli("advance", "--symbol", "BTCUSDT", "--to", "2023-04-20T01:05:00Z", "--json")
    assert code == 0 and out["bars"] == 1 and out["now"] == "2023-04-20T01:05:00Z"
    code, out, _ = cli("advance", "--symbol", "BTCUSDT", "--to", "2023-04-20T01:08:00Z", "--json")
    assert code == 0 and out["bars"] == 3 and out["now"] == "2023-04-20T01:08:00Z"


def test_advance_needs_a_later_end(cli) -> None:
    code, _, err = cli(
        "advance",
        "--symbol",
        "BTCUSDT",
        "--from",
        "2023-04-20T01:05:00Z",
        "--to",
        "2023-04-20T01:05:00Z",
    )
    assert (
        code == 2
        and "--to: 2023-04-20T01:05:00Z is not after the start 2023-04-20T01:05:00Z" in err
    )


@pytest.mark.redis
def test_state_goes_to_redis_when_redis_url_is_set(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from exchange.snapshot import RedisSnapshot

    key = f"test:auraquant:exchange:cli:{uuid.uuid4().hex}"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("AURAQUANT_EXCHANGE_REDIS_KEY", key)
    get_settings.cache_clear()
    store = RedisSnapshot("redis://127.0.0.1:6379/0", key)
    try:
        code, out, _ = cli(
            "advance",
            "--symbol",
            "BTCUSDT",
            "--from",
            "2023-04-20T01:00:00Z",
            "--to",
            "2023-04-20T01:03:00Z",
            "--json",
        )
        assert code == 0
        assert store.load()["books"][0]["symbol"] == "BTCUSDT"  # type: ignore[index]
        code, out, _ = cli("reset", "--json")
        assert out["reset"] is True and store.load() is None
    finally:
        store.clear()


def test_tables_fit_80_columns_with_ids_statuses_and_prices_whole(cli) -> None:
    assert cli("advance", "--symbol", "BTCUSDT", "--to", "2023-04-20T01:05:00Z")[0] == 0
    place = ("order", "place", "--symbol", "BTCUSDT", "--quantity", "0.01")
    assert cli(*place, "--side", "BUY", "--type", "LIMIT", "--price", "99",
               "--stop-loss", "95", "--take-profit", "105")[0] == 0  # fmt: skip
    assert cli(*place, "--side", "SELL", "--type", "STOP_LIMIT", "--trigger-price", "90",
               "--price", "89.9")[0] == 0  # fmt: skip
    assert cli(*place, "--side", "SELL", "--type", "STOP_MARKET", "--trigger-price", "90")[0] == 0
    res = runner.invoke(app, ["exchange", "order", "list"])
    lines = res.stdout.splitlines()
    assert res.exit_code == 0 and max(len(line) for line in lines) <= 80
    for token in ("O-000001", "O-000002", "O-000003", "NEW", "99.0", "89.9", "90.0"):
        assert token in res.stdout  # whole, and prices on the 0.1 tick
    wide = runner.invoke(app, ["exchange", "order", "list", "--wide"])
    assert max(len(line) for line in wide.stdout.splitlines()) > 80
    assert "STOP_MARKET" in wide.stdout and "entry" in wide.stdout
