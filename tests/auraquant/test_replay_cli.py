"""`auraquant replay` and `auraquant review` as a user runs them, on the real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app

pytestmark = pytest.mark.data
runner = CliRunner()
WINDOW = ["--start", "2023-04-10T00:00:00Z", "--end", "2023-04-11T00:00:00Z", "--every", "4h"]


@pytest.fixture()
def home(aq_home: Path, real_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (aq_home / "store").symlink_to(real_store)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return aq_home


def test_replay_json_then_review_and_show(home: Path) -> None:
    res = runner.invoke(app, ["replay", "--symbols", "BTCUSDT,ETHUSDT", *WINDOW, "--workers", "1",
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"run_dir", "meetings", "results", "per_symbol", "debate_pays", "llm_usage"}
    assert out["llm_usage"]["desk"]["calls"] > out["llm_usage"]["desk_no_debate"]["calls"] > 0
    assert set(out["results"]) == {"desk", "desk_no_debate", "buy_and_hold", "sma_cross"}
    assert set(out["per_symbol"]) == {"BTCUSDT", "ETHUSDT"}
    run = Path(out["run_dir"])
    assert (run / "report.json").exists() and out["meetings"] == 7 * 2 * 2

    rev = runner.invoke(app, ["review", str(run), "--json"])
    assert rev.exit_code == 0, rev.stderr
    r = json.loads(rev.stdout)
    assert r["decisions"] == 28 and r["scored"] > 0 and r["calibration"]["1d"]["n"] > 0
    assert set(r["weights"]) <= {"market_analyst", "technical_analyst", "risk_manager", "cto"}
    ledger = json.loads((run / "ledger.json").read_text())
    did = ledger["decisions"][0]["id"].replace("<run>", run.name)
    show = runner.invoke(app, ["review", "show", did, "--json"])
    assert show.exit_code == 0, show.stderr
    chain = json.loads(show.stdout)
    assert chain["id"] == did and {o["horizon"] for o in chain["outcomes"]} == {"4h", "1d", "3d"}
    assert chain["debate"]["stances"] and chain["decision"]["action"] in {"LONG", "SHORT", "FLAT"}
    # a second replay of the same inputs writes its own run, never into the first
    again = runner.invoke(app, ["replay", "--symbols", "BTCUSDT,ETHUSDT", *WINDOW, "--workers",
                                "1", "--json"])  # fmt: skip
    run2 = Path(json.loads(again.stdout)["run_dir"])
    assert run2 != run and run2.name == f"{run.name}-2"
    assert (run / "report.json").read_bytes() == (run2 / "report.json").read_bytes()


def test_the_human_summary_reads_at_80_columns(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    res = runner.invoke(app, ["replay", "--symbols", "BTCUSDT,ETHUSDT", "--start",
                              "2023-04-10T00:00:00Z", "--end", "2023-04-10T04:00:00Z",
                              "--every", "4h", "--workers", "1"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "…" not in res.stdout
    assert max(len(x) for x in lines if not x.startswith("run_dir:")) <= 80  # a path is whole
    for label in ("desk", "no debate", "hold strategy", "SMA cross", "maxDD %", "expo %"):
        assert label in res.stdout
    assert any(x.startswith("model usage, desk: ") for x in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "FOOUSDT", *WINDOW], "--symbols: 'FOOUSDT' is not one of"),
        (
            ["--symbols", "BTCUSDT,BTCUSDT", *WINDOW],
            "--symbols: 'BTCUSDT,BTCUSDT' names a symbol twice",
        ),
        (
            [
                "--symbols",
                "BTCUSDT",
                "--start",
                "2023-04-11T00:00:00Z",
                "--end",
                "2023-04-10T00:00:00Z",
            ],
            "--end: 2023-04-10T00:00:00Z is not after --start 2023-04-11T00:00:00Z",
        ),
        (["--symbols", "BTCUSDT", *WINDOW[:4], "--every", "3h"], "Invalid value for '--every'"),
        (["--symbols", "BTCUSDT", *WINDOW, "--backend", "threads"], "'threads' is not one of"),
        (
            ["--symbols", "BTCUSDT", *WINDOW, "--model", "nonsense"],
            "error: --model: model 'nonsense': unknown provider 'nonsense'; use one of offline, "
            "openai:<model>",
        ),
        (
            [
                "--symbols",
                "XRPUSDT",
                "--start",
                "2023-03-20T00:00:00Z",
                "--end",
                "2023-03-21T00:00:00Z",
            ],
            "--symbols: no stored XRPUSDT bars cover 2023-03-20T00:00:00Z (stored: 1m 2023-04-",
        ),
        (
            [
                "--symbols",
                "BTCUSDT",
                "--start",
                "2023-04-25T00:00:00Z",
                "--end",
                "2023-06-01T00:00:00Z",
            ],
            "--start/--end: BTCUSDT is stored from 2023-03-16T22:15:00Z to 2023-05-01T21:02:00Z, which does not cover",
        ),
        (["--symbols", "BTCUSDT", *WINDOW, "--workers", "0"], "Invalid value for '--workers'"),
        (["--symbols", "BTCUSDT", *WINDOW, "--run-id", "../x"], "--run-id: '../x' must match"),
    ],
)
def test_bad_input_is_one_clear_line(home: Path, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["replay", *args])
    assert res.exit_code == 2, res.stdout
    assert message in res.stderr and "Traceback" not in res.stderr


def test_review_of_an_unknown_run_and_decision(home: Path) -> None:
    res = runner.invoke(app, ["review", "nope"])
    assert res.exit_code == 2 and "run 'nope': no decisions in the ledger" in res.stderr
    res = runner.invoke(app, ["review", "show", "x:y:z"])
    assert res.exit_code == 2 and "decision_id: 'x:y:z' is not in the ledger" in res.stderr
    res = runner.invoke(app, ["review", "nope", "--horizons", "4x"])
    assert res.exit_code == 2 and "--horizons: horizon: '4x' is not a duration" in res.stderr
