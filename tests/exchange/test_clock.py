"""The one clock: which exchanges it moves, and what it says when it cannot."""

from __future__ import annotations

import numpy as np

from exchange.clock import Advanced, advance, bars_from, is_clocked
from exchange.virtual import VirtualExchange
from exchange.weex.exchange import WeexExchange

M = 60_000_000_000
T0 = 1_681_900_000 * 10**9 // M * M


class _Bars:
    def __init__(self, n: int, span: int = M) -> None:
        self.ts = T0 + span * np.arange(n, dtype=np.int64)
        self.close = 100.0 + np.arange(n, dtype=np.float64)
        self.open, self.high, self.low = self.close - 0.5, self.close + 1, self.close - 1
        self.volume = np.ones(n)
        self.bar_ns = span


def test_a_live_venue_is_never_fed_stored_bars() -> None:
    assert is_clocked(VirtualExchange())
    assert WeexExchange.live and not is_clocked(object.__new__(WeexExchange))
    done = advance(object.__new__(WeexExchange), "BTCUSDT", _Bars(5), T0 + 5 * M)
    assert done == Advanced("live", T0 + 5 * M, None)


def test_past_no_data_and_a_fresh_symbol_from_a_start() -> None:
    ex = VirtualExchange()
    assert advance(ex, "BTCUSDT", None, T0).status == "no_data"
    bars = _Bars(10)
    done = advance(ex, "BTCUSDT", bars_from(bars, T0 + 5 * M), T0 + 8 * M)
    assert done.status == "synced" and done.now_ns == T0 + 8 * M
    assert ex.mark_price("BTCUSDT") == 107.0  # the bar opened at +7 closed at +8
    assert advance(ex, "BTCUSDT", bars, T0 + 6 * M).status == "past"
    hourly = _Bars(4, span=60 * M)
    assert bars_from(hourly, T0 + 90 * M).closed_by(T0 + 240 * M) == 3
