"""Single use of tokens: the first presenter claims a token atomically; later ones get its recorded outcome."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from wedata_mcp.guardrail.tokens import TokenError


@dataclass(slots=True)
class Recorded:
    """What the first use of a token produced: a result document, or an error message."""

    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(slots=True)
class _Entry:
    expires_at: float
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: Recorded | None = None


class StoreForgotError(TokenError):
    """The store may have lost the record of this token's use (it was flushed or restarted since the token was
    issued): single use cannot be vouched for, so nothing is sent."""

    def __init__(self) -> None:
        super().__init__(
            "the confirmation token store has lost its records since this token was issued (Redis was flushed, "
            "restarted or evicted keys), so whether the token was already used cannot be known: nothing was sent. "
            "Check the instances' states in WeData, then run a new dry run"
        )


class TokenStore(Protocol):
    async def generation(self) -> str:
        """The store's current generation, which a token carries from its dry run: a store that forgets (flushed,
        restarted without its data) starts a new one, and tokens of an older one are refused."""
        ...

    async def remembers(self, generation: str) -> None:
        """Raise StoreForgotError unless `generation` is still the store's, i.e. it forgot nothing since."""
        ...

    async def claim(self, token_id: str, expires_at: float, generation: str) -> bool:
        """True for the one caller that may execute; False if the token was already claimed. Raises
        StoreForgotError if `generation` is not the store's (checked atomically with the claim)."""
        ...

    async def outcome(self, token_id: str) -> Recorded:
        """The recorded outcome of a claimed token, waiting while its first use is still running."""
        ...

    async def record(self, token_id: str, outcome: Recorded) -> None: ...

    async def is_claimed(self, token_id: str) -> bool: ...


class MemoryTokenStore:
    """Per-process store. Entries live a day past their token's expiry, so a late replay still sends nothing."""

    RETAIN_SECONDS = 86_400.0

    def __init__(self, clock: Callable[[], float] = time.time, wait_seconds: float = 300.0) -> None:
        self._entries: dict[str, _Entry] = {}
        self._clock = clock
        self._wait_seconds = wait_seconds
        # It forgets only with the process, which also voids every token (a per-process secret, or a start-up
        # refusal of a shared secret with a memory store), so one generation per store suffices.
        self._generation = secrets.token_urlsafe(12)

    async def generation(self) -> str:
        return self._generation

    async def remembers(self, generation: str) -> None:
        self._check(generation)

    def _check(self, generation: str) -> None:
        if not hmac.compare_digest(generation, self._generation):
            raise StoreForgotError()

    async def claim(self, token_id: str, expires_at: float, generation: str) -> bool:
        # No await between the check and the insert: atomic under the event loop.
        self._check(generation)
        self._prune()
        if token_id in self._entries:
            return False
        self._entries[token_id] = _Entry(expires_at)
        return True

    async def outcome(self, token_id: str) -> Recorded:
        entry = self._entries[token_id]
        with anyio.move_on_after(self._wait_seconds):
            await entry.done.wait()
        if entry.outcome is None:
            # The first use is still running (a slow batch run) or never finished: its outcome is not known.
            return Recorded(
                error="outcome unknown: the first use of this token has not finished; check the "
                "instances' states before doing anything else"
            )
        return entry.outcome

    async def record(self, token_id: str, outcome: Recorded) -> None:
        entry = self._entries[token_id]
        entry.outcome = outcome
        entry.done.set()

    async def is_claimed(self, token_id: str) -> bool:
        return token_id in self._entries

    def _prune(self) -> None:
        horizon = self._clock() - self.RETAIN_SECONDS
        for key in [k for k, e in self._entries.items() if e.expires_at < horizon and e.done.is_set()]:
            del self._entries[key]
