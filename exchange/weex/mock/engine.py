"""The loopback WEEX's state: one account's orders and positions on a ``VirtualExchange``, the
replayed price path, WEEX ids and shapes, plan/TP-SL orders and the received AI logs.

Two clocks: fills carry the replayed bar's time (``createdTime``), while order ``createTime``,
position ``created_time`` and server time are the wall clock (signatures need it).

Every public method takes a parsed request (query dict or JSON body) and returns the JSON WEEX
answers, or raises ``MockReject`` with WEEX's code and message. Thread-safe (one lock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from exchange.config import ExchangeConfig
from exchange.errors import OrderRejected
from exchange.instruments import Instrument
from exchange.types import Order, OrderRequest, OrderStatus, OrderType, Side
from exchange.virtual import VirtualExchange
from exchange.weex.contracts import from_weex_symbol
from exchange.weex.mock.config import ContractRow, Faults, MockConfig

BIG_ID = 700_000_000_000_000_000  # ids above 2^53, as WEEX's are (pitfall 13)
Bar = tuple[int, float, float, float, float, float]  # open time ms, o, h, l, c, volume
TYPE_WORDS = {1: "open_long", 2: "open_short", 3: "close_long", 4: "close_short"}


class MockReject(Exception):
    """A WEEX error answer: ``{"code","msg","requestTime","data":null}`` with ``http``."""

    def __init__(self, code: str, msg: str, http: int = 400) -> None:
        self.code, self.msg, self.http = code, msg, http
        super().__init__(f"{code}: {msg}")

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg, "requestTime": _ms(), "data": None}


@dataclass
class _Meta:
    wid: str
    vid: str
    symbol: str  # WEEX symbol
    client_oid: str | None
    type_code: int
    plan: bool = False
    plan_type: str | None = None
    market: bool = False
    created_ms: int = field(default_factory=lambda: _ms())


def _ms() -> int:
    return int(time.time() * 1000)


def _s(x: float | Decimal | None) -> str:
    """A WEEX decimal string."""
    if x is None:
        return "0"
    d = Decimal(repr(round(x, 10))) if isinstance(x, float) else Decimal(x)
    s = format(d.normalize(), "f")
    return s if "." in s else s + ".0"


def instrument_of(row: ContractRow, max_leverage: int) -> Instrument:
    tick = float(Decimal(1).scaleb(-row.tick_size) * row.price_end_step)
    step = max(float(Decimal(1).scaleb(-row.size_increment)), float(row.min_order_size))
    return Instrument(symbol=from_weex_symbol(row.symbol), tick_size=tick, step_size=step,
                      min_quantity=float(row.min_order_size), max_leverage=max_leverage)  # fmt: skip


def virtual_config(cfg: MockConfig, **overrides: Any) -> ExchangeConfig:
    """The ``ExchangeConfig`` the mock matches with (also used by same-scenario tests)."""
    instruments = {from_weex_symbol(r.symbol): instrument_of(r, cfg.max_leverage)
                   for r in cfg.contracts}  # fmt: skip
    values: dict[str, Any] = {
        "starting_balance": cfg.starting_balance, "maker_fee": cfg.maker_fee,
        "taker_fee": cfg.taker_fee, "slippage_bps": cfg.slippage_bps, "instruments": instruments,
    }  # fmt: skip
    return ExchangeConfig(**{**values, **overrides})


class MockWeex:
    """One WEEX account on a replayed price path."""

    def __init__(
        self,
        config: MockConfig,
        paths: Mapping[str, Sequence[Bar]],
        *,
        faults: Faults | None = None,
        exchange_config: ExchangeConfig | None = None,
    ) -> None:
        if not paths:
            raise ValueError("paths: the loopback WEEX needs a price path for at least one symbol")
        self.config = config
        self.faults = faults or Faults(config.faults, config.fault_seed)
        self.vx = VirtualExchange(exchange_config or virtual_config(config))
        self._lock = threading.RLock()
        self._paths = {s.lower(): list(p) for s, p in paths.items()}
        self._cursor = dict.fromkeys(self._paths, 0)
        self._last: dict[str, Bar] = {}
        self._leverage: dict[str, int] = {}
        self._metas: dict[str, _Meta] = {}  # by WEEX id
        self._by_vid: dict[str, str] = {}
        self._client_oids: dict[str, str] = {}
        self._seq = 0
        self.placements: dict[str, int] = {}  # client_oid -> accepted placeOrder count
        self.ai_logs: list[dict[str, Any]] = []
        self.on_ai_log: Callable[[dict[str, Any]], None] | None = None
        self._opened_ms: dict[str, int] = {}  # wall time a position went from flat to open
        for sym, path in self._paths.items():
            if not path:
                raise ValueError(f"paths: no bars for {sym}")
        self.advance(1)

    # ------------------------------------------------------------------ clock

    def advance(self, n: int = 1) -> int:
        """Feed the next ``n`` bars of every path (flat bars at the last close once a path is
        exhausted); returns the number of fills."""
        fills = 0
        with self._lock:
            for _ in range(n):
                for sym, path in self._paths.items():
                    i = self._cursor[sym]
                    if i < len(path):
                        bar = path[i]
                    else:
                        last = self._last[sym]
                        bar = (last[0] + 60_000, last[4], last[4], last[4], last[4], 0.0)
                    self._cursor[sym] = i + 1
                    self._last[sym] = bar
                    fills += len(self.vx.on_bar(from_weex_symbol(sym), bar[0] * 1_000_000,
                                                *bar[1:5], bar[5]))  # fmt: skip
            self._track_open_times()
        return fills

    def _track_open_times(self) -> None:
        """Remember when each position opened (wall clock, as WEEX's ``created_time``)."""
        open_now = {p.symbol for p in self.vx.positions()}
        for sym in list(self._opened_ms):
            if sym not in open_now:
                del self._opened_ms[sym]
        for sym in open_now:
            self._opened_ms.setdefault(sym, _ms())

    def known_orders(self) -> dict[str, dict[str, Any]]:
        """Every order this WEEX has issued an id for (WEEX id -> its client id, request type
        code 1-4, plan or not): what an AI-log ``orderId`` must name."""
        with self._lock:
            return {
                wid: {"client_oid": m.client_oid, "type": m.type_code, "plan": m.plan,
                      "plan_type": m.plan_type, "symbol": m.symbol}
                for wid, m in self._metas.items()
            }  # fmt: skip

    def last_price(self, symbol: str) -> float:
        bar = self._last.get(symbol)
        if bar is None:
            raise MockReject("40015", f"no price path for {symbol}")
        return bar[4]

    # ------------------------------------------------------------------ market

    def time(self) -> dict[str, Any]:
        ms = _ms()
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
        return {"epoch": f"{ms / 1000:.3f}", "iso": iso, "timestamp": ms}

    def contracts(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = [r for r in self.config.contracts if not q.get("symbol") or r.symbol == q["symbol"]]
        return [
            {"symbol": r.symbol, "underlying_index": r.symbol[4:-4].upper(), "quote_currency": "USDT",
             "coin": "USDT", "contract_val": "0.000001", "delivery": ["00:00:00", "08:00:00", "16:00:00"],
             "size_increment": str(r.size_increment), "tick_size": str(r.tick_size),
             "forwardContractFlag": True, "priceEndStep": r.price_end_step, "minLeverage": 1,
             "maxLeverage": r.max_leverage, "buyLimitPriceRatio": "0.01", "sellLimitPriceRatio": "0.01",
             "makerFeeRate": _s(self.config.maker_fee), "takerFeeRate": _s(self.config.taker_fee),
             "minOrderSize": r.min_order_size, "maxOrderSize": "1200", "maxPositionSize": "1000000",
             "marketOpenLimitSize": "100"}
            for r in rows
        ]  # fmt: skip

    def _symbol(self, value: Any) -> str:
        sym = str(value or "")
        if sym not in self._paths:
            raise MockReject("40019", f"symbol {sym!r} is not listed here")
        return sym

    def ticker(self, q: Mapping[str, str]) -> dict[str, Any]:
        sym = self._symbol(q.get("symbol"))
        with self._lock:
            bar = self._last[sym]
        tick = self._tick(sym)
        return {"symbol": sym, "last": _s(bar[4]), "best_ask": _s(bar[4] + tick),
                "best_bid": _s(bar[4]), "high_24h": _s(bar[2]), "low_24h": _s(bar[3]),
                "volume_24h": _s(bar[5]), "timestamp": str(_ms()), "priceChangePercent": "0",
                "base_volume": _s(bar[5]), "markPrice": _s(bar[4]), "indexPrice": _s(bar[4])}  # fmt: skip

    def _tick(self, sym: str) -> float:
        row = next(r for r in self.config.contracts if r.symbol == sym)
        return float(Decimal(1).scaleb(-row.tick_size) * row.price_end_step)

    def depth(self, q: Mapping[str, str]) -> dict[str, Any]:
        sym = self._symbol(q.get("symbol"))
        if str(q.get("limit", "15")) not in ("15", "200"):
            raise MockReject("40020", "limit must be 15 or 200")
        last, tick = self.last_price(sym), self._tick(sym)
        asks = [[_s(round(last + tick * (i + 1), 10)), "1.0"] for i in range(15)]
        bids = [[_s(round(last - tick * i, 10)), "1.0"] for i in range(15)]
        return {"asks": asks, "bids": bids, "timestamp": str(_ms())}

    def candles(self, q: Mapping[str, str]) -> list[list[str]]:
        sym = self._symbol(q.get("symbol"))
        if q.get("granularity", "1m") != "1m":
            raise MockReject("40020", "the loopback WEEX serves granularity=1m only")
        limit = int(q.get("limit", "100"))
        with self._lock:
            path = self._paths[sym][: self._cursor[sym]][-limit:]
        rows = [[str(b[0]), _s(b[1]), _s(b[2]), _s(b[3]), _s(b[4]), _s(b[5]), _s(b[5] * b[4])]
                for b in path]  # fmt: skip
        return rows[::-1] if self.config.candles_newest_first else rows

    def funding(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        sym = self._symbol(q.get("symbol"))
        rate = self.vx.config.funding_rate
        return [{"symbol": sym, "fundingRate": _s(rate), "collectCycle": 480, "timestamp": _ms()}]

    # ------------------------------------------------------------------ account

    def assets(self) -> Any:
        b = self.vx.balance()
        row = {"coinName": "USDT", "available": _s(b.available), "equity": _s(b.equity),
               "frozen": _s(b.margin_used), "unrealizePnl": _s(b.equity - b.wallet)}  # fmt: skip
        if self.config.assets_shape == "bare":
            return [row]
        btc = {"coinId": 1, "coinName": "BTC", "available": "0.004", "frozen": "0",
               "equity": "0.004", "unrealizePnl": "0"}  # fmt: skip
        return {"code": "00000", "msg": "success", "requestTime": _ms(),
                "data": [btc, {"coinId": 2, **row}]}  # fmt: skip

    def settings(self, q: Mapping[str, str]) -> dict[str, Any]:
        sym = self._symbol(q.get("symbol"))
        lev = f"{self._leverage.get(sym, 1)}.00"
        return {sym: {"isolated_long_leverage": lev, "isolated_short_leverage": lev,
                      "cross_leverage": lev}}  # fmt: skip

    def set_leverage(self, b: Mapping[str, Any]) -> dict[str, Any]:
        sym = self._symbol(b.get("symbol"))
        if str(b.get("marginMode")) != str(self.config.account_margin_mode):
            raise MockReject("40015", "marginMode does not match the account's margin mode")
        long_, short = str(b.get("longLeverage", "")), str(b.get("shortLeverage", ""))
        if long_ != short:
            raise MockReject("40015", "cross mode needs equal long and short leverage")
        try:
            lev = int(Decimal(long_))
        except InvalidOperation:
            raise MockReject("40020", f"longLeverage {long_!r} is not a number") from None
        if not 1 <= lev <= self.config.max_leverage:
            raise MockReject(
                "50007", f"leverage {lev} exceeds the limit {self.config.max_leverage}"
            )
        with self._lock:
            self._leverage[sym] = lev
        return {"msg": "success", "requestTime": _ms(), "code": "200"}

    def positions(self, q: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        sym = (q or {}).get("symbol")
        out = []
        with self._lock:
            for i, p in enumerate(self.vx.positions()):
                wsym = "cmt_" + p.symbol.lower()
                if sym and wsym != sym:
                    continue
                size = abs(p.quantity)
                out.append({
                    "id": BIG_ID + 1000 + i, "account_id": 1, "coin_id": 2, "contract_id": 10000002,
                    "symbol": wsym, "side": "LONG" if p.quantity > 0 else "SHORT",
                    "margin_mode": "SHARED" if self.config.account_margin_mode == 1 else "ISOLATED",
                    "separated_mode": "COMBINED", "leverage": _s(p.leverage), "size": _s(size),
                    "separated_open_order_id": 0, "open_value": _s(round(p.entry_price * size, 10)),
                    "open_fee": "0", "funding_fee": "0", "marginSize": _s(p.margin),
                    "isolated_margin": _s(p.margin), "is_auto_append_isolated_margin": False,
                    "cum_open_size": _s(size), "cum_open_value": _s(round(p.entry_price * size, 10)),
                    "cum_open_fee": "0", "cum_close_size": "0", "cum_close_value": "0",
                    "cum_close_fee": "0", "cum_funding_fee": "0", "cum_liquidate_fee": "0",
                    "created_match_sequence_id": 0, "updated_match_sequence_id": 0,
                    "unrealizePnl": _s(p.unrealized_pnl), "contractVal": "0.000001",
                    "liquidatePrice": _s(p.liquidation_price or 0.0),
                    "created_time": self._opened_ms.get(p.symbol, _ms()), "updated_time": _ms(),
                })  # fmt: skip
        return out

    # ------------------------------------------------------------------ orders

    def _new_id(self) -> str:
        self._seq += 1
        return str(BIG_ID + self._seq)

    def _wid(self, vid: str) -> str:
        """The WEEX id of a virtual order, assigned on first sight (bracket legs, liquidations)."""
        wid = self._by_vid.get(vid)
        if wid is None:
            o = self.vx.get_order(vid)
            wid = self._new_id()
            code = 3 if o.request.side is Side.SELL else 4
            if not o.request.reduce_only and o.role != "liquidation":
                code = 1 if o.request.side is Side.BUY else 2
            plan_type = {"stop_loss": "loss_plan", "take_profit": "profit_plan"}.get(o.role or "")
            self._metas[wid] = _Meta(wid, vid, "cmt_" + o.request.symbol.lower(),
                                     o.request.client_order_id, code, plan=plan_type is not None,
                                     plan_type=plan_type)  # fmt: skip
            self._by_vid[vid] = wid
        return wid

    def _register(self, vid: str, meta: _Meta) -> str:
        self._metas[meta.wid] = meta
        self._by_vid[vid] = meta.wid
        if meta.client_oid:
            self._client_oids[meta.client_oid] = meta.wid
        return meta.wid

    def _check_client_oid(self, client_oid: Any) -> str:
        oid = str(client_oid or "")
        if not oid or len(oid) > 40:
            raise MockReject("40017", "client_oid is required and at most 40 characters")
        if self.config.reject_duplicate_client_oid and oid in self._client_oids:
            raise MockReject("40015", f"duplicate client_oid {oid}")
        return oid

    def _dec(self, b: Mapping[str, Any], key: str, *, required: bool = True) -> Decimal | None:
        v = b.get(key)
        if v is None or v == "":
            if required:
                raise MockReject("40019", f"{key} is required")
            return None
        try:
            return Decimal(str(v))
        except InvalidOperation:
            raise MockReject("40020", f"{key} {v!r} is not a number") from None

    def _place_virtual(self, req: OrderRequest) -> Order:
        try:
            return self.vx.place(req)
        except OrderRejected as exc:
            text = str(exc)
            if "tick" in text and "trigger" in text:
                text = f"trigger price is not on the stepSize: {text}"
            raise MockReject("40015", text) from None

    def _blocking_order(self, vsym: str) -> str | None:
        for o in self.vx.open_orders(vsym):
            return self._wid(o.id)
        return None

    def place_order(self, b: Mapping[str, Any], *, reject_preset: bool = False) -> dict[str, Any]:
        sym = self._symbol(b.get("symbol"))
        if sym not in self.config.allowed_symbols:
            raise MockReject("50003", f"no permission to trade {sym} in this competition")
        with self._lock:
            oid = self._check_client_oid(b.get("client_oid"))
            type_code, match, otype = (
                str(b.get(k, "")) for k in ("type", "match_price", "order_type")
            )
            if type_code not in ("1", "2", "3", "4"):
                raise MockReject("40020", f"type {type_code!r} is not 1, 2, 3 or 4")
            if match not in ("0", "1") or otype not in ("0", "1", "2", "3"):
                raise MockReject("40020", "match_price must be 0/1 and order_type 0..3")
            size = self._dec(b, "size")
            assert size is not None
            price = self._dec(b, "price", required=match == "0")
            tp = self._dec(b, "presetTakeProfitPrice", required=False)
            sl = self._dec(b, "presetStopLossPrice", required=False)
            if (tp is not None or sl is not None) and reject_preset:
                raise MockReject("40015", "INVALID_ARGUMENT: preset take-profit/stop-loss rejected")
            code = int(type_code)
            vsym = from_weex_symbol(sym)
            reduce = code in (3, 4)
            if reduce:
                pos = self.vx.position(vsym)
                want_long = code == 3
                if pos is None or (pos.quantity > 0) != want_long:
                    raise MockReject("40015", "position side invalid: no such position to close")
                if float(size) > abs(pos.quantity) + 1e-12:
                    raise MockReject("40015", "close size exceeds the position")
                blocker = self._blocking_order(vsym)
                if self.config.reject_close_with_pending and blocker is not None:
                    raise MockReject("40015", f"position side invalid: pending order {blocker}")
            req = OrderRequest(
                symbol=vsym, side=Side.BUY if code in (1, 4) else Side.SELL,
                type=OrderType.MARKET if match == "1" else OrderType.LIMIT,
                quantity=float(size), price=float(price) if match == "0" and price else None,
                reduce_only=reduce, leverage=float(self._leverage.get(sym, 1)),
                stop_loss=float(sl) if sl is not None else None,
                take_profit=float(tp) if tp is not None else None, client_order_id=oid,
            )  # fmt: skip
            order = self._place_virtual(req)
            wid = self._register(order.id, _Meta(self._new_id(), order.id, sym, oid, code,
                                                 market=match == "1"))  # fmt: skip
            self.placements[oid] = self.placements.get(oid, 0) + 1
            if match == "1" and self.config.fill_market_on_place:
                self.advance(1)
            self._track_open_times()
        return {"client_oid": None, "order_id": wid}

    def _order_row(self, meta: _Meta) -> dict[str, Any]:
        o = self.vx.get_order(meta.vid)
        status = {OrderStatus.NEW: "open", OrderStatus.PARTIALLY_FILLED: "open",
                  OrderStatus.FILLED: "filled"}.get(o.status, "canceled")  # fmt: skip
        type_word = TYPE_WORDS[meta.type_code]
        if o.role == "liquidation":
            type_word = "burst_liquidate_" + ("long" if o.request.side is Side.SELL else "short")
        fee = sum(f.fee for f in self.vx.fills(o.request.symbol) if f.order_id == o.id)
        qty = o.request.quantity
        return {
            "symbol": meta.symbol, "size": _s(qty), "client_oid": meta.client_oid,
            "createTime": str(meta.created_ms), "filled_qty": _s(o.filled_quantity),
            "fee": _s(round(fee, 10)), "order_id": meta.wid,
            "price": "0.0" if meta.market else _s(o.request.price or o.request.trigger_price),
            "price_avg": _s(o.average_price or 0.0), "status": status, "type": type_word,
            "order_type": "ioc" if meta.market else "normal", "totalProfits": "0",
            "contracts": round(qty * 1_000_000),
            "filledQtyContracts": round(o.filled_quantity * 1_000_000),
            "presetTakeProfitPrice": _s(o.request.take_profit) if o.request.take_profit else None,
            "presetStopLossPrice": _s(o.request.stop_loss) if o.request.stop_loss else None,
        }  # fmt: skip

    def _plan_row(self, meta: _Meta) -> dict[str, Any]:
        o = self.vx.get_order(meta.vid)
        status = {OrderStatus.NEW: "0", OrderStatus.PARTIALLY_FILLED: "1",
                  OrderStatus.FILLED: "2"}.get(o.status, "-1")  # fmt: skip
        trigger = o.request.trigger_price or o.request.price
        return {
            "symbol": meta.symbol, "size": _s(o.request.quantity), "client_oid": meta.client_oid,
            "createTime": str(meta.created_ms), "filled_qty": _s(o.filled_quantity), "fee": "0",
            "order_id": meta.wid, "price": _s(o.request.price or 0.0),
            "price_avg": _s(o.average_price or 0.0), "status": status, "type": str(meta.type_code),
            "order_type": "0", "totalProfits": "0", "triggerPrice": _s(trigger),
            "triggerPriceType": "LAST", "triggerTime": str(meta.created_ms),
            "presetTakeProfitPrice": None, "presetStopLossPrice": None,
        }  # fmt: skip

    def _meta(self, order_id: Any = None, client_oid: Any = None) -> _Meta:
        wid = (
            str(order_id) if order_id not in (None, "") else self._client_oids.get(str(client_oid))
        )
        meta = self._metas.get(wid or "")
        if meta is None:
            raise MockReject("50005", "order does not exist")
        return meta

    def _all_metas(self, symbol: str | None) -> list[_Meta]:
        for o in self.vx.orders(from_weex_symbol(symbol) if symbol else None):
            self._wid(o.id)
        return [m for m in self._metas.values() if not symbol or m.symbol == symbol]

    def detail(self, q: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            meta = self._meta(q.get("orderId"))
            return self._plan_row(meta) if meta.plan else self._order_row(meta)

    def current(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            metas = [m for m in self._all_metas(q.get("symbol")) if not m.plan]
            rows = [self._order_row(m) for m in metas]
        rows = [r for r in rows if r["status"] == "open"]
        if q.get("orderId"):
            rows = [r for r in rows if r["order_id"] == str(q["orderId"])]
        return rows

    def history(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            metas = [m for m in self._all_metas(q.get("symbol")) if not m.plan]
            rows = [self._order_row(m) for m in metas]
        rows = [r for r in rows if r["status"] != "open"][::-1]
        return rows[: int(q.get("pageSize", "100"))]

    def current_plan(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            rows = [self._plan_row(m) for m in self._all_metas(q.get("symbol")) if m.plan]
        return [r for r in rows if r["status"] in ("0", "1")]

    def history_plan(self, q: Mapping[str, str]) -> dict[str, Any]:
        sym = self._symbol(q.get("symbol"))
        with self._lock:
            rows = [self._plan_row(m) for m in self._all_metas(sym) if m.plan]
        return {"list": [r for r in rows if r["status"] not in ("0", "1")][::-1], "nextPage": False}

    def fills(self, q: Mapping[str, str]) -> dict[str, Any]:
        sym = q.get("symbol")
        with self._lock:
            fills = self.vx.fills(from_weex_symbol(sym) if sym else None)
            rows = []
            for i, f in enumerate(fills):
                wid = self._wid(f.order_id)
                if q.get("orderId") and str(q["orderId"]) != wid:
                    continue
                meta = self._metas[wid]
                long_side = meta.type_code in (1, 3)
                direction = TYPE_WORDS[meta.type_code].upper()
                rows.append({
                    "tradeId": BIG_ID + 500_000 + i, "orderId": int(wid),
                    "symbol": meta.symbol, "marginMode": "SHARED", "separatedMode": "COMBINED",
                    "positionSide": "LONG" if long_side else "SHORT", "orderSide": f.side.value,
                    "fillSize": _s(f.quantity), "fillValue": _s(round(f.quantity * f.price, 10)),
                    "fillFee": _s(round(f.fee, 10)), "liquidateFee": "0",
                    "realizePnl": _s(round(f.realized_pnl, 10)), "direction": direction,
                    "liquidateType": "", "legacyOrdeDirection": direction,
                    "createdTime": int(f.ts.timestamp() * 1000),
                })  # fmt: skip
        limit = int(q.get("limit", "100"))
        return {"list": rows[::-1][:limit], "nextFlag": False, "totals": len(rows)}

    def cancel(self, b: Mapping[str, Any], *, plan: bool = False) -> dict[str, Any]:
        with self._lock:
            meta = self._meta(b.get("orderId"), b.get("clientOid"))
            if meta.plan != plan:
                raise MockReject("50005", "order does not exist")
            try:
                self.vx.cancel(meta.vid)
            except OrderRejected as exc:
                return {"order_id": meta.wid, "client_oid": meta.client_oid, "result": False,
                        "err_msg": str(exc)}  # fmt: skip
        return {
            "order_id": meta.wid,
            "client_oid": meta.client_oid,
            "result": True,
            "err_msg": None,
        }

    def cancel_all(self, b: Mapping[str, Any]) -> list[dict[str, Any]]:
        kind = b.get("cancelOrderType")
        if kind not in ("normal", "plan"):
            raise MockReject("40019", "cancelOrderType must be normal or plan")
        sym = b.get("symbol")
        out = []
        with self._lock:
            for o in self.vx.open_orders(from_weex_symbol(self._symbol(sym)) if sym else None):
                meta = self._metas[self._wid(o.id)]
                if meta.plan == (kind == "plan"):
                    self.vx.cancel(o.id)
                    out.append({"orderId": int(meta.wid), "success": True})
        return out

    def close_positions(self, b: Mapping[str, Any]) -> list[dict[str, Any]]:
        sym = b.get("symbol")
        out = []
        with self._lock:
            for row in self.positions({"symbol": sym} if sym else None):
                vsym = from_weex_symbol(row["symbol"])
                self.vx.cancel_all(vsym)
                qty = float(row["size"])
                long_ = row["side"] == "LONG"
                order = self._place_virtual(OrderRequest(
                    symbol=vsym, side=Side.SELL if long_ else Side.BUY, type=OrderType.MARKET,
                    quantity=qty, reduce_only=True))  # fmt: skip
                wid = self._register(order.id, _Meta(self._new_id(), order.id, row["symbol"],
                                                     None, 3 if long_ else 4, market=True))  # fmt: skip
                out.append({"positionId": row["id"], "successOrderId": int(wid),
                            "errorMessage": "", "success": True})  # fmt: skip
            if out and self.config.fill_market_on_place:
                self.advance(1)
        return out

    def plan_order(self, b: Mapping[str, Any]) -> dict[str, Any]:
        sym = self._symbol(b.get("symbol"))
        with self._lock:
            oid = self._check_client_oid(b.get("client_oid"))
            code = int(str(b.get("type", "0")) or 0)
            if code not in TYPE_WORDS:
                raise MockReject("40020", "type must be 1, 2, 3 or 4")
            size, trig = self._dec(b, "size"), self._dec(b, "trigger_price")
            execute = self._dec(b, "execute_price", required=False) or Decimal(0)
            assert size is not None and trig is not None
            req = OrderRequest(
                symbol=from_weex_symbol(sym), side=Side.BUY if code in (1, 4) else Side.SELL,
                type=OrderType.STOP_LIMIT if execute else OrderType.STOP_MARKET,
                quantity=float(size), trigger_price=float(trig),
                price=float(execute) if execute else None, reduce_only=code in (3, 4),
                leverage=float(self._leverage.get(sym, 1)), client_order_id=oid,
            )  # fmt: skip
            order = self._place_virtual(req)
            wid = self._register(order.id, _Meta(self._new_id(), order.id, sym, oid, code,
                                                 plan=True))  # fmt: skip
        return {"client_oid": None, "order_id": wid}

    def place_tpsl(self, b: Mapping[str, Any]) -> list[dict[str, Any]]:
        sym = self._symbol(b.get("symbol"))
        with self._lock:
            oid = self._check_client_oid(b.get("clientOrderId"))
            plan_type, side = b.get("planType"), str(b.get("positionSide", "")).lower()
            if plan_type not in ("profit_plan", "loss_plan") or side not in ("long", "short"):
                raise MockReject(
                    "40020", "planType must be profit_plan/loss_plan, positionSide long/short"
                )
            size, trig = self._dec(b, "size"), self._dec(b, "triggerPrice")
            assert size is not None and trig is not None
            vsym = from_weex_symbol(sym)
            pos = self.vx.position(vsym)
            if pos is None or (pos.quantity > 0) != (side == "long"):
                raise MockReject("40015", f"no {side} position on {sym} to protect")
            close_side = Side.SELL if side == "long" else Side.BUY
            is_tp = plan_type == "profit_plan"
            req = OrderRequest(
                symbol=vsym, side=close_side, type=OrderType.LIMIT if is_tp else OrderType.STOP_MARKET,
                quantity=float(size), price=float(trig) if is_tp else None,
                trigger_price=None if is_tp else float(trig), reduce_only=True,
                leverage=float(self._leverage.get(sym, 1)), client_order_id=oid,
            )  # fmt: skip
            order = self._place_virtual(req)
            wid = self._register(order.id, _Meta(self._new_id(), order.id, sym, oid,
                                                 3 if side == "long" else 4, plan=True,
                                                 plan_type=plan_type))  # fmt: skip
        return [{"orderId": int(wid), "success": True}]

    def modify_tpsl(self, b: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            meta = self._meta(b.get("orderId"))
            trig = self._dec(b, "triggerPrice")
            assert trig is not None
            if not meta.plan:
                raise MockReject("40015", "not a TP/SL order")
            try:
                self.vx.modify(meta.vid, price=float(trig))
            except OrderRejected as exc:
                raise MockReject("40015", str(exc)) from None
        return {"code": "00000", "msg": "success", "requestTime": _ms(), "data": ""}

    # ------------------------------------------------------------------ AI log

    def upload_ai_log(self, b: Any) -> dict[str, Any]:
        if not isinstance(b, dict):
            raise MockReject("40017", "the AI log must be one JSON object, not an array")
        required = ["stage", "model", "input", "output"]
        if self.config.explanation_required:
            required.append("explanation")
        missing = [k for k in required if b.get(k) in (None, "")]
        if missing:
            raise MockReject("40019", f"missing {', '.join(missing)}")
        oid = b.get("orderId")
        if oid is not None and (isinstance(oid, bool) or not isinstance(oid, int)):
            raise MockReject("40020", f"orderId must be a Long or null, not {oid!r}")
        if not isinstance(b["input"], dict) or not isinstance(b["output"], dict):
            raise MockReject("40020", "input and output must be JSON objects")
        if isinstance(b.get("explanation"), str) and len(b["explanation"].split()) > 500:
            raise MockReject("40020", "explanation exceeds 500 words")
        with self._lock:
            self.ai_logs.append({**b, "_received_ms": _ms()})
            if self.on_ai_log is not None:
                self.on_ai_log(b)
        return {"code": "00000", "msg": "success", "requestTime": _ms(), "data": "upload success"}


def bars_from_frame(frame: Any) -> list[Bar]:
    """A price path from a candle frame (UTC open-time index; open/high/low/close/volume)."""
    idx = frame.index.asi8 // 1_000_000  # ns -> ms
    cols = [frame[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")]
    return [(int(t), *(float(c[i]) for c in cols)) for i, t in enumerate(idx)]  # type: ignore[misc]
