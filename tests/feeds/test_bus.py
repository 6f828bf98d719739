"""The bus, on the real Redis and in memory: one atomic commit, stale-entry takeover, a cap
that never drops unprocessed entries."""

from __future__ import annotations

import time

import pytest

from feeds.bus import Bus, MemoryBus, Topology, safe_trim_id

pytestmark = pytest.mark.redis


@pytest.fixture(params=["redis", "memory"])
def bus_topo(request: pytest.FixtureRequest) -> tuple[Bus, Topology]:
    if request.param == "memory":
        bus: Bus = MemoryBus()
        topo = Topology("mem")
    else:
        bus = request.getfixturevalue("redis_bus")
        topo = Topology(request.getfixturevalue("redis_prefix"))
    bus.ensure_groups(topo)
    return bus, topo


def test_commit_with_a_once_key_adds_and_counts_once_but_always_acks(bus_topo) -> None:
    bus, topo = bus_topo
    bus.add(topo.raw, {"json": "a"})
    [(eid, _)] = bus.read(topo.raw, "label", "c1", 10, 100)
    assert bus.pending(topo.raw, "label") == 1
    kw = dict(
        adds=[(topo.labelled, {"json": "A"})],
        once=topo.once("label", eid),
        counters={"labelled": 1},
        stats_key=topo.stats,
    )
    assert bus.commit(ack=(topo.raw, "label", eid), **kw) is True
    # the same entry committed again (a re-delivery after a crash): nothing added, still acked
    assert bus.commit(ack=(topo.raw, "label", eid), **kw) is False
    assert bus.length(topo.labelled) == 1
    assert bus.stats(topo.stats)["labelled"] == 1
    assert bus.pending(topo.raw, "label") == 0
    assert bus.backlog(topo.raw, "label") == 0


def test_a_dead_consumers_pending_entries_are_claimed_after_the_idle_time(bus_topo) -> None:
    bus, topo = bus_topo
    ids = [bus.add(topo.raw, {"json": str(i)}) for i in range(5)]
    got = bus.read(topo.raw, "label", "dead", 3, 100)
    assert [i for i, _ in got] == ids[:3]
    assert bus.claim_stale(topo.raw, "label", "alive", 60_000, 10) == []  # not idle long enough
    time.sleep(0.15)
    claimed = bus.claim_stale(topo.raw, "label", "alive", 100, 10)
    assert [i for i, _ in claimed] == ids[:3]
    assert [f["json"] for _, f in claimed] == ["0", "1", "2"]
    rest = bus.read(topo.raw, "label", "alive", 10, 100)
    assert [i for i, _ in rest] == ids[3:]


def test_the_cap_trims_only_entries_every_group_has_acknowledged(bus_topo) -> None:
    bus, topo = bus_topo
    ids = [bus.add(topo.labelled, {"json": str(i)}) for i in range(50)]
    groups = topo.groups()[topo.labelled]  # store and alert
    assert bus.trim(topo.labelled, groups, 10) == 0  # nobody processed anything: keep all 50
    assert bus.length(topo.labelled) == 50
    for i, _ in bus.read(topo.labelled, "store", "s", 40, 100):
        bus.commit(ack=(topo.labelled, "store", i))
    assert bus.trim(topo.labelled, groups, 10) == 0  # the alert group is still at zero
    got = bus.read(topo.labelled, "alert", "a", 30, 100)
    for i, _ in got[:25]:
        bus.commit(ack=(topo.labelled, "alert", i))  # 25 acked, 5 read but pending
    dropped = bus.trim(topo.labelled, groups, 10)
    assert dropped == 25
    left = [i for i, _ in bus.entries(topo.labelled)]
    assert left == ids[25:]  # the 5 pending and the 20 unread by alert are all still there
    assert bus.backlog(topo.labelled, "alert") == 25
    # once all is processed, the stream shrinks to the cap
    for i, _ in got[25:] + bus.read(topo.labelled, "alert", "a", 100, 100):
        bus.commit(ack=(topo.labelled, "alert", i))
    for i, _ in bus.read(topo.labelled, "store", "s", 100, 100):
        bus.commit(ack=(topo.labelled, "store", i))
    bus.trim(topo.labelled, groups, 10)
    assert [i for i, _ in bus.entries(topo.labelled)] == ids[-10:]


def test_safe_trim_id_takes_the_older_of_floor_and_cap() -> None:
    assert safe_trim_id(["5-0", "3-1"], "9-0") == "3-1"
    assert safe_trim_id(["5-0"], "2-0") == "2-0"
    assert safe_trim_id([], "2-0") is None
