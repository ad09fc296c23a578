"""A sliding-window limiter: at most N sends in any one-second window, shared by every caller."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio


class SlidingWindow:
    """At most `capacity` events in any window of `seconds`: the one count behind the client's rate limiter and
    the policy's execution budget."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self._times: deque[float] = deque()

    def take(self, now: float) -> float:
        """Record an event at `now` and return 0 if the window has room; else record nothing and return how long
        to wait until it has."""
        # A microsecond's slack: after sleeping exactly the computed wait, float rounding can leave the
        # difference an ulp short of the window, and a caller would sleep ~1e-14 s forever.
        while self._times and now - self._times[0] >= self.seconds - 1e-6:
            self._times.popleft()
        if len(self._times) < self.capacity:
            self._times.append(now)
            return 0.0
        return self.seconds - (now - self._times[0])


class RateLimiter:
    """Waits until a send keeps the last second's count within `per_second` (WeData documents 20/s)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        margin: float = 0.02,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        capacity = max(1, int(per_second))
        # A little longer than the server's window: requests arrive with jitter, and a request that lands
        # inside the server's window would be refused with RequestLimitExceeded.
        self._window = SlidingWindow(capacity, capacity / per_second * (1 + margin))
        self._clock = clock
        self._sleep = sleep
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair and the count exact
            while wait := self._window.take(self._clock()):
                await self._sleep(wait)


class RateLimits:
    """One limiter per API action, created on first use and shared by every caller in the process: WeData
    documents its limit per interface ("20次/秒" for each action)."""

    def __init__(self, per_second: float, **limiter_options: Any) -> None:
        self._per_second = per_second
        self._options = limiter_options
        self._limiters: dict[str, RateLimiter] = {}

    def __getitem__(self, action: str) -> RateLimiter:
        limiter = self._limiters.get(action)
        if limiter is None:
            limiter = self._limiters[action] = RateLimiter(self._per_second, **self._options)
        return limiter
