"""The whole flow on WeData API 2025-08-06, end to end through the real server process over stdio and HTTP: find
the failed instances, preview the rerun, confirm, exactly one signed RerunTaskInstancesAsync, then follow its job
to the end; against the signature-verifying loopback simulator, which counts what reaches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.conftest import SECRET_ID, SECRET_KEY, Endpoint, audit_records
from tests.spawn import connect, server_env
from tests.test_sandbox_support import ODS_PAYMENTS, RETAIL_DW
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("transport", ["stdio", "http"])]
RERUN = "rerun_task_instances_async"


@pytest.fixture
def fast_endpoint() -> Iterator[Endpoint]:
    """A loopback simulator whose simulated time runs fast enough for a rerun to end within the test."""
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, speed=2000.0)
    with serve_in_thread(sandbox) as url:
        yield Endpoint(sandbox, url)


async def test_find_preview_confirm_send_once_and_follow_the_job_to_its_end(
    transport: str, fast_endpoint: Endpoint, tmp_path: Path
) -> None:
    sandbox = fast_endpoint.sandbox
    env = server_env(fast_endpoint.url, tmp_path, WEDATA_MCP_API_VERSION="2025-08-06")
    async with connect(transport, env, tmp_path / "stderr") as client:
        with anyio.fail_after(90):
            tools = {t.name for t in (await client.list_tools()).tools}
            assert tools == {"list_task_instances", "get_task_instance", "get_instance_lineage", "follow_rerun", RERUN}
            found = await client.call_tool(
                "list_task_instances", {"ProjectId": RETAIL_DW, "InstanceState": "EXPIRED", "Keyword": "payments"}
            )
            assert found.structured_content is not None, found.content
            (failed,) = found.structured_content["Instances"]
            assert failed["TaskId"] == ODS_PAYMENTS
            arguments = {
                "ProjectId": RETAIL_DW,
                "InstanceKeyList": [failed["InstanceKey"]],
                "RerunType": "2",
                "SonRangeType": "WORKFLOW",
                "CheckParentType": "ALL",
                "SkipEventListening": False,
            }
            preview = (await client.call_tool(RERUN, arguments)).structured_content
            assert preview is not None and preview["ConfirmationToken"], preview
            assert sandbox.requests("RerunTaskInstancesAsync", verified=None) == []
            executed = await client.call_tool(RERUN, arguments | {"ConfirmationToken": preview["ConfirmationToken"]})
            result = executed.structured_content
            assert result is not None and not executed.is_error, executed.content
            followed = await client.call_tool("follow_rerun", {"AsyncId": result["Data"]["AsyncId"], "WaitSeconds": 60})
    (sent,) = sandbox.requests("RerunTaskInstancesAsync", verified=None)
    assert (
        sent.verified
        and sent.body.decode() == json.dumps(preview["Request"])
        and result["RequestId"] == sent.request_id
    )
    job = followed.structured_content
    assert job is not None and (job["Status"], job["Finished"]) == ("SUCCESS", True), followed.content
    total = preview["BlastRadius"]["TotalCount"]
    assert job["FinishedSubProcessCount"] == job["SuccessSubProcessCount"] == job["TotalSubProcessCount"] == total
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events == ["preview", "sending", "executed"]
    logged = (tmp_path / "stderr").read_text() + (tmp_path / "audit.jsonl").read_text()
    assert SECRET_KEY not in logged and SECRET_ID not in logged
