"""`auraquant run`: the desk's trading cycle on a clock aligned to bar closes, in this process.

The virtual exchange is fed from the store. On the wall clock the store must be kept current
(`auraquant data follow`); ``--speed N`` instead replays the stored price path from ``--start``
at N times real time (``--speed 60``: an hour a minute). Ctrl-C or SIGTERM stops after the
meeting in progress; a restart finishes what was interrupted, deals with the closes it missed
(``--missed skip|late``) and manages the open positions instead of opening new ones.

``--exchange weex`` trades on WEEX instead (``auraquant.schedule.venue``): nothing is fed to it,
what it holds is reconciled before the first step, and with ``WEEX_AI_LOG_ENABLED`` the run's
AI-log records are uploaded as they are written.
"""

from __future__ import annotations

import threading
from typing import Annotated

import pandas as pd
import typer

from auraquant.cli.common import emit_json, err_console, fail, parse_time_option
from auraquant.cli.replay import _symbols, _timeframe
from auraquant.cli.weex import _mask
from auraquant.schedule.clock import Clock, SpeedClock, WallClock
from auraquant.schedule.loop import DeskBusy, desk_process_lock, run_schedule, stop_on_signals
from auraquant.schedule.step import ScheduleConfig, StepReport
from auraquant.schedule.venue import EXCHANGES
from auraquant.settings import get_settings
from exchange.weex.errors import WeexError
from graph.desk import DEFAULT_DESK, DeskError, check_desk_name

MISSED = ("skip", "late")
UPLOAD_DRAIN_S = 10.0
"""At the end of a run, how long the AI-log uploader may take to send what is queued."""
WALL_WAIT_S = 30.0
"""On the wall clock, how long a step waits for the bar closing at its time to be stored."""


def run(
    symbols: Annotated[
        str,
        typer.Option(
            "--symbols",
            help="Comma-separated (BTCUSDT,ETHUSDT), or auto: the most "
            "liquid competition pairs by CoinGecko 24h volume.",
        ),
    ],
    top: Annotated[int, typer.Option("--top", help="With --symbols auto: how many.")] = 2,
    every: Annotated[
        str, typer.Option("--every", help="Meeting cadence (a timeframe code).")
    ] = "15m",
    desk: Annotated[
        str, typer.Option("--desk", help="The desk (account, breaker, ledger).")
    ] = DEFAULT_DESK,
    exchange: Annotated[
        str,
        typer.Option("--exchange", help="virtual (fed from the store) or weex (WEEX_* settings)."),
    ] = "virtual",
    timeframe: Annotated[str, typer.Option("--timeframe", help="The memo's timeframe.")] = "1h",
    model: Annotated[
        str, typer.Option("--model", help="provider:model for every seat.")
    ] = "offline",
    speed: Annotated[
        float | None, typer.Option("--speed", help="Replay the stored path at N x real time.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="With --speed: where the replayed clock starts (default: where the desk's schedule stopped).",
        ),
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", help="Stop after this many steps.")
    ] = None,
    missed: Annotated[
        str, typer.Option("--missed", help="Closes missed while down: skip or late.")
    ] = "skip",
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
) -> None:
    """Run the desk on a clock aligned to bar closes (Ctrl-C stops after the meeting)."""
    from tools.timeutil import TIMEFRAMES

    try:
        check_desk_name(desk)
    except DeskError as exc:
        fail(f"--desk: {exc}")
    if exchange not in EXCHANGES:
        fail(f"--exchange: {exchange!r} is not one of {', '.join(EXCHANGES)}")
    if every not in TIMEFRAMES:
        fail(f"--every: {every!r} is not one of {', '.join(TIMEFRAMES)}")
    _timeframe(timeframe, "--timeframe")
    if missed not in MISSED:
        fail(f"--missed: {missed!r} is not one of skip, late")
    if speed is not None and speed <= 0:
        fail(f"--speed: {speed} must be > 0")
    if steps is not None and steps < 1:
        fail(f"--steps: {steps} must be >= 1")
    if start is not None and speed is None:
        fail("--start: only with --speed (the wall clock starts now)")
    cfg = ScheduleConfig(desk=desk, symbols=_pick(symbols, top), every=every, timeframe=timeframe,
                         model=model, missed=missed, exchange=exchange)  # fmt: skip
    from auraquant.schedule.runtime import build_runner

    runner = build_runner(cfg)
    clock: Clock
    data_end = None
    try:
        if speed is not None:
            t0 = parse_time_option(start, "--start") if start else runner.claims.last_at(desk)
            if t0 is None:
                fail("--start: give where the replayed clock starts (the desk has no schedule yet)")
            clock = SpeedClock(start=t0, speed=speed)
            data_end = _data_end(cfg.symbols, t0)
        else:
            clock = WallClock()
    except BaseException:  # a bad option: nothing ran, the runner is let go
        runner.close()
        raise

    def show(rep: StepReport) -> None:
        for h in rep.held:
            err_console.print(f"{rep.at} {h['symbol']}: {h['action']} → {h['verdict']} "
                              f"({h['status']})", highlight=False)  # fmt: skip
        for p in rep.passed:
            err_console.print(f"{rep.at} {p['symbol']}: no meeting ({p['reason'] or p['status']})",
                              highlight=False)  # fmt: skip

    stop = threading.Event()
    reports: list[dict[str, object]] = []

    def on_step(rep: StepReport) -> None:
        reports.append(rep.to_dict())
        if not json_out:
            show(rep)

    if not json_out:
        err_console.print(f"desk {desk}: {', '.join(cfg.symbols)} every {every} on the "
                          f"{'replayed' if speed else 'wall'} clock; Ctrl-C stops after the "
                          "meeting in progress", highlight=False)  # fmt: skip
    try:
        with desk_process_lock(runner.home, desk), stop_on_signals(stop):
            summary = run_schedule(runner, clock, stop, max_steps=steps, on_step=on_step,
                                   data_end=data_end,
                                   wait_for_data=0.0 if speed is not None else WALL_WAIT_S)  # fmt: skip
    except DeskBusy as exc:
        fail(str(exc))
    except WeexError as exc:  # the venue refused or could not be reached: one line, no secret
        fail(f"WEEX: {_mask(str(exc), get_settings().secret_values())}; the desk keeps its last "
             "saved state (check WEEX_BASE_URL and the WEEX_API_* keys)", code=3)  # fmt: skip
    except (ValueError, RuntimeError) as exc:  # a store or ledger that cannot serve the step
        fail(f"the step failed: {type(exc).__name__}: {exc}; the desk keeps its last saved state")
    finally:  # what the AI-log uploader has not sent stays on disk, sent by the next run
        runner.close(UPLOAD_DRAIN_S)
    if json_out:
        emit_json({**summary, "reports": reports})
    else:
        ended = summary.get("data_ended")
        err_console.print(f"stopped after {summary['steps']} steps"
                          + (f": the replayed price path ends at {ended}" if ended else ""),
                          highlight=False)  # fmt: skip


def _data_end(symbols: tuple[str, ...], at: pd.Timestamp) -> pd.Timestamp:
    """Where the replayed path ends: the earliest last close among the symbols' stored bars."""
    from memos.market import MarketData
    from tools.paths import store_dir

    md = MarketData.from_store(list(symbols), store=store_dir(), at=at, news=False)
    missing = [s for s in symbols if not md.has(s)]
    if missing:
        fail(f"--symbols: no stored bars of {', '.join(missing)} cover --start {at}")
    return min(md.coverage(s)[1] for s in symbols)


def _pick(raw: str, top: int) -> tuple[str, ...]:
    """``auto``: the ``top`` most liquid competition pairs (CoinGecko); else the list."""
    if raw.strip().lower() == "auto":
        from auraquant.cli.data_feed import resolve_symbols

        return tuple(resolve_symbols(raw, top))
    return _symbols(raw)
