"""A token store in Redis, so replicas sharing one Redis (and one token secret) execute each token once."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wedata_mcp.guardrail.store import MemoryTokenStore, Recorded
from wedata_mcp.guardrail.tokens import TokenError

logger = logging.getLogger(__name__)

KEY_PREFIX = "wedata-mcp:token:"
PENDING = b'{"state":"pending"}'


class TokenStoreUnavailableError(TokenError):
    """The store cannot be reached, so single use cannot be guaranteed: nothing is sent."""

    def __init__(self, doing: str, exc: Exception) -> None:
        super().__init__(
            f"the confirmation token store (Redis) could not {doing} ({type(exc).__name__}), so single use cannot "
            "be guaranteed and nothing was sent; try again when it is reachable"
        )


class RedisTokenStore:
    """Claim is one `SET key pending NX PX ttl`; the outcome replaces it as JSON (`SET XX KEEPTTL`); a replay
    polls with bounded backoff until the outcome is there, for at most `wait_seconds`."""

    RETAIN_SECONDS = MemoryTokenStore.RETAIN_SECONDS  # keys outlive their token by a day, as in memory

    def __init__(
        self,
        redis: Redis,
        *,
        clock: Callable[[], float] = time.time,
        wait_seconds: float = 120.0,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._wait_seconds = wait_seconds
        self._prefix = key_prefix

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisTokenStore:
        """A store on `redis://host:port/db` (or `rediss://`, `unix://`); connects on first use."""
        # redis-py leaves **kwargs of from_url untyped.
        redis = Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)  # pyright: ignore[reportUnknownMemberType]
        return cls(redis, **kwargs)

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self._prefix!r})"

    def _key(self, token_id: str) -> str:
        return self._prefix + token_id

    def _retain_ms(self, expires_at: float) -> int:
        # Relative to our clock (not Redis's), never less than a minute.
        return max(60_000, int((expires_at + self.RETAIN_SECONDS - self._clock()) * 1000))

    async def claim(self, token_id: str, expires_at: float) -> bool:
        try:
            # Atomic across every replica: only one SET NX succeeds for a key.
            claimed = await self._redis.set(self._key(token_id), PENDING, nx=True, px=self._retain_ms(expires_at))
        except RedisError as exc:
            raise TokenStoreUnavailableError("claim the token", exc) from None
        return bool(claimed)

    async def is_claimed(self, token_id: str) -> bool:
        try:
            return bool(await self._redis.exists(self._key(token_id)))
        except RedisError as exc:
            raise TokenStoreUnavailableError("look the token up", exc) from None

    async def outcome(self, token_id: str) -> Recorded:
        delay = 0.01
        with anyio.move_on_after(self._wait_seconds):
            while True:  # bounded by move_on_after; backoff from 10 ms doubling up to 250 ms
                try:
                    raw = await self._redis.get(self._key(token_id))
                except RedisError as exc:
                    raise TokenStoreUnavailableError("read the first use's outcome", exc) from None
                if raw is None:
                    return Recorded(error="the token's record is gone from the store; nothing new was sent")
                recorded = _decode(raw)
                if recorded is not None:
                    return recorded
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.25)
        return Recorded(
            error=f"its first use recorded no outcome within {self._wait_seconds:g} s (still running, or the "
            "server running it stopped): the outcome is unknown, check the instances in WeData before a new preview"
        )

    async def record(self, token_id: str, outcome: Recorded) -> None:
        value = json.dumps({"state": "done", "result": outcome.result, "error": outcome.error})
        key = self._key(token_id)
        for attempt in range(3):
            try:
                if not await self._redis.set(key, value, xx=True, keepttl=True):
                    await self._redis.set(key, value, px=self._retain_ms(self._clock()))
                return
            except RedisError as exc:
                # Not raised: the request was sent, and its caller must still get its result.
                logger.error("could not record a token's outcome (attempt %d): %s", attempt + 1, type(exc).__name__)
                await anyio.sleep(0.1 * (attempt + 1))

    async def aclose(self) -> None:
        await self._redis.aclose()


def _decode(raw: bytes | str) -> Recorded | None:
    """The recorded outcome, or None while the first use is still pending."""
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        return Recorded(error="the token's record in the store is unreadable; nothing new was sent")
    if data.get("state") != "done":
        return None
    return Recorded(result=data.get("result"), error=data.get("error"))
