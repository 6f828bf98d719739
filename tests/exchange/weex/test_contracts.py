"""Symbols and precision: ``size_increment``/``tick_size`` are decimals, not steps."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.weex.contracts import (
    Contract,
    fmt,
    from_weex_symbol,
    parse_contracts,
    to_weex_symbol,
)

DOC_BTC = {
    "symbol": "cmt_btcusdt", "underlying_index": "BTC", "quote_currency": "USDT", "coin": "USDT",
    "contract_val": "0.0001", "delivery": ["00:00:00", "08:00:00", "16:00:00"],
    "size_increment": "4", "tick_size": "1", "forwardContractFlag": True, "priceEndStep": 1,
    "minLeverage": 1, "maxLeverage": 400, "buyLimitPriceRatio": "0.01",
    "sellLimitPriceRatio": "0.01", "makerFeeRate": "0.0002", "takerFeeRate": "0.0008",
    "minOrderSize": "0.0001", "maxOrderSize": "1200", "maxPositionSize": "1000000",
    "marketOpenLimitSize": "100",
}  # fmt: skip
DOGE = {**DOC_BTC, "symbol": "cmt_dogeusdt", "size_increment": "0", "tick_size": "5",
        "minOrderSize": "100"}  # fmt: skip


def test_symbols_round_trip() -> None:
    assert to_weex_symbol("BTCUSDT") == "cmt_btcusdt"
    assert to_weex_symbol("cmt_ethusdt") == "cmt_ethusdt"
    assert from_weex_symbol("cmt_1000shibusdt") == "1000SHIBUSDT"
    with pytest.raises(ValueError, match="symbol: 'BTC/USDT'"):
        to_weex_symbol("BTC/USDT")
    with pytest.raises(ValueError, match="cmt_btcusdt"):
        from_weex_symbol("BTCUSDT")


def test_both_contract_shapes_parse_and_decimals_are_decimals() -> None:
    bare = parse_contracts([DOC_BTC])
    wrapped = parse_contracts({"code": "00000", "msg": "success", "data": [DOC_BTC]})
    assert bare == wrapped
    c = bare["cmt_btcusdt"]
    assert (c.size_increment, c.tick_size, c.taker_fee_rate) == (4, 1, Decimal("0.0008"))
    assert c.round_size("0.00012345") == Decimal("0.0001")  # 4 decimals, rounded DOWN
    assert c.round_size("0.00019999") == Decimal("0.0001")
    assert c.round_price("90755.36") == Decimal("90755.4")
    assert fmt(c.round_price("90755.36")) == "90755.4"


def test_min_order_size_is_the_step_when_coarser_configurable() -> None:
    doge = Contract.model_validate(DOGE)
    assert doge.round_size("150") == Decimal("100")
    assert doge.round_size("150", min_is_step=False) == Decimal("150")
    assert doge.round_price("0.123456") == Decimal("0.12346")


def test_price_end_step_is_the_step_of_the_last_digit() -> None:
    c = Contract.model_validate({**DOC_BTC, "tick_size": "1", "priceEndStep": 5})
    assert c.price_step() == Decimal("0.5")
    assert c.round_price("100.26") == Decimal("100.5")
    assert c.round_price("100.24") == Decimal("100.0")
