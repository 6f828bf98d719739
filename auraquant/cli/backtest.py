"""`auraquant backtest`: run a baseline strategy over stored 1m candles and write a report."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from auraquant.cli.common import (
    Timeframe,
    console,
    emit_json,
    err_console,
    fail,
    parse_symbol_option,
    parse_time_option,
)
from auraquant.cli.tables import Col, cli_table
from backtest.line_names import HOLD_BENCHMARK, line_label
from tools.timeutil import iso

_PARAM_OPTIONS = ("fast", "slow", "atr_period", "sl_atr", "tp_atr")


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"
    return str(v)


class StrategyName(StrEnum):
    """The baseline strategies (``backtest.strategies.STRATEGIES``) as a command-line choice."""

    BUY_AND_HOLD = "buy_and_hold"
    SMA_CROSS = "sma_cross"
    SMA_CROSS_ATR = "sma_cross_atr"


def backtest(
    strategy_name: Annotated[
        StrategyName, typer.Option("--strategy", help="the baseline strategy to trade")
    ] = StrategyName.SMA_CROSS_ATR,
    symbol: str = typer.Option("BTCUSDT", "--symbol", help="e.g. BTCUSDT"),
    timeframe_code: Annotated[
        Timeframe,
        typer.Option("--timeframe", help="strategy timeframe (orders always match on 1m bars)"),
    ] = Timeframe.M1,
    start: str = typer.Option(..., "--start", help="first bar open, ISO-8601 UTC"),
    end: str = typer.Option(..., "--end", help="window end (bars closed by then), ISO-8601 UTC"),
    fast: int | None = typer.Option(None, "--fast", help="fast SMA length (bars)"),
    slow: int | None = typer.Option(None, "--slow", help="slow SMA length (bars)"),
    atr_period: int | None = typer.Option(None, "--atr-period", help="ATR length (bars)"),
    sl_atr: float | None = typer.Option(None, "--sl-atr", help="stop-loss distance in ATRs"),
    tp_atr: float | None = typer.Option(None, "--tp-atr", help="take-profit distance in ATRs"),
    size: float = typer.Option(0.5, "--size", help="fraction of equity per position (0..1]"),
    taker_fee: float | None = typer.Option(None, "--taker-fee", help="taker fee rate, e.g. 0.0006"),
    maker_fee: float | None = typer.Option(None, "--maker-fee", help="maker fee rate, e.g. 0.0002"),
    slippage_bps: float | None = typer.Option(None, "--slippage-bps", help="taker slippage, bps"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
) -> None:
    """Backtest a baseline strategy on stored 1m candles; write report.json and three charts."""
    from backtest.engine import BacktestInputError, run_strategy
    from backtest.report import RunSpec, write_run
    from backtest.strategies import get_strategy

    strategy, timeframe = strategy_name.value, timeframe_code.value
    symbol = parse_symbol_option(symbol, "--symbol")
    t0 = parse_time_option(start, "--start")
    t1 = parse_time_option(end, "--end")
    if t1 <= t0:
        fail(f"--end: {iso(t1)} is not after --start {iso(t0)}")
    if not 0 < size <= 1:
        fail(f"--size: {size} is not in (0, 1]")
    given = {
        k: v for k, v in zip(_PARAM_OPTIONS, (fast, slow, atr_period, sl_atr, tp_atr), strict=True)
    }
    params = {k: v for k, v in given.items() if v is not None}
    try:
        strat = get_strategy(strategy, **params)
    except (ValueError, TypeError) as exc:
        opt = next(iter(params), "strategy")
        fail(f"--{opt.replace('_', '-')}: {exc}")

    from exchange.virtual import ExchangeConfig

    overrides = {
        k: v
        for k, v in (
            ("taker_fee", taker_fee),
            ("maker_fee", maker_fee),
            ("slippage_bps", slippage_bps),
        )
        if v is not None
    }
    try:
        xcfg = ExchangeConfig.model_validate(overrides)
    except ValueError as exc:
        fail(f"exchange config: {exc}")

    from tools.candles import load_candles

    try:
        bars = load_candles(symbol, "1m", t0, t1)
    except (ValueError, LookupError, OSError) as exc:
        fail(f"candles {symbol} 1m: {exc}")
    if bars.empty:
        fail(
            f"candles {symbol} 1m: none between {iso(t0)} and {iso(t1)} in the store "
            "(import them with `auraquant data import`)"
        )

    from tools.funding_store import load_funding

    funding = load_funding(symbol)  # the stored funding series, if any (else the constant)

    with Progress(
        TextColumn("[bold]backtest[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bars"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{strategy} {symbol}", total=len(bars))
        try:
            result = run_strategy(
                bars,
                strat,
                symbol=symbol,
                timeframe=timeframe,
                exchange_config=xcfg,
                size_fraction=size,
                progress=lambda done, total: progress.update(task, completed=done),
                funding=funding,
            )
        except BacktestInputError as exc:
            fail(str(exc))
        spec = RunSpec(
            mode="strategy",
            symbol=symbol,
            timeframe=timeframe,
            start=iso(t0),
            end=iso(t1),
            strategy=strategy,
            strategy_params=strat.params(),
            size_fraction=size,
            exchange=_config_dict(xcfg),
        )
        progress.update(task, description="writing report and charts")
        out, report = write_run(result, spec)

    head = report["headline"]
    bh = report["metrics"][HOLD_BENCHMARK]["return_pct"]
    if json_out:
        emit_json(
            {
                "run_id": report["run_id"],
                "run_dir": str(out),
                "symbol": symbol,
                "strategy": strategy,
                "timeframe": timeframe,
                "start": iso(t0),
                "end": iso(t1),
                "bars": report["execution"]["bars"],
                "headline": head,
                "hold_benchmark_return_pct": bh,
            }
        )
        return
    rows = [[k, _fmt(v)] for k, v in head.items()]
    rows.append([f"{line_label(HOLD_BENCHMARK, short=True)} return_pct", _fmt(bh)])
    title = f"{strategy} (strategy) on {symbol} ({timeframe}) {iso(t0)} → {iso(t1)}"
    console.print(cli_table((Col("metric"), Col("value", right=True)), rows, title=title))
    console.print(f"run_dir: {out}", highlight=False)


def _config_dict(cfg: Any) -> dict[str, Any]:
    """The exchange configuration as plain JSON (pydantic model or dataclass)."""
    if hasattr(cfg, "model_dump"):
        return dict(cfg.model_dump(mode="json"))
    from dataclasses import asdict, is_dataclass

    if is_dataclass(cfg) and not isinstance(cfg, type):
        return asdict(cfg)
    return dict(vars(cfg))
