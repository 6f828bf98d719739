"""Client-side rate limiting by weight (weex-api §6): a sliding window of request weights, plus
per-second and per-minute windows for the order endpoints, plus a pause after a 429."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from exchange.weex.config import RateLimits


class _Window:
    """Amounts spent in the last ``span`` seconds."""

    def __init__(self, capacity: float, span: float) -> None:
        self.capacity = capacity
        self.span = span
        self.events: deque[tuple[float, float]] = deque()
        self.used = 0.0

    def wait_for(self, now: float, amount: float) -> float:
        """Seconds until ``amount`` fits (0 when it fits now)."""
        while self.events and self.events[0][0] <= now - self.span:
            self.used -= self.events.popleft()[1]
        if self.used + amount <= self.capacity or not self.events:
            return 0.0
        spare = self.capacity - amount
        acc = self.used
        for t, a in self.events:
            acc -= a
            if acc <= spare:
                return max(0.0, t + self.span - now)
        return self.span

    def add(self, now: float, amount: float) -> None:
        self.events.append((now, amount))
        self.used += amount


class RateLimiter:
    """Blocks until a request of ``weight`` (and, for order endpoints, one order slot) fits."""

    def __init__(
        self,
        limits: RateLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._weight = _Window(limits.weight_per_window, limits.window_s)
        self._per_s = _Window(limits.orders_per_second, 1.0)
        self._per_min = _Window(limits.orders_per_minute, 60.0)
        self._paused_until = 0.0
        self.waited_s = 0.0

    def acquire(self, weight: int, *, order: bool = False) -> None:
        """Wait (sleeping outside the lock) until the request fits, then book it."""
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._paused_until - now, self._weight.wait_for(now, weight))
                if order:
                    wait = max(wait, self._per_s.wait_for(now, 1), self._per_min.wait_for(now, 1))
                if wait <= 0:
                    self._weight.add(now, weight)
                    if order:
                        self._per_s.add(now, 1)
                        self._per_min.add(now, 1)
                    return
            self.waited_s += wait
            self._sleep(wait)

    def penalize(self) -> None:
        """After a 429: no request for ``after_429_s``."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + self.limits.after_429_s)
