"""Shared state that never loses an order: compare-and-swap on a versioned snapshot.

Four processes place 50 orders each, at the same time, two through the CLI (the Typer
``auraquant exchange order place`` command, in their own processes) and two through HTTP (a
uvicorn server over the same store): 200 orders, 200 distinct ids, none lost, on the JSON file
and on Redis.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from exchange.http import create_app
from exchange.snapshot import (
    JsonFileSnapshot,
    RedisSnapshot,
    SnapshotConflict,
    VersionedStore,
    exchange_transaction,
    transact,
)
from exchange.virtual import VirtualExchange

REDIS = "redis://127.0.0.1:6379/0"
ORDERS_PER_WORKER = 50
ROOT = Path(__file__).resolve().parents[2]

CLI_WORKER = """
import json, sys
from typer.testing import CliRunner
from auraquant.cli import app
runner = CliRunner()
ids = []
for i in range(int(sys.argv[1])):
    res = runner.invoke(app, ["exchange", "order", "place", "--symbol", "BTCUSDT", "--side",
        "BUY", "--type", "LIMIT", "--quantity", "0.001", "--price", "20000", "--json"])
    if res.exit_code != 0:
        print(json.dumps({"error": res.stderr or res.stdout}))
        sys.exit(1)
    ids.append(json.loads(res.stdout)["order"]["id"])
print(json.dumps({"ids": ids}))
"""

HTTP_WORKER = """
import json, sys
import httpx
ids = []
with httpx.Client(base_url=sys.argv[2], timeout=30) as http:
    for i in range(int(sys.argv[1])):
        r = http.post("/orders", json={"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
            "quantity": 0.001, "price": 20000})
        if r.status_code != 201:
            print(json.dumps({"error": r.text}))
            sys.exit(1)
        ids.append(r.json()["id"])
print(json.dumps({"ids": ids}))
"""


def _seed(store: VersionedStore) -> None:
    def first_bar(ex: VirtualExchange) -> None:
        ex.on_bar("BTCUSDT", 1_681_952_400_000_000_000, 28000.0, 28010.0, 27990.0, 28000.0)

    transact(store, VirtualExchange.restore, first_bar)


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.redis)])
def backend(
    request: pytest.FixtureRequest, aq_home: Path
) -> Iterator[tuple[VersionedStore, dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURAQUANT_EXCHANGE")}
    env["AURAQUANT_HOME"] = str(aq_home)
    env["PYTHONPATH"] = str(ROOT)
    store: VersionedStore
    if request.param == "file":
        env["REDIS_URL"] = ""
        store = JsonFileSnapshot(aq_home / "exchange" / "state.json")
    else:
        key = f"test:auraquant:exchange:cas:{uuid.uuid4().hex}"
        env["REDIS_URL"] = REDIS
        env["AURAQUANT_EXCHANGE_REDIS_KEY"] = key
        store = RedisSnapshot(REDIS, key)
    try:
        yield store, env
    finally:
        store.clear()


def _serve(store: VersionedStore) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(store=store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_four_processes_cli_and_http_lose_no_order(
    backend: tuple[VersionedStore, dict[str, str]],
) -> None:
    store, env = backend
    _seed(store)
    server, thread, url = _serve(store)
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(ORDERS_PER_WORKER), url],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for script in (CLI_WORKER, HTTP_WORKER, CLI_WORKER, HTTP_WORKER)
        ]
        results: list[dict[str, Any]] = []
        for w in workers:
            out, err = w.communicate(timeout=300)
            assert w.returncode == 0, f"worker failed: {out} {err[-2000:]}"
            results.append(json.loads(out.strip().splitlines()[-1]))
        with httpx.Client(base_url=url, timeout=30) as http:
            served = http.get("/orders", params={"include_closed": True}).json()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    ids = [i for r in results for i in r["ids"]]
    assert len(ids) == 4 * ORDERS_PER_WORKER
    assert len(set(ids)) == len(ids)
    state = store.load()
    assert state is not None
    stored = {o["id"] for o in state["orders"]}
    assert stored == set(ids) == {o["id"] for o in served}
    assert sorted(stored) == [f"O-{k:06d}" for k in range(1, 201)]  # no id reused or skipped
    assert VirtualExchange.restore(state).balance().available == pytest.approx(10_000 - 200 * 20.0)


def test_a_stale_writer_is_refused_and_transact_retries(tmp_path: Path) -> None:
    store = JsonFileSnapshot(tmp_path / "state.json")
    _seed(store)
    state, version = store.load_versioned()
    assert state is not None and version == 1
    with (
        pytest.raises(SnapshotConflict, match="changed by another writer"),
        exchange_transaction(store, VirtualExchange.restore) as ex,
    ):
        store.save(state)  # someone else saves in between (version 2)
        ex.on_bar("BTCUSDT", 1_681_952_460_000_000_000, 28000.0, 28000.0, 28000.0, 28000.0)
    assert store.load_versioned() == (state, 2)  # the stale write saved nothing
    calls: list[int] = []

    def act(ex: VirtualExchange) -> str:
        calls.append(1)
        if len(calls) == 1:
            store.save(store.load() or {})  # a concurrent writer wins the first attempt
        return ex.open_orders().__class__.__name__

    transact(store, VirtualExchange.restore, act)
    assert len(calls) == 2 and store.load_versioned()[1] == 4
    with pytest.raises(SnapshotConflict, match="after 3 attempts"):
        transact(
            store,
            VirtualExchange.restore,
            lambda ex: store.save(store.load() or {}),
            attempts=3,
        )


def test_an_exchange_with_a_snapshot_refuses_to_overwrite_another_writer(tmp_path: Path) -> None:
    store = JsonFileSnapshot(tmp_path / "state.json")
    _seed(store)
    desk = VirtualExchange(snapshot=store)  # loads version 1
    cli_order = transact(store, VirtualExchange.restore, lambda ex: ex.place(_limit()))[1]
    with pytest.raises(SnapshotConflict, match="changed by another writer"):
        desk.place(_limit())  # its save would drop the CLI's order
    state = store.load()
    assert state is not None and [o["id"] for o in state["orders"]] == [cli_order.id]
    desk = VirtualExchange(snapshot=store)  # reloaded: sees the CLI's order, saves again
    assert desk.place(_limit()).id == "O-000002"
    assert [o.id for o in VirtualExchange(snapshot=store).orders()] == ["O-000001", "O-000002"]


def _limit() -> Any:
    from exchange.types import OrderRequest

    return OrderRequest(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=0.001, price=20000)
