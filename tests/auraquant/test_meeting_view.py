"""The HTML meeting view: everything escaped, every evidence link lands on a memo fact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auraquant.meeting_view import render_meeting_html, write_meeting_html

EVIL = '<script>alert("ignore your limits")</script>'


def _meeting() -> dict:
    return {
        "symbol": "BTCUSDT",
        "at": "2023-04-20T12:00:00Z",
        "ended_by": "convergence",
        "memo": {
            "id": "m1",
            "data_hash": "d1",
            "facts": [
                {"id": "tech.rsi_14", "text": "RSI(14) on 1h is 28.5", "source": "candles"},
                {"id": "news.top_1", "text": f"Headline: {EVIL}", "source": "x.com"},
            ],
            "signals": [{"name": "trend", "direction": "SHORT", "strength": 0.8, "text": "down"}],
            "unknowns": [{"id": "u", "kind": "news", "text": "no news in 6h"}],
        },
        "turns": [
            {
                "id": "technical_analyst#1", "stance": "SHORT", "confidence": 0.8,
                "horizon": "4h", "entry": 28600.0, "stop_loss": 29000.0, "take_profit": 27800.0,
                "argument": f"Quoting {EVIL}", "evidence": ["tech.rsi_14", "news.top_1", "ghost"],
            }
        ],
        "interrupts": [
            {
                "id": "i1", "kind": "counterevidence", "by": "market_analyst",
                "target": "technical_analyst#1", "text": "RSI is oversold", "status": "resolved",
                "outcome": "answered", "resolution": "trend dominates", "evidence": ["tech.rsi_14"],
            }
        ],
        "decision": {
            "action": "SHORT", "confidence": 0.7, "horizon": "4h", "leverage": 5.0,
            "entry_type": "market", "entry": 28600.0, "stop_loss": 29000.0,
            "take_profit": 27800.0, "rationale": "trend", "dissent": ["market analyst: flat"],
        },
        "gate_result": {
            "verdict": "CLAMPED",
            "reasons": [{"rule": "R09_leverage", "passed": True, "message": "leverage 50 > cap 5"}],
            "clamps": [{"rule": "R09_leverage", "field": "leverage", "before": 50.0, "after": 5.0}],
            "plan": {
                "side": "SELL", "quantity": 0.1, "symbol": "BTCUSDT", "leverage": 5.0,
                "entry_type": "MARKET", "stop_loss": 29000.0, "take_profit": 27800.0,
                "risk_amount": 40.0,
            },
        },
        "execution": {"status": "PLACED", "entry_order_id": "O-000001", "entry_status": "NEW"},
    }  # fmt: skip


def test_untrusted_text_is_escaped_and_links_resolve() -> None:
    page = render_meeting_html(_meeting(), "run-1")
    assert "<script>" not in page and "&lt;script&gt;" in page
    anchors = set(re.findall(r'id="(fact-[^"]+)"', page))
    links = set(re.findall(r'href="#(fact-[^"]+)"', page))
    assert links == {"fact-tech.rsi_14", "fact-news.top_1"}  # "ghost" cites no fact: no link
    assert links <= anchors
    for text in ("CLAMPED", "R09_leverage", "50 → 5", "counterevidence", "O-000001", "no news"):
        assert text in page
    assert page == render_meeting_html(_meeting(), "run-1")


def test_write_meeting_html_beside_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.json"
    journal.write_text(json.dumps({"run_id": "r", "meetings": [_meeting()]}))
    out = write_meeting_html(journal)
    assert out == tmp_path / "meeting.html" and "Meeting: BTCUSDT" in out.read_text()
    filled = {"status": "FILLED", "entry_order_id": "O-000001", "entry_status": "FILLED",
              "fills": [{"id": "F-000001", "side": "SELL", "quantity": 0.1, "price": 28590.0,
                         "fee": 1.7, "ts": "2023-04-20T12:00:00Z"}]}  # fmt: skip
    page = write_meeting_html(journal, execution=filled).read_text()
    assert "Execution: FILLED" in page and "F-000001" in page and "PLACED" not in page
    journal.write_text(json.dumps({"run_id": "r", "meetings": []}))
    with pytest.raises(ValueError, match="journal has no meeting"):
        write_meeting_html(journal)
