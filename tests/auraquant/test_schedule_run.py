"""`auraquant run` / `auraquant status`: the desk's cycle on a clock aligned to bar closes, on a
replayed price path (``--speed``), exactly once per (desk, symbol, time), surviving a stop and a
restart. On the real data."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from auraquant.cli import app

pytestmark = pytest.mark.data
runner = CliRunner()
START = "2023-04-19T12:00:00Z"
SYMS = "BTCUSDT,ETHUSDT"


@pytest.fixture()
def home(aq_home: Path, real_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (aq_home / "store").symlink_to(real_store)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return aq_home


def cli(*args: str) -> dict:  # type: ignore[type-arg]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def run(*extra: str) -> dict:  # type: ignore[type-arg]
    return cli("run", "--symbols", SYMS, "--every", "15m", "--desk", "sched", "--speed", "600",
               "--missed", "late", *extra)  # fmt: skip


def ledger_keys(home: Path) -> Counter[tuple[str, str]]:
    from decisions.ledger import Ledger

    led = Ledger(f"sqlite:///{home / 'ledger.sqlite'}")
    try:
        return Counter((r.symbol, r.at) for r in led.decisions(desk="sched"))
    finally:
        led.close()


def test_steps_are_bar_closes_each_meeting_once_and_status_shows_the_desk(home: Path) -> None:
    out = run("--start", START, "--steps", "3")
    ats = [r["at"] for r in out["reports"]]
    assert ats == sorted(set(ats)) and len(ats) >= 3
    for at in ats:  # aligned to 15-minute closes, after the start
        t = pd.Timestamp(at)
        assert t.value % pd.Timedelta("15min").value == 0 and t > pd.Timestamp(START)
    # consecutive closes: a slow step is made up late (--missed late), none is dropped
    gaps = {pd.Timestamp(b) - pd.Timestamp(a) for a, b in itertools.pairwise(ats)}
    assert gaps == {pd.Timedelta("15min")}
    keys = ledger_keys(home)
    assert set(keys.values()) == {1} and len(keys) == 2 * len(ats)
    held = [h for r in out["reports"] for h in r["held"]]
    assert {h["client_order_id"] for h in held} == {h["client_order_id"] for h in held}
    assert len({h["client_order_id"] for h in held}) == len(held)
    st = cli("status", "--desk", "sched")
    assert {d["at"] for d in st["decisions"]} == set(ats)
    assert all(d["verdict"] in ("APPROVED", "CLAMPED", "DENIED") for d in st["decisions"])
    nxt = pd.Timestamp(ats[-1]) + pd.Timedelta("15min")
    assert st["next_meeting"] == {"BTCUSDT": nxt.isoformat().replace("+00:00", "Z"),
                                  "ETHUSDT": nxt.isoformat().replace("+00:00", "Z")}  # fmt: skip
    assert st["schedule"]["symbols"] == ["BTCUSDT", "ETHUSDT"]
    positions = {p["symbol"] for p in st["positions"]}
    orders = {o["symbol"] for o in st["open_orders"]}
    assert positions | orders  # the offline desk trades this window (it SHORTs at 12:15)
    assert isinstance(st["equity"], float) and "consecutive_losses" in st["breaker"]


def test_a_restart_manages_what_is_open_and_never_holds_a_meeting_twice(home: Path) -> None:
    first = run("--start", START, "--steps", "2")
    st = cli("status", "--desk", "sched")
    holding = {p["symbol"] for p in st["positions"]}
    assert holding, "the first run opens a position for the restart to manage"
    # restart from where the schedule stopped (no --start): the next closes, each once
    second = run("--steps", "2")
    first_ats = {r["at"] for r in first["reports"]}
    second_ats = {r["at"] for r in second["reports"]}
    assert not first_ats & second_ats and min(second_ats) > max(first_ats)
    assert set(ledger_keys(home).values()) == {1}
    # the restarted desk manages the open position: no second entry on that symbol
    from decisions.ledger import Ledger

    led = Ledger(f"sqlite:///{home / 'ledger.sqlite'}")
    try:
        after = [r for r in led.decisions(desk="sched") if r.at == min(second_ats)]
    finally:
        led.close()
    for r in after:
        if r.symbol in holding:
            assert r.kind == "manage" and r.verdict == "DENIED"
            assert any(x["rule"] == "R00_position_open" for x in r.record["gate"]["reasons"])


def test_a_stop_after_a_meeting_resumes_the_rest_of_the_step_on_restart(home: Path) -> None:
    from auraquant.schedule import hooks
    from auraquant.schedule.clock import SpeedClock
    from auraquant.schedule.loop import run_schedule
    from auraquant.schedule.runtime import build_runner
    from auraquant.schedule.step import ScheduleConfig

    cfg = ScheduleConfig(desk="sched", symbols=("BTCUSDT", "ETHUSDT"), every="15m", missed="late")
    stop = threading.Event()
    hooks.BEFORE_RECORD.append(lambda rec: stop.set())  # Ctrl-C during the first meeting
    r = build_runner(cfg)
    try:
        out = run_schedule(r, SpeedClock(pd.Timestamp(START), 600), stop)
    finally:
        hooks.BEFORE_RECORD.clear()
        r.claims.close()
    assert out["stopped"] and out["steps"] == 1
    claims = build_runner(cfg).claims
    states = {m.symbol: m.status for m in claims.meetings("sched")}
    assert states == {"BTCUSDT": "done", "ETHUSDT": "running"}  # stopped after the meeting
    claims.close()
    again = run("--steps", "2")  # the resumed step counts as one
    assert again["caught_up"][0]["action"] == "resumed"
    keys = ledger_keys(home)
    assert set(keys.values()) == {1} and len(keys) == 4  # 2 symbols x (the stopped step + 1)
    # the AI log has each meeting's records once: one chair turn per meeting
    log = home / "runs" / "schedule-sched" / "ailog.ndjson"
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    gates = Counter((x["symbol"], x["at"]) for x in recs if x["node"] == "gate")
    assert set(gates.values()) == {1} and len(gates) == 4


@pytest.mark.parametrize("policy", ["skip", "late"])
def test_closes_missed_while_down_are_skipped_or_run_late_with_a_reason(
    home: Path, policy: str
) -> None:
    cli("run", "--symbols", SYMS, "--every", "15m", "--desk", "sched", "--speed", "600",
        "--start", START, "--steps", "1", "--missed", policy)  # fmt: skip
    # down for an hour: the clock restarts an hour after the last step
    later = "2023-04-19T13:20:00Z"
    # skip: then the next close (13:30); late: the four missed closes are the four steps
    pace = (
        ("--speed", "600", "--steps", "1")
        if policy == "skip"
        else ("--speed", "60", "--steps", "4")
    )
    out = cli("run", "--symbols", SYMS, "--every", "15m", "--desk", "sched",
              "--start", later, "--missed", policy, *pace)  # fmt: skip
    st = cli("status", "--desk", "sched", "--last", "50")
    missed = [m for m in st["meetings"] if "12:30" <= m["at"][11:16] <= "13:15"]
    assert len(missed) == 8  # 4 closes x 2 symbols
    for m in missed:
        assert "the scheduler was down from 2023-04-19T12:15:00Z" in (m["reason"] or "")
        assert m["status"] == ("skipped" if policy == "skip" else "done")
    assert [c["action"] for c in out["caught_up"]] == [
        "skipped" if policy == "skip" else "late"
    ] * 4
    keys = ledger_keys(home)
    assert set(keys.values()) == {1}
    held_missed = {at for (_, at) in keys if "12:30" <= at[11:16] <= "13:15"}
    assert bool(held_missed) == (policy == "late")


def test_sigterm_stops_the_loop_cleanly_and_a_second_loop_is_refused(home: Path) -> None:
    env = {**os.environ, "AURAQUANT_HOME": str(home)}
    p = subprocess.Popen(
        [sys.executable, "-c", "from auraquant.cli import main; main()", "run", "--symbols", "BTCUSDT", "--every",
         "15m", "--desk", "sig", "--speed", "0.001", "--start", START],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = home / "schedule" / "sig.lock"
    deadline = time.monotonic() + 60  # imports take a while on a loaded machine
    while not (lock.exists() and lock.read_text() == f"pid {p.pid}"):
        assert p.poll() is None, p.communicate()[1]
        assert time.monotonic() < deadline, "the loop never took its desk lock"
        time.sleep(0.05)
    assert p.poll() is None  # holding the desk, waiting for its first close (hours away)
    # a second loop on the same desk would race for the account: refused, in one line
    second = runner.invoke(app, ["run", "--symbols", "BTCUSDT", "--desk", "sig", "--speed", "1",
                                 "--start", START, "--steps", "1"])  # fmt: skip
    assert second.exit_code == 2
    assert f"'sig' is already running here (pid {p.pid})" in second.stderr
    p.send_signal(signal.SIGTERM)  # at --speed 0.001 the next close is 250 hours away
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "stopped after 0 steps" in err


def test_a_position_the_desk_lost_track_of_is_managed_not_doubled(home: Path) -> None:
    first = cli("meet", "SOLUSDT", "--at", START, "--desk", "sched")
    assert first["execution"]["status"] == "FILLED"  # a SHORT is open on the desk's exchange
    from decisions.ledger import Ledger

    led = Ledger(f"sqlite:///{home / 'ledger.sqlite'}")
    led.forget_desk_state("sched")  # the desk's cycles are lost; the exchange still has it
    led.close()
    out = cli("run", "--symbols", "SOLUSDT", "--desk", "sched", "--speed", "600", "--start",
              START, "--steps", "1")  # fmt: skip
    [held] = out["reports"][0]["held"]
    assert held["verdict"] == "DENIED" and held["action"] in ("LONG", "SHORT", "FLAT")
    led = Ledger(f"sqlite:///{home / 'ledger.sqlite'}")
    try:
        [row] = [r for r in led.decisions(desk="sched") if r.run_id == "schedule-sched"]
    finally:
        led.close()
    assert row.kind == "manage"
    assert any(x["rule"] == "R00_position_open" for x in row.record["gate"]["reasons"])
    log = home / "runs" / "schedule-sched" / "ailog.ndjson"
    texts = [json.loads(x)["explanation"] for x in log.read_text().splitlines()]
    assert any(
        "restart: managing the" in t and "position found on the exchange" in t for t in texts
    )
    st = cli("status", "--desk", "sched")
    assert [p["symbol"] for p in st["positions"]] == ["SOLUSDT"]


def test_ctrl_c_during_steps_stops_cleanly_and_a_restart_finishes_without_doubles(
    home: Path,
) -> None:
    """A real process, SIGINT whenever its first meetings are under way: it exits 0 within
    seconds; every meeting is done or resumable; the restart completes them, none twice."""
    import sqlite3

    env = {**os.environ, "AURAQUANT_HOME": str(home)}
    p = subprocess.Popen(
        [sys.executable, "-c", "from auraquant.cli import main; main()", "run", "--symbols",
         SYMS, "--every", "15m", "--desk", "sched", "--speed", "600", "--start", START,
         "--missed", "late"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    db = home / "schedule.sqlite"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(db) as c:
                    if c.execute("SELECT COUNT(*) FROM schedule_meetings").fetchone()[0]:
                        break
            except sqlite3.OperationalError:  # the file exists, its tables not yet
                pass
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "stopped after" in err
    with sqlite3.connect(db) as c:
        states = dict(c.execute("SELECT status, COUNT(*) FROM schedule_meetings GROUP BY status"))
    assert set(states) <= {"done", "running"}
    run("--steps", "1")
    with sqlite3.connect(db) as c:
        left = c.execute("SELECT COUNT(*) FROM schedule_meetings WHERE status != 'done'").fetchone()
    assert left[0] == 0
    keys = ledger_keys(home)
    assert keys and set(keys.values()) == {1}
