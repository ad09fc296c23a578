"""Issue 12 items 4, 7 and 8 through a real MCP client: every tool's arguments under WeData's field names, errors
that say what to fix (no framework prefix, no raw pydantic text), titles, and text that spends little context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import PROJECT_IDS, audit_records
from tests.inproc import TOOL, Wire, make_server, new_sandbox, preview_token, text
from wedata_mcp.sandbox.world import World

pytestmark = pytest.mark.anyio

YESTERDAY = "2026-11-24 00:00:00"
ODS_PAYMENTS = "20240226155530703"
# Per tool: arguments with one misspelt name, and the name the error must suggest.
TYPOS: dict[str, tuple[dict[str, Any], str]] = {
    "find_schedule_instances": ({"State": ["failed"]}, "StateName"),
    "get_schedule_instance": ({"TaskID": ODS_PAYMENTS, "CurRunDate": YESTERDAY}, "TaskId"),
    "get_instance_lineage": ({"TaskId": ODS_PAYMENTS, "CurRunDate": YESTERDAY, "Dept": 2}, "Depth"),
    "follow_rerun": ({"RequestID": "r-1"}, "RequestId"),
    TOOL: ({"Instances": [{"TaskId": ODS_PAYMENTS, "CurRunDate": YESTERDAY}], "RerunTyp": "1"}, "RerunType"),
}


def seeded_server(tmp_path: Path) -> Any:
    sandbox = new_sandbox()
    sandbox.load(World.seeded())
    return make_server(tmp_path, Wire(sandbox))


def assert_reads_as_what_to_fix(message: str) -> None:
    assert not message.startswith("Error executing tool"), message
    for raw in ("validation error for", "[type=", "input_value", "https://", "pydantic"):
        assert raw not in message, message


@pytest.mark.parametrize("tool", sorted(TYPOS))
async def test_every_tool_refuses_a_misspelt_argument_naming_the_closest_valid_one(tool: str, tmp_path: Path) -> None:
    arguments, meant = TYPOS[tool]
    async with Client(seeded_server(tmp_path)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert f"did you mean '{meant}'?" in text(result), text(result)
    assert_reads_as_what_to_fix(text(result))


async def test_a_wrong_code_or_bound_is_named_with_its_field_and_the_closest_valid_value(tmp_path: Path) -> None:
    async with Client(seeded_server(tmp_path)) as client:
        state = await client.call_tool("find_schedule_instances", {"StateName": ["faild"]})
        size = await client.call_tool("find_schedule_instances", {"PageSize": 1000})
        missing = await client.call_tool("get_schedule_instance", {"TaskId": ODS_PAYMENTS})
        date = await client.call_tool("get_instance_lineage", {"TaskId": ODS_PAYMENTS, "CurRunDate": "yesterday"})
    assert "StateName.0:" in text(state) and "did you mean 'failed'?" in text(state)
    assert "PageSize:" in text(size) and "CurRunDate:" in text(missing) and text(date).startswith("CurRunDate: ")
    for result in (state, size, missing, date):
        assert result.is_error
        assert_reads_as_what_to_fix(text(result))


async def test_every_tool_is_titled_and_takes_wedatas_field_names(tmp_path: Path) -> None:
    async with Client(seeded_server(tmp_path)) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert tool.title and tool.annotations is not None and tool.annotations.title, tool.name
        for name in tool.input_schema.get("properties", {}):
            assert name[0].isupper() and "_" not in name, (tool.name, name)


async def test_find_by_project_name_and_state_name_lists_instances_as_one_compact_table(tmp_path: Path) -> None:
    ask = {"ProjectName": "retail_dw", "StateName": ["failed"], "DateFrom": "2026-11-24", "DateTo": "2026-11-24"}
    async with Client(seeded_server(tmp_path)) as client:
        result = await client.call_tool("find_schedule_instances", ask)
        unknown = await client.call_tool("find_schedule_instances", {"ProjectName": "retail"})
    shown = json.loads(text(result))
    assert "\n" not in text(result) and text(result) == json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
    header, *rows = shown["Instances"]
    assert header[:2] == ["TaskId", "CurRunDate"] and "StateName" in header
    assert sorted(row[header.index("TaskName")] for row in rows) == ["dws_user_activity", "ods_payments_sync"]
    assert {row[header.index("StateName")] for row in rows} == {"failed"}
    assert shown["Projects"] == {"127890865433555": "retail_dw"}
    # Structured content keeps one object per instance, as the output schema says.
    assert result.structured_content is not None
    assert {i["TaskId"] for i in result.structured_content["Instances"]} == {row[0] for row in rows}
    assert unknown.is_error and "did you mean 'retail_dw'?" in text(unknown)


ONE = {"Instances": [{"TaskId": ODS_PAYMENTS, "CurRunDate": YESTERDAY}], "RerunType": "1", "CheckFather": True}


async def test_a_token_for_other_arguments_names_the_fields_that_differ_and_sends_nothing(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    sandbox.load(World.seeded())
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client, ONE)
        changed = ONE | {"RerunType": "2", "SonInstanceType": "1"}
        changed.pop("CheckFather")
        result = await client.call_tool(TOOL, changed | {"ConfirmationToken": token})
    assert result.is_error and wire.sent == 0
    message = text(result)
    assert "changed: RerunType; added: SonInstanceType; left out: CheckFather" in message, message
    assert_reads_as_what_to_fix(message)


async def test_a_discarded_token_is_audited_and_can_never_be_used(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    sandbox.load(World.seeded())
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client, ONE)
        discarded = await client.call_tool(TOOL, ONE | {"ConfirmationToken": token, "Discard": True})
        executed = await client.call_tool(TOOL, ONE | {"ConfirmationToken": token})
        again = await client.call_tool(TOOL, ONE | {"ConfirmationToken": token, "Discard": True})
        no_token = await client.call_tool(TOOL, ONE | {"Discard": True})
    assert not discarded.is_error and discarded.structured_content is not None, text(discarded)
    assert discarded.structured_content["Status"] == "discarded"
    assert discarded.structured_content["Summary"].startswith("Discarded as the user asked: nothing was sent.")
    assert executed.is_error and "declined this rerun" in text(executed), text(executed)
    assert again.is_error and "already used or discarded" in text(again)
    assert no_token.is_error and "Discard: give the ConfirmationToken" in text(no_token), text(no_token)
    assert wire.sent == 0 and sandbox.requests("RunRerunScheduleInstances") == []
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events.count("discarded") == 1 and "sending" not in events, events


async def test_a_discarded_search_condition_says_its_request_is_the_one_asked_not_the_one_previewed(
    tmp_path: Path,
) -> None:
    sandbox = new_sandbox()
    sandbox.load(World.seeded())
    search = {"SearchCondition": {"ProjectId": PROJECT_IDS[0], "StateList": [4]}, "RerunType": "1"}
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        dry = (await client.call_tool(TOOL, search)).structured_content
        assert dry is not None and dry["ConfirmationToken"] and "Instances" in dry["Request"], dry
        discarded = await client.call_tool(
            TOOL, search | {"ConfirmationToken": dry["ConfirmationToken"], "Discard": True}
        )
    shown = discarded.structured_content
    assert shown is not None and shown["Status"] == "discarded", text(discarded)
    assert shown["Request"] == search and shown["RequestHash"] != dry["RequestHash"]
    assert any("the SearchCondition as asked" in w and "another RequestHash" in w for w in shown["Warnings"]), shown


async def test_a_code_given_as_a_number_is_refused_saying_that_codes_are_strings(tmp_path: Path) -> None:
    """Found by a helper playing the assistant: "Input should be '1', '2' or '3'" beside RerunType 2 read as if 2
    were valid."""
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire)) as client:
        result = await client.call_tool(TOOL, ONE | {"RerunType": 2})
        other = await client.call_tool(TOOL, ONE | {"RerunType": 7})
    assert result.is_error and "RerunType" in text(result) and "these codes are strings" in text(result), text(result)
    assert other.is_error and "these codes are strings" not in text(other)  # 7 is no code, quoted or not
    assert wire.sent == 0 and wire.reads == 0
