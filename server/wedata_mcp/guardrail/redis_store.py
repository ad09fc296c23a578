"""A token store in Redis, so replicas sharing one Redis (and one token secret) execute each token once.

Single use must survive a Redis that forgets (issue 11 item 6): a FLUSHALL, a restart without persistence, a
restart from a snapshot older than the last claims, or eviction. What we chose, and why:

* A store generation, which every token carries (signed) from its dry run. It lives in one key and names the
  Redis server's `run_id`; a store that finds the key missing (flushed, restarted empty, evicted) or naming
  another run_id (restarted, perhaps from an old snapshot) starts a new generation, and every older token is
  refused — nothing is sent, the person is told to check the instances and preview again. The claim compares
  the generation and sets the claim key in one Lua script, so a flush between the two cannot slip through.
  A record that can be lost cannot prove a token unused; a generation turns "lost" into "refused". The cost: a
  Redis restart voids outstanding previews (minutes' worth), which is the safe direction.
* A refusal to run on a Redis that may evict keys (`maxmemory` set with any policy but `noeviction`), checked at
  start-up (tests/CLI) and every minute: eviction can drop one claim key and nothing else, which no generation
  sees. `noeviction` makes Redis refuse writes when full instead, which refuses the claim (nothing sent).
* A local record of the tokens this process claimed, as defence in depth: the replica that ran a token never
  runs it again, whatever Redis says.

Not chosen: requiring AOF with `appendfsync always` (managed Redis rarely allows it, and it covers neither flush
nor eviction), and a local record alone (other replicas do not see it).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wedata_mcp.cloud.redis_window import connect
from wedata_mcp.guardrail.store import MemoryTokenStore, Recorded, StoreForgotError
from wedata_mcp.guardrail.tokens import TokenError

logger = logging.getLogger(__name__)

KEY_PREFIX = "wedata-mcp:token:"
PENDING = b'{"state":"pending"}'
POLICY_RECHECK_SECONDS = 60.0

# KEYS[1] the generation key; ARGV[1] the value read (or "" for none), ARGV[2] the new one. Sets it only if it is
# still what was read, so replicas that see a forgetful Redis at once agree on one new generation.
_ROTATE = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return current
"""
# KEYS[1] the generation key, KEYS[2] the claim key; ARGV: the token's generation, the pending value, the TTL.
_CLAIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""


class EvictingRedisError(TokenError):
    """Redis may evict keys, so a claim could vanish alone: nothing is sent."""

    def __init__(self, policy: str) -> None:
        super().__init__(
            f"the confirmation token store (Redis) may evict keys (maxmemory-policy {policy}), so single use "
            "cannot be guaranteed and nothing was sent; set maxmemory-policy noeviction (or no maxmemory)"
        )


def eviction_risk(info: dict[str, Any]) -> str | None:
    """The eviction policy, if Redis may evict keys under it (`INFO memory`); None if it never evicts."""
    policy = str(info.get("maxmemory_policy", "unknown"))
    if policy == "noeviction" or int(info.get("maxmemory", 0) or 0) == 0:
        return None  # no maxmemory: Redis never evicts (it grows, or fails writes if the OS says no)
    return policy


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
        self._generation_key = key_prefix + "generation"
        self._policy_checked_at = -POLICY_RECHECK_SECONDS
        self._claimed_here: dict[str, float] = {}  # token id -> when its record may go (the local record)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisTokenStore:
        """A store on `redis://host:port/db` (or `rediss://`, `unix://`); connects on first use."""
        return cls(connect(url), **kwargs)

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self._prefix!r})"

    def _key(self, token_id: str) -> str:
        return self._prefix + token_id

    def _retain_ms(self, expires_at: float) -> int:
        # Relative to our clock (not Redis's), never less than a minute.
        return max(60_000, int((expires_at + self.RETAIN_SECONDS - self._clock()) * 1000))

    async def generation(self) -> str:
        """The current generation, starting a new one if Redis forgot (the key is gone) or restarted (another
        run_id), and refusing if Redis may evict keys."""
        try:
            now = time.monotonic()
            if now - self._policy_checked_at >= POLICY_RECHECK_SECONDS:
                policy = eviction_risk(await self._redis.info("memory"))  # pyright: ignore[reportUnknownMemberType]
                if policy is not None:
                    raise EvictingRedisError(policy)
                self._policy_checked_at = now
            run_id = str((await self._redis.info("server"))["run_id"])  # pyright: ignore[reportUnknownMemberType]
            raw = await self._redis.get(self._generation_key)
            current = raw.decode() if isinstance(raw, bytes) else raw
            if current is not None and current.partition(":")[0] == run_id:
                return current
            fresh = f"{run_id}:{secrets.token_urlsafe(12)}"
            if current is not None:
                logger.warning("the Redis token store restarted since its generation began: older tokens are void")
            elif await self._redis.dbsize() > 0:  # pyright: ignore[reportUnknownMemberType]
                logger.warning("the Redis token store lost its generation key: older tokens are void")
            won = await self._redis.eval(_ROTATE, 1, self._generation_key, current or "", fresh)  # pyright: ignore[reportUnknownMemberType, reportGeneralTypeIssues]
            return won.decode() if isinstance(won, bytes) else str(won)
        except RedisError as exc:
            raise TokenStoreUnavailableError("read its generation", exc) from None

    async def remembers(self, generation: str) -> None:
        if not hmac.compare_digest(await self.generation(), generation):
            raise StoreForgotError()

    async def claim(self, token_id: str, expires_at: float, generation: str) -> bool:
        self._prune_local()
        if token_id in self._claimed_here:
            return False  # this process ran it: never again, whatever Redis remembers
        await self.remembers(generation)  # a restart since the token's dry run voids it here
        try:
            # Atomic across every replica: the generation is compared and only one SET NX succeeds for a key.
            keys = (self._generation_key, self._key(token_id))
            claimed = await self._redis.eval(_CLAIM, 2, *keys, generation, PENDING, self._retain_ms(expires_at))  # pyright: ignore[reportUnknownMemberType, reportGeneralTypeIssues]
        except RedisError as exc:
            raise TokenStoreUnavailableError("claim the token", exc) from None
        if claimed == -1:
            raise StoreForgotError()
        if claimed == 1:
            self._claimed_here[token_id] = expires_at + self.RETAIN_SECONDS
        return claimed == 1

    def _prune_local(self) -> None:
        now = self._clock()
        for token_id in [t for t, until in self._claimed_here.items() if until < now]:
            del self._claimed_here[token_id]

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
