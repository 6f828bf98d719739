"""`auraquant demo`: the main job on the embedded defaults, as a new user would type it.

Each step is a real `auraquant` command run in-process, so the demo shows exactly what the
commands do: import the data (or, with none at hand, a loudly labelled synthetic market), list
the store, print a memo, backtest a baseline strategy, replay the desk beside the baselines, and
hold a meeting on the demo desk (reset first, so the demo can run again).
"""

from __future__ import annotations

import typer
from rich.panel import Panel
from rich.rule import Rule

from auraquant.cli.common import console, fail
from auraquant.cli.weex import demo_steps as weex_demo_steps
from tools.paths import DataDirError, shared_data_dir

REAL_SYMBOL = "BTCUSDT"
REAL_AT = "2023-04-20T12:00:00Z"
REAL_BACKTEST = ("2023-04-01T00:00:00Z", "2023-04-30T00:00:00Z")
REAL_REPLAY = ("BTCUSDT,ETHUSDT", "2023-04-17T00:00:00Z", "2023-04-20T00:00:00Z")
SYNTH_SYMBOL = "SYNTH-BTCUSDT"
SYNTH_AT = "2024-01-06T14:00:00Z"  # the offline desk trades here: the demo shows an execution
SYNTH_BACKTEST = ("2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z")
SYNTH_REPLAY = ("SYNTH-BTCUSDT", "2024-01-03T00:00:00Z", "2024-01-06T00:00:00Z")
DEMO_DESK = "demo"


def _run(args: list[str]) -> None:
    """Run one `auraquant …` command in this process; stop the demo if it fails."""
    from typer.main import get_command

    from auraquant.cli import app

    console.print(Rule(f"[bold]$ auraquant {' '.join(args)}"))
    code = get_command(app).main(args=args, prog_name="auraquant", standalone_mode=False)
    if code not in (None, 0):
        fail(f"demo step failed (exit {code}): auraquant {' '.join(args)}", code=int(code))


def demo(
    synthetic: bool = typer.Option(
        False, "--synthetic", help="Use the seeded synthetic market even when real data exists."
    ),
) -> None:
    """Import the data, print a memo, run a backtest and hold a meeting (one command)."""
    try:
        data = None if synthetic else shared_data_dir()
    except DataDirError as exc:
        fail(f"{exc} (unset it to use ../shared/data or the synthetic market)")
    if data is not None:
        symbol, at, (start, end), replay = REAL_SYMBOL, REAL_AT, REAL_BACKTEST, REAL_REPLAY
        console.print(f"Real Binance candles and headlines found in [bold]{data}[/]")
        _run(["data", "import", str(data)])
    else:
        symbol, at, (start, end), replay = SYNTH_SYMBOL, SYNTH_AT, SYNTH_BACKTEST, SYNTH_REPLAY
        console.print(
            Panel(
                "No real data found (set AURAQUANT_DATA or put shared/data beside the project).\n"
                "Everything below runs on a SEEDED SYNTHETIC market, stored as SYNTH-* symbols.\n"
                "Its prices are invented: do not read anything into them.",
                title="SYNTHETIC DATA",
                style="bold yellow",
            )
        )
        _run(["data", "synth", "--seed", "7"])
    _run(["data", "ls"])
    _run(["memo", symbol, "--at", at])
    _run(
        [
            "backtest",
            "--strategy",
            "sma_cross_atr",
            "--symbol",
            symbol,
            "--timeframe",
            "15m",
            "--start",
            start,
            "--end",
            end,
        ]
    )
    syms, r_start, r_end = replay
    _run(["replay", "--symbols", syms, "--start", r_start, "--end", r_end, "--every", "4h"])
    from auraquant.desks import reset_desk

    reset_desk(DEMO_DESK)  # the demo's desk starts afresh each time: the demo is repeatable
    _run(["meet", symbol, "--at", at, "--desk", DEMO_DESK])
    weex_demo_steps(_run, symbol, at)  # the loopback WEEX: `weex check`, `weex test-trade`
    console.print(Rule("[bold green]demo done"))
    console.print("Outputs are under $AURAQUANT_HOME/runs/ (default .auraquant/runs/).")
