"""Issue 12 items 1-3 through a real MCP client: one headline everywhere, every omitted code with the value that
applies, and warnings that say what a rerun does to each selected instance given its state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY
from tests.inproc import TOOL, Wire, make_server, text
from tests.worlds import CHAIN_DAY, CHAIN_PROJECTS, chain_task, chain_world
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.world import World

pytestmark = pytest.mark.anyio

YESTERDAY = "2026-11-24 00:00:00"
ODS_PAYMENTS = "20240226155530703"  # failed, 5 downstream across retail_dw and growth_bi
ODS_ORDERS = "20240226154637701"  # succeeded
WIDEST = "(no default documented: its widest effect assumed)"


def sandbox_of(world: World) -> Sandbox:
    return Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=world)


async def preview(tmp_path: Path, world: World, arguments: dict[str, Any]) -> dict[str, Any]:
    async with Client(make_server(tmp_path, Wire(sandbox_of(world)))) as client:
        result = await client.call_tool(TOOL, arguments)
    assert not result.is_error and result.structured_content is not None, text(result)
    return result.structured_content


async def test_an_omitted_scope_with_downstream_in_another_project_is_stated_and_counted(tmp_path: Path) -> None:
    # chain_step_2 (first project) feeds steps 3 (first project), 4 and 5 (second project).
    arguments = {"Instances": [{"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY}], "RerunType": "2"}
    shown = await preview(tmp_path, chain_world(5, failed_at=2), arguments | {"CheckFather": True})
    assert (
        shown["Summary"]
        == "4 instances will rerun (2 in project chain_1, 2 in project chain_2): 1 selected + 3 downstream."
    )
    omitted = shown["Plan"]["Omitted"]
    assert omitted["SonInstanceType"] == f"3: downstream across every project linked by dependencies {WIDEST}"
    assert set(omitted) == {"SonInstanceType", "CheckParentType", "DependentWay", "SkipEventListening"}
    assert {g["Id"]: g["Count"] for g in shown["BlastRadius"]["ByProject"]} == {p: 2 for p in CHAIN_PROJECTS}
    assert not any("No downstream" in w for w in shown["Warnings"]), shown["Warnings"]
    # The counts agree wherever they appear.
    radius = shown["BlastRadius"]
    assert (radius["TotalCount"], radius["SelectedCount"], radius["DownstreamCount"]) == (4, 1, 3)
    assert shown["Plan"]["RequestedCount"] == 1


async def test_every_code_left_out_is_stated_with_the_value_that_applies(tmp_path: Path) -> None:
    shown = await preview(tmp_path, World.seeded(), {"Instances": [{"TaskId": ODS_PAYMENTS, "CurRunDate": YESTERDAY}]})
    omitted = shown["Plan"]["Omitted"]
    assert omitted == {
        "RerunType": f"2: the selected instances and their downstream {WIDEST}",
        "SonInstanceType": f"3: downstream across every project linked by dependencies {WIDEST}",
        "CheckFather": f"false: upstream completion is not checked {WIDEST}",
        "SkipEventListening": f"true: event listening may be ignored {WIDEST}",
        "DependentWay": f"3: self-dependency and parent/child dependency {WIDEST}",
    }
    assert shown["Summary"].startswith("6 instances will rerun (4 in project retail_dw")
    # The model reads it in the text too, once.
    assert text_of(shown).count(WIDEST) == len(omitted)


def text_of(structured: dict[str, Any]) -> str:
    return json.dumps(structured, separators=(",", ":"))


async def test_a_running_selected_instance_is_warned_about_with_what_a_rerun_does_to_it(tmp_path: Path) -> None:
    world = chain_world(3, failed_at=1, running=2)
    arguments = {"Instances": [{"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY}], "RerunType": "1"}
    shown = await preview(tmp_path, world, arguments | {"CheckFather": True})
    (warning,) = [w for w in shown["Warnings"] if "running" in w]
    assert warning.startswith(f"1 selected instance is running ({chain_task(2)}@{CHAIN_DAY}): rerunning restarts")
    assert shown["Plan"]["Instances"][0]["StateName"] == "running"
    assert shown["Plan"]["Instances"][0]["LastError"] is None  # only a failed instance has one


async def test_succeeded_and_failed_instances_read_differently_and_a_failure_shows_its_last_error(
    tmp_path: Path,
) -> None:
    selection = [{"TaskId": t, "CurRunDate": YESTERDAY} for t in (ODS_PAYMENTS, ODS_ORDERS)]
    shown = await preview(tmp_path, World.seeded(), {"Instances": selection, "RerunType": "1", "CheckFather": True})
    by_task = {i["TaskId"]: i for i in shown["Plan"]["Instances"]}
    assert by_task[ODS_PAYMENTS]["StateName"] == "failed"
    assert by_task[ODS_PAYMENTS]["LastError"].startswith("Communications link failure")
    assert by_task[ODS_ORDERS]["StateName"] == "success" and by_task[ODS_ORDERS]["LastError"] is None
    assert by_task[ODS_ORDERS]["WorkflowName"] == "ods_ingest_nightly" and by_task[ODS_ORDERS]["ProjectId"]
    succeeded = [w for w in shown["Warnings"] if "already succeeded" in w]
    assert succeeded == [
        f"1 selected instance is success ({ODS_ORDERS}@{YESTERDAY}): it already succeeded: a rerun recomputes its "
        "data (and its downstream's, if they rerun)."
    ]
    assert not any(ODS_PAYMENTS in w for w in shown["Warnings"])  # failed is what a rerun is for


async def test_the_executed_result_says_only_what_is_true_after_sending(tmp_path: Path) -> None:
    arguments = {"Instances": [{"TaskId": ODS_PAYMENTS, "CurRunDate": YESTERDAY}], "RerunType": "2"}
    sandbox = sandbox_of(World.seeded())
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        dry = await client.call_tool(TOOL, arguments)
        assert dry.structured_content is not None
        token = dry.structured_content["ConfirmationToken"]
        done = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
        again = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
    result = done.structured_content
    assert result is not None and result["Status"] == "executed", text(done)
    assert result["Summary"] == f"Sent once; WeData accepted the rerun. Previewed: {dry.structured_content['Summary']}"
    # Presented again, the token replays that outcome, and its Summary does not read as a new send.
    replayed = again.structured_content
    assert replayed is not None and replayed["Status"] == "already_executed", text(again)
    assert replayed["Summary"] == (
        f"Nothing new was sent: this ConfirmationToken was used before. Then: {result['Summary']}"
    )
    assert len(sandbox.requests("RunRerunScheduleInstances")) == 1
    assert result["Warnings"] == [] and result["BlastRadius"] is None
    assert "BlastRadius" not in text(done) and "RequestBody" not in text(done)


def test_a_token_of_the_previous_release_reads_with_the_same_headline() -> None:
    """Five totals fields (before `reruns_selection`): during a rolling deploy its replicas' tokens still open,
    and RerunType 3 (which gave 0 selected) is told as such."""
    from wedata_mcp.guardrail.preview import headline
    from wedata_mcp.guardrail.tokens import _unpack  # pyright: ignore[reportPrivateUsage]

    three = _unpack([4, 0, 4, [["A", 4]], 0])
    assert not three.reruns_selection and "the 4 downstream of 0 selected" in headline(three)
    two = _unpack([4, 1, 3, [["A", 4]], 0])
    assert two.reruns_selection
    # Nor did that release look for instances waiting on the rerun: unknown, and said (not "none").
    assert headline(two) == (
        "4 instances will rerun (4 in project A): 1 selected + 3 downstream. Whether instances outside the rerun "
        "wait on it could not be checked."
    )
