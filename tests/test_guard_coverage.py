"""Every registered tool is either proven read-only or goes through the approval gate. A new mutating tool
that is not registered here (with arguments to try) fails this suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY, doc_example
from tests.inproc import Wire, make_server
from wedata_mcp.cloud.reader import WeDataReader
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.world import World

pytestmark = pytest.mark.anyio

# Mutating tools and arguments that reach their gate; each must send nothing without a valid token.
GATED: dict[str, dict[str, Any]] = {"rerun_schedule_instances": doc_example()}
# WeData's read-only actions this server may call, written out here rather than taken from the code under test: a
# new action a tool sends must be added by hand, after checking in the API reference that it changes nothing.
READ_ACTIONS = frozenset({"DescribeScheduleInstances", "DagInstances", "DescribeInstanceLastLog"})
# Read-only tools and arguments that exercise every read they make.
READ_ONLY_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "find_schedule_instances": [{}, {"StateName": ["failed"], "WorkflowName": "ods", "DateFrom": "2026-11-24"}],
    "get_schedule_instance": [{"TaskId": "20240318094455702", "CurRunDate": "2026-11-24 00:00:00"}],
    "get_instance_lineage": [{"TaskId": "20240318094455702", "CurRunDate": "2026-11-24 00:00:00", "Depth": 2}],
}
# Read-only tools about an execution: tried after one confirmed rerun (its token is passed as ConfirmationToken).
AFTER_A_RERUN: dict[str, list[dict[str, Any]]] = {"follow_rerun": [{}, {"WaitSeconds": 1}]}


class Spy(Wire):
    """Records every action that leaves the process."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox)
        self.actions: list[str] = []

    async def handle_async_request(self, request: Any) -> Any:
        self.actions.append(request.headers.get("X-TC-Action"))
        return await super().handle_async_request(request)


def spy() -> Spy:
    return Spy(Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=World.seeded()))


async def test_every_tool_is_either_read_only_or_gated(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, spy())) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        annotations = tool.annotations
        read_only = annotations is not None and annotations.read_only_hint is True
        if read_only:
            examples = READ_ONLY_EXAMPLES | AFTER_A_RERUN
            assert tool.name in examples, f"read-only tool {tool.name} has no examples to prove it"
        else:
            assert tool.name in GATED, f"mutating tool {tool.name} is not registered as gated"
            assert "ConfirmationToken" in tool.input_schema["properties"], tool.name
            assert annotations is not None and annotations.destructive_hint is True


@pytest.mark.parametrize("name", sorted(READ_ONLY_EXAMPLES))
async def test_read_only_tools_send_only_read_actions(tmp_path: Path, name: str) -> None:
    wire = spy()
    async with Client(make_server(tmp_path, wire)) as client:
        for arguments in READ_ONLY_EXAMPLES[name]:
            result = await client.call_tool(name, arguments)
            assert not result.is_error, result.content
    assert wire.actions, "the example made no call at all"
    assert set(wire.actions) <= READ_ACTIONS


@pytest.mark.parametrize("name", sorted(AFTER_A_RERUN))
async def test_read_only_tools_about_an_execution_send_only_read_actions(tmp_path: Path, name: str) -> None:
    wire = spy()
    async with Client(make_server(tmp_path, wire)) as client:
        preview = await client.call_tool("rerun_schedule_instances", doc_example())
        assert preview.structured_content is not None, preview.content
        token = preview.structured_content["ConfirmationToken"]
        executed = await client.call_tool("rerun_schedule_instances", doc_example() | {"ConfirmationToken": token})
        assert not executed.is_error, executed.content
        wire.actions.clear()
        for arguments in AFTER_A_RERUN[name]:
            result = await client.call_tool(name, arguments | {"ConfirmationToken": token})
            assert not result.is_error, result.content
    assert wire.actions, "the example made no call at all"
    assert set(wire.actions) <= READ_ACTIONS
    assert wire.sent == 1  # the rerun itself, and nothing after it


@pytest.mark.parametrize("name", sorted(GATED))
@pytest.mark.parametrize("token", [None, "", "wdc1.forged.token"], ids=["dry-run", "empty", "forged"])
async def test_gated_tools_send_nothing_mutating_without_a_valid_token(
    tmp_path: Path, name: str, token: str | None
) -> None:
    wire = spy()
    arguments = GATED[name] | ({} if token is None else {"ConfirmationToken": token})
    async with Client(make_server(tmp_path, wire)) as client:
        await client.call_tool(name, arguments)
    assert set(wire.actions) <= READ_ACTIONS
    assert wire.sent == 0


def test_the_reader_declares_only_those_read_actions() -> None:
    assert WeDataReader.READ_ACTIONS == READ_ACTIONS
