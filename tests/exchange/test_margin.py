"""FIFO lots, realised and unrealised PnL, isolated margin, liquidation price."""

from __future__ import annotations

import pytest

from exchange.margin import (
    Lot,
    apply_fill,
    entry_price,
    liquidation_price,
    position_margin,
    position_quantity,
    unrealized_pnl,
)


def test_unrealized_pnl_sign() -> None:
    assert unrealized_pnl(2, 100, 103) == 6
    assert unrealized_pnl(-2, 100, 103) == -6


def test_fifo_partial_close_realises_against_the_oldest_lot() -> None:
    lots = [Lot(1.0, 100.0, 10.0), Lot(1.0, 110.0, 11.0)]
    eff = apply_fill(lots, -1.5, 120.0, 10)
    assert eff.realized_pnl == pytest.approx(20 + 5)
    assert eff.closed_lots == [(1.0, 100.0, 20.0), (0.5, 110.0, 5.0)]
    assert eff.lots == [Lot(0.5, 110.0, 5.5)]
    assert eff.margin_released == pytest.approx(10 + 5.5)
    assert entry_price(eff.lots) == 110.0 and position_margin(eff.lots) == pytest.approx(5.5)


def test_a_fill_through_zero_flips_the_position() -> None:
    eff = apply_fill([Lot(1.0, 100.0, 20.0)], -3.0, 90.0, 5)
    assert eff.realized_pnl == -10
    assert (eff.closed_quantity, eff.opened_quantity) == (1.0, 2.0)
    assert position_quantity(eff.lots) == -2.0 and eff.lots[0].margin == pytest.approx(2 * 90 / 5)


def test_liquidation_price_formulas() -> None:
    assert liquidation_price(1, 100, 10, 0.005) == pytest.approx(90 / 0.995)
    assert liquidation_price(-1, 100, 10, 0.005) == pytest.approx(110 / 1.005)
    assert liquidation_price(1, 100, 100, 0.005) is None  # 1x long cannot be liquidated
    assert liquidation_price(0, 100, 0, 0.005) is None
