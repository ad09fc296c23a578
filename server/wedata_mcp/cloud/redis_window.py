"""`SlidingWindow` in Redis, shared by replicas: a sorted set of slots per window, taken and re-stamped by Lua.

The count is `ratelimit.SlidingWindow`'s, on one clock for every replica: Redis's own (`TIME` inside the script),
so replicas on machines whose clocks disagree still count one window. Each take is one script: drop the slots
that left the window, then take one if fewer than the capacity remain, else answer how long until the oldest
leaves. Atomic, so N replicas asking at once never take more than the capacity between them. Any Redis error is a
`WindowUnavailableError`: the caller refuses rather than guesses.
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wedata_mcp.cloud.ratelimit import Taken, WindowUnavailableError

KEY_PREFIX = "wedata-mcp:window:"

# KEYS[1] the window's sorted set (member: a slot, score: its time in µs on Redis's clock);
# ARGV[1] capacity, ARGV[2] the window in µs, ARGV[3] the new slot's name.
# Returns 0 when the slot was taken, else the µs until the oldest slot leaves the window.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
return math.max(1, oldest + window - now)
"""
# KEYS[1] the window; ARGV[1] the slot, ARGV[2] the window in µs. Moves the slot to Redis's now if it is still
# there (never earlier than it was; no ZADD GT, which needs Redis 6.2).
_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
if was and tonumber(was) < now then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) / 1000) + 1000)
end
return 0
"""


def connect(url: str) -> Redis:
    """A client of the Redis at `url` (`redis://host:port/db`, `rediss://`, `unix://`); connects on first use, and
    gives up within seconds (the callers refuse then)."""
    # redis-py leaves **kwargs of from_url untyped.
    return Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)  # pyright: ignore[reportUnknownMemberType]


class RedisWindow:
    """One shared sliding window: at most `capacity` slots in any `seconds` of Redis's clock."""

    def __init__(self, redis: Redis, key: str, capacity: int, seconds: float) -> None:
        self._redis = redis
        self._key = key
        self._capacity = capacity
        self._window_us = round(seconds * 1_000_000)

    async def take(self) -> Taken:
        slot = secrets.token_hex(8)
        try:
            wait_us = await self._redis.eval(_TAKE, 1, self._key, self._capacity, self._window_us, slot)  # pyright: ignore[reportUnknownMemberType, reportGeneralTypeIssues]
        except RedisError as exc:
            raise WindowUnavailableError(f"Redis: {type(exc).__name__}") from None
        wait = int(wait_us) / 1_000_000  # pyright: ignore[reportUnknownArgumentType]
        return Taken(wait, None) if wait else Taken(0.0, slot)

    async def settle(self, slot: str) -> None:
        try:
            await self._redis.eval(_SETTLE, 1, self._key, slot, self._window_us)  # pyright: ignore[reportUnknownMemberType, reportGeneralTypeIssues]
        except RedisError as exc:
            raise WindowUnavailableError(f"Redis: {type(exc).__name__}") from None


class RedisWindows:
    """Shared windows in one Redis, under `key_prefix`: replicas on the same Redis and prefix share each count."""

    def __init__(self, redis: Redis, key_prefix: str = KEY_PREFIX) -> None:
        self._redis = redis
        self._prefix = key_prefix

    def __repr__(self) -> str:
        return f"RedisWindows(prefix={self._prefix!r})"

    def window(self, name: str, capacity: int, seconds: float) -> RedisWindow:
        return RedisWindow(self._redis, self._prefix + name, capacity, seconds)
