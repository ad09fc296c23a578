"""On API 2025-08-06 too, every registered tool is either proven read-only or goes through the approval gate; a new
2025-08-06 tool that is not registered here (with arguments to try) fails this suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.inproc import make_server
from tests.test_guard_coverage import spy
from tests.test_sandbox_support import DWD_PAYMENTS, ODS_PAYMENTS, RETAIL_DW, YESTERDAY
from wedata_mcp.cloud.reader_v2025 import TaskInstanceReader

pytestmark = pytest.mark.anyio
V2025 = {"api_version": "2025-08-06"}
RERUN = {"ProjectId": RETAIL_DW, "InstanceKeyList": [f"{ODS_PAYMENTS}_{YESTERDAY}"], "RerunType": "2"}
GATED: dict[str, dict[str, Any]] = {"rerun_task_instances_async": RERUN}
# 2025-08-06's read-only actions, written out here after checking in the SDK that each changes nothing.
READ_ACTIONS = frozenset(
    {
        "ListTaskInstances",
        "GetTaskInstance",
        "GetTaskInstanceLog",
        "ListUpstreamTaskInstances",
        "ListDownstreamTaskInstances",
        "GetOpsAsyncJob",
    }
)
READ_ONLY_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "list_task_instances": [{"ProjectId": RETAIL_DW}, {"ProjectId": RETAIL_DW, "InstanceState": "EXPIRED"}],
    "get_task_instance": [{"ProjectId": RETAIL_DW, "InstanceKey": f"{ODS_PAYMENTS}_{YESTERDAY}"}],
    "get_instance_lineage": [{"ProjectId": RETAIL_DW, "InstanceKey": f"{DWD_PAYMENTS}_{YESTERDAY}", "Depth": 2}],
}
AFTER_A_RERUN: dict[str, list[dict[str, Any]]] = {"follow_rerun": [{}, {"WaitSeconds": 1}]}


async def test_every_2025_tool_is_either_read_only_or_gated(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, spy(), **V2025)) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        annotations = tool.annotations
        if annotations is not None and annotations.read_only_hint is True:
            assert tool.name in READ_ONLY_EXAMPLES | AFTER_A_RERUN, f"read-only tool {tool.name} has no examples"
        else:
            assert tool.name in GATED, f"mutating tool {tool.name} is not registered as gated"
            assert "ConfirmationToken" in tool.input_schema["properties"], tool.name
            assert annotations is not None and annotations.destructive_hint is True


@pytest.mark.parametrize("name", sorted(READ_ONLY_EXAMPLES))
async def test_2025_read_only_tools_send_only_read_actions(tmp_path: Path, name: str) -> None:
    wire = spy()
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        for arguments in READ_ONLY_EXAMPLES[name]:
            result = await client.call_tool(name, arguments)
            assert not result.is_error, result.content
    assert wire.actions and set(wire.actions) <= READ_ACTIONS


async def test_following_a_2025_rerun_sends_only_read_actions(tmp_path: Path) -> None:
    wire = spy()
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        preview = (await client.call_tool("rerun_task_instances_async", RERUN)).structured_content
        assert preview is not None
        token = preview["ConfirmationToken"]
        done = await client.call_tool("rerun_task_instances_async", RERUN | {"ConfirmationToken": token})
        assert done.structured_content is not None, done.content
        wire.actions.clear()
        for arguments in AFTER_A_RERUN["follow_rerun"]:
            async_id = done.structured_content["Data"]["AsyncId"]
            result = await client.call_tool("follow_rerun", arguments | {"AsyncId": async_id})
            assert not result.is_error, result.content
    assert wire.actions and set(wire.actions) <= READ_ACTIONS
    assert wire.sent == 1


@pytest.mark.parametrize("token", [None, "", "wdc1.forged.token"], ids=["dry-run", "empty", "forged"])
async def test_the_2025_rerun_sends_nothing_mutating_without_a_valid_token(tmp_path: Path, token: str | None) -> None:
    wire = spy()
    arguments = RERUN | ({} if token is None else {"ConfirmationToken": token})
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        await client.call_tool("rerun_task_instances_async", arguments)
    assert set(wire.actions) <= READ_ACTIONS and wire.sent == 0


def test_the_2025_reader_declares_only_those_read_actions() -> None:
    assert TaskInstanceReader.READ_ACTIONS == READ_ACTIONS
