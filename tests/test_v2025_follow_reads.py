"""API 2025-08-06's read tools and follow-through, through an in-memory MCP client session against the simulator:
find instances, look at one (its log by cursor), rerun, then follow the job (GetOpsAsyncJob) to its end."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY
from tests.inproc import Wire, make_server, text
from tests.test_sandbox_support import (
    DWD_ORDER_FACTS,
    DWD_PAYMENTS,
    DWS_USER_ACTIVITY,
    ODS_PAYMENTS,
    RETAIL_DW,
    YESTERDAY,
)
from tests.worlds import PROJECT_ID, TASK_ID, small_world
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account

pytestmark = pytest.mark.anyio
V2025 = {"api_version": "2025-08-06"}
RERUN = "rerun_task_instances_async"


def key(task_id: str, day: str = YESTERDAY) -> str:
    return f"{task_id}_{day}"


def sandbox(**kwargs: Any) -> Sandbox:
    return Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, **kwargs)


class Progress:
    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))


async def test_2025_lists_only_its_own_tools(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(sandbox()), **V2025)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"list_task_instances", "get_task_instance", "get_instance_lineage", "follow_rerun", RERUN}


async def test_list_task_instances_finds_yesterdays_failures_page_by_page(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(sandbox()), **V2025)) as client:
        args = {"ProjectId": RETAIL_DW, "InstanceState": "EXPIRED", "PageSize": 1}
        first = (await client.call_tool("list_task_instances", args)).structured_content
        assert first is not None and first["NextPageNumber"] == 2
        second = (await client.call_tool("list_task_instances", args | {"PageNumber": 2})).structured_content
        typo = await client.call_tool("list_task_instances", args | {"InstanceStates": ["EXPIRED"]})
    assert second is not None and second["NextPageNumber"] is None and first["TotalCount"] == 2
    found = {first["Instances"][0]["TaskId"], second["Instances"][0]["TaskId"]}
    assert found == {ODS_PAYMENTS, DWS_USER_ACTIVITY}
    assert first["Instances"][0]["StateName"] == "failed"
    assert typo.is_error and "did you mean 'InstanceState'" in text(typo)


async def test_lineage_walks_list_upstream_and_downstream_levels(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(sandbox()), **V2025)) as client:
        args = {"ProjectId": RETAIL_DW, "InstanceKey": key(DWD_PAYMENTS), "Depth": 2}
        result = await client.call_tool("get_instance_lineage", args)
        unknown = await client.call_tool("get_instance_lineage", args | {"InstanceKey": "nope_2026-11-24 00:00:00"})
    found = result.structured_content
    assert found is not None and found["Unresolved"] == [], text(result)
    assert found["Deeper"] == ["downstream"] and found["Complete"] is False  # level 2 has more downstream
    assert [(i["TaskId"], i["Level"]) for i in found["Upstream"]] == [(ODS_PAYMENTS, 1)]
    assert (DWD_ORDER_FACTS, 1) in [(i["TaskId"], i["Level"]) for i in found["Downstream"]]
    # Each row names its InstanceKey: what this version's get_task_instance and rerun take, with no look-up.
    assert found["Instance"]["InstanceKey"] == key(DWD_PAYMENTS)
    assert found["Upstream"][0]["InstanceKey"] == key(ODS_PAYMENTS)
    assert all(i["Level"] in (1, 2) for i in found["Downstream"])
    assert unknown.is_error and "InstanceKey" in text(unknown)


async def test_get_task_instance_reads_the_log_page_by_page_with_its_cursor(tmp_path: Path) -> None:
    day = "2025-01-01 00:00:00"
    log = [f"2025-01-02 00:00:{n:02d} INFO line {n}" for n in range(45)]
    world = small_world(
        [{"task_id": TASK_ID}],
        [{"task_id": TASK_ID, "cur_run_date": day, "state": "4", "log": log}],
        now="2025-01-03 00:00:00",
    )
    pages: list[str] = []
    async with Client(make_server(tmp_path, Wire(sandbox(world=world)), **V2025)) as client:
        cursor: str | None = None
        for _ in range(10):
            args = {"ProjectId": PROJECT_ID, "InstanceKey": key(TASK_ID, day)} | (
                {"NextCursor": cursor} if cursor else {}
            )
            detail = (await client.call_tool("get_task_instance", args)).structured_content
            assert detail is not None
            pages.append(detail["LogInfo"])
            cursor = detail["NextCursor"]
            if cursor is None:
                break
    assert len(pages) == 3 and "\n".join(pages).splitlines() == log
    assert detail["Instance"]["InstanceState"] == "EXPIRED"


async def test_a_rerun_is_followed_through_its_job_to_the_end_with_progress(tmp_path: Path) -> None:
    world = sandbox(speed=2000.0)
    wire = Wire(world)
    rerun = {
        "ProjectId": RETAIL_DW,
        "InstanceKeyList": [key(ODS_PAYMENTS)],
        "RerunType": "2",
        "SonRangeType": "PROJECT",
        "CheckParentType": "ALL",
        "SkipEventListening": False,
    }
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        preview = (await client.call_tool(RERUN, rerun)).structured_content
        assert preview is not None and preview["ConfirmationToken"], preview
        done = (
            await client.call_tool(RERUN, rerun | {"ConfirmationToken": preview["ConfirmationToken"]})
        ).structured_content
        assert done is not None and done["Status"] == "executed"
        async_id = done["Data"]["AsyncId"]
        progress = Progress()
        with anyio.fail_after(60):
            followed = await client.call_tool(
                "follow_rerun", {"AsyncId": async_id, "WaitSeconds": 60}, progress_callback=progress
            )
        stranger = await client.call_tool("follow_rerun", {"AsyncId": "async-not-ours"})
    job = followed.structured_content
    assert job is not None and not followed.is_error, text(followed)
    assert job["Finished"] is True and job["Status"] == "SUCCESS" and job["RequestId"] == done["RequestId"]
    total = preview["BlastRadius"]["TotalCount"]
    assert (job["TotalSubProcessCount"], job["FinishedSubProcessCount"], job["SuccessSubProcessCount"]) == (total,) * 3
    assert progress.seen and progress.seen[-1][:2] == (total, total)
    assert job["Selected"] == [
        {
            "InstanceKey": key(ODS_PAYMENTS),
            "TaskName": "ods_payments_sync",
            "InstanceState": "COMPLETED",
            "StateName": "success",
        }
    ]
    assert job["SelectedByState"] == {"success": 1} and job["Unresolved"] == []
    assert stranger.is_error and "AsyncId" in text(stranger)
    assert wire.sent == 1


async def test_a_rerun_that_keeps_failing_is_followed_to_fail(tmp_path: Path) -> None:
    wire = Wire(sandbox(speed=5000.0))
    rerun = {"ProjectId": RETAIL_DW, "InstanceKeyList": [key(DWS_USER_ACTIVITY)], "RerunType": "1"}
    rerun |= {"CheckParentType": "NONE", "SkipEventListening": False}
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        preview = (await client.call_tool(RERUN, rerun)).structured_content
        assert preview is not None
        done = (
            await client.call_tool(RERUN, rerun | {"ConfirmationToken": preview["ConfirmationToken"]})
        ).structured_content
        assert done is not None
        with anyio.fail_after(60):
            followed = await client.call_tool("follow_rerun", {"AsyncId": done["Data"]["AsyncId"], "WaitSeconds": 60})
    job = followed.structured_content
    assert job is not None and (job["Status"], job["StatusName"], job["SuccessSubProcessCount"]) == (
        "FAIL",
        "failed",
        0,
    )


async def test_2025_prompts_name_only_tools_it_lists(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(sandbox()), **V2025)) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        prompts = (await client.list_prompts()).prompts
        assert {p.name for p in prompts} == {"rerun-failed-instances", "rerun-failed-instances-zh"}
        args = {"project_id": RETAIL_DW, "workflow_id": "wf-1", "include_downstream": ""}
        bodies = [await client.get_prompt(p.name, args) for p in prompts]
    texts = " ".join(m.content.text for body in bodies for m in body.messages if m.content.type == "text")
    named = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", texts))
    assert named and named <= tools, named - tools
    assert "rerun_schedule_instances" not in texts
