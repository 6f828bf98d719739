"""The scheduler's clocks: meeting times aligned to bar closes, on the wall clock or on a
replayed price path at ``speed`` times real time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from tools.timeutil import timeframe_delta


def next_close(now: pd.Timestamp, every: str) -> pd.Timestamp:
    """The first multiple of ``every`` (from the epoch) at or after ``now``: a bar close."""
    step = timeframe_delta(every).value
    return pd.Timestamp(-(-now.value // step) * step, tz="UTC")


def closes_between(after: pd.Timestamp, upto: pd.Timestamp, every: str) -> list[pd.Timestamp]:
    """Bar closes in ``(after, upto]``: the meetings a scheduler that was down has missed."""
    step = timeframe_delta(every).value
    first = (after.value // step + 1) * step
    return [pd.Timestamp(v, tz="UTC") for v in range(first, upto.value + 1, step)]


class Clock(Protocol):
    def now(self) -> pd.Timestamp: ...

    def sleep_until(self, t: pd.Timestamp, stop: threading.Event) -> bool:
        """Wait until ``t``; False when ``stop`` was set first."""
        ...


class WallClock:
    """Real UTC time."""

    def now(self) -> pd.Timestamp:
        return pd.Timestamp(time.time_ns(), tz="UTC")

    def sleep_until(self, t: pd.Timestamp, stop: threading.Event) -> bool:
        while True:
            left = (t - self.now()).total_seconds()
            if left <= 0:
                return not stop.is_set()
            if stop.wait(min(left, 1.0)):
                return False


@dataclass
class SpeedClock:
    """A replayed price path: starts at ``start`` and runs ``speed`` times faster than real time
    (``--speed 60``: an hour a minute)."""

    start: pd.Timestamp
    speed: float
    _t0: float = field(default_factory=time.monotonic)

    def now(self) -> pd.Timestamp:
        elapsed = (time.monotonic() - self._t0) * self.speed
        return self.start + pd.Timedelta(seconds=elapsed)

    def sleep_until(self, t: pd.Timestamp, stop: threading.Event) -> bool:
        while True:
            left = (t - self.now()).total_seconds() / self.speed
            if left <= 0:
                return not stop.is_set()
            if stop.wait(min(left, 1.0)):
                return False
