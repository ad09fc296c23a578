"""Fault injection: make the next matching request(s) fail the way a real endpoint or network can.

A fault applies to a request that passed signature verification and the rate limit, and is recorded in
`Sandbox.received` (`Received.fault`). Whether the action still executes is what makes a fault useful:

| kind             | the client sees                                   | action executes |
| ---------------- | ------------------------------------------------- | --------------- |
| `rate_limit`     | HTTP 200, `RequestLimitExceeded` envelope         | no              |
| `internal_error` | HTTP 200, `InternalError` envelope                | no              |
| `http_500/502/503` | that status, a plain or HTML body (no envelope) | no              |
| `slow`           | the normal answer, `delay` seconds late           | yes, at once    |
| `drop`           | the connection closed with no answer at all       | yes             |
| `non_json`       | HTTP 200 with an HTML body                        | yes             |

`execute=` overrides the default (a `slow` fault that does not execute answers `InternalError`, late;
a `drop` that does not execute closes the connection before running anything). "No" is the simulator's
choice for a deterministic test; a real client cannot tell, which is why a mutating call must treat 5xx
as outcome unknown. Served in-process (httpx.ASGITransport), `drop` raises ConnectionResetError instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    INTERNAL_ERROR = "internal_error"
    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    SLOW = "slow"
    DROP = "drop"
    NON_JSON = "non_json"


EXECUTES_BY_DEFAULT = frozenset({FaultKind.SLOW, FaultKind.DROP, FaultKind.NON_JSON})


@dataclass
class Fault:
    """One injected fault; `fired` counts the requests it has hit so far."""

    kind: FaultKind
    action: str | None
    times: int | None
    skip: int
    delay: float
    execute: bool
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class Faults:
    """The faults waiting for requests, matched in injection order. Thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        kind: FaultKind | str,
        *,
        action: str | None = None,
        times: int | None = 1,
        skip: int = 0,
        delay: float = 5.0,
        execute: bool | None = None,
    ) -> Fault:
        """Fail the next `times` requests for `action` (None: any action; times None: until cleared),
        after letting `skip` matching requests through. `delay` is the wall-clock delay of `slow`."""
        kind = FaultKind(kind)
        if (times is not None and times < 1) or skip < 0 or delay < 0:
            raise ValueError("times must be >= 1 (or None), skip and delay >= 0")
        fault = Fault(kind, action, times, skip, delay, kind in EXECUTES_BY_DEFAULT if execute is None else execute)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, action: str) -> Fault | None:
        """The fault that hits this request, if any (and count it)."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or fault.action not in (None, action):
                    continue
                if fault.skip:
                    fault.skip -= 1
                    continue
                fault.fired += 1
                return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]
