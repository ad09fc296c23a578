"""A sliding-window limiter: at most N sends in any one-second window, shared by every caller."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio


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
        self._capacity = max(1, int(per_second))
        # A little longer than the server's window: requests arrive with jitter, and a request that lands
        # inside the server's window would be refused with RequestLimitExceeded.
        self._window = self._capacity / per_second * (1 + margin)
        self._sent: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair and the count exact
            while True:
                now = self._clock()
                # A microsecond's slack: after sleeping exactly the computed wait, float rounding can leave the
                # difference an ulp short of the window, and the loop would sleep ~1e-14 s forever.
                while self._sent and now - self._sent[0] >= self._window - 1e-6:
                    self._sent.popleft()
                if len(self._sent) < self._capacity:
                    self._sent.append(now)
                    return
                await self._sleep(self._window - (now - self._sent[0]))


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
