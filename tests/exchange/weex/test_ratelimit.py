"""The rate limiter by weight, order windows and the 429 pause (fake clock, no sleeping)."""

from __future__ import annotations

from exchange.weex.config import RateLimits
from exchange.weex.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_ten_orders_per_second_then_wait() -> None:
    clock = FakeClock()
    rl = RateLimiter(RateLimits(orders_per_minute=1000), clock=clock, sleep=clock.sleep)
    for _ in range(10):
        rl.acquire(5, order=True)
    assert clock.slept == []
    rl.acquire(5, order=True)
    assert abs(sum(clock.slept) - 1.0) < 1e-9


def test_fifty_orders_per_minute() -> None:
    clock = FakeClock()
    rl = RateLimiter(RateLimits(), clock=clock, sleep=clock.sleep)
    for _ in range(51):
        rl.acquire(1, order=True)
    assert clock.t >= 60.0 - 1e-9  # the 51st waits for the first to leave the minute window


def test_weight_window_and_reads_do_not_use_order_slots() -> None:
    clock = FakeClock()
    rl = RateLimiter(RateLimits(weight_per_window=100, window_s=10), clock=clock,
                     sleep=clock.sleep)  # fmt: skip
    for _ in range(10):
        rl.acquire(10)
    assert clock.slept == []
    rl.acquire(10)
    assert abs(clock.t - 10.0) < 1e-9


def test_after_a_429_everything_pauses() -> None:
    clock = FakeClock()
    rl = RateLimiter(RateLimits(after_429_s=10), clock=clock, sleep=clock.sleep)
    rl.acquire(1)
    rl.penalize()
    rl.acquire(1)
    assert abs(clock.t - 10.0) < 1e-9
