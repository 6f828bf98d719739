"""Every command that prints a table reads at 80 columns, set by COLUMNS or as piped output
(no COLUMNS, not a terminal): no line is wider, nothing is cut with an ellipsis, and the ids,
statuses, prices (on the tick) and counts the command's own ``--json`` reports appear whole.

The commands run in-process (CliRunner) on the real data: a meeting on the default desk, the
exchange advanced past it, a replay with its review, a backtest, the news pipeline's alerts and
`weex check` against the loopback WEEX.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.cli.tables import price_text, time_text

pytestmark = pytest.mark.data
runner = CliRunner()
AT = "2023-04-20T12:00:00Z"
AFTER = "2023-04-20T20:00:00Z"
REPLAY = ["--symbols", "BTCUSDT,ADAUSDT", "--start", "2023-04-17T00:00:00Z",
          "--end", "2023-04-18T00:00:00Z", "--every", "4h", "--workers", "1"]  # fmt: skip
MODES = {"COLUMNS=80": {"COLUMNS": "80"}, "piped": {"COLUMNS": None}}


@dataclass
class World:
    """The homes the commands run in, and what was made there."""

    desk: Path  # the real store, a meeting on the default desk, the exchange advanced, a replay
    news: Path  # its own store: the news pipeline's alerts
    scratch: Path  # an empty home for `data import`
    data: Path
    replay_id: str
    decision_id: str
    weex_url: str


def invoke(home: Path, args: list[str], env: dict[str, str | None] | None = None) -> Any:
    env = {"AURAQUANT_HOME": str(home), "AURAQUANT_DATA": None, **(env or {"COLUMNS": "200"})}
    res = runner.invoke(app, args, env=env)
    assert res.exit_code == 0, (args, res.stdout, res.stderr)
    return res


def as_json(home: Path, args: list[str]) -> Any:
    return json.loads(invoke(home, [*args, "--json"]).stdout)


@pytest.fixture(scope="module")
def world(
    real_store: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    from auraquant.cli.weex import DEMO_KEY, DEMO_PASSPHRASE, DEMO_SECRET
    from exchange.weex.mock.app import MockServer
    from exchange.weex.mock.config import Account, MockConfig
    from exchange.weex.mock.engine import MockWeex, bars_from_frame
    from tools.candles import load_candles

    root = tmp_path_factory.mktemp("tables")
    desk, news, scratch = root / "desk", root / "news", root / "scratch"
    for h in (desk, news, scratch):
        h.mkdir()
    (desk / "store").symlink_to(real_store)  # read-only: nothing here writes to the store
    invoke(desk, ["meet", "BTCUSDT", "--at", AT])
    invoke(desk, ["exchange", "advance", "--symbol", "BTCUSDT", "--to", AFTER])
    invoke(desk, ["replay", *REPLAY, "--run-id", "tables-replay"])
    invoke(desk, ["review", "tables-replay"])
    ledger = json.loads((desk / "runs" / "tables-replay" / "ledger.json").read_text())
    placed = [d for d in ledger["decisions"] if d["status"] != "NOTHING" and d["desk"] == "replay"]
    decision_id = str(placed[0]["id"]).replace("<run>", "tables-replay")
    invoke(news, ["news", "run", "--replay", str(shared_data / "news"), "--limit", "12",
                  "--threshold", "0", "--notify", "none"])  # fmt: skip
    t0 = pd.Timestamp(AT)
    bars = load_candles("BTCUSDT", "1m", t0, t0 + pd.Timedelta(hours=1), store=real_store)
    account = Account(api_key=DEMO_KEY, secret=DEMO_SECRET, passphrase=DEMO_PASSPHRASE)
    mock = MockWeex(MockConfig(accounts=[account]), {"cmt_btcusdt": bars_from_frame(bars)})
    with MockServer(mock) as server:
        yield World(desk, news, scratch, shared_data, "tables-replay", decision_id, server.url)


@dataclass(frozen=True)
class Case:
    """A command, the home it runs in, and the cells that must appear whole in its output."""

    name: str
    home: str
    argv: Callable[[World, str], list[str]]
    whole: Callable[[World], set[str]]


def _exchange_orders(w: World) -> set[str]:
    orders = as_json(w.desk, ["exchange", "order", "list", "--all"])["orders"]
    out = {o["id"] for o in orders} | {o["status"] for o in orders}
    out |= {o["request"]["type"] for o in orders} | {o["request"]["symbol"] for o in orders}
    for o in orders:
        r = o["request"]
        out |= {price_text(r[k], r["symbol"]) for k in ("price", "trigger_price") if r[k]}
    return out


def _exchange_fills(w: World) -> set[str]:
    fills = as_json(w.desk, ["exchange", "fills"])["fills"]
    assert fills, "the meeting's entry filled"
    return (
        {f["id"] for f in fills}
        | {f["order_id"] for f in fills}
        | {price_text(f["price"], f["symbol"]) for f in fills}
    )


def _status(w: World) -> set[str]:
    s = as_json(w.desk, ["status"])
    out = {d["verdict"] for d in s["decisions"]} | {d["status"] for d in s["decisions"]}
    out |= {o["id"] for o in s["open_orders"]}
    return out | {price_text(p["entry_price"], p["symbol"]) for p in s["positions"]}


def _meet(w: World) -> set[str]:
    m = as_json(w.desk, ["meet", "BTCUSDT", "--at", AT, "--desk", f"json-{uuid.uuid4().hex[:8]}"])
    out = {r["rule"] for r in m["gate"]["reasons"]}
    d = m["decision"]
    out |= {price_text(d[k], "BTCUSDT") for k in ("entry", "stop_loss", "take_profit")}
    ex = m["execution"]
    out |= {ex[f"{k}_order_id"] for k in ("entry", "stop_loss", "take_profit")}
    return out | {f["id"] for f in ex["fills"]} | {ex["status"]}


def _replay(w: World) -> set[str]:
    report = json.loads((w.desk / "runs" / w.replay_id / "report.json").read_text())
    return {"desk", "no debate", "hold strategy", "SMA cross"} | {
        str(m["trades"]) for m in report["results"].values()
    }


def _review(w: World) -> set[str]:
    r = as_json(w.desk, ["review", w.replay_id])
    return set(r["seats"][r["weights_horizon"]]) | {str(c["n"]) for c in r["calibration"].values()}


def _review_show(w: World) -> set[str]:
    chain = as_json(w.desk, ["review", "show", w.decision_id])
    sym = chain["symbol"]
    out = {f["fill_id"] for f in chain["fills"]} | {
        price_text(f["price"], sym) for f in chain["fills"]
    }
    d = chain["decision"]
    return out | {price_text(d[k], sym) for k in ("stop_loss", "take_profit") if d.get(k)}


def _data_ls(w: World) -> set[str]:
    ls = as_json(w.desk, ["data", "ls"])
    short = [time_text(c[k]) for c in ls["candles"] for k in ("first", "last")]
    return (
        {c["symbol"] for c in ls["candles"]} | {f"{c['rows']:,}" for c in ls["candles"]} | {*short}
    )


def _memo(w: World) -> set[str]:
    memo = as_json(w.desk, ["memo", "BTCUSDT", "--at", AT])
    return {f["id"] for f in memo["facts"]}


def _alerts(w: World) -> set[str]:
    alerts = as_json(w.news, ["alerts", "last", "5"])["alerts"]
    assert len(alerts) == 5
    return {a["symbol"] for a in alerts} | {f"{a['latency_seconds'] * 1000:.0f} ms" for a in alerts}


def _weex_env(w: World) -> dict[str, str | None]:
    from auraquant.cli.weex import DEMO_KEY, DEMO_PASSPHRASE, DEMO_SECRET

    return {"WEEX_BASE_URL": w.weex_url, "WEEX_API_KEY": DEMO_KEY, "WEEX_API_SECRET": DEMO_SECRET,
            "WEEX_API_PASSPHRASE": DEMO_PASSPHRASE}  # fmt: skip


CASES = [
    Case("data ls", "desk", lambda w, m: ["data", "ls"], _data_ls),
    Case(
        "data import",
        "scratch",
        lambda w, m: ["data", "import", str(w.data / "candles" / "LTCUSDT_5m.csv.gz")],
        lambda w: {"LTCUSDT 5m", "8,639", "2023-04-01 21:05", "2023-05-01 20:55"},
    ),
    Case("memo", "desk", lambda w, m: ["memo", "BTCUSDT", "--at", AT], _memo),
    Case("meet", "desk", lambda w, m: ["meet", "BTCUSDT", "--at", AT, "--desk", f"t-{m}"], _meet),
    Case(
        "exchange order list",
        "desk",
        lambda w, m: ["exchange", "order", "list", "--all"],
        _exchange_orders,
    ),
    Case("exchange fills", "desk", lambda w, m: ["exchange", "fills"], _exchange_fills),
    Case(
        "exchange positions",
        "desk",
        lambda w, m: ["exchange", "positions"],
        lambda w: {"symbol", "liq. price", "uPnL"},
    ),
    Case(
        "exchange balance",
        "desk",
        lambda w, m: ["exchange", "balance"],
        lambda w: {
            f"{v:.2f}"
            for v in as_json(w.desk, ["exchange", "balance"])["balance"].values()
            if isinstance(v, float)
        },
    ),
    Case("status", "desk", lambda w, m: ["status"], _status),
    Case("replay", "desk", lambda w, m: ["replay", *REPLAY], _replay),
    Case("review", "desk", lambda w, m: ["review", w.replay_id], _review),
    Case("review show", "desk", lambda w, m: ["review", "show", w.decision_id], _review_show),
    Case(
        "backtest",
        "desk",
        lambda w, m: [
            "backtest",
            "--strategy",
            "buy_and_hold",
            "--symbol",
            "ETHUSDT",
            "--start",
            "2023-04-03T00:00:00Z",
            "--end",
            "2023-04-06T00:00:00Z",
        ],
        lambda w: {"total_return_pct", "hold benchmark return_pct"},
    ),
    Case("alerts last", "news", lambda w, m: ["alerts", "last", "5"], _alerts),
    Case(
        "weex check",
        "desk",
        lambda w, m: ["weex", "check"],
        lambda w: {"cmt_btcusdt", "none (check is dry)", "8 listed; competition pairs: 8/8"},
    ),
]


def run_case(w: World, case: Case, mode: str) -> str:
    env = dict(MODES[mode])
    if case.name == "weex check":
        env |= _weex_env(w)
    home = getattr(w, case.home)
    argv = case.argv(w, re.sub(r"\W", "", mode))
    return str(invoke(home, argv, env).stdout)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_table_reads_at_80_columns(world: World, case: Case, mode: str) -> None:
    out = run_case(world, case, mode)
    wide = [ln for ln in out.splitlines() if cell_len(ln) > 80]
    assert not wide, f"{case.name}: {len(wide)} lines wider than 80:\n" + "\n".join(wide)
    assert "…" not in out, f"{case.name}: a cell was cut:\n{out}"
    missing = sorted(t for t in case.whole(world) if t not in out)
    assert not missing, f"{case.name}: not whole in the output: {missing}\n{out}"


def test_wide_adds_the_columns_that_do_not_fit(world: World) -> None:
    narrow = invoke(world.desk, ["exchange", "order", "list", "--all"], MODES["piped"]).stdout
    wide = invoke(world.desk, ["exchange", "order", "list", "--all", "--wide"], MODES["piped"])
    assert "avg price" not in narrow and "avg price" in wide.stdout and "parent" in wide.stdout
    assert max(cell_len(ln) for ln in wide.stdout.splitlines()) > 80
    status = invoke(world.desk, ["status", "--wide"], MODES["piped"]).stdout
    decisions = as_json(world.desk, ["status"])["decisions"]
    assert decisions and all(d["id"] in status for d in decisions)


def test_prices_print_on_the_instruments_tick() -> None:
    assert price_text(28607.13, "BTCUSDT") == "28607.1"
    assert price_text(0.381234, "ADAUSDT") == "0.3812"
    assert price_text(28607.13, "SYNTH-BTCUSDT") == "28607.1"
    assert price_text(None, "BTCUSDT") == ""


def test_piped_output_is_80_wide_even_from_a_wide_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rich takes a pipe's width from the terminal it started in (stdin); the rule makes it 80."""
    import io
    import os

    from rich.console import Console

    from auraquant.cli.tables import fit_to_output

    monkeypatch.setattr(os, "get_terminal_size", lambda fd=0: os.terminal_size((200, 50)))
    piped = Console(file=io.StringIO(), _environ={})
    assert piped.width == 200  # what Rich alone would do: `auraquant status | less` at 200
    fit_to_output(piped)
    assert piped.width == 80
    told = Console(file=io.StringIO(), _environ={"COLUMNS": "100"})
    fit_to_output(told)
    assert told.width == 100
    terminal = Console(file=io.StringIO(), force_terminal=True, _environ={})
    fit_to_output(terminal)
    assert terminal.width == 200
