"""`auraquant memo`: one JSON object with run_dir, the memo file under runs/, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app

pytestmark = pytest.mark.data


@pytest.fixture()
def home(aq_home: Path, real_store: Path) -> Path:
    """A fresh $AURAQUANT_HOME whose store is the session's imported real data (read-only)."""
    (aq_home / "store").symlink_to(real_store, target_is_directory=True)
    return aq_home


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_json_prints_one_object_and_writes_the_memo(home: Path) -> None:
    r = _run("memo", "BTCUSDT", "--at", "2023-04-20T12:00:00Z", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)  # exactly one JSON object on stdout
    assert out["symbol"] == "BTCUSDT" and out["at"] == "2023-04-20T12:00:00Z"
    run_dir = Path(out["run_dir"])
    assert run_dir.parent == home / "runs"
    written = json.loads((run_dir / "memos" / f"{out['id']}.json").read_text())
    assert written == {k: v for k, v in out.items() if k not in ("run_dir", "memo_path")}
    assert {f["id"] for f in written["facts"]} >= {"market.price", "tech.rsi_14", "news.bias"}
    again = json.loads(_run("memo", "BTCUSDT", "--at", "2023-04-20T12:00:00Z", "--json").stdout)
    assert again["id"] == out["id"]  # deterministic


def test_readable_view_groups_facts_and_shows_unknowns(home: Path) -> None:
    r = _run("memo", "ETHUSDT", "--at", "2023-03-24T15:00:00Z")
    assert r.exit_code == 0, r.output
    for part in (
        "Market",
        "Technical",
        "News",
        "Correlation",
        "Signals",
        "Unknowns",
        "unknown.data_gap",
        "tech.rsi_14",
        "btc_lead_lag",
    ):
        assert part in r.stdout


def test_hourly_history_is_reachable(home: Path) -> None:
    r = _run("memo", "ETHUSDT", "--at", "2021-11-10T15:30:00Z", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["facts"][0]["source"] == "candles:ETHUSDT_1h"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["BTCUSDT", "--at", "yesterday"],
            "error: --at: time 'yesterday' is not ISO-8601 (e.g. 2023-04-20T12:00:00Z)",
        ),
        (
            ["BTCUSDT", "--at", "2023-04-20T12:00:00"],
            "error: --at: time '2023-04-20T12:00:00' has no timezone; write it in UTC with a Z suffix",
        ),
        (
            ["FOOUSDT", "--at", "2023-04-20T12:00:00Z"],
            "error: symbol: 'FOOUSDT' is not one of BTCUSDT, ETHUSDT, SOLUSDT, DOGEUSDT, XRPUSDT, "
            "ADAUSDT, BNBUSDT, LTCUSDT (or SYNTH-<pair>)",
        ),
        (
            ["XRPUSDT", "--at", "2023-03-20T00:00:00Z"],
            "error: --at 2023-03-20T00:00:00Z is outside the stored XRPUSDT data (1m: "
            "2023-04-01T21:04:00Z to 2023-05-01T21:02:00Z; 5m: 2023-04-01T21:10:00Z to "
            "2023-05-01T21:00:00Z; 1h: 2018-05-04T09:00:00Z to 2022-01-01T00:00:00Z)",
        ),
        (
            ["BTCUSDT", "--at", "2023-04-20T12:00:00Z", "--timeframe", "7m"],
            "error: --timeframe '7m' is not one of 1m, 5m, 15m, 30m, 1h, 4h, 1d",
        ),
    ],
)
def test_clear_errors_and_nothing_written(home: Path, args: list[str], message: str) -> None:
    r = _run("memo", *args, "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert " ".join(r.stderr.split()) == message
    assert not (home / "runs").exists()


def test_empty_store_says_how_to_import(aq_home: Path) -> None:
    r = _run("memo", "BTCUSDT", "--at", "2023-04-20T12:00:00Z")
    assert r.exit_code == 2
    assert "no BTCUSDT candles in the store" in r.stderr
    assert "auraquant data import ../shared/data" in " ".join(r.stderr.split())
