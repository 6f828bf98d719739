"""The decision journal: one canonical, byte-identical journal.json per run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel

from decisions.journal import (
    JournalError,
    build_journal,
    journal_entry,
    read_journal,
    render_journal,
    write_journal,
)
from decisions.risk_gate import risk_gate
from exchange.executor import ExecutionReport
from tests.decisions.builders import AT, account, decision, limits, market


class _Turn(BaseModel):  # stand-ins: the journal takes any pydantic model
    role: str
    stance: str
    confidence: float
    evidence: list[str]


class _Memo(BaseModel):
    id: str
    symbol: str
    at: datetime
    facts: dict[str, float]


def _entry(**over: object) -> dict:
    d = decision(leverage=40.0)
    parts: dict = dict(
        memo=_Memo(id="memo-1", symbol="BTCUSDT", at=AT, facts={"rsi_14": 61.2, "atr_14": 150.0}),
        turns=[
            _Turn(role="technical_analyst", stance="LONG", confidence=0.7, evidence=["f1"]),
            _Turn(role="market_analyst", stance="FLAT", confidence=0.4, evidence=[]),
        ],
        interrupts=[{"kind": "counterevidence", "by": "risk_manager", "text": "ATR is rising"}],
        decision=d,
        gate_result=risk_gate(d, market(), account(), limits()),
        execution=ExecutionReport(
            client_order_id="c-1", symbol="BTCUSDT", status="PLACED", entry_order_id="O-000001"
        ),
        symbol="BTCUSDT",
        at=AT,
    )
    parts.update(over)
    return journal_entry(**parts)


def test_identical_inputs_give_identical_bytes(tmp_path: Path) -> None:
    meta = {"config": {"budget": 4, "limits": limits()}, "data_hash": "abc", "commit": "deadbeef"}
    p1 = write_journal("run-a", [_entry()], meta=meta, home=tmp_path / "h1")
    p2 = write_journal("run-a", [_entry()], meta=meta, home=tmp_path / "h2")
    assert p1 == tmp_path / "h1" / "runs" / "run-a" / "journal.json"
    assert p1.read_bytes() == p2.read_bytes()
    # insertion order of plain dicts does not matter either
    shuffled = {
        "commit": "deadbeef",
        "data_hash": "abc",
        "config": {"limits": limits(), "budget": 4},
    }
    p3 = write_journal("run-a", [_entry()], meta=shuffled, home=tmp_path / "h3")
    assert p3.read_bytes() == p1.read_bytes()


def test_journal_content_round_trips(tmp_path: Path) -> None:
    path = write_journal("run-b", [_entry(), _entry(symbol="ETHUSDT")], home=tmp_path)
    j = read_journal(path)
    assert j["schema_version"] == 1 and "run_id" not in j  # the directory names the run
    assert path.parent.name == "run-b"
    m = j["meetings"][0]
    assert sorted(m) == [
        "at",
        "decision",
        "execution",
        "fills",
        "gate_result",
        "interrupts",
        "memo",
        "orders",
        "symbol",
        "turns",
    ]
    assert m["at"] == "2023-04-20T12:00:00Z"
    assert m["memo"]["at"] == "2023-04-20T12:00:00Z"
    assert m["gate_result"]["verdict"] == "CLAMPED"
    assert m["gate_result"]["clamps"][0] == {
        "rule": "R09_leverage",
        "field": "leverage",
        "before": 40.0,
        "after": 5.0,
    }
    assert m["gate_result"]["plan"]["side"] == "BUY"
    assert m["execution"]["entry_order_id"] == "O-000001"
    assert j["meetings"][1]["symbol"] == "ETHUSDT"
    text = path.read_text()
    assert text.endswith("}\n") and "NaN" not in text
    assert text == render_journal(build_journal("run-b", [_entry(), _entry(symbol="ETHUSDT")]))


def test_floats_use_the_shortest_round_trip_form() -> None:
    text = render_journal({"x": 0.1 + 0.2, "y": 1e-7, "z": -0.0, "n": 3})
    assert '"x": 0.30000000000000004' in text
    assert '"y": 1e-07' in text and '"z": 0.0' in text and '"n": 3' in text


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"score": float("nan")}, "$.entry.interrupts[0].score: nan is not a finite number"),
        ({"score": float("inf")}, "$.entry.interrupts[0].score: inf is not a finite number"),
        (
            {"when": datetime(2023, 4, 20, 12)},
            "$.entry.interrupts[0].when: time 2023-04-20T12:00:00 has no timezone",
        ),
        ({"obj": object()}, "$.entry.interrupts[0].obj: cannot journal a object"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    tmp_path: Path, bad: dict, message: str
) -> None:
    with pytest.raises(JournalError) as exc:
        write_journal("run-c", [_entry(interrupts=[bad])], home=tmp_path)
    assert str(exc.value) == message
    assert not (tmp_path / "runs" / "run-c" / "journal.json").exists()


def test_existing_journal_survives_a_failed_rewrite(tmp_path: Path) -> None:
    path = write_journal("run-d", [_entry()], home=tmp_path)
    before = path.read_bytes()
    with pytest.raises(JournalError):
        write_journal("run-d", [{"x": float("nan")}], home=tmp_path)
    assert path.read_bytes() == before


def test_times_and_durations_are_canonical() -> None:
    plus2 = datetime(2023, 4, 20, 14, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    text = render_journal({"t": plus2, "d": timedelta(minutes=15)})
    assert '"t": "2023-04-20T14:00:00Z"' in text and '"d": 900.0' in text
