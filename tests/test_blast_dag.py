"""The blast radius from WeData's own DAG (DagInstances): every page read, and an answer that cannot be read whole
stays unknown: no ConfirmationToken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import PROJECT_IDS
from tests.inproc import TOOL, Rewrite, Rewritten, Wire, make_server, new_sandbox, no_wait, text
from tests.worlds import PROJECT_ID, small_world
from wedata_mcp.guardrail.policy import Policy
from wedata_mcp.sandbox.app import Sandbox

pytestmark = pytest.mark.anyio

DAY = "2026-11-24 00:00:00"
ROOT = {"TaskId": "root", "CurRunDate": DAY}
WIDE = Policy(max_instances=10_000)


def star(leaves: int) -> Sandbox:
    """A failed `root` task with `leaves` children waiting for it, one instance each on DAY."""
    tasks: list[dict[str, Any]] = [{"task_id": "root"}]
    tasks += [{"task_id": f"leaf{n:05}", "upstream": ["root"]} for n in range(leaves)]
    instances = [
        {"task_id": t["task_id"], "cur_run_date": DAY, "state": "4" if t["task_id"] == "root" else "12"} for t in tasks
    ]
    sandbox = new_sandbox(rate_limit=10**6)  # these tests count pages and look-ups, not their pace
    sandbox.load(small_world(tasks, instances, now="2026-11-25 09:00:00"))
    return sandbox


async def preview(tmp_path: Path, sandbox: Sandbox, **settings: Any) -> dict[str, Any]:
    """The star's dry run, the server's limiter lifted as the star's simulator's is (pages are counted, not time)."""
    settings = {"rate_limit_per_second": 1000} | settings
    async with Client(make_server(tmp_path, Wire(sandbox), policy=WIDE, **settings)) as client:
        result = await client.call_tool(TOOL, {"Instances": [ROOT], "RerunType": "2", "SonInstanceType": "1"})
    assert result.structured_content is not None, text(result)
    return result.structured_content


async def test_downstream_spanning_several_dag_pages_is_read_whole(tmp_path: Path) -> None:
    sandbox = star(150)  # DagInstances answers 100 a page: two pages
    found = await preview(tmp_path, sandbox)
    assert found["BlastRadius"]["Resolved"] is True and found["BlastRadius"]["DownstreamCount"] == 150
    assert found["ConfirmationToken"]
    pages = [r.json()["PageIndex"] for r in sandbox.requests("DagInstances")]
    assert pages[:2] == [1, 2]


async def test_a_dag_wider_than_a_look_up_may_hold_stays_unknown(tmp_path: Path) -> None:
    found = await preview(tmp_path, star(5001))  # the resolver holds at most 5000 instances a look-up
    radius = found["BlastRadius"]
    assert found.get("ConfirmationToken") is None
    assert radius["Resolved"] is False and radius["DownstreamCount"] is None
    assert any("DagInstances lists 5001 instances" in note for note in radius["Unresolved"]), radius["Unresolved"]


async def test_a_failed_dag_look_up_stays_unknown(tmp_path: Path) -> None:
    sandbox = star(3)
    sandbox.faults.inject("internal_error", action="DagInstances", times=None)
    found = await preview(tmp_path, sandbox, backoff=no_wait)  # every retry fails too: their pace is not the point
    assert found.get("ConfirmationToken") is None
    assert found["BlastRadius"]["Resolved"] is False
    assert any("InternalError" in note for note in found["BlastRadius"]["Unresolved"])
    assert sandbox.requests("RunRerunScheduleInstances", verified=None) == []


def later_pages_empty(page_field: str) -> Rewrite:
    """Pages after the first come back without items while their TotalCount stands."""

    def rewrite(body: dict[str, Any], response: dict[str, Any]) -> None:
        if body.get(page_field, 1) >= 2:
            response["Data"]["Items"] = []

    return rewrite


def null_data(_: dict[str, Any], response: dict[str, Any]) -> None:
    """`Data: null`, which the SDK documents as possible ("注意：此字段可能返回 null，表示取不到有效值")."""
    response["Data"] = None


def items_without(field: str) -> Rewrite:
    def rewrite(_: dict[str, Any], response: dict[str, Any]) -> None:
        for item in response["Data"]["Items"]:
            item.pop(field, None)

    return rewrite


async def test_a_selection_whose_pages_stop_before_their_count_stays_unknown(tmp_path: Path) -> None:
    sandbox = star(150)  # 151 instances on DAY: two pages of DescribeScheduleInstances
    search = {"SearchCondition": {"DateFrom": DAY, "DateTo": DAY}, "RerunType": "1"}
    wire = Rewritten(sandbox, "DescribeScheduleInstances", later_pages_empty("PageIndex"))
    async with Client(make_server(tmp_path, wire, policy=WIDE)) as client:
        result = await client.call_tool(TOOL, search)
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["Resolved"] is False
    notes = " ".join(found["BlastRadius"]["Unresolved"])
    assert "DescribeScheduleInstances stopped after 100 of the 151 items it counts" in notes, notes
    assert not sandbox.requests("RunRerunScheduleInstances")


async def test_on_2025_downstream_pages_that_stop_before_their_count_stay_unknown(tmp_path: Path) -> None:
    sandbox = star(150)  # root's 150 children: two pages of ListDownstreamTaskInstances
    arguments = {"ProjectId": PROJECT_ID, "InstanceKeyList": [f"root_{DAY}"], "RerunType": "2", "SonRangeType": "ALL"}
    wire = Rewritten(sandbox, "ListDownstreamTaskInstances", later_pages_empty("PageNumber"))
    server = make_server(tmp_path, wire, policy=WIDE, api_version="2025-08-06")
    async with Client(server) as client:
        result = await client.call_tool("rerun_task_instances_async", arguments)
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["Resolved"] is False
    notes = " ".join(found["BlastRadius"]["Unresolved"])
    assert "ListDownstreamTaskInstances stopped after 100 of the 150 items it counts" in notes, notes
    assert not sandbox.requests("RerunTaskInstancesAsync")


async def test_a_downstream_look_up_answering_null_data_is_unknown_not_no_downstream(tmp_path: Path) -> None:
    """Found by a reviewer playing the assistant: `Data: null` read as an empty listing gave "1 selected + 0
    downstream", a token, and the words "No downstream instances were found" for a rerun of 4."""
    sandbox = star(3)
    server = make_server(tmp_path, Rewritten(sandbox, "DagInstances", null_data), policy=WIDE, backoff=no_wait)
    async with Client(server) as client:
        result = await client.call_tool(TOOL, {"Instances": [ROOT], "RerunType": "2", "SonInstanceType": "1"})
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["Resolved"] is False
    request_id = sandbox.requests("DagInstances", verified=None)[0].request_id
    why = "downstream not fully resolved: DagInstances got no usable answer: its answer has no Data"
    why += f" (RequestId {request_id})"
    assert why in found["BlastRadius"]["Unresolved"], found["BlastRadius"]
    assert not sandbox.requests("RunRerunScheduleInstances", verified=None)


async def test_on_2025_a_downstream_look_up_answering_null_data_is_unknown(tmp_path: Path) -> None:
    sandbox = star(3)
    arguments = {"ProjectId": PROJECT_ID, "InstanceKeyList": [f"root_{DAY}"], "RerunType": "2", "SonRangeType": "ALL"}
    server = make_server(
        tmp_path, Rewritten(sandbox, "ListDownstreamTaskInstances", null_data), policy=WIDE, api_version="2025-08-06"
    )
    async with Client(server) as client:
        result = await client.call_tool("rerun_task_instances_async", arguments)
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["Resolved"] is False
    assert not sandbox.requests("RerunTaskInstancesAsync", verified=None)


async def test_a_listing_answering_null_data_is_a_failed_read_not_an_empty_page(tmp_path: Path) -> None:
    sandbox = star(3)
    server = make_server(tmp_path, Rewritten(sandbox, "DescribeScheduleInstances", null_data), backoff=no_wait)
    async with Client(server) as client:
        result = await client.call_tool("find_schedule_instances", {"DateFrom": DAY, "DateTo": DAY})
    assert result.is_error and "no Data" in text(result), text(result)


async def test_instances_and_a_search_condition_together_are_refused_before_any_look_up(tmp_path: Path) -> None:
    """Found by a reviewer: both were sent as given, previewed and checked against policy as the Instances alone,
    while the SearchCondition matched six instances in a project the policy did not allow. The reference documents
    each selection alone; what WeData reruns for both cannot be known, so neither a preview nor a token is given."""
    sandbox = star(3)
    arguments = {"Instances": [ROOT], "SearchCondition": {"TaskNameList": ["leaf"]}, "RerunType": "1"}
    async with Client(make_server(tmp_path, Wire(sandbox), policy=WIDE)) as client:
        result = await client.call_tool(TOOL, arguments)
    assert result.is_error and result.structured_content is None
    assert "SearchCondition" in text(result) and "not both" in text(result), text(result)
    assert sandbox.requests(verified=None) == []  # not even a look-up


@pytest.mark.parametrize(("field", "scope"), [("WorkflowId", "1"), ("ProjectId", "2")])
async def test_downstream_without_the_field_its_scope_compares_is_unknown_not_outside(
    tmp_path: Path, field: str, scope: str
) -> None:
    """Found by a reviewer: a downstream instance without WorkflowId (SonInstanceType 1) or ProjectId (2) was read
    as outside the scope: "0 downstream" and a token, where WeData reruns it."""
    sandbox = star(3)
    arguments = {"Instances": [ROOT], "RerunType": "2", "SonInstanceType": scope}
    wire = Rewritten(sandbox, "DagInstances", items_without(field))
    async with Client(make_server(tmp_path, wire, policy=WIDE)) as client:
        result = await client.call_tool(TOOL, arguments)
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["Resolved"] is False
    notes = " ".join(found["BlastRadius"]["Unresolved"])
    assert f"lists no {field}" in notes, notes


async def test_a_selected_instance_whose_state_was_left_out_gets_no_token(tmp_path: Path) -> None:
    """The confirmation checks that no selected instance changed state since the preview: with a state WeData's
    answer left out, there is nothing to compare, so no token (invariant 5), and the preview says which."""
    sandbox = star(3)
    wire = Rewritten(sandbox, "DescribeScheduleInstances", items_without("State"))
    async with Client(make_server(tmp_path, wire, policy=WIDE)) as client:
        result = await client.call_tool(TOOL, {"Instances": [ROOT], "RerunType": "2", "SonInstanceType": "1"})
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None, found
    warnings = " ".join(found["Warnings"])
    assert f"the state of root@{DAY} is not in WeData's answer" in warnings and "no ConfirmationToken" in warnings
    assert "1 selected instance is unknown" in warnings, warnings
    assert found["Plan"]["Instances"][0]["StateName"] == "unknown"
    # The counts are complete, so the headline tells them, then why there is no token (not "could not be
    # established" beside Resolved true, as a helper playing the assistant found).
    assert found["BlastRadius"]["Resolved"] is True
    assert found["Summary"].startswith("4 instances will rerun"), found["Summary"]
    assert found["Summary"].endswith(
        f"No ConfirmationToken: the state of root@{DAY} is not in WeData's answer, so "
        "whether it changes before the confirmation cannot be checked."
    ), found["Summary"]
    assert not sandbox.requests("RunRerunScheduleInstances", verified=None)


async def test_a_search_condition_that_matches_nothing_says_so_with_its_counts(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(star(2)), policy=WIDE)) as client:
        result = await client.call_tool(
            TOOL, {"SearchCondition": {"ProjectId": PROJECT_ID, "TaskIdList": ["nothing-like-it"]}, "RerunType": "1"}
        )
    found = result.structured_content
    assert found is not None and found.get("ConfirmationToken") is None, text(result)
    assert found["BlastRadius"]["Resolved"] is True and found["BlastRadius"]["TotalCount"] == 0
    assert found["Summary"] == (
        "0 instances will rerun: 0 selected + 0 downstream. No ConfirmationToken: SearchCondition matched no instances."
    )


async def test_downstream_states_that_change_what_a_rerun_does_are_told(tmp_path: Path) -> None:
    """Downstream that waits for the selection is the expected case and goes untold; downstream that already
    succeeded (its data is recomputed) or whose state WeData left out is named in the preview's warnings."""
    sandbox = star(3)

    def rewrite(_: dict[str, Any], response: dict[str, Any]) -> None:
        for item in response["Data"]["Items"]:
            if item["TaskId"] == "leaf00000":
                item["State"] = "2"  # success
            elif item["TaskId"] == "leaf00001":
                item.pop("State", None)

    async with Client(make_server(tmp_path, Rewritten(sandbox, "DagInstances", rewrite), policy=WIDE)) as client:
        result = await client.call_tool(TOOL, {"Instances": [ROOT], "RerunType": "2", "SonInstanceType": "1"})
    found = result.structured_content
    assert found is not None, text(result)
    assert found["ConfirmationToken"] and found["BlastRadius"]["DownstreamCount"] == 3
    downstream = [w for w in found["Warnings"] if "downstream instance" in w]
    assert downstream == [
        f"1 downstream instance is success (leaf00000@{DAY}): it already succeeded: a rerun recomputes its data "
        "(and its downstream's, if they rerun).",
        f"1 downstream instance is unknown (leaf00001@{DAY}): WeData's answer left its state out, so what a rerun "
        "does to it is unknown.",
    ], found["Warnings"]


async def test_an_instance_outside_the_projects_looked_in_is_not_said_to_be_absent_from_wedata(tmp_path: Path) -> None:
    """A reviewer's finding: an instance of a project the server is not configured for was "not found in WeData".
    It was looked for only in the configured projects, and the preview says so, and how to reach it."""
    other = next(p for p in PROJECT_IDS if p != PROJECT_ID)
    sandbox = star(1)
    async with Client(make_server(tmp_path, Wire(sandbox), policy=WIDE, project_ids=(other,))) as client:
        result = await client.call_tool(TOOL, {"Instances": [ROOT], "RerunType": "1"})
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["NotFound"] == [f"root@{DAY}"]
    warning = next(w for w in found["Warnings"] if "not found" in w)
    assert warning == (
        f"1 requested instance(s) were not found in project {other}: root@{DAY}; an instance of another project is "
        "found when its ProjectId is given"
    ), warning
    assert "in WeData" not in " ".join(found["Warnings"])


async def test_on_2025_a_downstream_wider_than_a_look_up_may_hold_stays_unknown(tmp_path: Path) -> None:
    """As on 2021: 5,001 children are more than a look-up holds, never "exactly 5,000" (an undercount)."""
    sandbox = star(5001)
    arguments = {"ProjectId": PROJECT_ID, "InstanceKeyList": [f"root_{DAY}"], "RerunType": "2", "SonRangeType": "ALL"}
    server = make_server(tmp_path, Wire(sandbox), policy=WIDE, api_version="2025-08-06", rate_limit_per_second=1000)
    async with Client(server) as client:
        result = await client.call_tool("rerun_task_instances_async", arguments)
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["DownstreamCount"] is None, found
    notes = " ".join(found["BlastRadius"]["Unresolved"])
    assert "ListDownstreamTaskInstances lists more than 5000 instances" in notes, notes
    assert not sandbox.requests("RerunTaskInstancesAsync", verified=None)


@pytest.mark.parametrize("tool", ["get_schedule_instance", "get_instance_lineage"])
async def test_reads_of_one_instance_say_where_they_looked_and_take_its_project(tool: str, tmp_path: Path) -> None:
    other = next(p for p in PROJECT_IDS if p != PROJECT_ID)
    async with Client(make_server(tmp_path, Wire(star(1)), policy=WIDE, project_ids=(other,))) as client:
        missing = await client.call_tool(tool, ROOT)
        found = await client.call_tool(tool, ROOT | {"ProjectId": PROJECT_ID})
    assert missing.is_error and "in the projects this server looks in" in text(missing), text(missing)
    assert "give ProjectId" in text(missing)
    assert not found.is_error and found.structured_content is not None, text(found)
    assert found.structured_content["Instance"]["TaskId"] == "root"
