"""The same scenario through ``VirtualExchange`` and through ``WeexExchange`` on the loopback
WEEX, on real BTCUSDT 1m candles: the same fills, positions and balances.

The loopback WEEX matches with ``VirtualExchange`` (see exchange/weex/mock), so what this
compares is the whole WEEX layer in between: symbols, rounding, codes-in/words-out, order
types 1-4, preset TP/SL -> bracket legs, server-side TP/SL, cancel-all + type 3/4 close, the
fills and positions parsed back from WEEX's shapes.

Where the two contracts cannot agree, the test says so:
- order ids: WEEX's are numbers above 2^53, the virtual exchange's ``O-000001``;
- quantities: WEEX rounds a size DOWN to the contract step, the virtual exchange refuses an
  off-step quantity (``test_where_the_contracts_differ``);
- liquidity: WEEX fills carry no maker/taker flag; ``WeexExchange`` infers it from the order;
- modify: WEEX v2 cannot modify a normal order, so it is cancelled and re-placed (a new id).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from exchange.errors import OrderRejected
from exchange.types import Fill, OrderRequest, OrderType, Side
from exchange.virtual import VirtualExchange
from exchange.weex.exchange import WeexExchange
from exchange.weex.mock.config import MockConfig
from exchange.weex.mock.engine import bars_from_frame, virtual_config
from tests.exchange.weex.kit import ACCOUNT, client_for, loopback

pytestmark = pytest.mark.data
START = pd.Timestamp("2023-04-20T00:00:00Z")


@pytest.fixture(scope="module")
def bars(real_store: Path) -> list[tuple]:
    from tools.candles import load_candles

    frame = load_candles(
        "BTCUSDT", "1m", START, START + pd.Timedelta(minutes=240), store=real_store
    )
    return bars_from_frame(frame)


def _key(f: Fill) -> tuple:
    return (f.side, round(f.quantity, 9), round(f.price, 6), round(f.fee, 9),
            round(f.realized_pnl, 9), f.ts)  # fmt: skip


class VirtualRun:
    """The scenario's steps on the virtual exchange, feeding the same bars."""

    def __init__(self, bars: list[tuple], config: MockConfig) -> None:
        self.bars, self.i = bars, 0
        self.vx = VirtualExchange(virtual_config(config))
        self.advance(1)

    def advance(self, n: int) -> None:
        for _ in range(n):
            b = self.bars[self.i]
            self.vx.on_bar("BTCUSDT", b[0] * 1_000_000, *b[1:5], b[5])
            self.i += 1

    def market(self, req: OrderRequest) -> None:
        self.vx.place(req)
        self.advance(1)  # WEEX fills a market order at once: the loopback advances one bar

    def close(self) -> None:
        pos = self.vx.position("BTCUSDT")
        self.vx.cancel_all("BTCUSDT")
        if pos is not None:
            side = Side.SELL if pos.quantity > 0 else Side.BUY
            self.market(OrderRequest(symbol="BTCUSDT", side=side, type=OrderType.MARKET,
                                     quantity=abs(pos.quantity), reduce_only=True))  # fmt: skip


def test_same_fills_positions_and_balance(bars: list[tuple]) -> None:
    config = MockConfig(accounts=[ACCOUNT], starting_balance=10_000.0)
    virtual = VirtualRun(bars, config)
    with loopback({"cmt_btcusdt": bars}, starting_balance=10_000.0) as (server, mock):
        weex = WeexExchange(client_for(server))
        c0 = bars[0][4]
        steps = [
            OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=0.05,
                         leverage=5, stop_loss=round(c0 - 60, 1), take_profit=round(c0 + 60, 1)),
            OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, quantity=0.04,
                         leverage=3),
        ]  # fmt: skip
        checkpoints = []
        for req in steps:
            virtual.market(req)
            weex.place(req)
            assert virtual.i == mock._cursor["cmt_btcusdt"]  # one clock
            for _ in range(3):
                virtual.advance(20)
                mock.advance(20)
                checkpoints.append((virtual.vx.positions(), weex.positions()))
            if req.side is Side.SELL:
                last = bars[virtual.i - 1][4]
                limit = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                                     quantity=0.04, price=round(last - 15, 1), reduce_only=True)  # fmt: skip
                virtual.vx.place(limit)
                weex.place(limit)
                virtual.advance(40)
                mock.advance(40)
                checkpoints.append((virtual.vx.positions(), weex.positions()))
            virtual.close()
            weex.close_position("BTCUSDT")
            checkpoints.append((virtual.vx.positions(), weex.positions()))

        v_fills = [_key(f) for f in virtual.vx.fills("BTCUSDT")]
        w_fills = [_key(f) for f in weex.fills("BTCUSDT")]
        assert len(v_fills) >= 4
        assert w_fills == v_fills
        for v_pos, w_pos in checkpoints:
            assert [(p.symbol, round(p.quantity, 9), round(p.entry_price, 6), p.leverage,
                     round(p.margin, 6)) for p in v_pos] == [
                (p.symbol, round(p.quantity, 9), round(p.entry_price, 6), p.leverage,
                 round(p.margin, 6)) for p in w_pos]  # fmt: skip
        assert any(v for v, _ in checkpoints)  # positions were really held
        vb, wb = virtual.vx.balance(), weex.balance()
        assert wb.wallet == pytest.approx(vb.wallet, abs=1e-6)
        assert wb.equity == pytest.approx(vb.equity, abs=1e-6)
        assert wb.available == pytest.approx(vb.available, abs=1e-6)


def test_where_the_contracts_differ(bars: list[tuple]) -> None:
    config = MockConfig(accounts=[ACCOUNT])
    virtual = VirtualRun(bars, config)
    req = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=0.0509)
    with pytest.raises(OrderRejected, match="quantity"):
        virtual.vx.place(req)  # off the 0.001 step: refused
    with loopback({"cmt_btcusdt": bars}, starting_balance=10_000.0) as (server, _):
        weex = WeexExchange(client_for(server))
        o = weex.place(req)  # WEEX: rounded down to the step
        assert o.filled_quantity == pytest.approx(0.05)
        assert o.id.isdigit() and int(o.id) > 2**53


def test_server_side_tpsl_after_a_rejected_preset_gives_the_same_exit(bars: list[tuple]) -> None:
    """Presets rejected: WEEX's stops are placed after the entry fills, so they work from the
    next bar, while the virtual bracket's legs work in the fill's own bar. With levels the fill
    bar does not reach (checked below) the exit is the same; when the fill bar does reach one,
    the contracts cannot agree and this is why."""
    from exchange.weex.mock.config import FaultRule

    config = MockConfig(accounts=[ACCOUNT], starting_balance=10_000.0)
    virtual = VirtualRun(bars, config)
    c0 = bars[0][4]
    sl, tp = round(c0 - 60, 1), round(c0 + 60, 1)
    fill_bar = bars[1]
    assert sl < fill_bar[3] and fill_bar[2] < tp  # the fill bar reaches neither level
    req = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=0.05,
                       leverage=5, stop_loss=sl, take_profit=tp)  # fmt: skip
    with loopback({"cmt_btcusdt": bars}, starting_balance=10_000.0) as (server, mock):
        mock.faults.set([FaultRule(kind="reject_preset", path="/order/placeOrder")])
        weex = WeexExchange(client_for(server))
        virtual.market(req)
        weex.place(req)
        assert not weex.preset_enabled
        roles = sorted(o.role or "" for o in weex.open_orders("BTCUSDT"))
        assert roles == ["stop_loss", "take_profit"]  # server-side TP/SL orders
        virtual.advance(200)
        mock.advance(200)
        v = [_key(f) for f in virtual.vx.fills("BTCUSDT")]
        w = [_key(f) for f in weex.fills("BTCUSDT")]
        assert len(v) == 2 and w == v  # entry, then the same exit at the same price and bar
        assert weex.positions() == [] and virtual.vx.positions() == []
