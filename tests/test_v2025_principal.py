"""Invariant 7 on API 2025-08-06 over authenticated HTTP (a real server process, JWTs): a token and a job belong to
the person the rerun was previewed for; another person can neither confirm the token nor follow the job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import audit_records
from tests.spawn import free_port
from tests.test_http_security import (
    ISSUER,
    JWT_SECRET,
    SCOPE,
    Cloud,
    Served,
    bearer,
    mint,
    sdk_client,
    serve_http,
)
from tests.test_http_security import _fresh_cloud as _fresh_cloud
from tests.test_http_security import cloud as cloud
from tests.test_sandbox_support import ODS_PAYMENTS, RETAIL_DW, YESTERDAY

pytestmark = pytest.mark.anyio
TOOL = "rerun_task_instances_async"
RERUN: dict[str, Any] = {
    "ProjectId": RETAIL_DW,
    "InstanceKeyList": [f"{ODS_PAYMENTS}_{YESTERDAY}"],
    "RerunType": "1",
    "CheckParentType": "ALL",
    "SkipEventListening": False,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    port = free_port()
    env = {
        "WEDATA_MCP_API_VERSION": "2025-08-06",
        "WEDATA_MCP_OAUTH_ISSUER": ISSUER,
        "WEDATA_MCP_RESOURCE_URL": f"http://127.0.0.1:{port}/mcp",
        "WEDATA_MCP_OAUTH_HS256_SECRET": JWT_SECRET,
        "WEDATA_MCP_OAUTH_SCOPES": SCOPE,
    }
    with serve_http(tmp_path_factory.mktemp("v2025-principal"), cloud, port=port, **env) as served:
        yield served


def words(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def structured(client: Client, arguments: dict[str, Any], tool: str = TOOL) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert result.structured_content is not None and not result.is_error, result.content
    return result.structured_content


async def test_another_person_can_neither_confirm_the_token_nor_follow_the_job(server: Served, cloud: Cloud) -> None:
    alice, bob = bearer(mint(server, sub="alice")), bearer(mint(server, sub="bob"))

    def reruns() -> int:
        return len(cloud.sandbox.requests("RerunTaskInstancesAsync", verified=None))

    with anyio.fail_after(60):
        async with sdk_client(server.url, alice) as client:
            token = (await structured(client, RERUN))["ConfirmationToken"]
        async with sdk_client(server.url, bob) as client:
            refused = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
        assert refused.is_error and "issued to another person" in words(refused) and reruns() == 0
        async with sdk_client(server.url, alice) as client:
            executed = await structured(client, RERUN | {"ConfirmationToken": token})
            async_id = executed["Data"]["AsyncId"]
            mine = await structured(client, {"AsyncId": async_id}, "follow_rerun")
        async with sdk_client(server.url, bob) as client:
            theirs = await client.call_tool("follow_rerun", {"AsyncId": async_id})
    assert mine["AsyncId"] == async_id and mine["Status"] in ("INIT", "RUNNING", "SUCCESS")
    assert theirs.is_error and "not one of your reruns" in words(theirs)
    assert reruns() == 1
    sent = next(r for r in audit_records(server.audit) if r["event"] == "sending")
    assert sent["actor"]["principal"] == json.dumps([ISSUER, "alice"], separators=(",", ":"))
