"""Test helper: one in-memory MCP session on the in-process simulator, driven from synchronous code (hypothesis
tests) through an anyio blocking portal, with every crash the SDK logs collected."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp_types import CallToolResult

from tests.conftest import SECRET_ID, SECRET_KEY
from tests.inproc import TOOL, Wire, make_server, text
from wedata_mcp.guardrail.policy import Policy
from wedata_mcp.models import ACTION
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account

BARE_CRASH = f"Error executing tool {TOOL}"
# Thousands of calls: no quota, no per-minute cap, no size cap; and simulated time all but frozen, so that an
# instance's state cannot change between a preview and its execution (which would be refused as stale).
PERMISSIVE = Policy(max_instances=1_000_000, max_executions_per_minute=1_000_000)
QUIET = ("", "httpx", "httpcore", "mcp", "wedata_mcp", "tencentcloud_sdk_common")


class Collect(logging.Handler):
    """Keeps the records it sees."""

    def __init__(self, level: int = logging.ERROR) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Session:
    portal: BlockingPortal
    client: Client
    sandbox: Sandbox
    wire: Wire
    audit: Path
    crashes: Collect
    calls: int = 0
    schemas: dict[str, dict[str, Any]] = field(default_factory=lambda: {})

    def call(self, arguments: dict[str, Any], tool: str = TOOL) -> CallToolResult:
        self.calls += 1
        return self.portal.call(self.client.call_tool, tool, arguments)

    def reruns_received(self) -> int:
        """Every RunRerunScheduleInstances that reached the simulator, verified or not."""
        return len(self.sandbox.requests(ACTION, verified=None))

    def received(self) -> int:
        return len(self.sandbox.requests(verified=None))

    def last_rerun_body(self) -> bytes:
        return self.sandbox.requests(ACTION, verified=None)[-1].body


def is_crash(result: CallToolResult) -> bool:
    """The SDK's answer to an unexpected exception: its bare message, with nothing from the exception."""
    return result.is_error and text(result).strip() == BARE_CRASH


@contextmanager
def session(tmp: Path, **settings: Any) -> Iterator[Session]:
    """A fresh server (permissive policy, 1,000 calls/s) on a fresh seeded simulator, one client session."""
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, rate_limit=10**9, speed=1e-9)
    wire = Wire(sandbox)
    server = make_server(tmp, wire, policy=PERMISSIVE, **({"rate_limit_per_second": 1000} | settings))
    crashes = Collect()
    levels = {name: logging.getLogger(name).level for name in QUIET}
    for name in QUIET:  # earlier tests may have left DEBUG on: thousands of calls would log each request
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("mcp").addHandler(crashes)
    try:
        with start_blocking_portal() as portal, portal.wrap_async_context_manager(Client(server)) as client:
            tools = portal.call(client.list_tools).tools
            found = Session(portal, client, sandbox, wire, tmp / "audit.jsonl", crashes)
            found.schemas = {tool.name: tool.input_schema for tool in tools}
            yield found
    finally:
        logging.getLogger("mcp").removeHandler(crashes)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
