"""Fees, taker slippage clamped to the bar, funding sign and schedule."""

from __future__ import annotations

import pandas as pd
import pytest

from exchange.costs import fee, funding_payment, next_funding_after, slipped_price


def test_fee_is_notional_times_rate() -> None:
    assert fee(0.5, 30000, 0.0006) == pytest.approx(9.0)
    assert fee(-2, 100, 0.0002) == pytest.approx(0.04)
    assert fee(1, 100, -0.0001) == pytest.approx(-0.01)  # a rebate


def test_slippage_moves_against_the_taker_and_stays_in_the_bar() -> None:
    assert slipped_price(100.5, +1, 10, 100.2, 102) == pytest.approx(100.6005)
    assert slipped_price(100.5, +1, 200, 100.2, 102) == 102
    assert slipped_price(90, -1, 300, 88, 92) == 88
    assert slipped_price(95, -1, 0, 88, 97) == 95


def test_funding_positive_rate_debits_longs() -> None:
    assert funding_payment(1.0, 100.0, 0.0001) == pytest.approx(-0.01)
    assert funding_payment(-1.0, 100.0, 0.0001) == pytest.approx(0.01)
    assert funding_payment(1.0, 100.0, -0.0001) == pytest.approx(0.01)


def test_funding_times_are_00_08_16_utc() -> None:
    ns = lambda s: pd.Timestamp(s).value  # noqa: E731
    assert next_funding_after(ns("2023-04-20T07:59:00Z")) == ns("2023-04-20T08:00:00Z")
    assert next_funding_after(ns("2023-04-20T08:00:00Z")) == ns("2023-04-20T16:00:00Z")
    assert next_funding_after(ns("2023-04-20T16:30:00Z")) == ns("2023-04-21T00:00:00Z")
