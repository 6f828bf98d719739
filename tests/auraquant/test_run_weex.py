"""`auraquant run --exchange weex`: the desk's schedule on stored data trading on the loopback
WEEX (127.0.0.1, a free port): the bracket is placed there, a desk started with a position open
on WEEX manages it instead of entering again, and with ``WEEX_AI_LOG_ENABLED`` the run's AI-log
records reach WEEX without a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from exchange.weex.mock.app import MockServer
from exchange.weex.mock.engine import MockWeex, bars_from_frame
from tests.exchange.weex.kit import ACCOUNT, KEY, PASSPHRASE, SECRET, SECRETS

pytestmark = pytest.mark.data
runner = CliRunner()
START = "2023-04-19T12:00:00Z"


@pytest.fixture()
def home(aq_home: Path, real_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (aq_home / "store").symlink_to(real_store)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return aq_home


@pytest.fixture()
def weex(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MockServer, MockWeex]]:
    """The loopback WEEX replaying BTCUSDT's stored 1m candles from START (a bar per market
    order), with the desk's settings pointing at it."""
    from exchange.weex.mock.config import MockConfig
    from tools.candles import load_candles

    t0 = pd.Timestamp(START)
    frame = load_candles("BTCUSDT", "1m", t0, t0 + pd.Timedelta(hours=6))
    mock = MockWeex(MockConfig(accounts=[ACCOUNT], starting_balance=10_000.0),
                    {"cmt_btcusdt": bars_from_frame(frame)})  # fmt: skip
    with MockServer(mock) as server:
        assert server.url.startswith("http://127.0.0.1:")
        for k, v in {"WEEX_BASE_URL": server.url, "WEEX_API_KEY": KEY,
                     "WEEX_API_SECRET": SECRET, "WEEX_API_PASSPHRASE": PASSPHRASE}.items():  # fmt: skip
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("WEEX_AI_LOG_ENABLED", raising=False)
        from auraquant.settings import get_settings

        get_settings.cache_clear()
        yield server, mock
        get_settings.cache_clear()


def run(desk: str, *extra: str) -> dict[str, Any]:
    res = runner.invoke(app, ["run", "--exchange", "weex", "--symbols", "BTCUSDT", "--every",
                              "15m", "--desk", desk, "--speed", "600", "--json", *extra])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    out = res.stdout + res.stderr
    assert not any(s in out for s in SECRETS)
    return json.loads(res.stdout)


def decisions(home: Path, desk: str) -> list[Any]:
    from decisions.ledger import Ledger

    led = Ledger(f"sqlite:///{home / 'ledger.sqlite'}")
    try:
        return list(led.decisions(desk=desk))
    finally:
        led.close()


def ailog(home: Path, desk: str) -> list[dict[str, Any]]:
    path = home / "runs" / f"schedule-{desk}" / "ailog.ndjson"
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_the_bracket_goes_to_weex_and_a_desk_started_with_it_open_manages_it(
    home: Path, weex: tuple[MockServer, MockWeex]
) -> None:
    _server, mock = weex
    out = run("w1", "--start", START, "--steps", "2")
    held = [h for r in out["reports"] for h in r["held"]]
    assert [h["symbol"] for h in held] == ["BTCUSDT", "BTCUSDT"]
    entries = [d for d in decisions(home, "w1") if d.kind == "entry" and d.verdict != "DENIED"]
    assert entries, "the offline desk enters BTCUSDT on this path"
    # the position and its bracket are on the loopback WEEX, not on a virtual account
    [pos] = mock.vx.positions()
    assert pos.symbol == "BTCUSDT" and pos.quantity != 0
    working = {o.role for o in mock.vx.orders("BTCUSDT") if o.status.value == "NEW"}
    assert {"stop_loss", "take_profit"} <= working, "the bracket's legs work on WEEX"
    assert not (home / "exchange" / "desks" / "w1.json").exists()  # no virtual snapshot saved
    # the desk was never fed stored bars: its sync says live
    log = ailog(home, "w1")
    assert any(r["node"] == "venue.reconcile" for r in log)
    placed = len(mock.placements)

    # a desk that did not open it starts with the position on WEEX: reconciliation at start
    # moves its cycle to MANAGE, and its meeting does not enter a second time
    again = run("w2", "--start", START, "--steps", "1")
    assert again["reports"][0]["held"][0]["symbol"] == "BTCUSDT"
    [rec] = [r for r in ailog(home, "w2") if r["node"] == "venue.reconcile"]
    held = rec["output"]["positions"]["BTCUSDT"]  # the stop roles read back from WEEX
    assert held["quantity"] == pytest.approx(pos.quantity)
    assert held["stop_loss_ids"] and held["take_profit_ids"]
    moved = [r for r in ailog(home, "w2") if r["node"] == "cycle.manage"]
    assert moved and "found on the exchange" in moved[0]["explanation"]
    [d] = decisions(home, "w2")
    assert d.kind == "manage" and d.verdict == "DENIED"
    assert any(x["rule"] == "R00_position_open" for x in d.record["gate"]["reasons"])
    assert len(mock.placements) == placed  # not one order more on WEEX
    [pos2] = mock.vx.positions()
    assert pos2.quantity == pytest.approx(pos.quantity)  # no second entry

    # the first desk restarted (from where its schedule stopped) manages it too
    first_ats = {r["at"] for r in out["reports"]}
    later = run("w1", "--steps", "1")
    [at] = [r["at"] for r in later["reports"]]
    assert at > max(first_ats)
    [d1] = [d for d in decisions(home, "w1") if d.at == at]
    assert d1.kind == "manage" and d1.verdict == "DENIED"
    assert len(mock.placements) == placed
    [pos3] = mock.vx.positions()
    assert pos3.quantity == pytest.approx(pos.quantity)


def test_with_the_ai_log_enabled_the_run_records_reach_weex_without_a_secret(
    home: Path, weex: tuple[MockServer, MockWeex], monkeypatch: pytest.MonkeyPatch
) -> None:
    _server, mock = weex
    monkeypatch.setenv("WEEX_AI_LOG_ENABLED", "true")
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    run("w3", "--start", START, "--steps", "1")
    local = ailog(home, "w3")
    received = list(mock.ai_logs)
    assert len(received) == len(local) > 0
    # uploaded by parallel workers: every record once, in any order
    assert sorted(b["stage"] for b in received) == sorted(r["stage"] for r in local)
    assert any(b.get("orderId") is not None for b in received)  # the entry's WEEX order id
    text = json.dumps(received)
    assert not any(s in text for s in SECRETS)


def test_an_unknown_exchange_or_an_unreachable_weex_is_one_clear_error(
    home: Path, weex: tuple[MockServer, MockWeex], monkeypatch: pytest.MonkeyPatch
) -> None:
    res = runner.invoke(app, ["run", "--exchange", "binance", "--symbols", "BTCUSDT"])
    assert res.exit_code == 2 and "--exchange: 'binance' is not one of virtual, weex" in res.stderr
    res = runner.invoke(app, ["beat", "--exchange", "binance", "--symbols", "BTCUSDT"])
    assert res.exit_code == 2 and "--exchange: 'binance' is not one of virtual, weex" in res.stderr
    monkeypatch.setenv("WEEX_BASE_URL", "http://127.0.0.1:9")  # nothing listens: refused
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    res = runner.invoke(app, ["run", "--exchange", "weex", "--symbols", "BTCUSDT", "--desk",
                              "w4", "--speed", "600", "--start", START, "--steps", "1"])  # fmt: skip
    assert res.exit_code == 3, res.output
    assert "WEEX_BASE_URL" in res.stderr and "Traceback" not in res.output
    assert not any(s in res.output for s in SECRETS)


def test_uploaded_records_name_weex_orders_and_the_version_the_model_server_returned(
    home: Path, weex: tuple[MockServer, MockWeex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a loopback OpenAI server (it answers as ``<model>-loopback-2024-07-18``): every
    uploaded record naming a model carries that version, deterministic steps the package's;
    every record tied to an order carries WEEX's numeric id of it."""
    from auraquant import __version__
    from auraquant.settings import get_settings
    from tests.agents.loopback_llm import serve
    from tests.exchange.weex.kit import check_order_ids

    _server, mock = weex
    llm_key = "sk-loopback-key-5e1f0a9b"
    monkeypatch.setenv("WEEX_AI_LOG_ENABLED", "true")
    monkeypatch.setenv("OPENAI_API_KEY", llm_key)
    with serve("openai") as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        get_settings.cache_clear()
        run("w5", "--start", START, "--steps", "3", "--model", "openai:gpt-4o-mini")
        assert llm.calls > 0
    bodies = list(mock.ai_logs)
    local = ailog(home, "w5")
    assert len(bodies) == len(local) > 0

    served = "openai:gpt-4o-mini-loopback-2024-07-18"
    calls = [b for b in bodies if b["input"]["record"]["node"].endswith(".llm_call")]
    assert calls and {b["model"] for b in calls} == {served}
    models = {m for b in bodies for m in b["model"].split(",")}
    assert "openai:gpt-4o-mini" not in models  # never the configured name alone
    assert {m for m in models if m.startswith("openai:")} == {served}
    local_models = models - {served}
    assert local_models and all(m.endswith(f"@auraquant-{__version__}") for m in local_models)

    tied = check_order_ids(bodies, mock.known_orders())
    nodes = [b["input"]["record"]["node"] for b in tied]
    assert "cycle.enter" in nodes, nodes  # the entry the desk placed on WEEX
    cycle = ("cycle.enter", "cycle.manage", "cycle.exit", "cycle.reconcile")
    for b in bodies:
        if b["input"]["record"]["node"] in cycle:
            assert b["orderId"] is not None, b["explanation"]
    [enter] = [b for b in tied if b["input"]["record"]["node"] == "cycle.enter"]
    entry = mock.known_orders()[str(enter["orderId"])]
    assert entry["type"] in (1, 2) and not entry["plan"]  # an opening order
    assert llm_key not in json.dumps(bodies)


def test_a_position_held_longer_than_weex_max_hold_is_closed_by_a_close_order(
    home: Path, weex: tuple[MockServer, MockWeex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``WEEX_MAX_HOLD_S``: before a step, a position on WEEX older than it is closed with a
    type 3/4 market order (the competition's close), and the upkeep record names that order."""
    from auraquant.settings import get_settings

    _server, mock = weex
    monkeypatch.setenv("WEEX_MAX_HOLD_S", "1")
    get_settings.cache_clear()
    assert get_settings().weex_max_hold_s == 1.0
    run("w6", "--start", START, "--steps", "4")
    known = mock.known_orders()
    closes = {wid: o for wid, o in known.items() if (o["client_oid"] or "").startswith("aqc")}
    assert closes, "no close order reached WEEX"
    assert all(o["type"] in (3, 4) and not o["plan"] for o in closes.values())
    upkeep = [r for r in ailog(home, "w6") if r["node"] == "venue.upkeep"]
    held = [r for r in upkeep if r["output"]["action"] == "max_hold"]
    assert held and all(r["orderId"] in closes for r in held), upkeep
    assert all(r["symbol"] == "BTCUSDT" and r["stage"] == "MANAGE" for r in held)


def test_a_bad_weex_max_hold_is_one_clear_error(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auraquant.settings import get_settings

    monkeypatch.setenv("WEEX_MAX_HOLD_S", "-5")
    get_settings.cache_clear()
    res = runner.invoke(app, ["run", "--exchange", "weex", "--symbols", "BTCUSDT"])
    get_settings.cache_clear()
    assert res.exit_code == 2, res.output
    assert "WEEX_MAX_HOLD_S" in res.stderr and "-5" in res.stderr
    assert "Traceback" not in res.output


def test_status_of_a_weex_desk_reads_weex_and_the_ledger(
    home: Path, weex: tuple[MockServer, MockWeex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``auraquant status --desk`` of a desk scheduled on WEEX: positions, open orders (the
    TP/SL plan orders with their roles) and equity as WEEX reports them; the breaker and the
    last decisions from the ledger; WEEX unreachable or a bad --exchange: one clear error."""
    _server, mock = weex
    run("w7", "--start", START, "--steps", "2")
    res = runner.invoke(app, ["status", "--desk", "w7", "--json"])
    assert res.exit_code == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["exchange"].startswith("weex (http://127.0.0.1:")
    [pos] = mock.vx.positions()
    assert [(p["symbol"], p["quantity"]) for p in s["positions"]] == [("BTCUSDT", pos.quantity)]
    assert s["positions"][0]["entry_price"] == pytest.approx(pos.entry_price, rel=1e-6)
    assert s["equity"] == pytest.approx(mock.vx.balance().equity, abs=0.01)
    known = mock.known_orders()
    working = {r["order_id"] for r in mock.current({}) + mock.current_plan({})}
    assert working and {o["id"] for o in s["open_orders"]} == working
    roles = {o["role"] for o in s["open_orders"]}
    assert {"stop_loss", "take_profit"} <= roles  # the plan (TP/SL) orders, named
    sl = next(o for o in s["open_orders"] if o["role"] == "stop_loss")
    assert known[sl["id"]]["plan"] and sl["trigger_price"]
    ledger = decisions(home, "w7")
    assert [d["id"] for d in s["decisions"]] == [d.id for d in reversed(ledger)]
    assert s["breaker"] and "consecutive_losses" in s["breaker"]
    assert s["cycles"] == {"BTCUSDT": "MANAGE"}  # the ledger's desk state: holding it
    text = runner.invoke(app, ["status", "--desk", "w7"])
    assert text.exit_code == 0 and "stop_loss" in text.stdout and "BTCUSDT" in text.stdout
    assert not any(x in res.stdout + text.stdout for x in SECRETS)

    bad = runner.invoke(app, ["status", "--desk", "w7", "--exchange", "binance"])
    assert bad.exit_code == 2 and "--exchange: 'binance' is not one of virtual, weex" in bad.stderr
    monkeypatch.setenv("WEEX_BASE_URL", "http://127.0.0.1:9")
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    down = runner.invoke(app, ["status", "--desk", "w7"])
    assert down.exit_code == 3, down.output
    assert "WEEX_BASE_URL" in down.stderr and "Traceback" not in down.output
    assert not any(x in down.output for x in SECRETS)
