"""`auraquant view` without a browser: the pure pieces (rule order, interrupt resolution, links,
charts, thinning) and the pages written for a hand-made meeting run and replay run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.view import ViewError, run_kind, write_view
from auraquant.view.html import link_or_text, num, rule_order
from auraquant.view.meeting import render_meeting_page, resolution_text
from auraquant.view.replay import MARKED_TRADES, trades_chart
from auraquant.view.svg import Chart, Series, render, thin
from tests.auraquant.test_meeting_view import _meeting

runner = CliRunner()


def test_gate_rules_sort_r00_first_then_by_number() -> None:
    recorded = ["R05_entry_interval", "R14_entry_price", "R15_price_tick", "R06_stop_side",
                "R00_position_open", "R10_size_from_risk", "R01_symbol_allowed", "M01_close"]  # fmt: skip
    assert sorted(recorded, key=rule_order) == [
        "R00_position_open", "R01_symbol_allowed", "R05_entry_interval", "R06_stop_side",
        "R10_size_from_risk", "R14_entry_price", "R15_price_tick", "M01_close",
    ]  # fmt: skip


def test_a_revision_is_said_once() -> None:
    i = {"outcome": "revised", "resolution": "Revised: stop 1.5 ATR away at 28917.9.",
         "revised_turn": "technical_analyst#2"}  # fmt: skip
    assert resolution_text(i) == "revised → technical_analyst#2: stop 1.5 ATR away at 28917.9."
    assert resolution_text({"outcome": "answered", "resolution": "trend dominates"}) == (
        "answered: trend dominates"
    )
    assert resolution_text({}) == ""


def test_only_http_sources_become_links_and_they_are_escaped() -> None:
    link = link_or_text('https://x.com/a?b="c"&d=<e>')
    assert link.startswith('<a href="https://x.com/a?b=&quot;c&quot;&amp;d=&lt;e&gt;"')
    assert 'rel="noopener noreferrer"' in link
    assert link_or_text("javascript:alert(1)") == "javascript:alert(1)"
    assert link_or_text("candles:BTCUSDT_1m") == "candles:BTCUSDT_1m"


def test_numbers_read_as_numbers() -> None:
    assert num(11004.608324, 4) == "11,005" and num(0.212256, 4) == "0.2123"
    assert num(None) == "—" and num(3) == "3" and num(True) == "True"


def _rich_meeting() -> dict[str, Any]:
    m = _meeting()
    m["memo"]["facts"] = [
        {"id": "news.top_1", "kind": "news", "text": "Headline", "source": "https://ex.com/n"},
        {"id": "tech.rsi_14", "kind": "technical", "text": "RSI 28.5", "source": "candles"},
        {"id": "market.price", "kind": "market", "text": "price 28600", "source": "candles"},
    ]
    m["gate_result"]["reasons"] = [
        {"rule": r, "passed": True, "message": r}
        for r in ("R05_entry_interval", "R14_entry_price", "R00_stale", "R06_stop_side")
    ]
    m["interrupts"][0].update(outcome="revised", resolution="Revised: stop 1.5 ATR away.")
    return m


def test_meeting_page_groups_facts_orders_rules_and_links_news() -> None:
    page = render_meeting_page(_rich_meeting(), "run-1", budget=6)
    kinds = re.findall(r'<h3 class="kind">(\w+)', page)
    assert kinds == ["market", "technical", "news"]
    rules = re.findall(r'<tr class="rule"><td><code>(\w+)</code>', page)
    assert rules == ["R00_stale", "R05_entry_interval", "R06_stop_side", "R14_entry_price"]
    assert '<a href="https://ex.com/n"' in page
    assert "revised Revised" not in page and "revised: stop 1.5 ATR away." in page
    assert "Budget</b>: 1 of 6 interrupt(s) spent" in page
    assert "<script" not in page.replace("&lt;script", "")  # no script on a meeting page
    assert render_meeting_page(_rich_meeting(), "run-1", budget=6) == page


def test_a_chart_with_nothing_to_draw_is_empty_and_thinning_keeps_extremes() -> None:
    assert render(Chart(series=[Series("x", "#000", [])])) == ""
    pts = [(float(i), float((i * 7919) % 1000)) for i in range(10_000)]
    few = thin(pts, 1500)
    assert len(few) <= 1500 * 1.1 and few[0] == pts[0]
    assert max(v for _, v in few) == 999.0 and min(v for _, v in few) == 0.0
    svg = render(Chart(series=[Series("x", "#000", few)]))
    assert svg.count("<polyline") == 1 and "NaN" not in svg


def test_a_thousand_trades_are_thinned_not_smeared() -> None:
    t0 = 1_680_307_200  # 2023-04-01
    trades = [
        {"trade_id": i, "side": "LONG" if i % 2 else "SHORT", "entry_ts": t0 + i * 3600,
         "entry_price": 100.0 + i % 7, "exit_ts": t0 + i * 3600 + 1800,
         "exit_price": 100.0 + i % 5, "net_pnl": float(i % 11 - 5), "exit_reason": "stop_loss"}
        for i in range(1000)
    ]  # fmt: skip
    html = trades_chart("BTCUSDT", [(float(t0 + i * 900), 100.0) for i in range(4000)], trades)
    assert html.count('class="mark"') == MARKED_TRADES
    assert f"showing the {MARKED_TRADES} largest of 1000 trades by |PnL|" in html
    # the ones kept are the largest by |PnL|: |−5| and |5|
    kept = [int(x) for x in re.findall(r"<title>#(\d+) ", html)]
    assert all(abs(trades[i]["net_pnl"]) >= 4 for i in kept)
    # and every trade is still counted, per period, in the strip under the chart
    assert 'id="trades-density-BTCUSDT"' in html
    counts = re.findall(r"(\d+) trade\(s\), (\d+) won, (\d+) lost</title>", html)
    assert sum(int(n) for n, _, _ in counts) == 1000
    assert sum(int(w) for _, w, _ in counts) == sum(1 for t in trades if t["net_pnl"] > 0)
    small = trades_chart("BTCUSDT", [], trades[:10])
    assert "trades-density" not in small and small.count('class="mark"') == 10


def test_write_view_of_a_meeting_run(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "meet-X"
    run.mkdir(parents=True)
    (run / "journal.json").write_text(json.dumps({"meetings": [_rich_meeting()]}))
    (run / "execution.json").write_text(json.dumps({"status": "FILLED", "entry_status": "FILLED",
        "fills": [{"id": "F-9", "side": "SELL", "quantity": 0.1, "price": 28590.0, "fee": 1.7,
                   "ts": "2023-04-20T12:00:00Z"}]}))  # fmt: skip
    assert run_kind(run) == "meeting"
    out = write_view(run, store=tmp_path / "no-store")
    page = out.read_text()
    assert out == run / "index.html" and "Execution: FILLED" in page and "F-9" in page
    assert "O-000001" in page  # kept from the journal's execution
    assert "No stored candles around the meeting" in page


def _replay_run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "replay-abc"
    run.mkdir(parents=True)
    steps = ["2023-04-10T00:00:00Z", "2023-04-10T04:00:00Z"]
    line = {"return_pct": 1.0, "sharpe": 2.0, "trades": 1, "final_equity": 10100.0}
    report = {
        "config": {"desk": "replay", "symbols": ["BTCUSDT"], "every": "4h", "initial": 10000.0},
        "first_step": steps[0], "last_step": steps[1], "steps": 2,
        "equity": {k: dict(zip(steps, [10000.0, 10100.0], strict=True))
                   for k in ("desk", "desk_no_debate", "buy_and_hold", "sma_cross")},
        "results": {k: line for k in ("desk", "desk_no_debate", "buy_and_hold", "sma_cross")},
        "debate_pays": {"return_pct": 0.0, "sharpe": 0.0},
        "trades": {"BTCUSDT": [{"trade_id": 1, "side": "LONG", "entry_ts": steps[0],
                                "entry_price": 28000.0, "exit_ts": steps[1], "exit_price": 28300.0,
                                "net_pnl": 40.0, "exit_reason": "take_profit", "quantity": 0.1}]},
    }  # fmt: skip
    rec = {"decision": _meeting()["decision"], "gate": _meeting()["gate_result"],
           "execution": {"status": "PLACED", "entry_order_id": "O-1", "entry_price": 28000.0,
                         "stop_loss_price": 27800.0, "take_profit_price": 28300.0},
           "stances": {"market_analyst": {"stance": "LONG", "confidence": 0.6}},
           "interrupts": [{"by": "risk_manager", "kind": "clarify", "status": "resolved"}],
           "ended_by": "convergence"}  # fmt: skip
    decisions = [
        {"id": f"{desk}:<run>:BTCUSDT-20230410T000000Z", "desk": desk, "at": steps[0],
         "symbol": "BTCUSDT", "action": "LONG", "confidence": 0.61, "verdict": "APPROVED",
         "status": "PLACED", "kind": "entry", "meeting_id": "BTCUSDT-20230410T000000Z",
         "record": rec}
        for desk in ("replay", "replay.no_debate")
    ]  # fmt: skip
    ledger = {"decisions": decisions, "fills": [
        {"decision_id": "replay:<run>:BTCUSDT-20230410T000000Z", "fill_id": "F-1", "side": "BUY",
         "quantity": 0.1, "price": 28001.0, "fee": 1.0, "ts": steps[0]}]}  # fmt: skip
    review = {"run_id": "replay-abc", "weights_horizon": "1d", "outcomes": {
        "replay:replay-abc:BTCUSDT-20230410T000000Z": {"1d": {
            "return_pct": 1.25, "direction_right": True, "first_hit": "take_profit"}}}}  # fmt: skip
    for name, obj in (("report", report), ("ledger", ledger), ("review", review)):
        (run / f"{name}.json").write_text(json.dumps(obj))
    return run


def test_write_view_of_a_replay_run(tmp_path: Path) -> None:
    run = _replay_run(tmp_path)
    assert run_kind(run) == "replay"
    page = write_view(run, store=tmp_path / "no-store").read_text()
    assert page.count("<tr data-symbol=") == 1  # the desk's meetings, not the ablation's
    assert 'href="meetings/BTCUSDT-20230410T000000Z.html"' in page
    assert "+1.25 % · take-profit" in page and ">40<" in page  # outcome and the trade's PnL
    assert page.count('class="series"') == 4  # no price stored: only the equity lines
    assert "No stored BTCUSDT candles to draw." in page
    assert 'id="ablation"' in page and "<script>" in page and "src=" not in page
    detail = (run / "meetings" / "BTCUSDT-20230410T000000Z.html").read_text()
    assert 'href="../index.html#meetings-h"' in detail and "F-1" in detail
    assert "take_profit" in detail and "27,800" in detail  # the outcome; the stop's price
    assert "Trade</h2><p>LONG 0.1 from 2023-04-10T00:00:00Z @ 28,000" in detail


def test_a_replay_meeting_page_shows_the_debate_from_the_ai_log(tmp_path: Path) -> None:
    run = _replay_run(tmp_path)
    turn = {
        "id": "market_analyst#1",
        "role": "market_analyst",
        "stance": "LONG",
        "confidence": 0.6,
        "argument": "news up",
        "evidence": ["news.bias"],
    }
    interrupt = {
        "id": "i1",
        "kind": "clarify",
        "by": "risk_manager",
        "target": "market_analyst#1",
        "text": "how much is news?",
        "status": "resolved",
        "outcome": "answered",
        "resolution": "half",
        "evidence": ["news.bias"],
    }
    at = {"symbol": "BTCUSDT", "at": "2023-04-10T00:00:00Z"}
    log = [
        {**at, "seq": 1, "stage": "SCAN", "node": "open", "output": {"facts": {"news.bias": 0.1}}},
        {**at, "seq": 2, "stage": "SCAN", "node": "market_analyst", "output": turn},
        {**at, "seq": 3, "stage": "QUALIFY", "node": "resolve",
         "output": {"interrupts": [interrupt], "revised_turns": []}},
        {"symbol": "ETHUSDT", "at": at["at"], "seq": 4, "stage": "SCAN", "node": "open",
         "output": {"facts": {"other.fact": 1}}},
    ]  # fmt: skip
    (run / "ailog.ndjson").write_text("".join(json.dumps(r) + "\n" for r in log) + "{torn")
    write_view(run, store=tmp_path / "no-store")
    detail = (run / "meetings" / "BTCUSDT-20230410T000000Z.html").read_text()
    assert 'id="turn-market_analyst#1"' in detail and "how much is news?" in detail
    assert 'href="#fact-news.bias"' in detail and 'id="fact-news.bias"' in detail
    assert "answered: half" in detail and "other.fact" not in detail  # ETHUSDT's is not here
    assert detail.count('<tr class="stage">') == 2


def test_view_cli_errors_are_one_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["view", str(tmp_path / "nope")])
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.strip() == f"error: RUN_DIR: {tmp_path / 'nope'} is not a directory"
    res = runner.invoke(app, ["view", str(tmp_path)])
    assert res.exit_code == 2 and "has neither journal.json" in res.stderr
    (tmp_path / "journal.json").write_text("{not json")
    res = runner.invoke(app, ["view", str(tmp_path)])
    assert res.exit_code == 2 and "journal.json: not valid JSON" in res.stderr
    assert "Traceback" not in res.stderr
    try:
        run_kind(tmp_path / "nope")
    except ViewError as exc:
        assert "RUN_DIR" in str(exc)
    else:
        raise AssertionError("no error for a missing run dir")


def test_view_cli_writes_the_index(tmp_path: Path) -> None:
    run = _replay_run(tmp_path)
    res = runner.invoke(app, ["view", str(run)])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == f"view: {run / 'index.html'}"
    assert (run / "index.html").exists()
