"""The loopback WEEX's rules and shapes (weex-api §4, §13, §15), seen through the client."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from exchange.weex.errors import WeexAuthError, WeexBusinessError, WeexServerError
from exchange.weex.mock.config import DEFAULT_CONTRACTS, ContractRow
from exchange.weex.mock.run import synthetic_path
from exchange.weex.models import usdt_asset
from tests.exchange.weex.kit import client_for, loopback

SYM = "cmt_btcusdt"


@pytest.mark.parametrize("shape", ["bare", "wrapped"])
def test_both_asset_shapes_select_the_usdt_row(shape: str) -> None:
    with loopback(assets_shape=shape) as (server, _):
        client = client_for(server)
        assets = client.assets()
        raw = httpx.get(server.url + "/capi/v2/market/time").json()
    assert usdt_asset(assets).equity == Decimal("1000.0")
    assert [a.coin_name for a in assets] == (["USDT"] if shape == "bare" else ["BTC", "USDT"])
    assert set(raw) == {"epoch", "iso", "timestamp"}


def test_leverage_cap_margin_mode_and_allowlist() -> None:
    trx = ContractRow(symbol="cmt_trxusdt", size_increment=0, tick_size=5, min_order_size="10")
    with loopback(paths={SYM: synthetic_path(), "cmt_trxusdt": synthetic_path()},
                  contracts=(*DEFAULT_CONTRACTS, trx)) as (server, _):  # fmt: skip
        client = client_for(server, max_leverage=50)
        with pytest.raises(WeexBusinessError) as e:
            client.set_leverage(SYM, 25)
        assert e.value.code == "50007"
        client.set_leverage(SYM, 20)
        other = client_for(server, margin_mode=3)
        with pytest.raises(WeexBusinessError, match="marginMode"):
            other.set_leverage(SYM, 5)
        with pytest.raises(WeexAuthError) as a:  # 50003: no permission for the pair
            client.place_order(symbol="cmt_trxusdt", client_oid="x1", size=Decimal(1), type=1,
                               match_price=1, price=Decimal(1))  # fmt: skip
        assert a.value.code == "50003"


def test_close_conflicting_with_pending_orders_is_40015_naming_the_order() -> None:
    with loopback() as (server, _):
        client = client_for(server)
        client.place_order(symbol=SYM, client_oid="o", size=Decimal("0.01"), type=1,
                           match_price=1, price=Decimal(100))  # fmt: skip
        sl = client.place_tpsl(symbol=SYM, client_oid="s", plan_type="loss_plan",
                               trigger_price=Decimal(90), size=Decimal("0.01"),
                               position_side="long")  # fmt: skip
        with pytest.raises(WeexBusinessError) as e:
            client.place_order(symbol=SYM, client_oid="c", size=Decimal("0.01"), type=3,
                               match_price=1, price=Decimal(100))  # fmt: skip
        assert e.value.code == "40015" and f"pending order {sl.order_id}" in e.value.msg
        cancelled = client.cancel_all(SYM, "plan")
        assert cancelled == [{"orderId": int(sl.order_id), "success": True}]
        assert int(sl.order_id) > 2**53
        with pytest.raises(WeexBusinessError, match="duplicate client_oid o"):
            client.place_order(symbol=SYM, client_oid="o", size=Decimal("0.01"), type=1,
                               match_price=1, price=Decimal(100))  # fmt: skip
        with pytest.raises(WeexBusinessError, match="exceeds the position"):
            client.place_order(symbol=SYM, client_oid="c2", size=Decimal("0.02"), type=3,
                               match_price=1, price=Decimal(100))  # fmt: skip
        client.place_order(symbol=SYM, client_oid="c3", size=Decimal("0.01"), type=3,
                           match_price=1, price=Decimal(100))  # fmt: skip
        assert client.positions(SYM) == []
        hist = client.order_history(SYM)
        assert [(o.client_oid, o.type, o.order_type, o.price) for o in hist] == [
            ("c3", "close_long", "ioc", 0),
            ("o", "open_long", "ioc", 0),
        ]


def test_words_out_codes_in_and_numbers_for_plan_queries() -> None:
    with loopback() as (server, _):
        client = client_for(server)
        client.place_order(symbol=SYM, client_oid="o", size=Decimal("0.01"), type=1,
                           match_price=1, price=Decimal(100))  # fmt: skip
        client.place_tpsl(symbol=SYM, client_oid="t", plan_type="profit_plan",
                          trigger_price=Decimal(120), size=Decimal("0.01"),
                          position_side="long")  # fmt: skip
        [plan] = client.current_plans(SYM)
        assert (plan.status, plan.type) == ("0", "3")
        raw = client.call("fills", {"symbol": SYM})
        assert set(raw) == {"list", "nextFlag", "totals"}
        assert "legacyOrdeDirection" in raw["list"][0]
        rows = client.call("candles", {"symbol": SYM, "granularity": "1m", "limit": 5})
        assert int(rows[0][0]) > int(rows[-1][0])  # the loopback answers newest first
        assert [r[0] for r in client.candles(SYM, limit=5)] == sorted(r[0] for r in rows)


def test_non_whitelisted_ip_gets_521() -> None:
    with loopback(ip_whitelist=("10.9.9.9",)) as (server, _):
        client = client_for(server, retries=1)
        with pytest.raises(WeexServerError) as e:
            client.server_time()
    assert e.value.http_status == 521


def test_upload_must_be_one_object() -> None:
    with loopback() as (server, _):
        client = client_for(server)
        with pytest.raises(WeexBusinessError, match="one JSON object"):
            client.call("upload_ai_log", body=[{"stage": "x"}])  # type: ignore[arg-type]
    assert json.dumps([1]) == "[1]"
