"""`auraquant data …` as a user runs it: one JSON object on stdout, errors on stderr."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app

runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_import_ls_json_and_idempotence(aq_home: Path, shared_data: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(shared_data / "candles" / "DOGEUSDT_5m.csv.gz", src)
    shutil.copy(shared_data / "news" / "kaggle_cryptonews_2021-10_2021-12.csv.gz", src)
    res = run("data", "import", str(src), "--json")
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)  # exactly one JSON object
    assert report["store"] == str(aq_home / "store")
    doge = next(f for f in report["files"] if f["kind"] == "candles")
    assert (doge["symbol"], doge["timeframe"], doge["rows"], doge["missing_bars"]) == (
        "DOGEUSDT",
        "5m",
        13217,
        16,
    )
    again = json.loads(run("data", "import", str(src), "--json").stdout)
    assert again["partitions_written"] == 0
    listing = json.loads(run("data", "ls", "--json").stdout)
    assert [
        (c["symbol"], c["timeframe"], c["gap_count"], c["missing_bars"]) for c in listing["candles"]
    ] == [("DOGEUSDT", "5m", 1, 16)]
    assert listing["candles"][0]["gaps"][0] == {
        "after": "2023-03-24T12:35:00Z",
        "before": "2023-03-24T14:00:00Z",
        "missing_bars": 16,
    }
    assert [n["dataset"] for n in listing["news"]] == ["kaggle_cryptonews"]
    human = run("data", "ls")
    assert human.exit_code == 0 and "DOGEUSDT" in human.stdout


def test_import_error_goes_to_stderr_and_exits_non_zero(aq_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "BTCUSDT_1m.csv"
    bad.write_text("ts,open,high,low,close,volume\n2023-03-16T22:15:00Z,100,99,90,95,1\n")
    res = run("data", "import", str(bad), "--json")
    assert res.exit_code != 0
    assert res.stdout == ""
    assert (
        "BTCUSDT_1m.csv: row 1, column high: high is below max(open, close) (value 99.0); nothing was written"
        in " ".join(res.stderr.split())
    )
    assert not (aq_home / "store").exists()


def test_synth_json(aq_home: Path) -> None:
    res = run("data", "synth", "--seed", "5", "--days-per-regime", "1", "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["synthetic"] is True and out["symbols"][0] == "SYNTH-BTCUSDT"
    assert out["bars_per_symbol"] == 3 * 1440


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--start", "2023-03-24", "--end", "2023-03-25T00:00:00Z"],
            "--start: time '2023-03-24' has no timezone",
        ),
        (
            [
                "--start",
                "2023-03-24T00:00:00Z",
                "--end",
                "2023-03-25T00:00:00Z",
                "--timeframe",
                "2m",
            ],
            "--timeframe: '2m' is not one of",
        ),
    ],
)
def test_download_bad_options(aq_home: Path, args: list[str], message: str) -> None:
    res = run("data", "download", "BTCUSDT", *args)
    assert res.exit_code != 0 and message in " ".join(res.stderr.split())


def test_help_everywhere() -> None:
    for sub in ("import", "ls", "download", "synth"):
        res = run("data", sub, "--help")
        assert res.exit_code == 0 and "--json" in res.stdout


def test_download_json_replays_binance_cassette(aq_home: Path) -> None:
    import vcr

    cassettes = Path(__file__).resolve().parents[1] / "cassettes" / "binance"
    with vcr.VCR(record_mode="none").use_cassette(str(cassettes / "klines_paged.yaml")):
        res = run(
            "data", "download", "BTCUSDT", "--timeframe", "1m",
            "--start", "2023-03-24T00:00:00Z", "--end", "2023-03-24T20:00:00Z", "--json",
        )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["rows"], out["gap_count"], out["missing_bars"]) == (1120, 1, 80)
    assert (aq_home / "store" / "candles" / "BTCUSDT_1m" / "2023-03-24.parquet").is_file()
