"""The decision ledger on both backends: SQLite (the embedded default) and the real PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from decisions.ledger import LATEST, DecisionRow, Ledger, LedgerError
from exchange.types import Fill, Side

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_schema() -> str:
    return f"ledger_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        yield led
        led.close()
        return
    schema = _pg_schema()
    led = Ledger(PG_URL, schema=schema)
    yield led
    led._exec(f"DROP SCHEMA {schema} CASCADE")
    led.close()


def _row(i: int, run: str = "r1", symbol: str = "BTCUSDT") -> DecisionRow:
    return DecisionRow(
        id=f"{run}:{symbol}:{i}", desk="default", run_id=run, meeting_id=f"{symbol}-{i}",
        symbol=symbol, at=f"2023-04-19T{i:02d}:00:00Z", kind="entry", action="LONG",
        confidence=0.6, verdict="APPROVED", status="PLACED",
        record={"decision": {"action": "LONG", "stop_loss": 29000.5}, "weights": {"cto": 1.0}},
    )  # fmt: skip


def _fill(i: int, order: str, pnl: float = 0.0) -> Fill:
    return Fill(
        id=f"F-{i:06d}", order_id=order, symbol="BTCUSDT", side=Side.BUY, quantity=0.01,
        price=30000.0 + i, fee=0.18, realized_pnl=pnl, liquidity="taker",
        ts=datetime(2023, 4, 19, i, 1, tzinfo=UTC),
    )  # fmt: skip


def test_decisions_round_trip_in_time_order_and_survive_a_reopen(ledger: Ledger) -> None:
    for i in (3, 1, 2):
        ledger.record_decision(_row(i))
    ledger.record_decision(_row(1, run="r2"))
    got = ledger.decisions(run_id="r1")
    assert [d.at for d in got] == [f"2023-04-19T0{i}:00:00Z" for i in (1, 2, 3)]
    assert got[0].record["decision"]["stop_loss"] == 29000.5
    assert ledger.runs() == ["r1", "r2"]
    ledger.update_decision(got[0].id, execution={"status": "CLOSED"}, outcome={"r": 1.5})
    again = ledger.decision(got[0].id)
    assert again is not None and again.status == "CLOSED" and again.record["outcome"] == {"r": 1.5}
    assert again.record["weights"] == {"cto": 1.0}  # merged, not replaced


def test_fills_are_stored_once_and_linked_to_their_decision(ledger: Ledger) -> None:
    ledger.record_decision(_row(1))
    owner = {"O-1": "r1:BTCUSDT:1"}
    assert (
        ledger.record_fills("default", "r1", [_fill(1, "O-1"), _fill(2, "O-2", -3.5)], owner) == 2
    )
    assert ledger.record_fills("default", "r1", [_fill(1, "O-1"), _fill(3, "O-1")], owner) == 1
    fills = ledger.fills(run_id="r1")
    assert [f["fill_id"] for f in fills] == ["F-000001", "F-000002", "F-000003"]
    assert [f["fill_id"] for f in ledger.fills(decision_id="r1:BTCUSDT:1")] == [
        "F-000001",
        "F-000003",
    ]
    assert fills[1]["realized_pnl"] == -3.5 and fills[1]["decision_id"] is None


def test_outcomes_weights_and_learner_are_versioned(ledger: Ledger) -> None:
    ledger.record_decision(_row(1))
    ledger.record_outcome("r1:BTCUSDT:1", "4h", "2023-04-19T05:00:00Z", {"return_pct": 1.2})
    ledger.record_outcome("r1:BTCUSDT:1", "4h", "2023-04-19T05:00:00Z", {"return_pct": 1.3})
    assert ledger.outcomes("r1:BTCUSDT:1") == [
        {"decision_id": "r1:BTCUSDT:1", "horizon": "4h", "known_at": "2023-04-19T05:00:00Z",
         "return_pct": 1.3}
    ]  # fmt: skip
    assert ledger.record_weights("default", "r1", "2023-04-19T05:00:00Z", {"cto": 1.1}) == 1
    assert ledger.record_weights("default", "r1", "2023-04-19T09:00:00Z", {"cto": 0.9}) == 2
    assert [w["weights"]["cto"] for w in ledger.weights_history("default", "r1")] == [1.1, 0.9]
    assert ledger.record_learner("default", "r1", "2023-04-19T05:00:00Z", {"w": [0.1]}) == 1
    assert ledger.learner_history("default", "r1")[0]["model"] == {"w": [0.1]}


def test_desk_state_and_the_export_are_canonical(ledger: Ledger) -> None:
    ledger.save_desk_state("default", {"breaker": {"consecutive_losses": 2}})
    assert ledger.desk_state("default") == {"breaker": {"consecutive_losses": 2}}
    assert ledger.desk_state("other") is None
    ledger.record_decision(_row(2))
    ledger.record_decision(_row(1))
    a = ledger.export_run("r1")
    assert [d["id"] for d in a["decisions"]] == ["r1:BTCUSDT:1", "r1:BTCUSDT:2"]
    assert a["schema_version"] == LATEST and a == ledger.export_run("r1")


def test_a_failed_transaction_leaves_nothing(ledger: Ledger) -> None:
    with pytest.raises(RuntimeError), ledger.transaction():
        ledger._exec("INSERT INTO ledger_desks (desk, state) VALUES (?, ?)", ("half", "{}"))
        raise RuntimeError("killed mid-write")
    assert ledger.desk_state("half") is None


def test_migrations_run_once_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    Ledger(url).close()
    led = Ledger(url)  # reopening applies nothing twice
    assert led.version() == LATEST
    led.close()
    con = sqlite3.connect(tmp_path / "l.sqlite")
    con.execute("INSERT INTO ledger_migrations VALUES (?, 'from the future')", (LATEST + 1,))
    con.commit()
    con.close()
    with pytest.raises(LedgerError, match=rf"schema version {LATEST + 1} is newer than this"):
        Ledger(url)


def test_an_unreachable_database_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(LedgerError) as err:
        Ledger("postgresql://bob:hunter2secret@127.0.0.1:1/none?connect_timeout=2")
    msg = str(err.value)
    assert msg.startswith("ledger postgresql://bob:***@127.0.0.1:1/none") and "hunter2" not in msg
