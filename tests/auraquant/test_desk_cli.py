"""`auraquant meet` trades the desk's account: the exchange `auraquant exchange` shows, a breaker
and an entry interval that see earlier meetings, runs that never mix, a dry run that places
nothing. On the real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app

pytestmark = pytest.mark.data
runner = CliRunner()
AT = "2023-04-19T12:00:00Z"


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


def test_the_meeting_trades_the_desks_exchange_and_positions_shows_it(home: Path) -> None:
    out = cli("meet", "SOLUSDT", "--at", AT)
    assert out["execution"]["status"] == "FILLED"
    # the report after the fill still names the bracket's levels
    assert out["execution"]["stop_loss_price"] == out["gate"]["plan"]["stop_loss"]
    assert out["execution"]["kind"] == "entry"
    positions = cli("exchange", "positions")
    [pos] = [p for p in positions["positions"] if p["quantity"]]
    assert pos["symbol"] == "SOLUSDT" and pos["quantity"] < 0  # the SHORT it took
    # the journal and the AI log name the stop-loss and take-profit with their prices
    journal = json.loads((Path(out["run_dir"]) / "journal.json").read_text())
    ex = journal["meetings"][0]["execution"]
    plan = out["gate"]["plan"]
    assert (ex["stop_loss_price"], ex["take_profit_price"]) == (
        plan["stop_loss"],
        plan["take_profit"],
    )
    execute = next(
        json.loads(line)
        for line in (Path(out["run_dir"]) / "ailog.ndjson").read_text().splitlines()
        if json.loads(line)["node"] == "execute"
    )
    assert f"stop-loss {plan['stop_loss']}" in execute["explanation"]
    assert f"take-profit {plan['take_profit']}" in execute["explanation"]


def test_a_second_meeting_manages_the_position_and_r05_sees_the_first(home: Path) -> None:
    first = cli("meet", "SOLUSDT", "--at", AT)
    assert first["execution"]["status"] == "FILLED"
    # 5 minutes later: a position is open, so no second entry; the meeting manages it
    second = cli("meet", "SOLUSDT", "--at", "2023-04-19T12:05:00Z")
    rules = {r["rule"]: r for r in second["gate"]["reasons"]}
    assert second["gate"]["verdict"] == "DENIED" and "R00_position_open" in rules
    assert second["manage"]["action"] in {"hold", "close", "tighten"}
    # on another desk the same second meeting is a fresh account: it may enter
    other = cli("meet", "SOLUSDT", "--at", "2023-04-19T12:05:00Z", "--desk", "other")
    assert "R00_position_open" not in {r["rule"] for r in other["gate"]["reasons"]}


def test_r05_sees_an_entry_from_an_earlier_meeting_once_flat(home: Path) -> None:
    """Close the position by hand, then meet again within the entry interval: R05 denies."""
    cli("meet", "SOLUSDT", "--at", AT)
    pos = next(p for p in cli("exchange", "positions")["positions"] if p["quantity"])
    for o in cli("exchange", "order", "list")["orders"]:
        cli("exchange", "order", "cancel", o["id"])
    cli("exchange", "order", "place", "--symbol", "SOLUSDT", "--side", "BUY", "--type", "MARKET",
        "--quantity", str(abs(pos["quantity"])), "--reduce-only")  # fmt: skip
    cli("exchange", "advance", "--symbol", "SOLUSDT", "--to", "2023-04-19T12:03:00Z")
    again = cli("meet", "SOLUSDT", "--at", "2023-04-19T12:10:00Z", "--desk", "default")
    r05 = [r for r in again["gate"]["reasons"] if r["rule"] == "R05_entry_interval"]
    assert again["decision"]["action"] == "SHORT", again["decision"]
    assert r05 and not r05[0]["passed"], again["gate"]["reasons"]
    assert "last entry" in r05[0]["message"] or "2023-04-19T12:0" in r05[0]["message"]


def test_r04_sees_the_desks_breaker(home: Path) -> None:
    from auraquant.desks import open_desk
    from decisions.circuit_breaker import BreakerState
    from tools.timeutil import parse_utc

    with open_desk("default", "setup") as desk:
        desk.breaker = BreakerState(tripped_until=parse_utc("2023-04-20T00:00:00Z"),
                                    trip_reason="3 consecutive losses")  # fmt: skip
    out = cli("meet", "SOLUSDT", "--at", AT)
    r04 = next(r for r in out["gate"]["reasons"] if r["rule"] == "R04_circuit_breaker")
    assert not r04["passed"] and "breaker tripped until 2023-04-20" in r04["message"]
    assert out["execution"]["status"] == "NOT_EXECUTED"
    # another desk has its own breaker
    other = cli("meet", "SOLUSDT", "--at", AT, "--desk", "fresh")
    assert next(r for r in other["gate"]["reasons"] if r["rule"] == "R04_circuit_breaker")["passed"]


def test_dry_run_gates_and_places_nothing(home: Path) -> None:
    out = cli("meet", "SOLUSDT", "--at", AT, "--dry-run")
    assert out["gate"]["verdict"] in {"APPROVED", "CLAMPED"}
    assert out["execution"]["status"] == "NOT_EXECUTED" and "dry run" in out["execution"]["note"]
    assert not [p for p in cli("exchange", "positions")["positions"] if p["quantity"]]


def test_reruns_never_mix_and_give_the_same_journal_bytes(home: Path) -> None:
    a = cli("meet", "SOLUSDT", "--at", AT, "--desk", "a")
    b = cli("meet", "SOLUSDT", "--at", AT, "--desk", "b")
    assert a["run_dir"] != b["run_dir"] and b["run_dir"].endswith("-2")
    la = (Path(a["run_dir"]) / "ailog.ndjson").read_text().splitlines()
    lb = (Path(b["run_dir"]) / "ailog.ndjson").read_text().splitlines()
    assert len(la) == len(lb) and {json.loads(x)["run_id"] for x in lb} == {Path(b["run_dir"]).name}
    ja = (Path(a["run_dir"]) / "journal.json").read_bytes()
    jb = (Path(b["run_dir"]) / "journal.json").read_bytes()
    assert ja == jb


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run-id", "../../escape"], "--run-id: '../../escape' must match [A-Za-z0-9._-]{1,64}"),
        (["--run-id", ".."], "--run-id: '..' must match"),
        (["--desk", "a/b"], "desk: 'a/b' must match [A-Za-z0-9._-]{1,64}"),
    ],
)
def test_bad_run_ids_and_desk_names_are_refused(home: Path, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["meet", "SOLUSDT", "--at", AT, *args])
    assert res.exit_code == 2 and message in res.stderr
    assert not (home.parent / "escape").exists()


def test_an_explicit_run_id_that_exists_is_refused(home: Path) -> None:
    cli("meet", "SOLUSDT", "--at", AT, "--run-id", "mine")
    res = runner.invoke(app, ["meet", "SOLUSDT", "--at", AT, "--run-id", "mine"])
    assert res.exit_code == 2 and "--run-id: 'mine' exists" in res.stderr


@pytest.mark.postgres
def test_the_desk_remembers_through_the_postgresql_ledger(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    from decisions.ledger import Ledger

    url = "postgresql://postgres@127.0.0.1:5432/test"
    monkeypatch.setenv("DATABASE_URL", url)
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    desk = f"pg-{uuid.uuid4().hex[:10]}"
    first = cli("meet", "SOLUSDT", "--at", AT, "--desk", desk)
    assert first["execution"]["status"] == "FILLED"
    second = cli("meet", "SOLUSDT", "--at", "2023-04-19T12:05:00Z", "--desk", desk)
    assert "R00_position_open" in {r["rule"] for r in second["gate"]["reasons"]}
    led = Ledger(url)
    try:
        rows = led.decisions(desk=desk)
        assert [r.kind for r in rows] == ["entry", "manage"]
        assert (led.desk_state(desk) or {})["cycles"]["SOLUSDT"]["stage"] == "MANAGE"
        assert not (home / "ledger.sqlite").exists()  # the embedded ledger was not used
    finally:
        with led.transaction():
            led._exec("DELETE FROM ledger_fills WHERE desk = ?", (desk,))
            led._exec("DELETE FROM ledger_decisions WHERE desk = ?", (desk,))
            led._exec("DELETE FROM ledger_desks WHERE desk = ?", (desk,))
        led.close()
        get_settings.cache_clear()


def test_a_desk_loses_no_order_placed_by_another_command_meanwhile(home: Path) -> None:
    """The CLI places an order while a desk holds the account: the desk's save is refused
    (compare-and-swap), the CLI's order stays, and the error says what to do."""
    from auraquant.desks import open_desk
    from graph.desk import DeskError

    cli("exchange", "advance", "--symbol", "SOLUSDT", "--to", AT)
    with (
        pytest.raises(DeskError, match="changed by another command while this one ran"),
        open_desk("default", "race") as desk,
    ):
        cli("exchange", "order", "place", "--symbol", "SOLUSDT", "--side", "BUY", "--type",
            "LIMIT", "--quantity", "1", "--price", "10")  # fmt: skip
        desk.exchange.cancel_all("SOLUSDT")  # the desk's stale view of the account
    orders = cli("exchange", "order", "list")["orders"]
    assert [o["request"]["price"] for o in orders] == [10.0]
