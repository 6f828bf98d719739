"""The pure fill rules: touch on the path, taker vs maker, path choice."""

from __future__ import annotations

from exchange.matching import Touch, bar_path, limit_execution, market_execution, pick_path, touch


def test_path_orderings() -> None:
    assert bar_path(1, 4, 0.5, 2, True) == (1, 4, 0.5, 2)
    assert bar_path(1, 4, 0.5, 2, False) == (1, 0.5, 4, 2)


def test_touch_counts_and_gaps_are_breached() -> None:
    assert touch(98, True, 100, 98) == Touch(98, False)  # a touch fills
    assert touch(98, True, 100, 98.1) is None
    assert touch(95, True, 90, 90) == Touch(90, True)  # gapped through: at the open
    assert touch(105, False, 101, 106) == Touch(105, False)


def test_limit_resting_is_maker_at_its_price_arriving_is_taker_at_the_point() -> None:
    gap = Touch(96, True)
    assert limit_execution(98, +1, gap, False, 0, 95, 97) == (98, "MAKER", 98)
    assert limit_execution(98, +1, gap, True, 0, 95, 97) == (96, "TAKER", 96)
    assert (
        limit_execution(98, +1, gap, True, 500, 95, 100).price == 98
    )  # never worse than the limit


def test_market_execution_is_taker_and_clamped() -> None:
    assert market_execution(100.5, +1, 200, 100.2, 102) == (102, "TAKER", 100.5)


def test_pick_path_policy_and_ties() -> None:
    assert pick_path(5, -5, "pessimistic") is False
    assert pick_path(5, -5, "optimistic") is True
    assert pick_path(3, 3, "pessimistic") is True and pick_path(3, 3, "optimistic") is True
