"""A consumer SIGKILLed mid-batch loses nothing: the next consumer claims its pending entries
(XAUTOCLAIM) and every item is labelled, stored and alerted exactly once. Real processes
(`auraquant news label` / `news alert`) on the real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from feeds.bus import RedisBus, Topology
from feeds.labeler import OfflineLabeler
from feeds.models import Alert, LabelledItem, RawItem, from_fields, to_fields
from feeds.services import Collector
from feeds.sources import FileReplayer
from tests.feeds.conftest import REDIS_URL, many_rows, write_news
from tools.news_labels import stored_ids

pytestmark = [pytest.mark.redis, pytest.mark.slow]
AURAQUANT = str(Path(sys.executable).parent / "auraquant")
N = 3000


def _spawn(args: list[str], home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REDIS_URL": REDIS_URL, "AURAQUANT_HOME": str(home)}
    return subprocess.Popen(
        [AURAQUANT, "news", *args],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait(
    cond: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"{what}: process exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}"
            )  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode()


def _consumers_pending(bus: RedisBus, stream: str, group: str) -> dict[str, int]:
    return {c["name"]: int(c["pending"]) for c in bus.r.xinfo_consumers(stream, group)}


def test_a_labeler_killed_mid_batch_loses_and_repeats_nothing(
    redis_bus: RedisBus, redis_prefix: str, tmp_path: Path
) -> None:
    bus, topo = redis_bus, Topology(redis_prefix)
    bus.ensure_groups(topo)
    home = tmp_path / "home"
    home.mkdir()
    src = FileReplayer([write_news(tmp_path / "n.csv", many_rows(N))])
    Collector(bus, topo, [src]).run(threading.Event())
    assert bus.length(topo.raw) == N

    first = _spawn(
        [
            "label",
            "--prefix",
            redis_prefix,
            "--consumer",
            "first",
            "--batch",
            "500",
            "--claim-idle-ms",
            "1000",
        ],
        home,
    )

    def mid_batch() -> bool:
        st = bus.stats(topo.stats)
        return st.get("labelled", 0) >= 50 and bus.pending(topo.raw, "label") >= 50

    _wait(mid_batch, 60, "the first labeler to be mid-batch", first)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    labelled_at_kill = bus.stats(topo.stats)["labelled"]
    left_pending = _consumers_pending(bus, topo.raw, "label")["first-label"]
    assert 0 < labelled_at_kill < N and left_pending > 0  # killed with a batch half done

    second = _spawn(
        ["label", "--prefix", redis_prefix, "--consumer", "second", "--claim-idle-ms", "300"], home
    )
    _wait(
        lambda: bus.backlog(topo.raw, "label") == 0 and bus.backlog(topo.labelled, "store") == 0,
        90,
        "the second labeler to finish",
        second,
    )
    _stop(second)

    assert _consumers_pending(bus, topo.raw, "label") == {"first-label": 0, "second-label": 0}
    raw_ids = [from_fields(RawItem, f).id for _, f in bus.entries(topo.raw)]
    labelled = [from_fields(LabelledItem, f).id for _, f in bus.entries(topo.labelled)]
    assert bus.stats(topo.stats)["labelled"] == N
    assert len(labelled) == N and sorted(labelled) == sorted(raw_ids)  # each exactly once
    stored = stored_ids("feeds", home / "store")
    assert len(stored) == N and set(stored) == set(raw_ids)


def test_an_alert_service_killed_mid_batch_alerts_each_item_exactly_once(
    redis_bus: RedisBus, redis_prefix: str, tmp_path: Path
) -> None:
    bus, topo = redis_bus, Topology(redis_prefix)
    bus.ensure_groups(topo)
    home = tmp_path / "home"
    home.mkdir()
    labeler = OfflineLabeler()
    src = FileReplayer([write_news(tmp_path / "n.csv", many_rows(N))])
    items = [labeler.label(c) for c in src.items(threading.Event()) if isinstance(c, RawItem)]
    pipe = bus.r.pipeline()
    for it in items:
        pipe.xadd(topo.labelled, to_fields(it))
    pipe.execute()
    expected = {it.id for it in items if it.importance >= 0.7}
    assert len(expected) == N // 5

    first = _spawn(
        [
            "alert",
            "--prefix",
            redis_prefix,
            "--consumer",
            "first",
            "--notify",
            "none",
            "--batch",
            "500",
            "--claim-idle-ms",
            "1000",
        ],
        home,
    )
    _wait(
        lambda: (
            bus.stats(topo.stats).get("alerts", 0) >= 20
            and bus.pending(topo.labelled, "alert") >= 50
        ),
        60,
        "the first alerter mid-batch",
        first,
    )
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    at_kill = bus.stats(topo.stats)["alerts"]
    assert 0 < at_kill < len(expected)
    assert _consumers_pending(bus, topo.labelled, "alert")["first-alert"] > 0

    second = _spawn(
        [
            "alert",
            "--prefix",
            redis_prefix,
            "--consumer",
            "second",
            "--notify",
            "none",
            "--claim-idle-ms",
            "300",
        ],
        home,
    )
    _wait(
        lambda: (
            bus.backlog(topo.labelled, "alert") == 0 and bus.backlog(topo.alerts, "notify") == 0
        ),
        90,
        "the second alerter to finish",
        second,
    )
    _stop(second)

    alerted = [from_fields(Alert, f).item_id for _, f in bus.entries(topo.alerts)]
    assert len(alerted) == len(set(alerted)) == len(expected)
    assert set(alerted) == expected
    st = bus.stats(topo.stats)
    assert st["alerts"] == len(expected) and st["notified"] == len(expected)
    assert st["below_threshold"] == N - len(expected)
