"""The staged AI-log collector of a scheduled meeting: parallel seats write at once (the two
analysts share a superstep), and each record must be staged exactly once — a resumed meeting
reads the stage back, so a record staged twice becomes a duplicate in the run's AI log."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

from auraquant.schedule.meeting import StagedCollector


@pytest.fixture()
def fast_switching() -> object:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let threads interleave between any two bytecodes
    yield None
    sys.setswitchinterval(old)


def _write(c: StagedCollector, who: str, n: int) -> None:
    for i in range(n):
        c.write(run_id="r", node=who, stage="SCAN", model="offline", input={"i": i},
                output={}, explanation="x")  # fmt: skip


def test_parallel_writers_stage_every_record_once(tmp_path: Path, fast_switching: object) -> None:
    stage = tmp_path / "stage.ndjson"
    c = StagedCollector(stage, [])
    threads = [threading.Thread(target=_write, args=(c, f"seat{k}", 300)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    staged = [json.loads(x) for x in stage.read_text().splitlines()]
    keys = [(r["node"], r["input"]["i"]) for r in staged]
    assert len(keys) == len(set(keys)) == 6 * 300
    assert sorted(keys) == sorted((r["node"], r["input"]["i"]) for r in c.records)


def test_a_resumed_collector_starts_from_the_stage_and_adds_only_new_records(
    tmp_path: Path,
) -> None:
    stage = tmp_path / "stage.ndjson"
    _write(StagedCollector(stage, []), "market_analyst", 2)
    again = StagedCollector(stage, [])
    _write(again, "cto", 1)
    nodes = [json.loads(x)["node"] for x in stage.read_text().splitlines()]
    assert nodes == ["market_analyst", "market_analyst", "cto"]
    assert [r["node"] for r in again.records] == nodes
