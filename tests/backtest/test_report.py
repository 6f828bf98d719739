"""Reports: byte-identical on rerun, three charts, real BTC data, and the CLI around them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from backtest.engine import run_strategy
from backtest.report import CHART_FILES, RunSpec, write_run
from backtest.strategies import get_strategy
from tests.backtest.helpers import cfg
from tests.backtest.test_strategies import random_walk

PNG = b"\x89PNG\r\n\x1a\n"


def _spec(**kw: object) -> RunSpec:
    base = {
        "mode": "strategy",
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-01-02T00:00:00Z",
        "strategy": "sma_cross_atr",
        "strategy_params": get_strategy("sma_cross_atr").params(),
        "size_fraction": 0.5,
    }
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def test_same_run_twice_gives_identical_report_bytes(aq_home: Path) -> None:
    bars = random_walk(1440, seed=11) * 300
    paths, blobs = [], []
    for _ in range(2):
        res = run_strategy(
            bars, get_strategy("sma_cross_atr"), symbol="BTCUSDT", exchange_config=cfg()
        )
        out, _ = write_run(res, _spec(), with_charts=False)
        paths.append(out)
        blobs.append((out / "report.json").read_bytes())
    first = blobs[0]
    assert paths[0] == paths[1] and paths[0].parent == aq_home / "runs"
    assert blobs[1] == first
    report = json.loads(first)
    assert report["run_id"] == paths[0].name
    assert len(report["data"]["sha256"]) == 64 and report["git_commit"]
    assert report["trades"] and report["config"]["strategy"] == "sma_cross_atr"
    # a different configuration is a different run
    out2, _ = write_run(res, _spec(size_fraction=0.25), with_charts=False)
    assert out2 != paths[0]


@pytest.mark.data
def test_three_days_of_real_btc_write_a_report_and_three_charts(
    real_store: Path, aq_home: Path
) -> None:
    from tools.candles import load_candles

    bars = load_candles(
        "BTCUSDT", "1m", "2023-04-10T00:00:00Z", "2023-04-13T00:00:00Z", store=real_store
    )
    assert len(bars) == 3 * 1440
    res = run_strategy(bars, get_strategy("sma_cross_atr"), symbol="BTCUSDT")
    out, report = write_run(res, _spec(start="2023-04-10T00:00:00Z", end="2023-04-13T00:00:00Z"))
    assert (out / "report.json").is_file() and (out / "equity.csv").is_file()
    for name in CHART_FILES:
        blob = (out / name).read_bytes()
        assert blob.startswith(PNG) and len(blob) > 20_000, name
    m = report["metrics"]
    assert m["trades"] == len(report["trades"]) > 10
    # the trade list reconciles with the equity curve: Σ net PnL + funding = final - initial
    from exchange.virtual import VirtualExchange  # noqa: F401  (documents the source of funding)

    funding = m["final_equity"] - m["initial_equity"] - sum(t["net_pnl"] for t in report["trades"])
    assert abs(funding) < 5.0  # funding at 0.01 % per 8 h on a ~5,000 USDT position, a few USDT
    assert m["funding"] == pytest.approx(funding, abs=1e-9)
    assert m["hold_benchmark"]["return_pct"] == pytest.approx(
        100 * (bars["close"].iloc[-1] / bars["open"].iloc[0] - 1)
    )
    assert report["data"]["rows"] == 4320 and report["data"]["missing_minutes"] == 0


@pytest.fixture()
def store_home(real_store: Path, aq_home: Path) -> Path:
    """An empty home whose store is the session's imported real data (read-only link)."""
    (aq_home / "store").symlink_to(real_store, target_is_directory=True)
    return aq_home


@pytest.mark.data
def test_cli_json_prints_one_object_with_run_dir(store_home: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--symbol",
            "ETHUSDT",
            "--timeframe",
            "5m",
            "--start",
            "2023-04-20T00:00:00Z",
            "--end",
            "2023-04-21T00:00:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert Path(obj["run_dir"]).parent == store_home / "runs"
    assert (Path(obj["run_dir"]) / "report.json").is_file()
    assert obj["bars"] == 1440 and obj["headline"]["trades"] >= 1


def test_the_strategy_choices_are_the_strategies() -> None:
    from auraquant.cli.backtest import StrategyName
    from backtest.strategies import STRATEGIES

    assert [s.value for s in StrategyName] == list(STRATEGIES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "rsi"], "Invalid value for '--strategy': Value error, 'rsi' is not one of"),
        (["--symbol", "PEPEUSDT"], "--symbol: 'PEPEUSDT' is not one of"),
        (
            ["--end", "2023-04-01T00:00:00Z"],
            "--end: 2023-04-01T00:00:00Z is not after --start 2023-04-02T00:00:00Z",
        ),
        (["--start", "yesterday"], "--start: time 'yesterday' is not ISO-8601"),
        (
            ["--fast", "50", "--slow", "10"],
            "--fast: fast (50) must be positive and below slow (10)",
        ),
        (
            ["--strategy", "buy_and_hold", "--sl-atr", "2"],
            "--sl-atr: strategy 'buy_and_hold' has no parameter sl_atr",
        ),
    ],
)
def test_cli_bad_input_is_named_and_writes_nothing(
    aq_home: Path, args: list[str], message: str
) -> None:
    base = {"--start": "2023-04-02T00:00:00Z", "--end": "2023-04-03T00:00:00Z"}
    for k in list(base):
        if k in args:
            base.pop(k)
    argv = ["backtest", *[x for kv in base.items() for x in kv], *args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not (aq_home / "runs").exists()


def test_cli_missing_candles_name_the_store(aq_home: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--start",
            "2023-04-02T00:00:00Z",
            "--end",
            "2023-04-03T00:00:00Z",
        ],
    )
    assert result.exit_code == 2
    assert "candles BTCUSDT 1m: no candles stored for BTCUSDT" in " ".join(result.stderr.split())
    assert not (aq_home / "runs").exists()


def test_report_has_no_wall_clock_time(aq_home: Path) -> None:
    bars = random_walk(300, seed=2) * 300
    res = run_strategy(bars, get_strategy("buy_and_hold"), symbol="BTCUSDT", exchange_config=cfg())
    _, report = write_run(
        res, _spec(strategy="buy_and_hold", strategy_params={}), with_charts=False
    )
    text = json.dumps(report)
    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    assert today not in text
    assert report["metrics"]["exit_reasons"] == {"end_of_data": 1}
