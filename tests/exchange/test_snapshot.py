"""Snapshots: saved on every change, restored identically from a JSON file and from Redis."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from exchange.snapshot import JsonFileSnapshot, RedisSnapshot, SnapshotStore
from exchange.virtual import ExchangeConfig, VirtualExchange
from tests.exchange.kit import SYM, brief, lim, mkt, run, stop, ts

REDIS_URL = "redis://127.0.0.1:6379/0"
BARS = [(100.0, 100.0, 100.0, 100.0), (100, 100.5, 99.5, 100), (100.2, 101, 99, 100.8)]
MORE = [(100.8, 103, 100.5, 102.9), (102.9, 103.2, 96, 97), (97, 98, 94, 95)]


def _session(store: SnapshotStore) -> VirtualExchange:
    ex = VirtualExchange(ExchangeConfig(slippage_bps=2), snapshot=store)
    run(
        ex,
        BARS,
        {
            0: [mkt("BUY", 0.5, leverage=3, stop_loss=95, take_profit=103)],
            1: [lim("BUY", 96, 0.2)],
            2: [stop("SELL", 99, 0.1)],
        },
    )
    return ex


def _check_restore(store: SnapshotStore) -> None:
    ex = _session(store)
    assert ex.positions() and ex.open_orders()
    restarted = VirtualExchange(snapshot=store)  # a restart: state comes from the store
    assert restarted.state_dict() == ex.state_dict()
    assert restarted.config == ex.config
    # the old instance stops writing (two writers would be refused: test_shared_state); it
    # goes on in memory for the comparison
    ex._snapshot = None
    a = brief(run(ex, MORE, start=3))
    b = brief(run(restarted, MORE, start=3))
    assert a == b and len(a) >= 2
    assert VirtualExchange(snapshot=store).state_dict() == ex.state_dict()


def test_json_file_snapshot_restores_identical_state(tmp_path: Path) -> None:
    store = JsonFileSnapshot(tmp_path / "exchange" / "state.json")
    _check_restore(store)
    assert json.loads(store.path.read_text())["state_version"] == 1


@pytest.mark.redis
def test_redis_snapshot_restores_identical_state() -> None:
    key = f"test:auraquant:exchange:{uuid.uuid4().hex}"
    store = RedisSnapshot(REDIS_URL, key)
    try:
        _check_restore(store)
        assert store._client.exists(key) == 1
    finally:
        store.clear()
    assert store.load() is None


def test_snapshot_is_saved_on_every_change(tmp_path: Path) -> None:
    store = JsonFileSnapshot(tmp_path / "s.json")
    ex = VirtualExchange(snapshot=store)
    assert store.load() is None  # nothing changed yet
    ex.on_bar(SYM, ts(0), 100, 100, 100, 100)
    assert store.load()["books"][0]["mark"] == 100  # type: ignore[index]
    o = ex.place(lim("BUY", 90))
    assert [d["id"] for d in store.load()["orders"]] == [o.id]  # type: ignore[index]
    ex.cancel(o.id)
    assert store.load()["orders"][0]["status"] == "CANCELED"  # type: ignore[index]


def test_from_state_round_trip_and_config_conflict(tmp_path: Path) -> None:
    store = JsonFileSnapshot(tmp_path / "s.json")
    ex = _session(store)
    again = VirtualExchange.from_state(json.loads(json.dumps(ex.state_dict())))
    assert again.state_dict() == ex.state_dict()
    with pytest.raises(ValueError, match="config: differs from the configuration stored"):
        VirtualExchange(ExchangeConfig(taker_fee=0.001), snapshot=store)


def test_a_corrupt_snapshot_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"s\.json: not a valid exchange snapshot"):
        JsonFileSnapshot(path).load()
