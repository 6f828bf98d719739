"""The WEEX contract REST client (v2) on httpx + tenacity.

- Every request is signed over the exact query string and body bytes it sends.
- Rate limits are respected by weight (``RateLimiter``); a 429 pauses all requests.
- Reads (and idempotent writes) are retried on network errors, 5xx and 429 with exponential
  backoff. Order placement is never retried blindly: every order carries a ``client_oid``, and
  after an ambiguous failure (the request may have arrived) the order is looked up by that
  ``client_oid`` first; only when it is not found is it sent again (``place_order``).
- Errors come back typed (``exchange.weex.errors``) with WEEX's code and message.
- ``on_event`` sees every request and answer (the evidence log); it never sees the headers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from exchange.weex.config import WeexConfig
from exchange.weex.contracts import Contract, fmt, parse_contracts
from exchange.weex.errors import (
    WeexAuthError,
    WeexBusinessError,
    WeexConfigError,
    WeexError,
    WeexNetworkError,
    WeexRateLimited,
    WeexResponseError,
    WeexServerError,
    error_for,
)
from exchange.weex.models import (
    Asset,
    ServerTime,
    Ticker,
    WeexFill,
    WeexOrder,
    WeexPlanOrder,
    WeexPosition,
    parse_assets,
)
from exchange.weex.ratelimit import RateLimiter
from exchange.weex.signing import auth_headers, encode_body, encode_query, now_ms

SUCCESS_CODES = ("00000", "200")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    weight: int  # the larger of the IP and UID weights (weex-api §7)
    auth: bool = True
    order: bool = False  # counts against the order-rate windows
    idempotent: bool = True  # safe to resend after an ambiguous failure


def _ep(method: str, path: str, weight: int, **kw: Any) -> Endpoint:
    return Endpoint(method, "/capi/v2/" + path, weight, **kw)


E = {
    "time": _ep("GET", "market/time", 1, auth=False),
    "contracts": _ep("GET", "market/contracts", 10, auth=False),
    "ticker": _ep("GET", "market/ticker", 1, auth=False),
    "depth": _ep("GET", "market/depth", 1, auth=False),
    "candles": _ep("GET", "market/candles", 1, auth=False),
    "funding": _ep("GET", "market/currentFundRate", 1, auth=False),
    "assets": _ep("GET", "account/assets", 10),
    "settings": _ep("GET", "account/settings", 1),
    "leverage": _ep("POST", "account/leverage", 20),
    "all_positions": _ep("GET", "account/position/allPosition", 15),
    "single_position": _ep("GET", "account/position/singlePosition", 3),
    "place": _ep("POST", "order/placeOrder", 5, order=True, idempotent=False),
    "cancel": _ep("POST", "order/cancel_order", 3, order=True),
    "cancel_all": _ep("POST", "order/cancelAllOrders", 50, order=True),
    "close_positions": _ep("POST", "order/closePositions", 50, order=True, idempotent=False),
    "detail": _ep("GET", "order/detail", 2),
    "current": _ep("GET", "order/current", 2),
    "history": _ep("GET", "order/history", 10),
    "fills": _ep("GET", "order/fills", 5),
    "plan_order": _ep("POST", "order/plan_order", 5, order=True, idempotent=False),
    "cancel_plan": _ep("POST", "order/cancel_plan", 3, order=True),
    "current_plan": _ep("GET", "order/currentPlan", 3),
    "history_plan": _ep("GET", "order/historyPlan", 10),
    "place_tpsl": _ep("POST", "order/placeTpSlOrder", 5, order=True, idempotent=False),
    "modify_tpsl": _ep("POST", "order/modifyTpSlOrder", 5, order=True),
    "upload_ai_log": _ep("POST", "order/uploadAiLog", 1, idempotent=False),
}

Event = dict[str, Any]


@dataclass(frozen=True)
class Placed:
    """What ``placeOrder`` answered, and whether it was recovered by a ``client_oid`` lookup."""

    order_id: str
    client_oid: str
    recovered: bool = False
    attempts: int = 1


class WeexClient:
    """One persistent httpx client; thread-safe for concurrent calls."""

    def __init__(
        self,
        config: WeexConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        on_event: Callable[[Event], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not config.base_url.startswith(("http://", "https://")):
            raise WeexConfigError("WEEX_BASE_URL", f"{config.base_url!r} is not an http(s) URL")
        self.config = config
        self.limiter = RateLimiter(config.limits, sleep=sleep)
        self._sleep = sleep
        self._on_event = on_event
        self.clock_offset_ms = 0  # added to ACCESS-TIMESTAMP (see ``sync_clock``)
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout_s,
            transport=transport,
            headers={"locale": config.locale},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WeexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _require_keys(self) -> None:
        c = self.config
        for name, val in (
            ("WEEX_API_KEY", c.api_key),
            ("WEEX_API_SECRET", c.api_secret),
            ("WEEX_API_PASSPHRASE", c.passphrase),
        ):
            if not val.get_secret_value():
                raise WeexConfigError(name, "is not set (put it in .env or the environment)")

    def _send_once(
        self, ep: Endpoint, params: dict[str, Any] | None, body: dict[str, Any] | None
    ) -> Any:
        if ep.auth:
            self._require_keys()
        self.limiter.acquire(ep.weight, order=ep.order)
        query = encode_query(params)
        raw = encode_body(body) if ep.method == "POST" else ""
        headers = {"Content-Type": "application/json", "locale": self.config.locale}
        if ep.auth:
            c = self.config
            headers = auth_headers(
                api_key=c.api_key.get_secret_value(),
                secret=c.api_secret.get_secret_value(),
                passphrase=c.passphrase.get_secret_value(),
                ts_ms=str(int(now_ms()) + self.clock_offset_ms),
                method=ep.method,
                path=ep.path,
                query=query,
                body=raw,
                locale=c.locale,
            )
        url = ep.path + ("?" + query if query else "")
        shown = {k: ("****" if k in ("ACCESS-KEY", "ACCESS-PASSPHRASE") else v)
                 for k, v in headers.items()}  # fmt: skip
        event: Event = {"ts": time.time(), "method": ep.method, "path": ep.path, "query": query,
                        "headers": shown, "body": raw or None}  # fmt: skip
        t0 = time.perf_counter()
        try:
            resp = self._http.request(
                ep.method, url, content=raw.encode() if raw else None, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._emit(event, t0, error=f"{type(exc).__name__}: {exc}")
            raise WeexNetworkError(
                f"cannot reach {self.config.base_url}: {type(exc).__name__}",
                path=ep.path, ambiguous=False,
            ) from exc  # fmt: skip
        except httpx.TransportError as exc:
            self._emit(event, t0, error=f"{type(exc).__name__}: {exc}")
            raise WeexNetworkError(
                f"no complete answer ({type(exc).__name__}); the request may have been received",
                path=ep.path, ambiguous=True,
            ) from exc  # fmt: skip
        text = resp.text
        self._emit(event, t0, status=resp.status_code, response=text)
        try:
            data = resp.json() if text.strip() else None
        except ValueError:
            data = text
        if resp.status_code != 200:
            err = error_for(resp.status_code, data, ep.path)
            if isinstance(err, WeexRateLimited):
                self.limiter.penalize()
            raise err
        if isinstance(data, dict) and _is_envelope(data) and str(data["code"]) not in SUCCESS_CODES:
            raise error_for(400, data, ep.path)
        if isinstance(data, str):
            raise WeexResponseError("BAD_BODY", f"not JSON: {data[:200]!r}", path=ep.path)
        return data

    def _emit(self, event: Event, t0: float, **extra: Any) -> None:
        if self._on_event is not None:
            self._on_event(
                {**event, "elapsed_ms": round((time.perf_counter() - t0) * 1000, 2), **extra}
            )

    def _retrying(self) -> Retrying:
        c = self.config
        return Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, WeexError) and e.retryable),
            stop=stop_after_attempt(c.retries + 1),
            wait=wait_exponential(multiplier=c.backoff_s, max=c.backoff_max_s),
            sleep=self._sleep,
            reraise=True,
        )

    def call(
        self,
        name: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        *,
        retry: bool | None = None,
    ) -> Any:
        """One endpoint by name (``E``). Retried when it is idempotent (or ``retry=True``)."""
        ep = E[name]
        try:
            if not (ep.idempotent if retry is None else retry):
                return self._send_once(ep, params, body)
            for attempt in self._retrying():
                with attempt:
                    return self._send_once(ep, params, body)
        except WeexAuthError as exc:
            if exc.code != "40008" or not ep.idempotent:
                raise
            self.sync_clock()  # the timestamp was outside WEEX's 30 s: align and try once more
            return self._send_once(ep, params, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def sync_clock(self) -> int:
        """Align ``ACCESS-TIMESTAMP`` with WEEX's clock; returns the offset in ms."""
        t0 = time.time()
        server = ServerTime.model_validate(self.call("time"))
        self.clock_offset_ms = server.timestamp - int((t0 + time.time()) / 2 * 1000)
        return self.clock_offset_ms

    # ------------------------------------------------------------------ market

    def server_time(self) -> ServerTime:
        return ServerTime.model_validate(self.call("time"))

    def contracts(self, symbol: str | None = None) -> dict[str, Contract]:
        return parse_contracts(self.call("contracts", {"symbol": symbol}))

    def ticker(self, symbol: str) -> Ticker:
        return Ticker.model_validate(self.call("ticker", {"symbol": symbol}))

    def depth(self, symbol: str, limit: int = 15) -> dict[str, Any]:
        if limit not in (15, 200):
            raise ValueError(f"limit: {limit} is not 15 or 200")
        data = self.call("depth", {"symbol": symbol, "limit": limit})
        if not isinstance(data, dict) or "asks" not in data or "bids" not in data:
            raise WeexResponseError("BAD_BODY", "depth without asks/bids", path=E["depth"].path)
        return data

    def candles(self, symbol: str, granularity: str = "1m", limit: int = 100) -> list[list[str]]:
        """Rows ``[time_ms, open, high, low, close, base_vol, quote_vol]`` sorted oldest first
        (WEEX does not state the order; pitfall 19)."""
        rows = self.call("candles", {"symbol": symbol, "granularity": granularity, "limit": limit})
        return sorted(rows, key=lambda r: int(r[0]))

    def funding_rate(self, symbol: str) -> Decimal:
        rows = self.call("funding", {"symbol": symbol})
        row = rows[0] if isinstance(rows, list) else rows
        return Decimal(str(row["fundingRate"]))

    # ------------------------------------------------------------------ account

    def assets(self) -> list[Asset]:
        return parse_assets(self.call("assets"))

    def leverage_settings(self, symbol: str) -> dict[str, Any]:
        data = self.call("settings", {"symbol": symbol})
        return dict(data.get(symbol, data)) if isinstance(data, dict) else {}

    def set_leverage(self, symbol: str, leverage: int) -> None:
        if not 1 <= leverage <= self.config.max_leverage:
            raise ValueError(f"leverage: {leverage} is not within 1..{self.config.max_leverage}")
        self.call(
            "leverage",
            body={"symbol": symbol, "marginMode": self.config.margin_mode,
                  "longLeverage": str(leverage), "shortLeverage": str(leverage)},
        )  # fmt: skip

    def positions(self, symbol: str | None = None) -> list[WeexPosition]:
        rows = (
            self.call("single_position", {"symbol": symbol})
            if symbol
            else self.call("all_positions")
        )
        return [WeexPosition.model_validate(r) for r in rows or []]

    # ------------------------------------------------------------------ orders

    def place_order(
        self,
        *,
        symbol: str,
        client_oid: str,
        size: Decimal,
        type: int,
        match_price: int,
        price: Decimal | None,
        order_type: int = 0,
        preset_take_profit: Decimal | None = None,
        preset_stop_loss: Decimal | None = None,
    ) -> Placed:
        """``placeOrder``, never twice: after an ambiguous failure the order is looked up by
        ``client_oid`` and only re-sent when it is not found."""
        if not client_oid or len(client_oid) > 40:
            raise ValueError(f"client_oid: {client_oid!r} must be 1..40 characters")
        body: dict[str, Any] = {
            "symbol": symbol, "client_oid": client_oid, "size": fmt(size), "type": str(type),
            "order_type": str(order_type), "match_price": str(match_price),
            "price": fmt(price) if price is not None else "0",
        }  # fmt: skip
        if preset_take_profit is not None:
            body["presetTakeProfitPrice"] = fmt(preset_take_profit)
        if preset_stop_loss is not None:
            body["presetStopLossPrice"] = fmt(preset_stop_loss)
        if self.config.margin_mode != 1:
            body["marginMode"] = self.config.margin_mode
        return self._create("place", body, symbol, client_oid, "client_oid")

    def _create(
        self, name: str, body: dict[str, Any], symbol: str, client_oid: str, oid_key: str
    ) -> Placed:
        plan = name != "place"
        last: WeexError | None = None
        for attempt in range(1, self.config.retries + 2):
            if attempt > 1:
                self._sleep(self._backoff(attempt - 2))
            try:
                data = self._send_once(E[name], None, body)
            except (WeexNetworkError, WeexServerError, WeexRateLimited) as exc:
                last = exc
                # ambiguous: the answer was lost, or a gateway may have forwarded the request
                ambiguous = getattr(exc, "ambiguous", False) or isinstance(exc, WeexServerError)
                if ambiguous:
                    found = self._lookup_after_failure(symbol, client_oid, plan)
                    if found is not None:
                        return Placed(found, client_oid, recovered=True, attempts=attempt)
                continue
            except WeexBusinessError as exc:
                if attempt > 1 and "duplicate" in exc.msg.lower():  # the first one landed
                    found = self._lookup_after_failure(symbol, client_oid, plan)
                    if found is not None:
                        return Placed(found, client_oid, recovered=True, attempts=attempt)
                raise
            return Placed(_order_id_of(data, E[name].path), client_oid, attempts=attempt)
        assert last is not None
        raise last

    def _backoff(self, k: int) -> float:
        return min(self.config.backoff_max_s, self.config.backoff_s * 2**k)

    def _lookup_after_failure(self, symbol: str, client_oid: str, plan: bool) -> str | None:
        """Look the order up ``lookup_attempts`` times (WEEX may still be booking it) before
        concluding it was not placed."""
        for k in range(self.config.lookup_attempts):
            if k:
                self._sleep(self._backoff(k - 1))
            found = self.find_by_client_oid(symbol, client_oid, plan=plan)
            if found is not None:
                return found
        return None

    def find_by_client_oid(self, symbol: str, client_oid: str, *, plan: bool = False) -> str | None:
        """The order id WEEX holds for ``client_oid`` (open, then recent history), or None."""
        names: tuple[str, ...] = (
            ("current_plan", "history_plan") if plan else ("current", "history")
        )
        if self.config.client_oid_lookup == "detail_only":
            names = names[:1]
        for name in names:
            params: dict[str, Any] = {"symbol": symbol}
            if name == "history":
                params["pageSize"] = 100
            data = self.call(name, params)
            rows = data.get("list", []) if isinstance(data, dict) else data or []
            for row in rows:
                if str(row.get("client_oid") or row.get("clientOrderId") or "") == client_oid:
                    return str(row["order_id"])
        return None

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        data = self.call("cancel", body={"orderId": order_id})
        if isinstance(data, dict) and data.get("result") is False:
            raise error_for(400, {"code": "40015", "msg": data.get("err_msg") or "cancel failed"},
                            E["cancel"].path)  # fmt: skip
        return dict(data)

    def cancel_all(self, symbol: str, kind: str = "normal") -> list[dict[str, Any]]:
        if kind not in ("normal", "plan"):
            raise ValueError(f"cancelOrderType: {kind!r} is not normal or plan")
        return list(self.call("cancel_all", body={"symbol": symbol, "cancelOrderType": kind}))

    def close_positions(self, symbol: str) -> list[dict[str, Any]]:
        """Market-close every position on ``symbol`` (a symbol is required here: without one
        WEEX closes every symbol, pitfall 5)."""
        if not symbol:
            raise ValueError("symbol: required (WEEX would close every position without it)")
        return list(self.call("close_positions", body={"symbol": symbol}, retry=True))

    def order_detail(self, order_id: str) -> WeexOrder:
        return WeexOrder.model_validate(self.call("detail", {"orderId": order_id}))

    def open_orders(self, symbol: str | None = None) -> list[WeexOrder]:
        rows = self.call("current", {"symbol": symbol})
        return [WeexOrder.model_validate(r) for r in rows or []]

    def order_history(self, symbol: str, page_size: int = 100) -> list[WeexOrder]:
        rows = self.call("history", {"symbol": symbol, "pageSize": page_size})
        return [WeexOrder.model_validate(r) for r in rows or []]

    def fills(self, symbol: str | None = None, order_id: str | None = None,
              limit: int = 100) -> list[WeexFill]:  # fmt: skip
        data = self.call("fills", {"symbol": symbol, "orderId": order_id, "limit": limit})
        rows = data.get("list", []) if isinstance(data, dict) else data or []
        return [WeexFill.model_validate(r) for r in rows]

    def plan_order(self, *, symbol: str, client_oid: str, size: Decimal, type: int,
                   trigger_price: Decimal, execute_price: Decimal | None = None,
                   match_type: int = 1) -> Placed:  # fmt: skip
        body = {
            "symbol": symbol, "client_oid": client_oid, "size": fmt(size), "type": str(type),
            "match_type": str(match_type),
            "execute_price": fmt(execute_price) if execute_price is not None else "0",
            "trigger_price": fmt(trigger_price), "marginMode": self.config.margin_mode,
        }  # fmt: skip
        return self._create("plan_order", body, symbol, client_oid, "client_oid")

    def place_tpsl(self, *, symbol: str, client_oid: str, plan_type: str, trigger_price: Decimal,
                   size: Decimal, position_side: str) -> Placed:  # fmt: skip
        """``placeTpSlOrder`` (camelCase fields, a list answer with numeric ``orderId``)."""
        if plan_type not in ("profit_plan", "loss_plan"):
            raise ValueError(f"planType: {plan_type!r} is not profit_plan or loss_plan")
        body = {
            "symbol": symbol, "clientOrderId": client_oid, "planType": plan_type,
            "triggerPrice": fmt(trigger_price), "executePrice": "0", "size": fmt(size),
            "positionSide": position_side, "marginMode": self.config.margin_mode,
        }  # fmt: skip
        return self._create("place_tpsl", body, symbol, client_oid, "clientOrderId")

    def modify_tpsl(self, order_id: str, trigger_price: Decimal) -> None:
        self.call(
            "modify_tpsl",
            body={"orderId": int(order_id), "triggerPrice": fmt(trigger_price),
                  "executePrice": "0", "triggerPriceType": 1},
        )  # fmt: skip

    def cancel_plan(self, order_id: str) -> dict[str, Any]:
        return dict(self.call("cancel_plan", body={"orderId": order_id}))

    def current_plans(self, symbol: str | None = None) -> list[WeexPlanOrder]:
        rows = self.call("current_plan", {"symbol": symbol})
        return [WeexPlanOrder.model_validate(r) for r in rows or []]

    def history_plans(self, symbol: str) -> list[WeexPlanOrder]:
        data = self.call("history_plan", {"symbol": symbol, "pageSize": 100})
        rows = data.get("list", []) if isinstance(data, dict) else data or []
        return [WeexPlanOrder.model_validate(r) for r in rows]

    # ------------------------------------------------------------------ AI log

    def upload_ai_log(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one AI-log object (never an array); success is ``code == "00000"``. Not retried
        here: the uploader owns retries and its disk queue."""
        if not isinstance(body, dict):
            raise ValueError("uploadAiLog: the body must be one object, not an array")
        data = self.call("upload_ai_log", body=body)
        if not isinstance(data, dict) or str(data.get("code")) != "00000":
            raise WeexResponseError("BAD_BODY", f"no success code in {data!r}"[:300],
                                    path=E["upload_ai_log"].path)  # fmt: skip
        return data


def _order_id_of(data: Any, path: str) -> str:
    """``order_id``/``orderId`` from an object, or the first row of a list answer
    (``placeTpSlOrder``: ``[{"orderId": <big int>, "success": true}]``)."""
    row = data[0] if isinstance(data, list) and data else data
    if isinstance(row, dict):
        if row.get("success") is False:
            raise error_for(400, {"code": "40015", "msg": row.get("errorMessage") or
                                  "order refused (success=false)"}, path)  # fmt: skip
        oid = row.get("order_id", row.get("orderId"))
        if oid not in (None, "", 0, "0"):
            return str(oid)
    raise WeexResponseError("BAD_BODY", f"no order id in {data!r}"[:300], path=path)


def _is_envelope(data: Any) -> bool:
    """A ``{code, msg, ...}`` answer (the leverage family, uploadAiLog, the wrapped assets)."""
    return isinstance(data, dict) and "code" in data and "msg" in data
