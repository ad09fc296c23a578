"""The follow-through tool through the MCP client: one call answers what a confirmed rerun reran and where it
stands, found from the audit by its RequestId or its ConfirmationToken, optionally waiting with progress."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY
from tests.inproc import TOOL, Wire, make_server, text
from tests.test_sandbox_support import DWS_USER_ACTIVITY, YESTERDAY
from tests.worlds import CHAIN_DAY, all_instances, backfill_world, chain_task, chain_world
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account

pytestmark = pytest.mark.anyio

FOLLOW = "follow_rerun"
# The failed second step of a 4-step chain, rerun with its downstream across projects.
RERUN = {
    "Instances": [{"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY}],
    "RerunType": "2",
    "SonInstanceType": "3",
    "CheckFather": True,
}


class Progress:
    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))


@asynccontextmanager
async def rerun_chain(tmp_path: Path, speed: float) -> AsyncIterator[tuple[Client, dict[str, Any], Wire]]:
    """A session on the chain world, after a confirmed rerun of RERUN; yields the executed result."""
    accounts = {SECRET_ID: Account(SECRET_ID, SECRET_KEY)}
    sandbox = Sandbox(accounts=accounts, world=chain_world(4, failed_at=2), speed=speed)
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire)) as client:
        preview = await client.call_tool(TOOL, RERUN)
        assert preview.structured_content is not None, text(preview)
        token = preview.structured_content["ConfirmationToken"]
        executed = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
        assert executed.structured_content is not None, text(executed)
        yield client, executed.structured_content | {"ConfirmationToken": token}, wire


async def test_following_a_rerun_to_its_end_reports_progress_and_counts_every_instance_by_state(
    tmp_path: Path,
) -> None:
    async with rerun_chain(tmp_path, speed=600) as (client, executed, wire):
        sent = wire.sent
        progress = Progress()
        with anyio.fail_after(60):
            result = await client.call_tool(
                FOLLOW, {"RequestId": executed["RequestId"], "WaitSeconds": 30}, progress_callback=progress
            )
    found = result.structured_content
    assert found is not None, text(result)
    assert found["RequestIds"] == [executed["RequestId"]]
    assert found["TotalCount"] == 3  # the selected step and its two downstream steps, in two projects
    assert found["ByState"] == {"success": 3}
    assert found["Finished"] is True and found["Unfinished"] == []
    assert found["Complete"] is True and found["Unresolved"] == []
    assert found["NextStep"] == "Finished: report ByState to the user."
    assert 0 < found["WaitedSeconds"] < 30
    assert progress.seen, "no progress notification reached the client"
    assert progress.seen[0][0] < 3 and progress.seen[-1][:2] == (3, 3)
    assert all(total == 3 for _, total, _ in progress.seen)
    assert wire.sent == sent  # following sends no rerun


async def test_following_by_token_without_waiting_lists_the_unfinished(tmp_path: Path) -> None:
    async with rerun_chain(tmp_path, speed=1e-6) as (client, executed, _):
        result = await client.call_tool(FOLLOW, {"ConfirmationToken": executed["ConfirmationToken"]})
    found = result.structured_content
    assert found is not None, text(result)
    assert found["TotalCount"] == 3 and found["Finished"] is False
    assert {i["TaskId"] for i in found["Unfinished"]} == {chain_task(n) for n in (2, 3, 4)}
    assert found["WaitedSeconds"] == 0
    assert '"Unfinished":[["TaskId",' in text(result)  # compact JSON, instances as a table: as the model reads it


async def test_following_what_was_never_executed_is_a_clear_error(tmp_path: Path) -> None:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=chain_world(3, failed_at=2))
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        preview = await client.call_tool(TOOL, RERUN)
        assert preview.structured_content is not None, text(preview)
        dry = await client.call_tool(FOLLOW, {"ConfirmationToken": preview.structured_content["ConfirmationToken"]})
        declined = await client.call_tool(TOOL, RERUN)
        token = (declined.structured_content or {})["ConfirmationToken"]
        await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token, "Discard": True})
        discarded = await client.call_tool(FOLLOW, {"ConfirmationToken": token})
        unknown = await client.call_tool(FOLLOW, {"RequestId": "no-such-request"})
        forged = await client.call_tool(FOLLOW, {"ConfirmationToken": "wdc1.e30.bad"})
        neither = await client.call_tool(FOLLOW, {})
    assert dry.is_error and "sent nothing" in text(dry)
    assert discarded.is_error and "was discarded as the user asked: nothing was sent" in text(discarded)
    assert unknown.is_error and "no-such-request" in text(unknown)
    assert forged.is_error and "ConfirmationToken" in text(forged)
    assert neither.is_error and "exactly one of RequestId or ConfirmationToken" in text(neither)


async def test_a_batch_wedata_refused_is_said_and_only_the_accepted_batches_are_followed(tmp_path: Path) -> None:
    accounts = {SECRET_ID: Account(SECRET_ID, SECRET_KEY)}
    sandbox = Sandbox(accounts=accounts, world=backfill_world(4), speed=1e-6)

    def refused(_: httpx.Request) -> httpx.Response:
        body = {"Response": {"Data": {"Result": False, "ErrorDesc": "quota"}, "RequestId": "refused-batch-2"}}
        return httpx.Response(200, json=body)

    arguments = {"Instances": all_instances(sandbox.world), "RerunType": "1", "CheckFather": False}
    async with Client(make_server(tmp_path, Wire(sandbox, {2: refused}), batch_size=2, batch_concurrency=1)) as client:
        preview = await client.call_tool(TOOL, arguments)
        assert preview.structured_content is not None, text(preview)
        executed = await client.call_tool(
            TOOL, arguments | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
        )
        assert executed.structured_content is not None, text(executed)
        first = executed.structured_content["BatchResults"][0]["RequestId"]
        result = await client.call_tool(FOLLOW, {"RequestId": first})
    found = result.structured_content
    assert found is not None, text(result)
    assert found["RequestIds"] == [first, "refused-batch-2"]
    assert found["Batches"] == ["batch 2: refused by WeData"]
    assert found["TotalCount"] == 2  # the first batch's two days; the refused batch reran nothing
    assert {i["CurRunDate"][:10] for i in found["Unfinished"]} == {"2025-01-01", "2025-01-02"}


async def test_waiting_is_bounded_and_ends_with_what_is_still_unfinished(tmp_path: Path) -> None:
    async with rerun_chain(tmp_path, speed=1e-6) as (client, executed, _):
        progress = Progress()
        with anyio.fail_after(30):
            result = await client.call_tool(
                FOLLOW, {"RequestId": executed["RequestId"], "WaitSeconds": 1}, progress_callback=progress
            )
        too_long = await client.call_tool(FOLLOW, {"RequestId": executed["RequestId"], "WaitSeconds": 301})
    found = result.structured_content
    assert found is not None, text(result)
    assert found["Finished"] is False and len(found["Unfinished"]) == 3
    assert 1 <= found["WaitedSeconds"] < 5
    assert progress.seen and all(p < 3 for p, _, _ in progress.seen)
    assert too_long.is_error and "WaitSeconds" in text(too_long)


async def test_a_rerun_that_fails_again_is_finished_with_its_error_line_and_a_next_step(tmp_path: Path) -> None:
    """Found by a helper playing the assistant: failed rows had no error, and nothing said what to do next."""
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, speed=1e-6)  # frozen until let go
    arguments = {"Instances": [{"TaskId": DWS_USER_ACTIVITY, "CurRunDate": YESTERDAY}], "RerunType": "1"}
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        preview = await client.call_tool(TOOL, arguments)
        assert preview.structured_content is not None, text(preview)
        token = preview.structured_content["ConfirmationToken"]
        executed = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
        assert not executed.is_error, text(executed)
        going = (await client.call_tool(FOLLOW, {"ConfirmationToken": token})).structured_content
        sandbox.story.speed = 6000.0  # its tries take hours of story time
        with anyio.fail_after(60):
            result = await client.call_tool(FOLLOW, {"ConfirmationToken": token, "WaitSeconds": 60})
    assert going is not None, going
    # The rerun instance and what waits on it, which may still start while it runs.
    assert going["NextStep"].startswith(
        f"Not finished: {1 + going['WaitingCount']} instance(s) still waiting or running"
    )
    found = result.structured_content
    assert found is not None, text(result)
    assert found["Finished"] is True and [i["TaskId"] for i in found["Failed"]] == [DWS_USER_ACTIVITY]
    assert found["Failed"][0]["LastError"], found["Failed"]
    assert (
        found["NextStep"].startswith("Finished: report ByState and Failed")
        and "get_schedule_instance" in (found["NextStep"])
    )
    # What waited on it still waits (it failed again): blocked, said, and not counted as still going.
    assert found["WaitingCount"] > 0 and found["WaitingUnfinished"]
    assert {i["StateName"] for i in found["WaitingUnfinished"]} == {"waiting_upstream"}
    assert (
        f"{len(found['WaitingUnfinished'])} instance(s) that waited on it still wait for an upstream that failed"
        in (found["NextStep"])
    )
