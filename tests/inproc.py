"""Test helper: servers wired to the simulator in-process (httpx.ASGITransport), with faults on demand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY, doc_example
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.guardrail.policy import Policy
from wedata_mcp.guardrail.store import TokenStore
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.settings import Settings

TOOL = "rerun_schedule_instances"
MUTATING = frozenset({"RunRerunScheduleInstances", "RerunTaskInstancesAsync"})  # the rerun action of each version
SECRET = "shared-secret-of-two-replicas-0123456789"


class Wire(httpx.AsyncBaseTransport):
    """The in-process simulator, counting rerun sends (`sent`: RunRerunScheduleInstances or
    RerunTaskInstancesAsync) and reads (`reads`), with an optional fault for the n-th rerun send (1-based)."""

    def __init__(self, sandbox: Sandbox, faults: dict[int, Callable[[httpx.Request], httpx.Response]] | None = None):
        self._inner = httpx.ASGITransport(app=sandbox.app())
        self._faults = faults or {}
        self.sent = 0
        self.reads = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-TC-Action") not in MUTATING:
            self.reads += 1
            return await self._inner.handle_async_request(request)
        self.sent += 1
        fault = self._faults.get(self.sent)
        if fault is not None:
            return fault(request)
        return await self._inner.handle_async_request(request)


class HeldRerun(Wire):
    """The in-process simulator, holding the `nth` RunRerunScheduleInstances (1-based) on the wire, once received,
    until the test releases it."""

    def __init__(self, sandbox: Sandbox, nth: int = 1) -> None:
        super().__init__(sandbox)
        self._nth = nth
        self.received = anyio.Event()
        self.release = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-TC-Action") in MUTATING and self.sent == self._nth - 1:
            self.received.set()
            await self.release.wait()
        return await super().handle_async_request(request)


Rewrite = Callable[[dict[str, Any], dict[str, Any]], None]


class Rewritten(Wire):
    """The simulator, but each answer to `action` is changed by `rewrite(request_body, answer)` on its way back:
    an answer cut short, emptied or missing a field, as a proxy or a faulty page may give it."""

    def __init__(self, sandbox: Sandbox, action: str, rewrite: Rewrite) -> None:
        super().__init__(sandbox)
        self._action, self._rewrite = action, rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.headers.get("X-TC-Action") != self._action:
            return response
        answer = json.loads(await response.aread())
        self._rewrite(json.loads(request.content or b"{}"), answer["Response"])
        return httpx.Response(200, json=answer, headers={"Content-Type": "application/json"})


def no_wait(_: int) -> float:
    return 0.0


def new_sandbox(**options: Any) -> Sandbox:
    return Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, **options)


def make_server(
    tmp_path: Path,
    transport: httpx.AsyncBaseTransport,
    *,
    policy: Policy | None = None,
    store: TokenStore | None = None,
    backoff: Callable[[int], float] | None = None,
    **settings: Any,
) -> MCPServer[Any]:
    """A fresh server on the in-process simulator, with the audit log in `tmp_path`. Servers built with the
    same secret and `store` behave as replicas behind one endpoint. `backoff` replaces the retries' waits
    (`no_wait` where a test counts retries, not their pace)."""
    defaults: dict[str, Any] = {
        "endpoint": "http://wedata.sandbox",
        "region": REGION,
        "audit_log": tmp_path / "audit.jsonl",
        "token_secret": SECRET,
        "project_ids": PROJECT_IDS,
    }
    return build_server(
        Settings(**(defaults | settings)),
        Credentials(SECRET_ID, SECRET_KEY),
        transport=transport,
        audit=JsonLinesAudit(tmp_path / "audit.jsonl"),
        policy=policy,
        store=store,
        backoff=backoff,
    )


async def preview_token(client: Client, arguments: dict[str, Any] | None = None) -> str:
    result = await client.call_tool(TOOL, arguments or doc_example())
    assert result.structured_content is not None, result.content
    return str(result.structured_content["ConfirmationToken"])


def text(result: Any) -> str:
    return " ".join(block.text for block in result.content)
