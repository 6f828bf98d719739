"""The in-process scheduler: the desk's steps on a clock aligned to bar closes.

On start it first finishes what a previous run left unfinished (a stop or a crash mid-step:
those meetings resume from their checkpoints), then deals with the bar closes it missed while
it was down — ``missed="late"`` holds them now with the reason recorded, ``"skip"`` records each
as skipped with the reason — then waits for each next close and runs its step. Every meeting is
claimed exactly once, so neither a restart nor an overlap holds one twice. ``stop`` (set by
Ctrl-C / SIGTERM) ends the loop after the meeting in progress.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from auraquant.schedule.clock import Clock, closes_between, next_close
from auraquant.schedule.keys import meeting_key
from auraquant.schedule.step import DeskRunner, StepReport
from tools.timeutil import iso

OnStep = Callable[[StepReport], None]


class DeskBusy(RuntimeError):
    """Another scheduler process already runs this desk on this home."""


@contextmanager
def desk_process_lock(home: Path, desk: str) -> Iterator[None]:
    """One in-process scheduler per desk and home: a second `auraquant run` is refused (two
    loops would race for the same account). Held with ``flock``, released when the process
    ends, however it ends."""
    path = home / "schedule" / f"{desk}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        who = fh.read().strip() or "another process"
        fh.close()
        raise DeskBusy(f"--desk: {desk!r} is already running here ({who})") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the step in progress finishes its meeting)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for s in old:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def catch_up(
    runner: DeskRunner,
    now: pd.Timestamp,
    on_step: OnStep | None = None,
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Finish unfinished meetings, then run late or skip the closes missed up to ``now``.
    Returns what was done, one entry per step time (nothing when no close was missed)."""
    cfg, claims = runner.config, runner.claims
    done: list[dict[str, Any]] = []
    unfinished = sorted(
        {c.at for c in claims.meetings(cfg.desk) if c.status in ("running", "vetted")}
    )

    def room() -> bool:
        return limit is None or sum(d["action"] != "skipped" for d in done) < limit

    for at in unfinished:
        if not room():
            return done
        rep = runner.step(at, reason="resumed after an interrupted run")
        done.append({"at": at, "action": "resumed", "held": rep.held})
        if on_step:
            on_step(rep)
    last = claims.last_at(cfg.desk)
    if last is None:
        return done
    missed = closes_between(last, now, cfg.every)
    if not missed:
        return done
    why = f"the scheduler was down from {iso(last)} to {iso(now)}"
    for t in missed:
        if cfg.missed == "late":
            if not room():
                return done
            rep = runner.step(t, reason=f"ran late at {iso(now)}: {why}")
            done.append({"at": iso(t), "action": "late", "held": rep.held})
            if on_step:
                on_step(rep)
        else:
            for s in cfg.symbols:
                claims.skip(meeting_key(cfg.desk, s, iso(t)), cfg.desk, s, iso(t),
                            f"skipped: {why}")  # fmt: skip
            done.append({"at": iso(t), "action": "skipped", "held": []})
    return done


def run_schedule(
    runner: DeskRunner,
    clock: Clock,
    stop: threading.Event,
    *,
    max_steps: int | None = None,
    on_step: OnStep | None = None,
    data_end: pd.Timestamp | None = None,
    wait_for_data: float = 0.0,
) -> dict[str, Any]:
    """Catch up, then one step per bar close until ``stop``, ``max_steps`` steps (late and
    resumed ones count), or a close past ``data_end`` (a replayed path ends)."""
    cfg = runner.config
    runner.claims.save_desk(cfg.desk, {**cfg.to_dict(), "clock": type(clock).__name__})
    caught: list[dict[str, Any]] = []
    steps = 0
    stopped = False
    ended = None

    def left() -> int | None:
        return None if max_steps is None else max_steps - steps

    while not stop.is_set() and (max_steps is None or steps < max_steps):
        # closes passed while down, or while a slow step ran: by the policy, never silently
        got = catch_up(runner, clock.now(), on_step, limit=left())
        caught += got
        steps += sum(g["action"] != "skipped" for g in got)
        if max_steps is not None and steps >= max_steps:
            break
        last = runner.claims.last_at(cfg.desk)
        t = next_close(clock.now(), cfg.every)
        if last is not None and t <= last:
            t = next_close(last + pd.Timedelta(1, "ns"), cfg.every)
        if data_end is not None and t > data_end:
            ended = iso(data_end)
            break
        runner.claims.save_desk(cfg.desk, {**cfg.to_dict(), "clock": type(clock).__name__,
                                           "next_at": iso(t)})  # fmt: skip
        if not clock.sleep_until(t, stop):
            break
        rep = runner.step(t, should_stop=stop.is_set, wait_for_data=wait_for_data)
        steps += 1
        if on_step:
            on_step(rep)
        if rep.stopped:
            stopped = True
            break
    return {"desk": cfg.desk, "steps": steps, "caught_up": caught,
            "stopped": stopped or stop.is_set(), "data_ended": ended}  # fmt: skip
