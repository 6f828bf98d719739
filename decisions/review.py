"""The review loop: score decisions once their horizon has passed, calibrate confidence, and learn
whom to trust — never from an outcome before it is known.

- ``score``: a call (LONG / SHORT, at a price, with optional stop and target) against the bars
  after it, up to a horizon: signed return, direction right or wrong, which of stop-loss and
  take-profit was hit first (the stop when both fall in one bar: the pessimistic reading),
  maximum favourable and adverse excursion (MFE / MAE). The outcome is ``known_at`` =
  decision time + horizon, and only bars closed by then are read.
- ``calibration``: the Brier score of the decision's confidence as P(direction right), and a
  reliability table (confidence bins: count, mean confidence, hit rate).
- ``role_weights`` (the documented rule): each seat's weight is its Laplace-smoothed hit rate on
  the non-FLAT stances scored so far, scaled so that a coin flip weighs 1.0:
  ``w = 2 * (hits + 1) / (calls + 2)``, clipped to [0.25, 2.0]. The CTO multiplies each seat's
  vote by it. ``ReviewLearner.weights_at(t)`` uses only outcomes with ``known_at <= t``.
- ``PWinModel``: an online logistic regression of "the trade made money" on the decision's
  features, updated on each closed trade (in time order), versioned in the ledger. The gate may
  require a minimum P(win) (``RiskLimits.min_p_win``, off by default).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from tools.timeutil import iso, parse_utc

WEIGHT_MIN, WEIGHT_MAX = 0.25, 2.0
HORIZONS = ("4h", "1d", "3d")
BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class PriceBars(Protocol):
    """Bars as arrays (``memos.market.Bars`` is one): open times in ns and OHLC."""

    @property
    def ts(self) -> np.ndarray: ...
    @property
    def high(self) -> np.ndarray: ...
    @property
    def low(self) -> np.ndarray: ...
    @property
    def close(self) -> np.ndarray: ...
    @property
    def bar_ns(self) -> int: ...


@dataclass(frozen=True)
class Outcome:
    """What became of one call at one horizon."""

    horizon: str
    known_at: str
    action: str
    entry: float
    exit_price: float | None
    return_pct: float | None  # signed by the call's direction (LONG: up is +)
    direction_right: bool | None
    first_hit: str | None  # "stop_loss" | "take_profit" | None
    mfe_pct: float | None
    mae_pct: float | None
    complete: bool  # the bars reach the horizon (no data hole at its end)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _sign(action: str) -> int:
    return 1 if action == "LONG" else -1 if action == "SHORT" else 0


def score(
    bars: PriceBars,
    *,
    action: str,
    at: pd.Timestamp,
    entry: float,
    horizon: str,
    stop_loss: float | None = None,
    take_profit: float | None = None,
) -> Outcome:
    """Score one call made at ``at`` (see the module docstring). FLAT gets the raw move (signed
    +) and no direction verdict."""
    known = at + _delta(horizon)
    lo_i = int(np.searchsorted(bars.ts, int(at.value), side="left"))  # first bar opened at/after at
    hi_i = int(
        np.searchsorted(bars.ts, int(known.value) - bars.bar_ns, side="right")
    )  # closed by known
    if hi_i <= lo_i or entry <= 0:
        return Outcome(
            horizon, iso(known), action, entry, None, None, None, None, None, None, False
        )
    sgn = _sign(action) or 1
    high, low = bars.high[lo_i:hi_i], bars.low[lo_i:hi_i]
    exit_price = float(bars.close[hi_i - 1])
    ret = sgn * (exit_price / entry - 1.0) * 100.0
    fav = (high.max() / entry - 1.0) * 100.0 if sgn > 0 else (1.0 - low.min() / entry) * 100.0
    adv = (1.0 - low.min() / entry) * 100.0 if sgn > 0 else (high.max() / entry - 1.0) * 100.0
    first = None
    if _sign(action) and (stop_loss or take_profit):
        for hh, ll in zip(high, low, strict=True):
            hit_sl = stop_loss is not None and (ll <= stop_loss if sgn > 0 else hh >= stop_loss)
            hit_tp = take_profit is not None and (
                hh >= take_profit if sgn > 0 else ll <= take_profit
            )
            if hit_sl:
                first = "stop_loss"
                break
            if hit_tp:
                first = "take_profit"
                break
    complete = int(bars.ts[hi_i - 1]) + bars.bar_ns >= int(known.value)
    return Outcome(
        horizon, iso(known), action, entry, exit_price, round(ret, 6),
        (ret > 0) if _sign(action) else None, first, round(float(fav), 6), round(float(adv), 6),
        complete,
    )  # fmt: skip


_UNITS = {"m": "min", "h": "h", "d": "D", "w": "W"}


def _delta(horizon: str) -> pd.Timedelta:
    """``4h``, ``1d``, ``3d``, ``30m``, ``1w`` as a Timedelta; anything else is refused."""
    m = re.fullmatch(r"(\d{1,4})([mhdw])", horizon.strip())
    if m is None or int(m.group(1)) == 0:
        raise ValueError(f"horizon: {horizon!r} is not a duration like 4h, 1d or 3d")
    return pd.Timedelta(int(m.group(1)), unit=_UNITS[m.group(2)])  # type: ignore[arg-type]


def calibration(pairs: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """Brier score and reliability table of (confidence, right) pairs."""
    if not pairs:
        return {"n": 0, "brier": None, "reliability": []}
    conf = np.array([c for c, _ in pairs], dtype=np.float64)
    hit = np.array([1.0 if r else 0.0 for _, r in pairs])
    table = []
    for lo, hi in itertools.pairwise(BINS):
        m = (conf >= lo) & ((conf < hi) | (hi == 1.0) & (conf <= hi))
        if m.any():
            table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()),
                          "mean_confidence": round(float(conf[m].mean()), 4),
                          "hit_rate": round(float(hit[m].mean()), 4)})  # fmt: skip
    return {
        "n": len(pairs),
        "brier": round(float(np.mean((conf - hit) ** 2)), 6),
        "base_rate": round(float(hit.mean()), 4),
        "reliability": table,
    }


def role_weight(hits: int, calls: int) -> float:
    """The documented rule: ``2 * (hits + 1) / (calls + 2)``, clipped to [0.25, 2.0]."""
    return min(WEIGHT_MAX, max(WEIGHT_MIN, 2.0 * (hits + 1) / (calls + 2)))


def role_weights(scored: Mapping[str, tuple[int, int]]) -> dict[str, float]:
    """Weights by seat from (hits, calls)."""
    return {r: round(role_weight(h, n), 6) for r, (h, n) in sorted(scored.items())}


# --- P(win) -------------------------------------------------------------------------------
FEATURES = ("bias", "confidence", "agreement", "debated")


def features(record: Mapping[str, Any]) -> list[float]:
    """The decision's features: confidence, share of seats agreeing with it, debate held."""
    decision = record.get("decision") or {}
    action = decision.get("action", "FLAT")
    stances = record.get("stances") or {}
    agree = [1.0 if s.get("stance") == action else 0.0 for s in stances.values()]
    return [1.0, float(decision.get("confidence") or 0.0),
            float(np.mean(agree)) if agree else 0.0,
            1.0 if record.get("interrupts") else 0.0]  # fmt: skip


@dataclass
class PWinModel:
    """Online logistic regression, one SGD step per closed trade."""

    weights: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    rate: float = 0.1
    updates: int = 0

    def p_win(self, x: Sequence[float]) -> float:
        z = sum(w * v for w, v in zip(self.weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def update(self, x: Sequence[float], won: bool) -> None:
        err = (1.0 if won else 0.0) - self.p_win(x)
        self.weights = [
            round(w + self.rate * err * v, 9) for w, v in zip(self.weights, x, strict=True)
        ]
        self.updates += 1

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "weights": self.weights, "rate": self.rate,
                "updates": self.updates}  # fmt: skip


# --- the learner a replay (or a live desk) runs ---------------------------------------------
@dataclass
class _Pending:
    decision_id: str
    symbol: str
    at: pd.Timestamp
    price: float
    stances: dict[str, str]
    known: pd.Timestamp


class ReviewLearner:
    """Learns role weights from the desk's own decisions as their outcomes become known.

    ``attach(desk)`` subscribes to the desk's decisions and closed trades; ``weights_at(desk,
    t)`` scores the decisions whose horizon has passed by ``t`` (reading only bars closed by
    their ``known_at`` <= ``t``), updates the seats' (hits, calls), records a new weights
    version in the ledger when they change, and returns the weights in force at ``t``.
    """

    def __init__(self, *, ledger: Any = None, market: Any, horizon: str = "1d") -> None:
        self.ledger = ledger
        self.market = market
        self.horizon = horizon
        self.delta = _delta(horizon)
        self.pending: list[_Pending] = []
        self.scored: dict[str, tuple[int, int]] = {}
        self.weights: dict[str, float] = {}
        self.pwin = PWinModel()
        self._features: dict[str, list[float]] = {}

    def attach(self, desk: Any) -> None:
        desk.on_decision = self.on_decision
        desk.on_trade_closed = self.on_trade_closed
        desk.p_win_for = lambda record: self.pwin.p_win(features(record))

    def on_decision(
        self, desk: Any, decision_id: str, symbol: str, at: str, record: Mapping[str, Any]
    ) -> None:
        price = record.get("price")
        stances = {r: s.get("stance", "FLAT") for r, s in (record.get("stances") or {}).items()}
        if price:
            t = parse_utc(at)
            self.pending.append(
                _Pending(decision_id, symbol, t, float(price), stances, t + self.delta)
            )
        self._features[decision_id] = features(record)

    def on_trade_closed(
        self, desk: Any, decision_id: str, symbol: str, pnl: float, at: str
    ) -> None:
        x = self._features.get(decision_id)
        if x is None:
            return
        self.pwin.update(x, pnl > 0)
        if self.ledger is not None:
            self.ledger.record_learner(desk.name, desk.run_id, at, self.pwin.as_dict())

    def weights_at(self, desk: Any, t: pd.Timestamp) -> dict[str, float]:
        due = [p for p in self.pending if p.known <= t]
        if not due:
            return dict(self.weights)
        self.pending = [p for p in self.pending if p.known > t]
        for p in due:
            bars = self.market.base(p.symbol)
            for role, stance in p.stances.items():
                if stance == "FLAT":
                    continue
                o = score(bars, action=stance, at=p.at, entry=p.price, horizon=self.horizon)
                if o.direction_right is None:
                    continue
                h, n = self.scored.get(role, (0, 0))
                self.scored[role] = (h + int(o.direction_right), n + 1)
        new = role_weights(self.scored)
        if new != self.weights:
            self.weights = new
            if self.ledger is not None:
                self.ledger.record_weights(desk.name, desk.run_id, iso(t), new)
        return dict(self.weights)


# --- reviewing a run's decisions (``auraquant review RUN``) ----------------------------------
def _levels(record: Mapping[str, Any]) -> tuple[float | None, float | None]:
    plan = (record.get("gate") or {}).get("plan") or {}
    d = record.get("decision") or {}
    return plan.get("stop_loss") or d.get("stop_loss"), plan.get("take_profit") or d.get(
        "take_profit"
    )


def review_decisions(
    rows: Sequence[Any],
    bars_for: Any,
    *,
    horizons: Sequence[str] = HORIZONS,
    now: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Score every decision (and every seat's stance) of ``rows`` (``DecisionRow``) at each
    horizon whose outcome is known by ``now`` (default: as far as the bars reach). Returns
    ``outcomes`` (decision id -> horizon -> Outcome dict), per-horizon ``calibration``, per-seat
    hit rates and the role ``weights`` the documented rule gives from them."""
    outcomes: dict[str, dict[str, dict[str, Any]]] = {}
    pairs: dict[str, list[tuple[float, bool]]] = {h: [] for h in horizons}
    seats: dict[str, dict[str, tuple[int, int]]] = {h: {} for h in horizons}
    for row in rows:
        rec = row.record
        price = rec.get("price")
        if not price:
            continue
        bars = bars_for(row.symbol)
        if bars is None:
            continue
        at = parse_utc(row.at)
        sl, tp = _levels(rec)
        for h in horizons:
            if now is not None and at + _delta(h) > now:
                continue  # not known yet
            o = score(bars, action=row.action, at=at, entry=float(price), horizon=h,
                      stop_loss=sl, take_profit=tp)  # fmt: skip
            if not o.complete:
                continue
            outcomes.setdefault(row.id, {})[h] = o.as_dict()
            if o.direction_right is not None and row.confidence is not None:
                pairs[h].append((float(row.confidence), bool(o.direction_right)))
            for role, st in (rec.get("stances") or {}).items():
                if st.get("stance") in (None, "FLAT"):
                    continue
                so = score(bars, action=st["stance"], at=at, entry=float(price), horizon=h)
                if so.direction_right is None:
                    continue
                hh, nn = seats[h].get(role, (0, 0))
                seats[h][role] = (hh + int(so.direction_right), nn + 1)
    main = horizons[len(horizons) // 2] if horizons else None
    return {
        "horizons": list(horizons),
        "outcomes": outcomes,
        "calibration": {h: calibration(p) for h, p in pairs.items()},
        "seats": {
            h: {
                r: {"hits": a, "calls": b, "hit_rate": round(a / b, 4) if b else None}
                for r, (a, b) in sorted(s.items())
            }
            for h, s in seats.items()
        },
        "weights_horizon": main,
        "weights": role_weights(seats[main]) if main else {},
    }
