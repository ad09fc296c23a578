"""Limits that replicas share through one Redis (issue 11 item 7, issue 13 item 5): WeData's 20 requests/second
per account and action, and the policy's max_executions_per_minute, held by several real `wedata-mcp serve`
processes together against the simulator's enforced quota; and nothing sent when Redis cannot be reached."""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from redis.asyncio import Redis

from tests.conftest import REGION, SECRET_ID, SECRET_KEY
from tests.spawn import connect, server_env
from tests.test_redis_store import TOOL

# The private redis-server of the Redis store tests (the `as` form marks it as re-exported for pytest).
from tests.test_redis_store import redis_url as redis_url
from tests.worlds import TASK_ID, backfill_world
from wedata_mcp.cloud.client import Target, WeDataClient
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.errors import RateLimitUnavailableError
from wedata_mcp.cloud.ratelimit import RateLimits, Taken, WindowUnavailableError
from wedata_mcp.cloud.redis_window import KEY_PREFIX, RedisWindows
from wedata_mcp.cloud.redis_window import connect as redis_connect
from wedata_mcp.guardrail.policy import ExecutionBudget, PolicyError
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread

pytestmark = pytest.mark.anyio

RERUN = "RunRerunScheduleInstances"
DESCRIBE = "DescribeScheduleInstances"
_DATABASES = itertools.count(1)  # db 0 is the token store tests'; each test here counts in a db of its own


@pytest.fixture
async def shared_db(redis_url: str) -> str:
    """A Redis database of this test's own, empty: windows other tests filled do not count here."""
    url = f"{redis_url.rsplit('/', 1)[0]}/{next(_DATABASES)}"
    redis = redis_connect(url)
    try:
        await redis.flushdb()  # pyright: ignore[reportUnknownMemberType]
    finally:
        await redis.aclose()
    return url


@pytest.fixture
def unreachable_redis() -> Iterator[str]:
    """A Redis URL on a loopback port that is bound but not listening (held for the test): connections are
    refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture
def simulator() -> Iterator[tuple[Sandbox, str]]:
    """A simulator of this test's own (its quota window empty), enforcing WeData's 20/s per SecretId and action,
    on a world of one task with 12 failed daily instances."""
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=backfill_world(12))
    with serve_in_thread(sandbox) as url:
        yield sandbox, url


@asynccontextmanager
async def replicas(url: str, tmp_path: Path, store: str, count: int, **env: str) -> AsyncIterator[list[Client]]:
    """`count` `wedata-mcp serve` processes (stdio) on one simulator, sharing the Redis store `store`."""
    async with AsyncExitStack() as stack:
        clients: list[Client] = []
        for n in range(count):
            home = tmp_path / f"replica-{n}"
            home.mkdir()
            environment = server_env(url, home, WEDATA_MCP_TOKEN_STORE=store, WEDATA_MCP_APPROVAL="token", **env)
            clients.append(await stack.enter_async_context(connect("stdio", environment, home / "stderr")))
        yield clients


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def _rerun(day: int) -> dict[str, Any]:
    """A rerun of the world's instance of day `day` (0-based; backfill_world starts on 2025-01-01)."""
    data_time = (datetime(2025, 1, 1) + timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S")
    return {"Instances": [{"TaskId": TASK_ID, "CurRunDate": data_time}], "RerunType": "1"}


# --- the shared window itself, on the real redis-server ---------------------------------------------------------


async def test_fifty_replicas_asking_at_once_take_no_more_than_the_windows_capacity(shared_db: str) -> None:
    # Fifty clients, as fifty replicas would be: each its own connection.
    stores = [redis_connect(shared_db) for _ in range(50)]
    try:
        with anyio.fail_after(10):
            taken = []

            async def take(redis: Redis) -> None:
                taken.append(await RedisWindows(redis).window("w", 20, 1.0).take())

            async with anyio.create_task_group() as tg:
                for redis in stores:
                    tg.start_soon(take, redis)
    finally:
        for redis in stores:
            await redis.aclose()
    slots = [t for t in taken if t.slot is not None]
    assert len(slots) == 20 and all(t.wait == 0 for t in slots)
    assert len({t.slot for t in slots}) == 20
    assert all(0 < t.wait <= 1.0 for t in taken if t.slot is None)  # until the oldest slot leaves the window


async def test_settling_a_slot_moves_it_to_redis_now_and_never_adds_one(shared_db: str) -> None:
    redis = redis_connect(shared_db)
    key = KEY_PREFIX + "w"  # the sorted set the README describes: a slot per member, scored with its time
    try:
        window = RedisWindows(redis).window("w", 1, 60.0)
        first = await window.take()
        assert first.slot is not None and (await window.take()).slot is None  # full for a minute
        taken_at = await redis.zscore(key, first.slot)  # pyright: ignore[reportUnknownMemberType]
        await window.settle(first.slot)
        settled_at = await redis.zscore(key, first.slot)  # pyright: ignore[reportUnknownMemberType]
        await window.settle("a-slot-never-taken")
        members = await redis.zcard(key)  # pyright: ignore[reportUnknownMemberType]
    finally:
        await redis.aclose()
    assert taken_at is not None and settled_at is not None and settled_at > taken_at
    assert members == 1


async def test_an_unreachable_shared_budget_refuses_naming_its_rule(unreachable_redis: str) -> None:
    redis = redis_connect(unreachable_redis)
    try:
        budget = ExecutionBudget(5, shared=RedisWindows(redis))
        with anyio.fail_after(20), pytest.raises(PolicyError, match="nothing was sent") as refused:
            await budget.take()
        with pytest.raises(WindowUnavailableError):
            await RedisWindows(redis).window("w", 1, 1.0).take()
    finally:
        await redis.aclose()
    assert refused.value.rule == "max_executions_per_minute"


# --- replicas: real server processes sharing one redis-server -------------------------------------------------------


@pytest.mark.long
async def test_three_replicas_on_one_account_share_wedatas_quota_and_meet_no_request_limit(
    simulator: tuple[Sandbox, str], shared_db: str, tmp_path: Path
) -> None:
    sandbox, url = simulator
    with anyio.fail_after(90):
        async with replicas(url, tmp_path, shared_db, 3) as clients:
            results: list[Any] = []

            async def find(client: Client) -> None:
                results.append(await client.call_tool("find_schedule_instances", {"StateName": ["failed"]}))

            # 20 at once from each: alone, each replica's own limiter would let all of them go in the first second.
            async with anyio.create_task_group() as tg:
                for client in clients:
                    for _ in range(20):
                        tg.start_soon(find, client)
            # Read at once: a window's keys expire about 2 s after its last slot, and stopping three replicas on a
            # loaded machine can take longer than that (the keys were gone in one fresh-clone run).
            redis = redis_connect(shared_db)
            try:
                keys = [key.decode() for key in await redis.keys("*")]  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            finally:
                await redis.aclose()
    assert [_text(r) for r in results if r.is_error] == []
    received = sandbox.requests(DESCRIBE, verified=None)
    assert len(received) >= 60
    assert [r.error_code for r in sandbox.requests(verified=None) if r.error_code] == []
    # The window is keyed by a hash of the SecretId and the action: the SecretId itself is in no key.
    assert any(key.startswith("wedata-mcp:window:rate:") and key.endswith(f":{DESCRIBE}") for key in keys), keys
    assert not any(SECRET_ID in key for key in keys)


async def test_replicas_together_never_exceed_max_executions_per_minute(
    simulator: tuple[Sandbox, str], shared_db: str, tmp_path: Path
) -> None:
    sandbox, url = simulator
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy]\nmax_executions_per_minute = 2\n", encoding="utf-8")
    with anyio.fail_after(90):
        async with replicas(url, tmp_path, shared_db, 3, WEDATA_MCP_POLICY_FILE=str(policy)) as clients:
            confirmed: list[tuple[Client, dict[str, Any]]] = []
            for n in range(6):  # two distinct reruns previewed on each replica
                client = clients[n % 3]
                preview = await client.call_tool(TOOL, _rerun(n))
                assert preview.structured_content, _text(preview)
                token = preview.structured_content["ConfirmationToken"]
                confirmed.append((client, _rerun(n) | {"ConfirmationToken": token}))
            results: list[Any] = []

            async def execute(client: Client, arguments: dict[str, Any]) -> None:
                results.append(await client.call_tool(TOOL, arguments))

            async with anyio.create_task_group() as tg:
                for client, arguments in confirmed:
                    tg.start_soon(execute, client, arguments)
    executed = [r for r in results if not r.is_error and (r.structured_content or {}).get("Status") == "executed"]
    refused = [_text(r) for r in results if r.is_error]
    assert len(executed) == 2, [_text(r) for r in results]
    assert len(refused) == 4 and all("max_executions_per_minute" in t for t in refused), refused
    assert len(sandbox.requests(RERUN, verified=None)) == 2


async def test_a_replica_whose_redis_is_unreachable_sends_nothing(
    simulator: tuple[Sandbox, str], unreachable_redis: str, tmp_path: Path
) -> None:
    sandbox, url = simulator
    unreachable = unreachable_redis
    with anyio.fail_after(60):
        async with replicas(url, tmp_path, unreachable, 1) as (client,):
            found = await client.call_tool("find_schedule_instances", {"StateName": ["failed"]})
            preview = await client.call_tool(TOOL, _rerun(0))
            forged = await client.call_tool(TOOL, _rerun(0) | {"ConfirmationToken": "x" * 40})
    assert found.is_error and "rate limit that replicas share could not be checked" in _text(found), _text(found)
    assert "nothing ran" in _text(found)
    assert not (preview.structured_content or {}).get("ConfirmationToken"), _text(preview)
    assert forged.is_error
    assert sandbox.requests(verified=None) == []  # not one request reached WeData


# --- the client holds its shared slot until the answer is in --------------------------------------------------


class RecordingWindows:
    """Shared windows that record, in order, each take and settle beside the requests the transport sees."""

    def __init__(self, events: list[str], fail: bool = False) -> None:
        self.events = events
        self.fail = fail
        self.names: list[str] = []

    def window(self, name: str, capacity: int, seconds: float) -> RecordingWindows:
        self.names.append(f"{name} {capacity}/{seconds:g}s")
        return self

    async def take(self) -> Taken:
        if self.fail:
            self.events.append("refused")
            raise WindowUnavailableError("Redis: ConnectionError")
        self.events.append("take")
        return Taken(0.0, "slot-1")

    async def settle(self, slot: str) -> None:
        self.events.append(f"settle {slot}")


async def test_a_shared_slot_is_taken_before_the_request_and_settled_once_its_answer_is_in() -> None:
    events: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        events.append("request")
        return httpx.Response(200, json={"Response": {"Data": {}, "RequestId": "r-1"}})

    windows = RecordingWindows(events)
    credentials = Credentials(SECRET_ID, SECRET_KEY)
    limits = RateLimits(20, shared=windows, account=credentials.account_key())
    client = WeDataClient(
        Target("http://wedata.test", REGION), credentials, transport=httpx.MockTransport(answer), limiter=limits
    )
    try:
        await client.call(DESCRIBE, b"{}", mutating=False)
    finally:
        await client.aclose()
    assert events == ["take", "request", "settle slot-1"]
    assert windows.names == [f"rate:{credentials.account_key()}:{DESCRIBE} 20/1.02s"]
    assert SECRET_ID not in windows.names[0]


async def test_an_unreadable_shared_window_sends_nothing_and_is_not_retried() -> None:
    events: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        events.append("request")
        return httpx.Response(200, json={"Response": {"RequestId": "r-1"}})

    windows = RecordingWindows(events, fail=True)
    client = WeDataClient(
        Target("http://wedata.test", REGION),
        Credentials(SECRET_ID, SECRET_KEY),
        transport=httpx.MockTransport(answer),
        limiter=RateLimits(20, shared=windows, account="a"),
    )
    try:
        with pytest.raises(RateLimitUnavailableError, match="nothing ran"):
            await client.call(RERUN, b"{}", mutating=True)
    finally:
        await client.aclose()
    assert events == ["refused"]  # asked once, and no request
