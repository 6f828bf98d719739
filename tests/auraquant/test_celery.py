"""The desk on many machines: real Celery workers (separate processes) on the Redis and the
PostgreSQL of this machine, no mocks. Every test has its own Redis key prefix, exchange key and
PostgreSQL schema, removed at the end. On the real data.

- a replay fanned out over two workers is byte-identical to the in-process one;
- a desk tick sent twice (two workers) holds each (desk, symbol, time) meeting once;
- beat down for an interval: the missed closes are skipped or run late, each with its reason;
- SIGKILL after the CTO: the meeting resumes from its PostgreSQL checkpoint, one order;
- SIGKILL between placing the order and recording it: the retry finds it by client id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

pytestmark = [pytest.mark.data, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

REDIS = "redis://127.0.0.1:6379/0"
PG = "postgresql://postgres@127.0.0.1:5432/test"
AT = "2023-04-19T12:15:00Z"  # the offline desk SHORTs BTC here (an order to place)


@dataclass
class Cluster:
    home: Path
    env: dict[str, str]
    prefix: str
    schema: str
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def worker(
        self, *, module: str | None = None, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        n = len(self.procs)
        log = self.home / f"worker{n}.log"
        name = f"w{n}-{uuid.uuid4().hex[:6]}@%h"
        if module is None:  # the real command line
            cmd = [sys.executable, "-c", "from auraquant.cli import main; main()", "worker",
                   "--pool", "solo", "--name", name]  # fmt: skip
        else:
            cmd = [sys.executable, "-m", "celery", "-A", module, "worker", "--pool", "solo",
                   "-c", "1", "-n", name, "--loglevel", "INFO", "--without-gossip",
                   "--without-mingle", "--without-heartbeat"]  # fmt: skip
        f = log.open("w")
        p = subprocess.Popen(cmd, env={**self.env, **(extra_env or {})}, stdout=f, stderr=f,
                             text=True, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
        self.procs.append(p)
        self.logs.append(log)
        deadline = time.monotonic() + 30
        while "ready." not in log.read_text():
            assert p.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "worker not ready in 30 s"
            time.sleep(0.2)
        return p

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture()
def cluster(aq_home: Path, real_store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    import psycopg

    (aq_home / "store").symlink_to(real_store)
    tag = uuid.uuid4().hex[:10]
    schema, prefix = f"aq11_{tag}", f"aqtest11-{tag}:"
    with psycopg.connect(PG, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    env = {
        "AURAQUANT_HOME": str(aq_home),
        "REDIS_URL": REDIS,
        "DATABASE_URL": f"{PG}?options=-csearch_path%3D{schema}",
        "AURAQUANT_CELERY_PREFIX": prefix,
        "AURAQUANT_CELERY_VISIBILITY_TIMEOUT": "4",
        "AURAQUANT_EXCHANGE_REDIS_KEY": f"{prefix}exchange",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    cl = Cluster(aq_home, {**os.environ, **env}, prefix, schema)
    try:
        yield cl
    finally:
        cl.stop()
        r = redis.Redis.from_url(REDIS)
        keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            r.delete(*keys)
        r.close()
        with psycopg.connect(PG, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
        get_settings.cache_clear()


def _app() -> Any:
    from auraquant.schedule.celery_app import make_app

    return make_app()


def _config(**kw: Any) -> dict[str, Any]:
    from auraquant.schedule.step import ScheduleConfig

    base: dict[str, Any] = {"desk": "celery", "symbols": ("BTCUSDT",), "every": "15m"}
    return ScheduleConfig(**{**base, **kw}).to_dict()


def _decisions() -> list[Any]:
    from auraquant.desks import open_ledger

    led = open_ledger()
    try:
        return led.decisions(desk="celery")
    finally:
        led.close()


def _claims() -> list[Any]:
    from auraquant.schedule.runtime import open_claims

    c = open_claims()
    try:
        return c.meetings("celery")
    finally:
        c.close()


def _orders_with(cid: str) -> list[Any]:
    from auraquant.desks import desk_snapshot_store
    from exchange.virtual import VirtualExchange

    ex = VirtualExchange.from_state(desk_snapshot_store("celery").load() or {})
    return [o for o in ex.orders() if (o.request.client_order_id or "").startswith(cid)]


def _ailog(home: Path) -> list[dict[str, Any]]:
    path = home / "runs" / "schedule-celery" / "ailog.ndjson"
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_replay_fanned_out_over_two_workers_is_byte_identical(cluster: Cluster) -> None:
    cluster.worker()
    cluster.worker()
    args = ["replay", "--symbols", "BTCUSDT,ETHUSDT", "--start", "2023-04-10T00:00:00Z",
            "--end", "2023-04-10T12:00:00Z", "--every", "4h", "--json"]  # fmt: skip
    from typer.testing import CliRunner

    from auraquant.cli import app

    run = CliRunner()
    a = run.invoke(app, [*args, "--backend", "celery", "--run-id", "on-celery"])
    assert a.exit_code == 0, a.stderr
    b = run.invoke(app, [*args, "--workers", "1", "--run-id", "in-process"])
    assert b.exit_code == 0, b.stderr
    runs = cluster.home / "runs"
    assert (runs / "on-celery" / "report.json").read_bytes() == (
        runs / "in-process" / "report.json"
    ).read_bytes()
    meetings = json.loads(a.stdout)["meetings"]
    done = sum(log.read_text().count("auraquant.hold_meeting[") for log in cluster.logs)
    assert meetings == 4 * 2 * 2 and done >= meetings  # every meeting ran on a worker


def test_a_tick_sent_twice_holds_each_meeting_once(cluster: Cluster) -> None:
    cluster.worker()
    cluster.worker()
    app = _app()
    cfg = _config(symbols=("BTCUSDT", "ETHUSDT"))
    results = [app.send_task("auraquant.desk_tick", args=(cfg, AT)) for _ in range(3)]
    outs = [r.get(timeout=50) for r in results]
    held = [h for o in outs for h in o.get("held", [])]
    assert sorted(h["symbol"] for h in held) == ["BTCUSDT", "ETHUSDT"]  # once each
    rows = _decisions()
    assert Counter((r.symbol, r.at) for r in rows) == {("BTCUSDT", AT): 1, ("ETHUSDT", AT): 1}
    claims = _claims()
    assert {(c.symbol, c.status, c.attempts) for c in claims} == {
        ("BTCUSDT", "done", 1), ("ETHUSDT", "done", 1)}  # fmt: skip
    from auraquant.schedule.keys import client_order_id, meeting_key

    for h in held:
        if h["status"] in ("PLACED", "FILLED"):
            cid = client_order_id(meeting_key("celery", h["symbol"], AT))
            assert h["client_order_id"] == cid
            assert len([o for o in _orders_with(cid) if o.parent_id is None]) == 1


@pytest.mark.parametrize("policy", ["skip", "late"])
def test_beat_down_for_an_interval_skips_or_runs_late_with_a_reason(
    cluster: Cluster, policy: str
) -> None:
    cluster.worker()
    app = _app()
    cfg = _config(missed=policy)
    app.send_task("auraquant.desk_tick", args=(cfg, AT)).get(timeout=50)
    # beat down for 45 minutes: its next tick comes at 13:15
    out = app.send_task("auraquant.desk_tick", args=(cfg, "2023-04-19T13:15:00Z")).get(timeout=50)
    assert [c["action"] for c in out["caught_up"]] == [
        policy if policy == "late" else "skipped"
    ] * 3
    claims = {c.at: c for c in _claims()}
    missed = ["2023-04-19T12:30:00Z", "2023-04-19T12:45:00Z", "2023-04-19T13:00:00Z"]
    for at in missed:
        c = claims[at]
        assert c.status == ("skipped" if policy == "skip" else "done")
        assert c.reason and "the scheduler was down from 2023-04-19T12:15:00Z" in c.reason
    assert claims["2023-04-19T13:15:00Z"].status == "done"
    # and again: nothing runs twice
    again = app.send_task("auraquant.desk_tick", args=(cfg, "2023-04-19T13:15:00Z")).get(timeout=50)
    assert again["held"] == [] and again["caught_up"] == []
    ats = Counter(r.at for r in _decisions())
    assert set(ats.values()) == {1}
    assert set(ats) == ({AT, "2023-04-19T13:15:00Z"} | (set(missed) if policy == "late" else set()))


def _held(out: dict[str, Any]) -> list[dict[str, Any]]:
    """What a tick held: its step's meetings and those it resumed or ran late first."""
    return out["held"] + [h for c in out["caught_up"] for h in c["held"]]


def _crash_and_resume(cluster: Cluster, fault: str) -> tuple[dict[str, Any], float]:
    mark = cluster.home / f"crashed-{fault}"
    extra = {"AQ_TEST_CRASH": fault, "AQ_TEST_CRASH_MARK": str(mark)}
    p = cluster.worker(module="tests.auraquant.celery_crash_worker", extra_env=extra)
    app = _app()
    res = app.send_task("auraquant.desk_tick", args=(_config(), AT))
    p.wait(timeout=40)  # SIGKILLed by its fault
    assert p.returncode == -9 and mark.exists()
    killed_at = time.time()
    return {"result": res, "killed_at": killed_at, "extra": extra}, killed_at


def test_sigkill_after_the_cto_resumes_from_the_checkpoint_and_orders_once(
    cluster: Cluster,
) -> None:
    from auraquant.schedule.keys import client_order_id, meeting_key, thread_id

    st, killed_at = _crash_and_resume(cluster, "after_cto")
    key = meeting_key("celery", "BTCUSDT", AT)
    cid = client_order_id(key)
    # killed mid-meeting: claimed, checkpointed through the CTO, no order, no decision
    [claim] = _claims()
    assert claim.status == "running"
    assert _orders_with(cid) == [] and _decisions() == []
    from auraquant.schedule.meeting import open_checkpointer

    saver = open_checkpointer(cluster.home, os.environ["DATABASE_URL"])
    snap = saver.get_tuple({"configurable": {"thread_id": thread_id(key)}})
    assert snap is not None
    values = snap.checkpoint["channel_values"]
    assert values.get("draft") and not values.get("decision")  # the CTO's draft, not validated
    time.sleep(4.5)  # the broker's visibility timeout: the message becomes deliverable again
    cluster.worker(module="tests.auraquant.celery_crash_worker", extra_env=st["extra"])
    out = st["result"].get(timeout=40)
    [held] = _held(out)
    assert held["status"] in ("PLACED", "FILLED") and held["client_order_id"] == cid
    assert len([o for o in _orders_with(cid) if o.parent_id is None]) == 1
    [row] = _decisions()
    assert row.record["execution"]["entry_order_id"] == _orders_with(cid)[0].id
    [claim] = _claims()
    assert (claim.status, claim.attempts) == ("done", 2)
    # the AI log: every node of the meeting once (no gap, no duplicate), and the nodes before
    # the CTO were not run again: their records are from before the kill
    recs = [r for r in _ailog(cluster.home) if r["at"] == AT and r["symbol"] == "BTCUSDT"]
    nodes = [r["node"] for r in recs]
    for n in ("open", "market_analyst", "technical_analyst", "risk_manager", "cto", "validate",
              "gate"):  # fmt: skip
        assert nodes.count(n) == 1, nodes
    import pandas as pd

    before = pd.Timestamp(next(r for r in recs if r["node"] == "cto")["timestamp"]).timestamp()
    after = pd.Timestamp(next(r for r in recs if r["node"] == "validate")["timestamp"]).timestamp()
    assert before < killed_at < after


def test_sigkill_between_placing_and_recording_finds_the_order_by_client_id(
    cluster: Cluster,
) -> None:
    from auraquant.schedule.keys import client_order_id, meeting_key

    st, _ = _crash_and_resume(cluster, "after_place")
    cid = client_order_id(meeting_key("celery", "BTCUSDT", AT))
    placed = [o for o in _orders_with(cid) if o.parent_id is None]
    assert len(placed) == 1  # on the exchange
    assert _decisions() == []  # not in the ledger
    [claim] = _claims()
    assert claim.status == "vetted"
    time.sleep(4.5)
    cluster.worker(module="tests.auraquant.celery_crash_worker", extra_env=st["extra"])
    out = st["result"].get(timeout=40)
    [held] = _held(out)
    assert held["client_order_id"] == cid
    assert [o.id for o in _orders_with(cid) if o.parent_id is None] == [placed[0].id]
    [row] = _decisions()
    ex = row.record["execution"]
    assert ex["entry_order_id"] == placed[0].id and "found on the exchange" in ex["note"]
    gates = [r for r in _ailog(cluster.home) if r["node"] == "gate" and r["at"] == AT]
    assert len(gates) == 1


def test_beat_and_a_worker_hold_the_meeting_at_the_next_wall_clock_close(
    cluster: Cluster,
) -> None:
    """`auraquant beat` (its own process) sends the tick at the next minute's close; the worker
    waits for that bar (kept current by `data follow` from a loopback venue) and holds the
    meeting; the beat's own schedule is the 1-minute crontab."""
    import threading

    import pandas as pd

    from feeds.candles import follow
    from tests.feeds.venue import serve_venue

    store = cluster.home / "store"
    store.unlink()  # this desk trades the loopback venue's live bars, not the history
    store.mkdir()
    with serve_venue() as (venue, url):
        venue.now = pd.Timestamp.now(tz="UTC") + pd.Timedelta("2h")  # always ahead of the wall
        stop = threading.Event()
        feeder = threading.Thread(
            target=follow, args=(["BTCUSDT"], "1m"),
            kwargs={"stop": stop, "store": store, "backfill": "1d", "delay": 0.3, "base_url": url},
            daemon=True,
        )  # fmt: skip
        feeder.start()
        try:
            cluster.worker()
            log = cluster.home / "beat.log"
            with log.open("w") as f:
                beat = subprocess.Popen(
                    [sys.executable, "-c", "from auraquant.cli import main; main()", "beat",
                     "--symbols", "BTCUSDT", "--every", "1m", "--desk", "celery",
                     "--timeframe", "15m", "--loglevel", "INFO"],
                    env=cluster.env, stdout=f, stderr=f, text=True,
                )  # fmt: skip
            cluster.procs.append(beat)
            deadline = time.monotonic() + 100
            claims: list[Any] = []
            while time.monotonic() < deadline:
                claims = [c for c in _claims() if c.status in ("done", "skipped")]
                if claims:
                    break
                assert beat.poll() is None, log.read_text()[-2000:]
                time.sleep(1)
        finally:
            stop.set()
            feeder.join(timeout=10)
    assert claims, "no tick arrived: " + log.read_text()[-2000:]
    c = claims[0]
    t = pd.Timestamp(c.at)
    assert t.second == 0 and t.microsecond == 0  # a minute close
    assert c.status == "done", c.reason
    assert "Sending due task desk-celery (auraquant.desk_tick)" in log.read_text()
    [row] = [r for r in _decisions() if r.at == c.at]
    assert row.verdict in ("APPROVED", "CLAMPED", "DENIED")
