"""Single use survives a store that forgets (issue 11 item 6), against a real redis-server: after a FLUSHALL (or a
restart, or an evicted generation key) a used token is refused and nothing new reaches the simulator; a Redis that
may evict keys is refused outright. Why a store generation: guardrail/redis_store.py and docs/reliability.md."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import anyio
import pytest
from redis.asyncio import Redis

from tests.conftest import Endpoint, doc_example
from tests.spawn import connect, server_env
from tests.test_redis_store import SECRET, TOOL, store_on

# The private redis-server of the Redis store tests (the `as` form marks it as re-exported for pytest).
from tests.test_redis_store import redis_url as redis_url
from wedata_mcp.guardrail.redis_store import EvictingRedisError
from wedata_mcp.guardrail.store import StoreForgotError

pytestmark = pytest.mark.anyio


async def flushall(url: str) -> None:
    redis = Redis.from_url(url)  # pyright: ignore[reportUnknownMemberType]
    try:
        await redis.flushall()  # pyright: ignore[reportUnknownMemberType]
    finally:
        await redis.aclose()


async def test_after_a_flush_a_token_of_the_old_generation_is_refused(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    async with store_on(redis_url, prefix) as store, store_on(redis_url, prefix) as other_replica:
        with anyio.fail_after(10):
            before = await store.generation()
            assert await other_replica.generation() == before  # replicas agree on one generation
            assert await store.claim("used", 1e12, before)
            await flushall(redis_url)
            with pytest.raises(StoreForgotError, match="nothing was sent"):
                await other_replica.claim("used", 1e12, before)  # the claim is gone: it must not look unused
            with pytest.raises(StoreForgotError):
                await other_replica.claim("never-used", 1e12, before)  # nor can any older token be vouched for
            after = await other_replica.generation()
            assert after != before and await store.generation() == after
            assert await other_replica.claim("new", 1e12, after)


async def test_the_replica_that_ran_a_token_never_runs_it_again_whatever_redis_says(redis_url: str) -> None:
    async with store_on(redis_url) as store:
        with anyio.fail_after(10):
            generation = await store.generation()
            assert await store.claim("t1", 1e12, generation)
            await store._redis.delete(store._key("t1"))  # pyright: ignore[reportPrivateUsage] - one key lost alone
            assert not await store.claim("t1", 1e12, generation)


async def test_a_redis_that_may_evict_keys_is_refused(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)  # pyright: ignore[reportUnknownMemberType]
    try:
        await redis.config_set("maxmemory", "512mb")  # pyright: ignore[reportUnknownMemberType]
        await redis.config_set("maxmemory-policy", "volatile-lru")  # pyright: ignore[reportUnknownMemberType]
        async with store_on(redis_url) as store:
            with anyio.fail_after(10), pytest.raises(EvictingRedisError, match="noeviction"):
                await store.generation()
        await redis.config_set("maxmemory-policy", "noeviction")  # pyright: ignore[reportUnknownMemberType]
        async with store_on(redis_url) as store:
            assert await store.generation()
    finally:
        await redis.config_set("maxmemory", "0")  # pyright: ignore[reportUnknownMemberType]
        await redis.aclose()


async def test_a_used_token_replayed_after_flushall_is_refused_and_sends_nothing(
    endpoint: Endpoint, tmp_path: Path, redis_url: str
) -> None:
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_TOKEN_STORE=redis_url, WEDATA_MCP_TOKEN_SECRET=SECRET)

    def reruns() -> int:
        return len(endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None))

    with anyio.fail_after(60):
        async with connect("stdio", env, tmp_path / "stderr") as client:
            preview = await client.call_tool(TOOL, doc_example())
            assert preview.structured_content, preview.content
            confirmed = doc_example() | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
            first = await client.call_tool(TOOL, confirmed)
            assert first.structured_content and first.structured_content["Status"] == "executed"
            assert reruns() == 1
            await flushall(redis_url)
            again = await client.call_tool(TOOL, confirmed)
            # The same in a restarted server process (which has no local record of the token).
        async with connect("stdio", env, tmp_path / "stderr-restarted") as client:
            restarted = await client.call_tool(TOOL, confirmed)
            fresh = await client.call_tool(TOOL, doc_example())
    for refused in (again, restarted):
        assert refused.is_error
        words = " ".join(getattr(c, "text", "") for c in refused.content)
        assert "lost its records" in words and "nothing was sent" in words
    assert reruns() == 1  # zero additional reruns
    assert fresh.structured_content and fresh.structured_content["ConfirmationToken"]  # a new dry run works


async def test_start_up_stops_on_a_redis_that_may_evict_keys(
    endpoint: Endpoint, tmp_path: Path, redis_url: str
) -> None:
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_TOKEN_STORE=redis_url, WEDATA_MCP_TOKEN_SECRET=SECRET)
    redis = Redis.from_url(redis_url)  # pyright: ignore[reportUnknownMemberType]
    try:
        await redis.config_set("maxmemory", "512mb")  # pyright: ignore[reportUnknownMemberType]
        await redis.config_set("maxmemory-policy", "allkeys-lru")  # pyright: ignore[reportUnknownMemberType]
        with anyio.fail_after(30):
            done = await anyio.run_process(
                [sys.executable, "-m", "wedata_mcp", "serve"], env=env, check=False, stdin=subprocess.DEVNULL
            )
    finally:
        await redis.config_set("maxmemory-policy", "noeviction")  # pyright: ignore[reportUnknownMemberType]
        await redis.config_set("maxmemory", "0")  # pyright: ignore[reportUnknownMemberType]
        await redis.aclose()
    assert done.returncode == 2
    assert b"WEDATA_MCP_TOKEN_STORE" in done.stderr and b"allkeys-lru" in done.stderr
