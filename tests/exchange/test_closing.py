"""Managing a position through the protocol: close it, or tighten its stop (never loosen)."""

from __future__ import annotations

import pandas as pd

from exchange.closing import close_position, is_tighter, tighten_stop
from exchange.types import OrderRequest, OrderType, Side
from exchange.virtual import VirtualExchange

SYM = "BTCUSDT"
T = pd.Timestamp("2023-04-19T12:00:00Z")


def _long_with_bracket() -> VirtualExchange:
    ex = VirtualExchange()
    ex.on_bar(SYM, T, 100.0, 101.0, 99.0, 100.0)
    ex.place(OrderRequest(symbol=SYM, side=Side.BUY, type=OrderType.MARKET, quantity=1.0,
                          stop_loss=95.0, take_profit=110.0))  # fmt: skip
    ex.on_bar(SYM, T + pd.Timedelta(minutes=1), 100.0, 100.5, 99.5, 100.2)
    return ex


def test_tighten_moves_the_stop_toward_the_price_only() -> None:
    ex = _long_with_bracket()
    looser = tighten_stop(ex, SYM, 90.0)
    assert looser.status == "NOTHING" and looser.stop_before == 95.0
    done = tighten_stop(ex, SYM, 97.0)
    assert done.status == "MODIFIED" and (done.stop_before, done.stop_after) == (95.0, 97.0)
    [stop] = [o for o in ex.open_orders(SYM) if o.request.type is OrderType.STOP_MARKET]
    assert stop.request.trigger_price == 97.0
    assert is_tighter(-1.0, 105.0, 104.0) and not is_tighter(-1.0, 105.0, 106.0)


def test_close_cancels_the_bracket_and_flattens_at_the_next_bar() -> None:
    ex = _long_with_bracket()
    rep = close_position(ex, SYM, client_order_id="m-close")
    assert rep.status == "PLACED" and len(rep.canceled) == 2
    ex.on_bar(SYM, T + pd.Timedelta(minutes=2), 101.0, 101.5, 100.5, 101.0)
    assert not [p for p in ex.positions() if p.quantity] and not ex.open_orders(SYM)
    assert close_position(ex, SYM, client_order_id="again").status == "NOTHING"
