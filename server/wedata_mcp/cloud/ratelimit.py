"""Sliding windows: at most N events in any window, counted in this process or shared by replicas (Redis).

One notion behind the client's rate limiter (WeData's 20 requests/second per account and action) and the
policy's execution budget: `SlidingWindow` counts in memory, a `SharedWindow` (cloud/redis_window.py) counts the
same way in a store every replica sees. A shared window that cannot be read refuses (`WindowUnavailableError`):
not knowing the count is never taken as room.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from wedata_mcp.cloud.errors import RateLimitUnavailableError

logger = logging.getLogger(__name__)

# How long a slot's re-stamp may take once its request is answered; past it the slot keeps its reservation time.
SETTLE_SECONDS = 2.0


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

    def restamp(self, stamped: float, now: float) -> None:
        """Move one event recorded at `stamped` to `now` (its request was answered: it had certainly arrived), so
        that the window counts from the arrival, whatever the delay between the reservation and the wire."""
        with contextlib.suppress(ValueError):  # already out of the window: nothing to move
            self._times.remove(stamped)
            bisect.insort(self._times, now)


class WindowUnavailableError(Exception):
    """A shared window's count could not be read or written: the caller must refuse, not assume room."""


@dataclass(frozen=True, slots=True)
class Taken:
    """A shared window's answer: `wait` 0 means a slot was taken (named `slot`), else how long until one frees."""

    wait: float
    slot: str | None = None


class SharedWindow(Protocol):
    """`SlidingWindow` on a clock and a count that every replica shares."""

    async def take(self) -> Taken:
        """Take a slot now if the window has room. Raises WindowUnavailableError if the count cannot be known."""
        ...

    async def settle(self, slot: str) -> None:
        """Re-stamp a taken slot with the shared clock's now (e.g. once its request has certainly arrived)."""
        ...


class SharedWindows(Protocol):
    def window(self, name: str, capacity: int, seconds: float) -> SharedWindow:
        """The shared window called `name` (the same name on every replica is the same count)."""
        ...


class RateLimiter:
    """Waits until a send keeps the last second's count within `per_second` (WeData documents 20/s): in this
    process, then, if `shared` is given, across every replica that shares it."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        margin: float = 0.02,
        shared: SharedWindows | None = None,
        account: str = "",
        action: str = "",
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        capacity = max(1, int(per_second))
        # A little longer than the server's window: requests arrive with jitter, and a request that lands
        # inside the server's window would be refused with RequestLimitExceeded.
        seconds = capacity / per_second * (1 + margin)
        self._window = SlidingWindow(capacity, seconds)
        self._clock = clock
        self._sleep = sleep
        self._lock = anyio.Lock()
        # The same window on the shared count: one quota per account and action.
        self._shared = shared.window(f"rate:{account}:{action}", capacity, seconds) if shared else None
        self._action = action

    async def acquire(self) -> None:
        """Wait for a slot in this process's window (the shared one is taken by `sending`)."""
        async with self._lock:  # one waiter at a time keeps the order fair and the count exact
            await self._take_local()

    async def _take_local(self) -> float:
        """Take a slot in this process's window; return the time it was stamped with."""
        while True:
            now = self._clock()
            wait = self._window.take(now)
            if not wait:
                return now
            await self._sleep(wait)

    @asynccontextmanager
    async def sending(self) -> AsyncGenerator[None]:
        """Hold a slot while one request is sent and answered. A shared slot is re-stamped when the answer is in:
        the request has certainly arrived by then, so the next window opens a full window after its arrival
        whatever the delays between the reservation and the wire (the shared clock and WeData's differ in
        offset, not in pace). Raises RateLimitUnavailableError, before anything is sent, if the shared count
        cannot be read."""
        async with self._lock:  # one waiter per process: the local window in front, then the shared one
            stamped = await self._take_local()
            shared = self._shared
            slot = await self._take_shared(shared) if shared is not None else None
        try:
            yield
        finally:
            # The local slot too: 20 requests reserved at once but delivered late (a busy loop, a slow network)
            # would otherwise share WeData's window with the next 20.
            self._window.restamp(stamped, self._clock())
            if shared is not None and slot is not None:
                await self._settle(shared, slot)

    async def _take_shared(self, shared: SharedWindow) -> str:
        while True:  # bounded by the window: each wait ends when its oldest slot leaves the window
            try:
                taken = await shared.take()
            except WindowUnavailableError as exc:
                raise RateLimitUnavailableError(self._action, str(exc)) from None
            if not taken.wait and taken.slot is not None:
                return taken.slot
            await self._sleep(taken.wait)

    async def _settle(self, shared: SharedWindow, slot: str) -> None:
        # Shielded: a cancelled call still re-stamps the slot of a request that may have left.
        with anyio.CancelScope(shield=True), anyio.move_on_after(SETTLE_SECONDS):
            try:
                await shared.settle(slot)
            except WindowUnavailableError as exc:
                # The request was sent: its caller must get its answer. The slot keeps its reservation time,
                # which the margin covers.
                logger.warning("could not re-stamp a shared rate-limit slot (%s)", exc)


class RateLimits:
    """One limiter per API action, created on first use and shared by every caller in the process: WeData
    documents its limit per interface ("20次/秒" for each action), one quota per account. With `shared`, each
    action's limiter also counts in the shared window `rate:<account>:<action>`, so replicas on one account
    share one quota; `account` names it and must not be the SecretId itself (a hash of it)."""

    def __init__(
        self, per_second: float, *, shared: SharedWindows | None = None, account: str = "", **options: Any
    ) -> None:
        self._per_second = per_second
        self._shared = shared
        self._account = account
        self._options = options  # the limiters' clock, sleep and margin
        self._limiters: dict[str, RateLimiter] = {}

    def __getitem__(self, action: str) -> RateLimiter:
        limiter = self._limiters.get(action)
        if limiter is None:
            limiter = self._limiters[action] = RateLimiter(
                self._per_second, shared=self._shared, account=self._account, action=action, **self._options
            )
        return limiter
