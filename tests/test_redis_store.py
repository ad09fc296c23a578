"""Single use across replicas: the Redis token store against a real redis-server, in process, then as two server
processes sharing one Redis and one token secret, each presented the same confirmation token at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY, Endpoint, audit_records, doc_example
from tests.spawn import connect, free_port, server_env, stop
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.guardrail.redis_store import RedisTokenStore, TokenStoreUnavailableError
from wedata_mcp.guardrail.store import Recorded
from wedata_mcp.guardrail.tokens import TokenError
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.settings import Settings

pytestmark = pytest.mark.anyio

TOOL = "rerun_schedule_instances"
SECRET = "one-secret-shared-by-both-replicas-0123456789"
INSTALL_HINT = "redis-server is not installed: `apt-get install -y redis-server` (scripts/test does it when root)"


def _install_redis_once() -> str | None:
    """On CI as root (a fresh Debian machine), install the Debian package without starting its system service."""
    if not (os.environ.get("CI") and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        return None
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:  # "exit 101": packages may not start services; the tests start their own server
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True, timeout=300)
        install = ["apt-get", "install", "-y", "-qq", "redis-server"]
        subprocess.run(install, check=False, env=env, capture_output=True, timeout=300)
    finally:
        if ours:
            policy.unlink()
    return shutil.which("redis-server")


async def _until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    redis = Redis.from_url(url)  # pyright: ignore[reportUnknownMemberType]
    try:
        with anyio.fail_after(20):
            while True:  # bounded by fail_after: until the server answers PING
                try:
                    if await redis.ping():
                        return
                except (OSError, RedisError):
                    pass
                if process.poll() is not None:
                    raise RuntimeError("redis-server exited early")
                await anyio.sleep(0.05)
    finally:
        await redis.aclose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free loopback port, no persistence, stopped at the end of the session."""
    binary = shutil.which("redis-server") or _install_redis_once()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(workdir), "--daemonize", "no"]
    with (workdir / "log").open("w") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        anyio.run(_until_ready, url, process)
        yield url
    finally:
        stop(process)


@asynccontextmanager
async def store_on(url: str, prefix: str | None = None, **kwargs: Any) -> AsyncIterator[RedisTokenStore]:
    """A store with a key prefix of its own (unless given one), so tests never see each other's tokens."""
    store = RedisTokenStore.from_url(url, key_prefix=prefix or f"test:{uuid.uuid4().hex}:", **kwargs)
    try:
        yield store
    finally:
        await store.aclose()


# --- the store, in process ----------------------------------------------------------------------------------------


async def test_fifty_concurrent_claims_of_one_token_let_exactly_one_through(redis_url: str) -> None:
    async with store_on(redis_url) as store:
        wins: list[bool] = []
        generation = await store.generation()

        async def claim() -> None:
            wins.append(await store.claim("t1", 1e12, generation))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(claim)
            assert await store.is_claimed("t1") and not await store.is_claimed("t2")
    assert sorted(wins) == [False] * 49 + [True]


async def test_a_replay_waits_for_the_outcome_its_first_use_records(redis_url: str) -> None:
    async with store_on(redis_url) as store:
        assert await store.claim("t1", 1e12, await store.generation())
        seen: list[Recorded] = []

        async def replay() -> None:
            seen.append(await store.outcome("t1"))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(replay)
                await store.record("t1", Recorded(result={"RequestId": "req-1", "Data": {"Result": True}}))
    assert seen == [Recorded(result={"RequestId": "req-1", "Data": {"Result": True}})]


async def test_a_recorded_error_is_replayed_as_is(redis_url: str) -> None:
    async with store_on(redis_url) as store:
        assert await store.claim("t1", 1e12, await store.generation())
        await store.record("t1", Recorded(error="Outcome unknown: timed out"))
        with anyio.fail_after(10):
            assert await store.outcome("t1") == Recorded(error="Outcome unknown: timed out")


async def test_a_first_use_that_never_records_is_reported_unknown_after_the_wait(redis_url: str) -> None:
    async with store_on(redis_url, wait_seconds=0.3) as store:
        assert await store.claim("t1", 1e12, await store.generation())
        with anyio.fail_after(10):
            outcome = await store.outcome("t1")
    assert outcome.result is None and outcome.error and "unknown" in outcome.error


async def test_a_claim_is_kept_a_day_past_its_tokens_expiry(redis_url: str) -> None:
    now = 1_800_000_000.0
    async with store_on(redis_url, clock=lambda: now) as store:
        assert await store.claim("t1", now + 300, await store.generation())
        await store.record("t1", Recorded(result={}))
        ttl_ms = await store._redis.pttl(store._key("t1"))  # pyright: ignore[reportPrivateUsage]
    assert (86_400 + 300 - 5) * 1000 < ttl_ms <= (86_400 + 300) * 1000  # record kept the claim's expiry


async def test_an_unreachable_store_refuses_to_claim_so_nothing_is_sent() -> None:
    async with store_on(f"redis://127.0.0.1:{free_port()}/0") as store:
        with anyio.fail_after(20), pytest.raises(TokenStoreUnavailableError, match="nothing was sent"):
            await store.claim("t1", 1e12, await store.generation())
    assert issubclass(TokenStoreUnavailableError, TokenError)  # so the tool reports "not executed"


# --- two servers sharing the store (in process) ---------------------------------------------------------------


def _replica(tmp_path: Path, sandbox: Sandbox, store: RedisTokenStore, name: str):
    settings = Settings(
        endpoint="http://wedata.sandbox",
        region=REGION,
        audit_log=tmp_path / f"{name}.jsonl",
        token_secret=SECRET,
        project_ids=PROJECT_IDS,
    )
    return build_server(
        settings,
        Credentials(SECRET_ID, SECRET_KEY),
        transport=httpx.ASGITransport(app=sandbox.app()),
        audit=JsonLinesAudit(tmp_path / f"{name}.jsonl"),
        store=store,
    )


async def _present(clients: list[Client], token: str, times: int) -> list[Any]:
    """`times` presentations of one token, spread over `clients`, all at once."""
    results: list[Any] = []

    async def execute(client: Client) -> None:
        results.append(await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token}))

    async with anyio.create_task_group() as tg:
        for n in range(times):
            tg.start_soon(execute, clients[n % len(clients)])
    return results


def _statuses(results: list[Any]) -> list[str]:
    return sorted(r.structured_content["Status"] if r.structured_content else "error" for r in results)


async def test_two_replicas_in_process_sharing_redis_send_one_token_once(redis_url: str, tmp_path: Path) -> None:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)})
    shared = f"test:{uuid.uuid4().hex}:"  # one namespace, two connections: as two replicas would have
    async with store_on(redis_url, shared) as store_a, store_on(redis_url, shared) as store_b:
        with anyio.fail_after(30):
            async with (
                Client(_replica(tmp_path, sandbox, store_a, "a")) as a,
                Client(_replica(tmp_path, sandbox, store_b, "b")) as b,
            ):
                preview = await a.call_tool(TOOL, doc_example())
                assert preview.structured_content, preview.content
                results = await _present([a, b], preview.structured_content["ConfirmationToken"], 50)
    assert len(sandbox.requests("RunRerunScheduleInstances", verified=None)) == 1
    assert _statuses(results) == ["already_executed"] * 49 + ["executed"]


# --- two server processes sharing one Redis and one secret ----------------------------------------------------------


@asynccontextmanager
async def two_replicas(endpoint: Endpoint, tmp_path: Path, redis_url: str) -> AsyncIterator[list[Client]]:
    """Two `wedata-mcp serve` processes (over stdio) with one Redis and one secret, each with its own audit log."""
    async with AsyncExitStack() as stack:
        clients: list[Client] = []
        for name in ("a", "b"):
            home = tmp_path / name
            home.mkdir()
            env = server_env(endpoint.url, home, WEDATA_MCP_TOKEN_STORE=redis_url, WEDATA_MCP_TOKEN_SECRET=SECRET)
            clients.append(await stack.enter_async_context(connect("stdio", env, home / "stderr")))
        yield clients


def _reruns(endpoint: Endpoint) -> int:
    return len(endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None))


@pytest.mark.parametrize("presentations", [2, 50])
async def test_two_server_processes_sharing_redis_execute_one_token_exactly_once(
    endpoint: Endpoint, tmp_path: Path, redis_url: str, presentations: int
) -> None:
    with anyio.fail_after(60):
        async with two_replicas(endpoint, tmp_path, redis_url) as clients:
            preview = await clients[0].call_tool(TOOL, doc_example())
            assert preview.structured_content, preview.content
            results = await _present(clients, preview.structured_content["ConfirmationToken"], presentations)
    assert _reruns(endpoint) == 1
    assert _statuses(results) == ["already_executed"] * (presentations - 1) + ["executed"]
    request_ids = {r.structured_content["RequestId"] for r in results}
    assert len(request_ids) == 1  # every replay carries the one execution's RequestId
    sends = [r for name in "ab" for r in audit_records(tmp_path / name / "audit.jsonl") if r["event"] == "sending"]
    assert len(sends) == 1


async def test_a_used_token_presented_after_a_restart_replays_its_outcome_and_sends_nothing(
    endpoint: Endpoint, tmp_path: Path, redis_url: str
) -> None:
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_TOKEN_STORE=redis_url, WEDATA_MCP_TOKEN_SECRET=SECRET)
    with anyio.fail_after(60):
        async with connect("stdio", env, tmp_path / "stderr") as client:
            preview = await client.call_tool(TOOL, doc_example())
            assert preview.structured_content, preview.content
            confirmed = doc_example() | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
            first = await client.call_tool(TOOL, confirmed)
        received = len(endpoint.sandbox.requests(verified=None))
        async with connect("stdio", env, tmp_path / "stderr-restarted") as client:
            again = await client.call_tool(TOOL, confirmed)
    assert first.structured_content and again.structured_content, (first.content, again.content)
    assert (first.structured_content["Status"], again.structured_content["Status"]) == ("executed", "already_executed")
    assert again.structured_content["RequestId"] == first.structured_content["RequestId"]
    assert len(endpoint.sandbox.requests(verified=None)) == received  # answered from Redis, not even a look-up
