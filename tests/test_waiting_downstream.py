"""Instances outside a rerun that wait on it: the rerun does not rerun them, but WeData's schedule starts them once
their upstream succeeds. The preview counts and names them (the headline says so), follow_rerun follows them to
their end, and a look-up that fails leaves them unknown, never "none".

The world is chain_world(4, failed_at=2): steps 1 -> 2 -> 3 -> 4, steps 1-2 in one workflow and project, steps 3-4
in another; step 2 failed and steps 3-4 wait for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY
from tests.inproc import TOOL, Rewritten, Wire, make_server, text
from tests.worlds import CHAIN_DAY, chain_task, chain_world
from wedata_mcp.guardrail.tokens import Totals, _pack, _unpack  # pyright: ignore[reportPrivateUsage]
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account

pytestmark = pytest.mark.anyio

STEP_2 = {"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY}
WAITING = [chain_task(3), chain_task(4)]


def chain(speed: float = 1e-6) -> Sandbox:
    return Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=chain_world(4, failed_at=2), speed=speed)


async def dry_run(client: Client, **codes: str) -> dict[str, Any]:
    result = await client.call_tool(TOOL, {"Instances": [STEP_2], **codes})
    assert result.structured_content is not None, text(result)
    return result.structured_content


@pytest.mark.parametrize(
    "codes",
    [
        {"RerunType": "2", "SonInstanceType": "1"},  # downstream within the workflow: none there
        {"RerunType": "2", "SonInstanceType": "2"},  # within the project: steps 3-4 are in another
        {"RerunType": "1"},  # the selection only
    ],
)
async def test_what_waits_on_a_rerun_outside_its_scope_is_counted_named_and_headlined(
    tmp_path: Path, codes: dict[str, str]
) -> None:
    async with Client(make_server(tmp_path, Wire(chain()))) as client:
        narrow = await dry_run(client, **codes)
        wide = await dry_run(client, RerunType="2", SonInstanceType="3")  # every linked project
    radius = narrow["BlastRadius"]
    assert radius["TotalCount"] == 1 and radius["WaitingCount"] == 2, radius
    assert [(i["TaskId"], i["Role"], i["StateName"]) for i in radius["Waiting"]] == [
        (task, "waiting", "waiting_upstream") for task in WAITING
    ]
    # Totals that agree: what the narrow rerun runs plus what waits on it is what the widest rerun runs.
    assert radius["TotalCount"] + radius["WaitingCount"] == wide["BlastRadius"]["TotalCount"] == 3
    assert wide["BlastRadius"]["WaitingCount"] == 0 and wide["BlastRadius"]["Waiting"] == []
    assert "2 more instances wait on it outside the rerun" in narrow["Summary"], narrow["Summary"]
    assert "wait on it outside" not in wide["Summary"]
    told = [w for w in narrow["Warnings"] if "outside the rerun wait on it" in w]
    assert len(told) == 1 and all(f"{task}@{CHAIN_DAY}" in told[0] for task in WAITING), narrow["Warnings"]
    assert narrow["ConfirmationToken"]


async def test_rerun_type_3_leaves_the_selection_as_it_is_so_nothing_waits_on_it(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(chain()))) as client:
        preview = await dry_run(client, RerunType="3", SonInstanceType="1")
    assert preview["BlastRadius"]["TotalCount"] == 0 and preview["BlastRadius"]["WaitingCount"] == 0
    assert "wait on it" not in preview["Summary"]


async def test_a_failed_look_up_of_what_waits_leaves_it_unknown_and_the_headline_says_so(tmp_path: Path) -> None:
    def children_unreadable(body: dict[str, Any], answer: dict[str, Any]) -> None:
        if (body.get("SearchCondition") or {}).get("DagType") == "2":
            answer["Data"] = None

    wire = Rewritten(chain(), "DagInstances", children_unreadable)
    async with Client(make_server(tmp_path, wire)) as client:
        preview = await dry_run(client, RerunType="1")
    radius = preview["BlastRadius"]
    assert radius["WaitingCount"] is None and radius["TotalCount"] == 1
    assert any("what waits on the rerun not fully checked" in note for note in radius["Unresolved"]), radius
    assert "Whether instances outside the rerun wait on it could not be checked" in preview["Summary"]


async def test_the_schedule_runs_what_waited_and_follow_rerun_is_finished_only_when_it_has(tmp_path: Path) -> None:
    sandbox = chain(speed=1e-6)  # frozen: nothing moves until the clock is let go
    arguments = {"Instances": [STEP_2], "RerunType": "2", "SonInstanceType": "1"}
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        preview = await client.call_tool(TOOL, arguments)
        assert preview.structured_content is not None, text(preview)
        token = preview.structured_content["ConfirmationToken"]
        executed = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
        assert executed.structured_content is not None, text(executed)
        assert "2 more instances wait on it" in executed.structured_content["Summary"]
        going = (await client.call_tool("follow_rerun", {"ConfirmationToken": token})).structured_content
        sandbox.story.speed = 600.0  # let the story run: the schedule starts what waited once step 2 succeeds
        with anyio.fail_after(60):
            done = await client.call_tool("follow_rerun", {"ConfirmationToken": token, "WaitSeconds": 30})
    assert going is not None and going["Finished"] is False and going["WaitingCount"] == 2
    assert [i["TaskId"] for i in going["WaitingUnfinished"]] == WAITING
    assert done.structured_content is not None, text(done)
    followed = done.structured_content
    # The judge: the simulator's schedule ran steps 3-4 after step 2, though the rerun did not rerun them.
    assert sandbox.world.instance(chain_task(4), CHAIN_DAY).state == "2"
    assert followed["TotalCount"] == 1 and followed["ByState"] == {"success": 1}
    assert followed["WaitingByState"] == {"success": 2} and followed["WaitingUnfinished"] == []
    assert followed["Finished"] is True


def test_a_token_of_the_release_before_reads_with_nothing_said_of_what_waits() -> None:
    now = Totals(3, 1, 2, (("retail_dw", 3),), 0, True, None)
    assert _unpack(_pack(now)) == now
    before = _pack(now)[:6]  # six fields: minted before the preview looked for what waits on a rerun
    assert _unpack(before) == Totals(3, 1, 2, (("retail_dw", 3),), 0, True, 0)


async def test_an_execution_whose_preview_record_says_nothing_of_what_waits_is_followed_as_unknown(
    tmp_path: Path,
) -> None:
    """A preview audited by the release before (no waiting fields): what waited is unknown, not none."""
    arguments = {"Instances": [STEP_2], "RerunType": "2", "SonInstanceType": "1"}
    audit = tmp_path / "audit.jsonl"
    async with Client(make_server(tmp_path, Wire(chain()))) as client:
        preview = await client.call_tool(TOOL, arguments)
        token = (preview.structured_content or {})["ConfirmationToken"]
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        for record in records:
            if record["event"] == "preview":
                record.pop("waiting"), record.pop("waiting_count")
        audit.write_text("".join(json.dumps(r) + "\n" for r in records))
        await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
        followed = (await client.call_tool("follow_rerun", {"ConfirmationToken": token})).structured_content
    assert followed is not None and followed["WaitingCount"] is None and followed["Complete"] is False, followed
    assert any("an unknown number of instances waiting on it" in note for note in followed["Unresolved"])
