"""Signing (weex-api §2): the reference's vectors, the prehash rule, and the loopback WEEX's
header checks with WEEX's codes."""

from __future__ import annotations

import time

import httpx
import pytest

from exchange.weex.signing import auth_headers, encode_body, encode_query, prehash, sign
from tests.exchange.weex.kit import KEY, PASSPHRASE, SECRET, loopback

VECTORS = [
    ("1591089508404", "GET", "/capi/v2/market/depth", "symbol=cmt_btcusdt&limit=20", "",
     "qpcdDexE1ywjCVpMpFppha0dLvh2sg8FdAE4HjngW9U="),
    ("1591089508404", "GET", "/capi/v2/account/assets", "", "",
     "QAOPakOHHe8Fi2eotUHNgF0U9AKhlJoOIIdxCuV6+3o="),
    ("1561022985382", "POST", "/capi/v2/order/placeOrder", "",
     '{"symbol":"cmt_btcusdt","client_oid":"test","size":"0.0001","type":"1","order_type":"0",'
     '"match_price":"0","price":"100000.0"}',
     "8GbBOfQEmr6uIzR6kHe+Xz5JkEALsCj8wzblpPo4rHw="),
]  # fmt: skip


@pytest.mark.parametrize(("ts", "method", "path", "query", "body", "expected"), VECTORS)
def test_reference_vectors(ts, method, path, query, body, expected) -> None:
    assert sign("test-secret", ts, method, path, query, body) == expected


def test_prehash_joins_the_query_with_a_question_mark_only_when_there_is_one() -> None:
    assert prehash("1", "get", "/p") == "1GET/p"
    assert prehash("1", "GET", "/p", "a=1") == "1GET/p?a=1"
    assert prehash("1", "POST", "/p", "", '{"a":1}') == '1POST/p{"a":1}'


def test_query_and_body_are_encoded_once_in_the_given_order() -> None:
    assert encode_query({"symbol": "cmt_btcusdt", "limit": 20, "x": None}) == (
        "symbol=cmt_btcusdt&limit=20"
    )
    assert encode_body({"symbol": "cmt_btcusdt", "size": "1"}) == (
        '{"symbol":"cmt_btcusdt","size":"1"}'
    )


def _headers(**over: str) -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    h = auth_headers(api_key=KEY, secret=SECRET, passphrase=PASSPHRASE, ts_ms=ts, method="GET",
                     path="/capi/v2/account/assets")  # fmt: skip
    h.update(over)
    return {k: v for k, v in h.items() if v != ""}


@pytest.mark.parametrize(
    ("override", "code", "status"),
    [
        ({}, None, 200),
        ({"ACCESS-KEY": ""}, "40001", 400),
        ({"ACCESS-SIGN": ""}, "40002", 400),
        ({"ACCESS-TIMESTAMP": ""}, "40003", 400),
        ({"ACCESS-PASSPHRASE": ""}, "40011", 400),
        ({"ACCESS-TIMESTAMP": "1591089508"}, "40005", 400),
        ({"ACCESS-TIMESTAMP": "1591089508404"}, "40008", 400),
        ({"ACCESS-KEY": "someone-else"}, "40006", 401),
        ({"ACCESS-PASSPHRASE": "wrongpass"}, "40012", 401),
        ({"ACCESS-SIGN": "QAOPakOHHe8Fi2eotUHNgF0U9AKhlJoOIIdxCuV6+3o="}, "40009", 401),
    ],
)
def test_loopback_weex_checks_every_header(override, code, status) -> None:
    with loopback() as (server, _):
        r = httpx.get(server.url + "/capi/v2/account/assets", headers=_headers(**override))
    assert r.status_code == status
    if code is None:
        assert r.json()[0]["coinName"] == "USDT"
    else:
        body = r.json()
        assert body["code"] == code and body["data"] is None and isinstance(body["msg"], str)
        assert set(body) == {"code", "msg", "requestTime", "data"}


def test_signature_covers_the_exact_query_and_body() -> None:
    with loopback() as (server, _):
        ts = str(int(time.time() * 1000))
        h = auth_headers(api_key=KEY, secret=SECRET, passphrase=PASSPHRASE, ts_ms=ts,
                         method="GET", path="/capi/v2/account/settings",
                         query="symbol=cmt_btcusdt")  # fmt: skip
        ok = httpx.get(server.url + "/capi/v2/account/settings?symbol=cmt_btcusdt", headers=h)
        other = httpx.get(server.url + "/capi/v2/account/settings?symbol=cmt_ethusdt", headers=h)
        body = '{"symbol":"cmt_btcusdt","marginMode":1,"longLeverage":"5","shortLeverage":"5"}'
        hp = auth_headers(api_key=KEY, secret=SECRET, passphrase=PASSPHRASE, ts_ms=ts,
                          method="POST", path="/capi/v2/account/leverage", body=body)  # fmt: skip
        changed = httpx.post(server.url + "/capi/v2/account/leverage", headers=hp,
                             content=body.replace('"5"', '"6"'))  # fmt: skip
        posted = httpx.post(server.url + "/capi/v2/account/leverage", headers=hp, content=body)
        bad_type = httpx.post(server.url + "/capi/v2/account/leverage",
                              headers={**hp, "Content-Type": "text/plain"}, content=body)  # fmt: skip
    assert ok.status_code == 200 and "cmt_btcusdt" in ok.json()
    assert other.json()["code"] == "40009"
    assert changed.json()["code"] == "40009"
    assert posted.json() == {**posted.json(), "code": "200", "msg": "success"}
    assert bad_type.json()["code"] == "40007"
