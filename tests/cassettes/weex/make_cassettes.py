"""Write ``weex_v2_documented.yaml``: every endpoint the client uses, with the request bodies
and the responses exactly as WEEX documents them (../shared/reference/weex-api.md §9, §11).

NOT recorded from the live API (no network where this was made): these are WEEX's documented
examples in vcrpy's format, so replaying them checks the client against the documented shapes.
Run: ``python tests/cassettes/weex/make_cassettes.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

BASE = "https://api-contract.weex.com/capi/v2/"
HERE = Path(__file__).resolve().parent

POSITION = {
    "id": 0, "account_id": 0, "coin_id": 2, "contract_id": 10000002, "side": "LONG",
    "margin_mode": "SHARED", "separated_mode": "COMBINED", "separated_open_order_id": 0,
    "leverage": "1", "size": "0.", "open_value": "0", "open_fee": "0.000000",
    "funding_fee": "0.000001", "isolated_margin": "0", "is_auto_append_isolated_margin": False,
    "cum_open_size": "0", "cum_open_value": "09", "cum_open_fee": "0.000000", "cum_close_size": "0",
    "cum_close_value": "0", "cum_close_fee": "0.000000", "cum_funding_fee": "0",
    "cum_liquidate_fee": "0", "created_match_sequence_id": 0, "updated_match_sequence_id": 0,
    "created_time": 1708395319042, "updated_time": 1713341325556,
}
DETAIL = {
    "symbol": "cmt_btcusdt", "size": "0.010000", "client_oid": "1763604184027_122",
    "createTime": "1763708511502", "filled_qty": "0.010000", "fee": "0.51357900",
    "order_id": "686643264626885530", "price": "0.0", "price_avg": "85596.5", "status": "filled",
    "type": "open_long", "order_type": "ioc", "totalProfits": "0", "contracts": 10000,
    "filledQtyContracts": 10000, "presetTakeProfitPrice": "100000.0",
    "presetStopLossPrice": "10000.0",
}
CURRENT = {
    "symbol": "cmt_btcusdt", "size": "0.010000", "client_oid": "175287228528278",
    "createTime": "1764505828770", "filled_qty": "0", "fee": "0", "order_id": "689987455633326746",
    "price": "88888.0", "price_avg": "0", "status": "open", "type": "open_long",
    "order_type": "normal", "totalProfits": "0", "contracts": 10000, "filledQtyContracts": 0,
    "presetTakeProfitPrice": None, "presetStopLossPrice": None,
}
PLAN = {
    "symbol": "cmt_btcusdt", "size": "1", "client_oid": "1234567890", "createTime": "1742213506548",
    "filled_qty": "0.5", "fee": "0.01", "order_id": "461234125", "price": "50000.00",
    "price_avg": "49900.00", "status": "1", "type": "1", "order_type": "0",
    "totalProfits": "200.00", "triggerPrice": "48000.00", "triggerPriceType": "LIMIT",
    "triggerTime": "1742213506548", "presetTakeProfitPrice": None, "presetStopLossPrice": None,
}
FILL = {
    "tradeId": 0, "orderId": 0, "symbol": "cmt_btcusdt", "marginMode": "SHARED",
    "separatedMode": "SEPARATED", "positionSide": "LONG", "orderSide": "BUY", "fillSize": "0.01",
    "fillValue": "900.5", "fillFee": "0.54", "liquidateFee": "MAKER", "realizePnl": "0",
    "direction": "OPEN_LONG", "liquidateType": "", "legacyOrdeDirection": "OPEN_LONG",
    "createdTime": 1716712170527,
}  # fill values are placeholders in the doc; these stand in for them (keys as documented)
AI_LOG = {
    "orderId": None, "stage": "Strategy Generation", "model": "GPT-5-turbo",
    "input": {"prompt": "Predict BTC/USDT price trend for the next 3 hours.",
              "data": {"RSI_14": 36.8, "EMA_20": 68950.4, "FundingRate": -0.0021,
                       "OpenInterest": 512.3}},
    "output": {"signal": "Buy", "confidence": 0.82, "target_price": 69300,
               "reason": "Negative funding + rising open interest implies short squeeze potential."},
    "explanation": "Low RSI and price near the EMA20 suggest weakening downside momentum...",
}  # fmt: skip

RAW = '{"orderId":696073048050107226,"success":true}'
INTERACTIONS: list[tuple[str, str, object, object, int]] = [
    ("GET", "market/time", None,
     {"epoch": "1716710918.113", "iso": "2024-05-26T08:08:38.113Z", "timestamp": 1716710918113}, 200),
    ("GET", "market/contracts?symbol=cmt_btcusdt", None, [{
        "symbol": "cmt_btcusdt", "underlying_index": "BTC", "quote_currency": "USDT", "coin": "USDT",
        "contract_val": "0.0001", "delivery": ["00:00:00", "08:00:00", "16:00:00"],
        "size_increment": "4", "tick_size": "1", "forwardContractFlag": True, "priceEndStep": 1,
        "minLeverage": 1, "maxLeverage": 400, "buyLimitPriceRatio": "0.01",
        "sellLimitPriceRatio": "0.01", "makerFeeRate": "0.0002", "takerFeeRate": "0.0008",
        "minOrderSize": "0.0001", "maxOrderSize": "1200", "maxPositionSize": "1000000",
        "marketOpenLimitSize": "100"}], 200),
    ("GET", "market/ticker?symbol=cmt_btcusdt", None, {
        "symbol": "cmt_btcusdt", "last": "90755.3", "best_ask": "90755.4", "best_bid": "90755.3",
        "high_24h": "91130.0", "low_24h": "90097.3", "volume_24h": "2321170547.37995",
        "timestamp": "1764482511864", "priceChangePercent": "0.000474", "base_volume": "25615.0755",
        "markPrice": "90755.2", "indexPrice": "90797.161"}, 200),
    ("GET", "market/depth?symbol=cmt_btcusdt&limit=15", None,
     {"asks": [["8858.0", "19299"]], "bids": [["7466.0", "499"], ["4995.0", "12500"]],
      "timestamp": "1591237821479"}, 200),
    ("GET", "market/candles?symbol=cmt_btcusdt&granularity=1m&limit=2", None,
     [["1716707520000", "69174.4", "69175.0", "69174.0", "69174.9", "0", "0.012"],
      ["1716707460000", "69174.3", "69174.4", "69174.1", "69174.3", "0", "0.011"]], 200),
    ("GET", "market/currentFundRate?symbol=cmt_btcusdt", None,
     [{"symbol": "cmt_btcusdt", "fundingRate": "-0.0001036", "collectCycle": 480,
       "timestamp": 1750383726052}], 200),
    ("GET", "account/assets", None,
     [{"coinName": "USDT", "available": "5413.06877369", "equity": "5696.49288823",
       "frozen": "81.28240000", "unrealizePnl": "-34.55300000"}], 200),
    ("GET", "account/settings?symbol=cmt_ethusdt", None,
     {"cmt_ethusdt": {"isolated_long_leverage": "20.00", "isolated_short_leverage": "20.00",
                      "cross_leverage": "20.00"}}, 200),
    ("POST", "account/leverage",
     {"symbol": "cmt_btcusdt", "marginMode": 1, "longLeverage": "10", "shortLeverage": "10"},
     {"msg": "success", "requestTime": 1713339011237, "code": "200"}, 200),
    ("GET", "account/position/allPosition", None, [POSITION], 200),
    ("GET", "account/position/singlePosition?symbol=cmt_btcusdt", None, [], 200),
    ("POST", "order/placeOrder",
     {"symbol": "cmt_btcusdt", "client_oid": "test", "size": "0.0001", "type": "1",
      "order_type": "0", "match_price": "0", "price": "100000.0"},
     {"client_oid": None, "order_id": "596471064624628269"}, 200),
    ("POST", "order/placeOrder",
     {"symbol": "cmt_bchusdt", "client_oid": "111111111222222", "size": "1", "type": "1",
      "order_type": "0", "match_price": "0", "price": "100", "presetTakeProfitPrice": "105",
      "presetStopLossPrice": "95"},
     {"client_oid": None, "order_id": "596471064624628270"}, 200),
    ("POST", "order/cancel_order", {"orderId": "596471064624628269"},
     {"order_id": "596476148997685805", "client_oid": None, "result": True, "err_msg": None}, 200),
    ("POST", "order/cancelAllOrders", {"symbol": "cmt_btcusdt", "cancelOrderType": "normal"},
     "[{\"orderId\":696026685023191898,\"success\":true}]", 200),
    ("POST", "order/closePositions", {"symbol": "cmt_btcusdt"},
     "[{\"positionId\":690800371848708186,\"successOrderId\":696023766399976282,"
     "\"errorMessage\":\"\",\"success\":true}]", 200),
    ("GET", "order/detail?orderId=686643264626885530", None, DETAIL, 200),
    ("GET", "order/current?symbol=cmt_btcusdt", None, [CURRENT], 200),
    ("GET", "order/fills?symbol=cmt_btcusdt&limit=100", None,
     {"list": [FILL], "nextFlag": False, "totals": 0}, 200),
    ("POST", "order/plan_order",
     {"symbol": "cmt_bchusdt", "client_oid": "11111111111111", "size": "1", "type": "1",
      "match_type": "1", "execute_price": "100", "trigger_price": "100", "marginMode": 1},
     {"client_oid": None, "order_id": "596480271352594989"}, 200),
    ("POST", "order/cancel_plan", {"orderId": "596480271352594989"},
     {"order_id": "596480271352594989", "client_oid": None, "result": True, "err_msg": None}, 200),
    ("GET", "order/currentPlan?symbol=cmt_btcusdt", None, [PLAN], 200),
    ("GET", "order/historyPlan?symbol=cmt_btcusdt&pageSize=100", None,
     {"list": [PLAN], "nextPage": False}, 200),
    ("POST", "order/placeTpSlOrder",
     {"symbol": "cmt_btcusdt", "clientOrderId": "123456789", "planType": "profit_plan",
      "triggerPrice": "50000", "executePrice": "0", "size": "1", "positionSide": "long",
      "marginMode": 1}, "[" + RAW + "]", 200),
    ("POST", "order/modifyTpSlOrder",
     {"orderId": 596471064624628269, "triggerPrice": "51000", "executePrice": "0",
      "triggerPriceType": 1},
     {"code": "00000", "msg": "success", "requestTime": 1765956639711, "data": ""}, 200),
    ("POST", "order/uploadAiLog", AI_LOG,
     {"code": "00000", "msg": "success", "requestTime": 1763103201300, "data": "upload success"}, 200),
    ("GET", "order/detail?orderId=1", None,
     {"code": "50005", "msg": "order does not exist", "requestTime": 1763103201300, "data": None}, 400),
]  # fmt: skip


def _interaction(method: str, path: str, body: object, response: object, status: int) -> dict:
    text = response if isinstance(response, str) else json.dumps(response, separators=(",", ":"))
    return {
        "request": {
            "body": "" if body is None else json.dumps(body, separators=(",", ":")),
            "headers": {},
            "method": method,
            "uri": BASE + path,
        },
        "response": {
            "body": {"string": text},
            "headers": {"Content-Type": ["application/json"]},
            "status": {"code": status, "message": "OK" if status == 200 else "Bad Request"},
        },
    }


def main() -> None:
    doc = {"interactions": [_interaction(*i) for i in INTERACTIONS], "version": 1}
    header = (
        "# Made by tests/cassettes/weex/make_cassettes.py from WEEX's DOCUMENTED examples\n"
        "# (../shared/reference/weex-api.md §9, §11); NOT recorded from the live API.\n"
        "# The fills values are placeholders in the doc and are stand-ins here (keys as documented).\n"
    )
    (HERE / "weex_v2_documented.yaml").write_text(
        header + yaml.safe_dump(doc, sort_keys=False, width=10_000, allow_unicode=True)
    )


if __name__ == "__main__":
    main()
