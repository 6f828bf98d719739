"""The review loop: scoring, calibration, the weight rule, and learning without look-ahead."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from decisions.review import (
    PWinModel,
    ReviewLearner,
    calibration,
    features,
    role_weight,
    score,
)

H = 3_600_000_000_000
T0 = pd.Timestamp("2023-01-01T00:00:00Z")


@dataclass
class _Bars:
    ts: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    bar_ns: int = H


def _bars(closes: list[float], spread: float = 1.0) -> _Bars:
    c = np.array(closes, dtype=float)
    ts = T0.value + H * np.arange(len(c), dtype=np.int64)
    return _Bars(ts, c + spread, c - spread, c)


def test_score_reads_only_the_horizon_and_finds_what_was_hit_first() -> None:
    bars = _bars([100, 101, 96, 110, 120, 130])  # bar k opens at T0 + k h
    o = score(bars, action="LONG", at=T0 + pd.Timedelta(hours=1), entry=100.0, horizon="3h",
              stop_loss=97.0, take_profit=105.0)  # fmt: skip
    # bars opened 01:00, 02:00, 03:00 (closed by 04:00); the 04:00 bar (120) is not read
    assert o.exit_price == 110.0 and o.return_pct == pytest.approx(10.0)
    assert o.first_hit == "stop_loss"  # 02:00 low 95 <= 97 before the target
    assert o.mfe_pct == pytest.approx(11.0) and o.mae_pct == pytest.approx(5.0)
    assert o.known_at == "2023-01-01T04:00:00Z" and o.complete and o.direction_right
    short = score(bars, action="SHORT", at=T0 + pd.Timedelta(hours=1), entry=100.0, horizon="3h")
    assert short.return_pct == pytest.approx(-10.0) and short.direction_right is False
    late = score(bars, action="LONG", at=T0 + pd.Timedelta(hours=5), entry=130.0, horizon="3h")
    assert not late.complete


def test_calibration_and_the_weight_rule() -> None:
    cal = calibration([(0.9, True), (0.9, False), (0.55, True), (0.52, True)])
    assert cal["n"] == 4 and cal["brier"] == pytest.approx(
        ((0.1) ** 2 + 0.81 + 0.45**2 + 0.48**2) / 4
    )
    assert [r["bin"] for r in cal["reliability"]] == ["0.5-0.6", "0.9-1.0"]
    assert role_weight(0, 0) == 1.0 and role_weight(8, 8) == 1.8 and role_weight(0, 20) == 0.25


def test_the_pwin_model_moves_toward_what_happens() -> None:
    m = PWinModel()
    x = features({"decision": {"action": "LONG", "confidence": 0.8},
                  "stances": {"a": {"stance": "LONG"}, "b": {"stance": "SHORT"}}})  # fmt: skip
    assert x == [1.0, 0.8, 0.5, 0.0] and m.p_win(x) == 0.5
    for _ in range(20):
        m.update(x, True)
    assert m.p_win(x) > 0.75 and m.updates == 20
    m.update(x, False)
    assert m.p_win(x) < 0.7818


class _Market:
    def __init__(self, bars: _Bars) -> None:
        self.bars = bars

    def base(self, symbol: str) -> _Bars:
        return self.bars


class _Desk:
    name, run_id = "d", "r"


def _learner(closes: list[float]) -> ReviewLearner:
    lr = ReviewLearner(market=_Market(_bars(closes)), horizon="4h")
    for k in range(0, 8, 2):  # a decision every 2 h; the analyst always LONG, risk always SHORT
        lr.on_decision(_Desk(), f"d{k}", "BTCUSDT", (T0 + pd.Timedelta(hours=k)).isoformat(),
                       {"price": closes[k], "stances": {"analyst": {"stance": "LONG"},
                                                        "risk": {"stance": "SHORT"}}})  # fmt: skip
    return lr


def test_weights_use_an_outcome_only_once_it_is_known() -> None:
    """Rising prices: the LONG analyst is right. At 05:00 only the 00:00 decision is known
    (known at 04:00); changing every bar after 05:00 changes nothing up to then."""
    up = [100.0 + k for k in range(24)]
    crash = up[:5] + [50.0] * 19  # the future after 05:00 is different
    a, b = _learner(up), _learner(crash)
    t = T0 + pd.Timedelta(hours=5)
    wa, wb = a.weights_at(_Desk(), t), b.weights_at(_Desk(), t)
    assert wa == wb == {"analyst": pytest.approx(2 * 2 / 3), "risk": pytest.approx(2 / 3)}
    assert len(a.pending) == 3  # 02:00, 04:00, 06:00 are not known yet
    later = T0 + pd.Timedelta(hours=12)
    assert a.weights_at(_Desk(), later) != b.weights_at(_Desk(), later)  # control: it does learn


def test_the_gate_may_require_a_minimum_p_win_and_fails_closed() -> None:
    from decisions.limits import RiskLimits
    from decisions.preconditions import r00_p_win

    assert r00_p_win(0.1, RiskLimits()) is None  # off by default
    on = RiskLimits(min_p_win=0.55)
    assert r00_p_win(0.6, on) is None
    low = r00_p_win(0.5, on)
    assert low is not None
    assert low.rule == "R00_p_win" and low.message == "P(win) 0.500 < minimum 0.55"
    none = r00_p_win(None, on)
    assert none is not None and none.message == "P(win) no estimate < minimum 0.55"
