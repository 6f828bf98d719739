"""The scheduled desk on real Celery workers (separate processes, the local Redis and
PostgreSQL, a unique prefix and schema each) trading the loopback WEEX (127.0.0.1, a free port,
in this process) with the AI log uploaded — ``auraquant beat --exchange weex``'s ticks:

- ticks sent three times over two workers: the meeting is held once, its entry reaches WEEX
  once under the meeting's client id, the next tick manages the position instead of entering
  again, and every AI-log record the workers wrote reaches WEEX once, each naming WEEX's id of
  the order it is about;
- a worker SIGKILLed between placing the order and recording it: the redelivered tick finds the
  order on WEEX by its client id instead of placing another, and the records the dead worker
  had queued are sent by the next worker to take its disk-queue slot.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from exchange.weex.mock.app import MockServer
from exchange.weex.mock.engine import MockWeex, bars_from_frame
from tests.auraquant.test_celery import (  # noqa: F401 (the fixture)
    AT,
    Cluster,
    _ailog,
    _app,
    _claims,
    _config,
    _decisions,
    cluster,
)
from tests.exchange.weex.kit import ACCOUNT, KEY, PASSPHRASE, SECRET, SECRETS, check_order_ids

pytestmark = [pytest.mark.data, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture()
def weex(cluster: Cluster) -> Iterator[tuple[MockWeex, dict[str, str]]]:  # noqa: F811
    """The loopback WEEX replaying BTCUSDT's stored 1m bars from 12:00, and the workers'
    settings pointing at it (AI-log upload on)."""
    from exchange.weex.mock.config import MockConfig
    from tools.candles import load_candles

    t0 = pd.Timestamp("2023-04-19T12:00:00Z")
    frame = load_candles("BTCUSDT", "1m", t0, t0 + pd.Timedelta(hours=6))
    mock = MockWeex(MockConfig(accounts=[ACCOUNT], starting_balance=10_000.0),
                    {"cmt_btcusdt": bars_from_frame(frame)})  # fmt: skip
    with MockServer(mock) as server:
        env = {"WEEX_BASE_URL": server.url, "WEEX_API_KEY": KEY, "WEEX_API_SECRET": SECRET,
               "WEEX_API_PASSPHRASE": PASSPHRASE, "WEEX_AI_LOG_ENABLED": "true"}  # fmt: skip
        yield mock, env


def _placed(mock: MockWeex, cid: str) -> int:
    """placeOrder calls WEEX accepted under the meeting's client id (a re-send after a lost
    answer would carry the same id)."""
    return sum(n for oid, n in mock.placements.items() if oid.startswith(cid))


def _opening_orders(mock: MockWeex) -> list[dict[str, Any]]:
    return [o for o in mock.known_orders().values() if o["type"] in (1, 2) and not o["plan"]]


def _check_uploads(home: Path, mock: MockWeex) -> list[dict[str, Any]]:
    """Every record the workers wrote reached WEEX (duplicates only marked redeliveries), with
    WEEX's numeric order ids, versioned models and no secret; returns the bodies."""
    from auraquant import __version__

    local = _ailog(home)
    bodies = [b for b in mock.ai_logs]
    seqs = Counter(b["input"]["record"]["seq"] for b in bodies)
    assert set(seqs) == {r["seq"] for r in local}  # every record arrived
    for b in bodies:
        if seqs[b["input"]["record"]["seq"]] > 1:  # a duplicate must say it may be one
            twins = [
                x for x in bodies if x["input"]["record"]["seq"] == b["input"]["record"]["seq"]
            ]
            assert any(x["input"]["record"].get("redelivered") for x in twins), b["explanation"]
    models = {m for b in bodies for m in b["model"].split(",")}
    assert all(m.endswith(f"@auraquant-{__version__}") for m in models), models
    text = json.dumps(bodies)
    assert not any(s in text for s in SECRETS)
    return bodies


def test_ticks_on_two_workers_trade_weex_once_and_upload_every_record(
    cluster: Cluster,  # noqa: F811
    weex: tuple[MockWeex, dict[str, str]],
) -> None:
    from auraquant.schedule.keys import client_order_id, meeting_key

    mock, env = weex
    cluster.worker(extra_env=env)
    cluster.worker(extra_env=env)
    app = _app()
    cfg = _config(exchange="weex")
    outs = [app.send_task("auraquant.desk_tick", args=(cfg, AT)) for _ in range(3)]
    results = [r.get(timeout=60) for r in outs]
    held = [h for o in results for h in o.get("held", [])]
    [h] = held  # one meeting, whichever worker held it
    cid = client_order_id(meeting_key("celery", "BTCUSDT", AT))
    assert h["client_order_id"] == cid and h["status"] in ("PLACED", "FILLED"), h
    assert _placed(mock, cid) == 1  # on WEEX once
    [pos] = mock.vx.positions()
    assert pos.symbol == "BTCUSDT" and pos.quantity != 0
    [row] = _decisions()
    entry_id = row.record["execution"]["entry_order_id"]
    assert entry_id in mock.known_orders() and entry_id.isdigit()  # WEEX's own id

    nxt = "2023-04-19T12:30:00Z"
    out = app.send_task("auraquant.desk_tick", args=(cfg, nxt)).get(timeout=60)
    assert [x["symbol"] for x in out["held"]] == ["BTCUSDT"]
    later = [d for d in _decisions() if d.at == nxt]
    assert [d.kind for d in later] == ["manage"]  # the position is managed, not doubled
    assert len(_opening_orders(mock)) == 1
    assert {(c.at, c.status) for c in _claims()} == {(AT, "done"), (nxt, "done")}

    bodies = _check_uploads(cluster.home, mock)
    tied = check_order_ids(bodies, mock.known_orders())
    enter = [b for b in tied if b["input"]["record"]["node"] == "cycle.enter"]
    assert [str(b["orderId"]) for b in enter] == [entry_id]
    assert any(b["input"]["record"]["node"] == "venue.reconcile" for b in bodies)
    # each worker process had its own disk-queue slot
    slots = [p for p in (cluster.home / "weex" / "ailog-queue").iterdir() if p.is_dir()]
    owners = [(p / ".lock").read_text() for p in slots]
    assert slots and len(set(owners)) == len(owners)
    acked = sum(len((p / "acked.ndjson").read_text().splitlines()) for p in slots)
    assert acked == len(bodies)


def test_sigkill_between_placing_on_weex_and_recording_finds_the_order_by_client_id(
    cluster: Cluster,  # noqa: F811
    weex: tuple[MockWeex, dict[str, str]],
) -> None:
    from auraquant.schedule.keys import client_order_id, meeting_key

    mock, env = weex
    mark = cluster.home / "crashed-after_place"
    extra = {**env, "AQ_TEST_CRASH": "after_place", "AQ_TEST_CRASH_MARK": str(mark)}
    p = cluster.worker(module="tests.auraquant.celery_crash_worker", extra_env=extra)
    res = _app().send_task("auraquant.desk_tick", args=(_config(exchange="weex"), AT))
    p.wait(timeout=60)
    assert p.returncode == -9 and mark.exists()
    cid = client_order_id(meeting_key("celery", "BTCUSDT", AT))
    assert _placed(mock, cid) == 1  # on WEEX
    assert _decisions() == []  # not in the ledger
    [claim] = _claims()
    assert claim.status == "vetted"
    time.sleep(4.5)  # the broker's visibility timeout: the tick is delivered again
    cluster.worker(module="tests.auraquant.celery_crash_worker", extra_env=extra)
    out = res.get(timeout=60)
    [h] = out["held"] + [x for c in out["caught_up"] for x in c["held"]]
    assert h["client_order_id"] == cid
    assert _placed(mock, cid) == 1  # found, not placed again
    assert len(_opening_orders(mock)) == 1
    [row] = _decisions()
    ex = row.record["execution"]
    assert "found on the exchange" in ex["note"] and ex["entry_order_id"] in mock.known_orders()
    bodies = _check_uploads(cluster.home, mock)
    check_order_ids(bodies, mock.known_orders())
