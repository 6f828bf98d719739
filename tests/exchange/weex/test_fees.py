"""The WEEX profile's maker/taker fees come from the contracts endpoint when connected."""

from __future__ import annotations

import socket

from exchange.config import ExchangeConfig
from exchange.weex.client import WeexClient
from exchange.weex.fees import weex_profile
from tests.exchange.weex.kit import client_config, client_for, loopback


def test_fees_are_read_from_the_loopback_contracts_endpoint() -> None:
    with loopback(maker_fee=0.00015, taker_fee=0.0007) as (server, _):
        cfg, source = weex_profile(client_for(server), "BTCUSDT", starting_balance=1234.0)
    assert (cfg.maker_fee, cfg.taker_fee) == (0.00015, 0.0007)
    assert (source.maker_fee, source.taker_fee) == ("contracts endpoint", "contracts endpoint")
    default = ExchangeConfig.for_venue("weex")
    # everything else is the profile's, and explicit overrides still win
    assert cfg.funding_from_margin == default.funding_from_margin and cfg.starting_balance == 1234.0


def test_the_profile_defaults_stand_when_not_connected_or_unlisted() -> None:
    default = ExchangeConfig.for_venue("weex")
    cfg, source = weex_profile(None)
    assert (cfg.maker_fee, cfg.taker_fee) == (default.maker_fee, default.taker_fee)
    assert source.maker_fee == "profile default" and "not connected" in source.note
    with loopback(maker_fee=0.00015, taker_fee=0.0007) as (server, _):
        cfg, source = weex_profile(client_for(server), "PEPEUSDT")  # not a listed contract
    assert (cfg.maker_fee, cfg.taker_fee) == (default.maker_fee, default.taker_fee)
    assert "states no fee for PEPEUSDT" in source.note
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = WeexClient(client_config(f"http://127.0.0.1:{port}", retries=0))
    cfg, source = weex_profile(down)
    assert (cfg.maker_fee, cfg.taker_fee) == (default.maker_fee, default.taker_fee)
    assert source.taker_fee == "profile default" and "unavailable" in source.note


def test_explicit_fees_override_the_endpoint() -> None:
    with loopback(maker_fee=0.00015, taker_fee=0.0007) as (server, _):
        cfg, _src = weex_profile(client_for(server), taker_fee=0.001)
    assert (cfg.maker_fee, cfg.taker_fee) == (0.00015, 0.001)
