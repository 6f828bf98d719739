"""A meeting on a shared virtual exchange: the clock, funding and the stale-price guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agents.offline import OfflineChatModel, policy_responder
from exchange.types import OrderRequest, OrderType, Side
from exchange.virtual import VirtualExchange
from graph.ailog import read_ailog
from memos.builder import build_memo
from memos.market import MarketData
from memos.models import U_STALE, Unknown
from tests.graph.conftest import DAY

pytestmark = pytest.mark.data

SYM = "SOLUSDT"
AT = f"{DAY}T12:00:00Z"  # the offline desk goes SHORT on SOL here


def _feed_until(ex: VirtualExchange, market: MarketData, until: str) -> None:
    """Feed the stored 1m bars of the day that open before ``until``."""
    base = market.base(SYM)
    assert base.timeframe == "1m"
    frame = pd.DataFrame(
        {"open": base.open, "high": base.high, "low": base.low, "close": base.close,
         "volume": base.volume},
        index=pd.to_datetime(base.ts, utc=True),
    )  # fmt: skip
    ex.feed(
        SYM, frame.loc[pd.Timestamp(f"{DAY}T00:00:00Z") : pd.Timestamp(until) - pd.Timedelta("1ns")]
    )


def _records(run_dir: str) -> dict[str, dict[str, Any]]:
    return {r["node"]: r for r in read_ailog(Path(run_dir) / "ailog.ndjson")}


def test_funding_is_settled_before_the_gate_reads_the_account(
    real_market: MarketData, meet: Any
) -> None:
    """A long opened at 15:00 on a shared exchange; the 17:00 meeting first settles 16:00's
    funding (the old sync swallowed mark_bar's refusal and left the account stale)."""
    ex = VirtualExchange()
    _feed_until(ex, real_market, f"{DAY}T15:00:00Z")
    ex.place(OrderRequest(symbol=SYM, side=Side.BUY, type=OrderType.MARKET, quantity=10.0))
    base = real_market.base(SYM)
    i = int((base.ts == pd.Timestamp(f"{DAY}T15:00:00Z").value).nonzero()[0][0])
    ex.on_bar(SYM, int(base.ts[i]), base.open[i], base.high[i], base.low[i], base.close[i])
    [pos] = ex.positions()
    wallet_before = ex.balance().wallet

    r = meet(SYM, f"{DAY}T17:00:00Z", {"run_id": "funding", "journal": False}, exchange=ex)

    [pay] = ex.funding_payments(SYM)
    j = int((base.ts == pd.Timestamp(f"{DAY}T16:00:00Z").value).nonzero()[0][0])
    assert pay.amount == pytest.approx(-pos.quantity * base.open[j] * 0.0001)
    assert ex.balance().wallet == pytest.approx(wallet_before + pay.amount, abs=1e-9)
    recs = _records(r.run_dir)
    assert recs["open"]["output"]["exchange_sync"]["status"] == "synced"
    mark = float(base.close[base.closed(pd.Timestamp(f"{DAY}T17:00:00Z").value) - 1])
    equity = wallet_before + pay.amount + pos.quantity * (mark - pos.entry_price)
    assert recs["gate"]["input"]["account"]["equity"] == pytest.approx(equity, abs=1e-6)


def test_an_exchange_past_the_meeting_places_nothing_and_the_log_says_why(
    real_market: MarketData, meet: Any
) -> None:
    ex = VirtualExchange()
    _feed_until(ex, real_market, f"{DAY}T12:30:00Z")
    before = ex.state_dict()

    r = meet(SYM, AT, {"run_id": "past", "journal": False}, exchange=ex)

    note = (
        "exchange clock 2023-04-19T12:30:00Z is past the meeting time 2023-04-19T12:00:00Z; "
        "an order now would land in the exchange's future"
    )
    assert r.status == "done" and r.decision["action"] == "SHORT"  # the desk wanted to trade
    assert r.gate["verdict"] == "DENIED"
    assert {"rule": "R00_clock", "message": note, "passed": False} in r.gate["reasons"]
    assert r.execution["status"] == "NOT_EXECUTED" and r.execution["entry_order_id"] is None
    assert ex.state_dict() == before and not ex.orders()  # nothing placed, clock not moved
    recs = _records(r.run_dir)
    assert recs["open"]["output"]["exchange_sync"]["status"] == "past"
    assert note in recs["open"]["explanation"] and note in recs["gate"]["explanation"]
    assert recs["execute"]["output"]["exchange_sync"]["note"] == note
    assert recs["execute"]["orderId"] is None


def test_a_stale_memo_is_denied_before_the_gate_sizes_anything(meet: Any) -> None:
    def stale_memo(symbol: str, at: pd.Timestamp, **kw: Any) -> Any:
        memo = build_memo(symbol, at, **kw)
        stale = Unknown(id=U_STALE, kind="stale", text="latest bar closed 3h before the meeting")
        return memo.model_copy(update={"unknowns": [*memo.unknowns, stale]})

    r = meet(SYM, AT, {"run_id": "stale", "journal": False}, memo_builder=stale_memo)

    # the Risk Manager stands aside on the stale data itself, citing it; the CTO returns FLAT
    [risk] = [t for t in r.turns if t["role"] == "risk_manager"]
    assert "stand_aside=1" in risk["argument"] and U_STALE in risk["evidence"]
    assert r.decision["action"] == "FLAT" and "stale data" in r.decision["rationale"]
    assert r.execution["status"] == "NOT_EXECUTED"


def test_a_stale_memo_is_denied_by_the_gate_even_when_the_desk_wants_to_trade(meet: Any) -> None:
    """The gate keeps R00 as a guard: a chair that ignores the Risk Manager is still stopped."""

    def stale_memo(symbol: str, at: pd.Timestamp, **kw: Any) -> Any:
        memo = build_memo(symbol, at, **kw)
        stale = Unknown(id=U_STALE, kind="stale", text="latest bar closed 3h before the meeting")
        return memo.model_copy(update={"unknowns": [*memo.unknowns, stale]})

    r = meet(SYM, AT, {"run_id": "stale", "journal": False}, memo_builder=stale_memo,
             chat_models={"cto": _deaf_chair()})  # fmt: skip

    assert r.decision["action"] == "SHORT"  # the desk still wanted to trade
    assert r.gate["verdict"] == "DENIED" and r.gate["plan"] is None
    [reason] = [x for x in r.gate["reasons"] if x["rule"] == "R00_market"]
    assert reason["message"] == (
        f"stale data in memo {r.memo['id']} (latest bar closed 3h before the meeting); "
        "no order is sized on a stale price"
    )
    assert r.execution["status"] == "NOT_EXECUTED"


def test_an_exchange_that_moved_past_the_meeting_after_the_gate_gets_no_order(
    real_market: MarketData, meet: Any
) -> None:
    """The gate approved on time, then the shared exchange moved on before execution."""
    from graph.context import MeetingContext
    from graph.nodes import execute
    from graph.services import MeetingServices

    approved = meet(SYM, AT, {"run_id": "ontime", "journal": False}, exchange=VirtualExchange())
    assert approved.gate["verdict"] in {"APPROVED", "CLAMPED"} and approved.gate["plan"]
    ex = VirtualExchange()
    _feed_until(ex, real_market, f"{DAY}T12:05:00Z")
    state: Any = {
        "symbol": SYM, "at": AT, "run_id": "late", "meeting_id": approved.meeting_id,
        "gate": approved.gate,
    }  # fmt: skip
    step = execute(
        state, MeetingContext(journal=False), MeetingServices(market=real_market, exchange=ex)
    )
    assert step.order_id is None and not ex.orders()
    assert step.update["execution"]["status"] == "NOT_EXECUTED"
    assert step.update["execution"]["note"] == (
        "not executed: exchange clock 2023-04-19T12:05:00Z is past the meeting time "
        "2023-04-19T12:00:00Z; an order now would land in the exchange's future"
    )
    assert step.output["exchange_sync"]["status"] == "past"


def _deaf_chair() -> OfflineChatModel:
    """A CTO that does not hear the Risk Manager's stand-aside (it reads every prompt with the
    stand-aside lifted): the gate must stop its trade on its own."""

    def respond(messages: list[Any], tools: list[dict[str, Any]], choice: Any) -> Any:
        deaf = [
            m.model_copy(
                update={"content": str(m.content).replace("stand_aside=1", "stand_aside=0")}
            )
            for m in messages
        ]
        return policy_responder(deaf, tools, choice)

    return OfflineChatModel(responder=respond)
