"""The guarded rerun on WeData API 2025-08-06 (`rerun_task_instances_async`), through an in-memory MCP client
session against the simulator mounted in-process: the same guardrail as 2021-08-20's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import audit_records
from tests.inproc import Wire, make_server, new_sandbox, text
from tests.test_sandbox_support import DWD_ORDER_FACTS, DWD_PAYMENTS, ODS_PAYMENTS, RETAIL_DW, YESTERDAY
from wedata_mcp.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio
TOOL = "rerun_task_instances_async"
V2025 = {"api_version": "2025-08-06"}


def key(task_id: str) -> str:
    return f"{task_id}_{YESTERDAY}"


def rerun(**extra: Any) -> dict[str, Any]:
    return {"ProjectId": RETAIL_DW, "InstanceKeyList": [key(ODS_PAYMENTS)], "RerunType": "1"} | extra


async def test_2025_lists_its_own_rerun_tool_with_the_documented_request_as_schema(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()), **V2025)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert "rerun_schedule_instances" not in tools
    tool = tools[TOOL]
    properties = tool.input_schema["properties"]
    assert set(properties) == {
        "ProjectId",
        "InstanceKeyList",
        "RerunType",
        "CheckParentType",
        "SonRangeType",
        "SkipEventListening",
        "RedefineParallelNum",
        "RedefineSelfWorkflowDependency",
        "RedefineParamList",
        "ConfirmationToken",
        "Discard",
    }
    assert set(tool.input_schema["required"]) == {"ProjectId", "InstanceKeyList"}
    assert properties["RerunType"]["enum"] == ["1", "2", "3"]
    assert properties["SonRangeType"]["enum"] == ["WORKFLOW", "PROJECT", "ALL"]
    assert properties["CheckParentType"]["enum"] == ["ALL", "MAKE_SCOPE", "NONE"]
    assert "RerunTaskInstancesAsync" in (tool.description or "")
    annotations = tool.annotations
    assert annotations is not None and annotations.destructive_hint and not annotations.read_only_hint
    assert annotations.idempotent_hint is False and annotations.open_world_hint
    assert tool.output_schema is not None and "AsyncId" in str(tool.output_schema)


async def test_dry_run_sends_nothing_and_previews_the_downstream_that_list_downstream_finds(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        result = await client.call_tool(TOOL, rerun(RerunType="2", SonRangeType="PROJECT", CheckParentType="ALL"))
    preview = result.structured_content
    assert preview is not None and not result.is_error, text(result)
    assert wire.sent == 0 and preview["Status"] == "dry_run" and preview["ConfirmationToken"]
    radius = preview["BlastRadius"]
    downstream = {i["TaskId"] for i in radius["Instances"] if i["Role"] == "downstream"}
    assert {DWD_PAYMENTS, DWD_ORDER_FACTS} <= downstream and radius["Resolved"] is True
    assert all(i["ProjectId"] == RETAIL_DW for i in radius["Instances"])  # PROJECT keeps growth_bi out
    assert preview["Plan"]["Instances"] == [{"InstanceKey": key(ODS_PAYMENTS), "ProjectId": RETAIL_DW}]
    assert preview["Action"] == "RerunTaskInstancesAsync" and preview["Request"] == rerun(
        RerunType="2", SonRangeType="PROJECT", CheckParentType="ALL"
    )
    reads = {r.action for r in sandbox.requests()}
    assert {"GetTaskInstance", "ListDownstreamTaskInstances", "ListUpstreamTaskInstances"} <= reads
    assert "RerunTaskInstancesAsync" not in reads


async def test_confirmed_rerun_sends_exactly_one_signed_request_and_a_replay_sends_nothing(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        preview = (await client.call_tool(TOOL, rerun())).structured_content
        assert preview is not None
        token = preview["ConfirmationToken"]
        done = await client.call_tool(TOOL, rerun(ConfirmationToken=token))
        again = await client.call_tool(TOOL, rerun(ConfirmationToken=token))
    result = done.structured_content
    assert result is not None and not done.is_error, text(done)
    assert result["Status"] == "executed" and result["Data"]["AsyncId"] in sandbox.world.async_jobs
    (sent,) = sandbox.requests("RerunTaskInstancesAsync")
    assert result["RequestId"] == sent.request_id and sent.json() == rerun()
    assert sent.body.decode() == json.dumps(preview["Request"])  # the exact bytes the preview showed
    assert again.structured_content is not None and again.structured_content["Status"] == "already_executed"
    assert wire.sent == 1
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events[:3] == ["preview", "sending", "executed"] and "replayed" in events
    executed = next(r for r in audit_records(tmp_path / "audit.jsonl") if r["event"] == "executed")
    assert executed["action"] == "RerunTaskInstancesAsync" and executed["async_id"] == result["Data"]["AsyncId"]


async def test_a_token_for_other_arguments_sends_nothing(tmp_path: Path) -> None:
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        preview = (await client.call_tool(TOOL, rerun())).structured_content
        assert preview is not None
        changed = await client.call_tool(TOOL, rerun(RerunType="2", ConfirmationToken=preview["ConfirmationToken"]))
        empty = await client.call_tool(TOOL, rerun(ConfirmationToken=""))
    assert changed.is_error and empty.is_error and wire.sent == 0


async def test_omitted_codes_are_previewed_as_their_widest_effect(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()), **V2025)) as client:
        result = await client.call_tool(TOOL, {"ProjectId": RETAIL_DW, "InstanceKeyList": [key(ODS_PAYMENTS)]})
    preview = result.structured_content
    assert preview is not None
    assert preview["Plan"]["Reruns"].startswith("the selected instances and their downstream")
    omitted = preview["Plan"]["Omitted"]
    assert (
        omitted["SonRangeType"].startswith("ALL: downstream across every project")
        and "widest" in omitted["SonRangeType"]
    )
    # Read in this version's own terms: an omitted CheckParentType checks nothing here (2021-08-20's table differs).
    assert omitted["CheckParentType"].startswith("NONE: upstream completion is not checked"), omitted
    assert "CheckFather" not in omitted and "DependentWay" not in omitted
    assert any("CheckParentType not set" in w for w in preview["Warnings"])


async def test_an_unknown_instance_key_gets_no_token(tmp_path: Path) -> None:
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        result = await client.call_tool(TOOL, rerun(InstanceKeyList=["19990101000000000_2026-11-24 00:00:00"]))
    preview = result.structured_content
    assert preview is not None and preview["ConfirmationToken"] is None
    assert preview["BlastRadius"]["NotFound"] == ["19990101000000000_2026-11-24 00:00:00"] and wire.sent == 0


async def test_bad_input_names_the_field_and_the_closest_valid_name(tmp_path: Path) -> None:
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        typo = await client.call_tool(TOOL, rerun() | {"InstanceKeys": [key(ODS_PAYMENTS)]})
        empty = await client.call_tool(TOOL, rerun(InstanceKeyList=[]))
        code = await client.call_tool(TOOL, rerun(SonRangeType="3"))
    assert typo.is_error and "InstanceKeys" in text(typo) and "did you mean 'InstanceKeyList'" in text(typo)
    assert empty.is_error and "InstanceKeyList" in text(empty)
    assert code.is_error and "SonRangeType" in text(code)
    assert wire.sent == 0


def test_api_version_fails_closed_naming_the_variable() -> None:
    assert Settings.from_env({}).api_version == "2021-08-20"
    assert Settings.from_env({"WEDATA_MCP_API_VERSION": "2025-08-06"}).api_version == "2025-08-06"
    with pytest.raises(SettingsError, match="WEDATA_MCP_API_VERSION"):
        Settings.from_env({"WEDATA_MCP_API_VERSION": "2025-08"})


async def test_unfinished_upstream_is_warned_about_in_this_versions_words(tmp_path: Path) -> None:
    arguments = rerun(InstanceKeyList=[key(DWD_PAYMENTS)], CheckParentType="NONE", SkipEventListening=False)
    async with Client(make_server(tmp_path, Wire(new_sandbox()), **V2025)) as client:
        preview = (await client.call_tool(TOOL, arguments)).structured_content
    assert preview is not None
    assert preview["BlastRadius"]["UnfinishedUpstream"] == [f"{ODS_PAYMENTS}@{YESTERDAY}: failed"]
    (warning,) = [w for w in preview["Warnings"] if w.startswith("Upstream not finished")]
    assert "CheckParentType is NONE or not set" in warning and "CheckFather" not in warning
