"""Contract specs: the eight WEEX pairs, grid checks, synthetic symbols."""

from __future__ import annotations

import pytest

from exchange.instruments import (
    Instrument,
    default_instruments,
    register_instrument,
    resolve,
    synthetic,
)
from tools.symbols import ALLOWED_SYMBOLS


def test_the_eight_pairs_match_weex_specs() -> None:
    specs = default_instruments()
    assert set(ALLOWED_SYMBOLS) <= set(specs)
    btc, doge, sol = specs["BTCUSDT"], specs["DOGEUSDT"], specs["SOLUSDT"]
    assert (btc.tick_size, btc.step_size, btc.min_quantity, btc.max_leverage) == (
        0.1,
        0.001,
        0.001,
        20,
    )
    assert (doge.tick_size, doge.step_size, doge.min_quantity) == (0.00001, 100, 100)
    assert (sol.tick_size, sol.step_size, sol.min_quantity) == (0.01, 0.1, 0.1)


def test_grid_checks_tolerate_float_noise() -> None:
    btc = default_instruments()["BTCUSDT"]
    assert btc.on_step(0.003) and btc.on_step(0.1 + 0.2) and not btc.on_step(0.0015)
    assert btc.on_tick(27123.4) and not btc.on_tick(27123.45)
    assert btc.floor_quantity(0.12345) == 0.123
    assert btc.round_price(27123.46) == 27123.5


def test_synthetic_symbols_trade_as_their_pair() -> None:
    s = synthetic("SYNTH-ETHUSDT")
    assert s.symbol == "SYNTH-ETHUSDT" and s.tick_size == 0.01
    assert resolve("SYNTH-BTCUSDT", default_instruments()).step_size == 0.001  # type: ignore[union-attr]
    assert resolve("SYNTH-FOOUSDT", default_instruments()) is None
    with pytest.raises(KeyError, match="no instrument 'FOOUSDT'"):
        synthetic("SYNTH-FOOUSDT")


def test_register_instrument_adds_to_new_configs() -> None:
    from exchange.instruments import _REGISTRY

    spec = Instrument(symbol="TESTUSDT", tick_size=0.5, step_size=1, min_quantity=2, max_leverage=5)
    try:
        register_instrument(spec)
        assert default_instruments()["TESTUSDT"] == spec
    finally:
        _REGISTRY.pop("TESTUSDT", None)
