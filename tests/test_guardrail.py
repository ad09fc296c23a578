"""Guardrail behaviour through an in-memory MCP client session, against the simulator mounted in-process."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY, audit_records, doc_example
from tests.inproc import SECRET, HeldRerun, Wire, make_server, new_sandbox, preview_token, text
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.guardrail.store import MemoryTokenStore
from wedata_mcp.settings import Settings

pytestmark = pytest.mark.anyio
TOOL = "rerun_schedule_instances"


async def test_same_token_fifty_times_in_parallel_sends_exactly_one(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        token = await preview_token(client)
        results: list[Any] = []

        async def execute() -> None:
            results.append(await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token}))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(execute)
    assert len(sandbox.requests("RunRerunScheduleInstances")) == 1
    request_ids = {r.structured_content["RequestId"] for r in results if r.structured_content}
    assert len(results) == 50 and len(request_ids) == 1
    statuses = sorted(r.structured_content["Status"] for r in results if r.structured_content)
    assert statuses.count("executed") == 1 and statuses.count("already_executed") == 49


def _timeout_after_receipt(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the answer never came", request=request)


async def test_timeout_after_sending_is_reported_outcome_unknown_and_never_resent(tmp_path: Path) -> None:
    wire = Wire(new_sandbox(), faults={1: _timeout_after_receipt})
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client)
        result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
        assert result.is_error and "Outcome unknown" in text(result) and "NOT retried" in text(result)
        replay = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert replay.is_error and "already used" in text(replay)
    assert wire.sent == 1
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events == ["preview", "sending", "outcome_unknown", "replayed"]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_on_a_rerun_is_outcome_unknown_and_not_retried(tmp_path: Path, status: int) -> None:
    wire = Wire(new_sandbox(), faults={1: lambda request: httpx.Response(status, text="bad gateway")})
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client)
        result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.is_error and "Outcome unknown" in text(result)
    assert wire.sent == 1


def _rate_limited(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "too many"}, "RequestId": "rl-1"}}
    )


async def test_rate_limited_rerun_is_retried_because_it_proves_nothing_ran(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    wire = Wire(sandbox, faults={1: _rate_limited})
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client)
        result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.structured_content and result.structured_content["Status"] == "executed"
    assert wire.sent == 2 and len(sandbox.requests("RunRerunScheduleInstances")) == 1


async def test_a_gateway_refusal_of_the_rerun_is_told_as_not_executed_and_not_retried(tmp_path: Path) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        error = {"Code": "UnauthorizedOperation.NoPermission", "Message": "no permission to rerun"}
        return httpx.Response(200, json={"Response": {"Error": error, "RequestId": "req-403"}})

    sandbox = new_sandbox()
    wire = Wire(sandbox, faults={1: refused})
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client)
        result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
        again = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    message = text(result)
    # The code proves WeData did not run it, so the person is told that nothing reran (not "outcome unknown").
    assert result.is_error and message.startswith("Not executed") and "nothing reran" in message, message
    assert "UnauthorizedOperation.NoPermission" in message and "req-403" in message and "no permission" in message
    assert "Outcome unknown" not in message
    assert again.is_error and "already used" in text(again) and "Not executed" in text(again)
    assert wire.sent == 1 and sandbox.requests("RunRerunScheduleInstances") == []
    record = [r for r in audit_records(tmp_path / "audit.jsonl") if r["event"] == "failed"][-1]
    assert record["code"] == "UnauthorizedOperation.NoPermission" and record["request_id"] == "req-403"


async def test_api_error_keeps_code_message_and_request_id(tmp_path: Path) -> None:
    def failed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "Response": {
                    "Error": {"Code": "FailedOperation", "Message": f"instance busy (key {SECRET_KEY})"},
                    "RequestId": "req-42",
                }
            },
        )

    wire = Wire(new_sandbox(), faults={1: failed})
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client)
        result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    message = text(result)
    assert result.is_error and "FailedOperation" in message and "instance busy" in message and "req-42" in message
    assert SECRET_KEY not in message  # echoed secrets are redacted
    assert wire.sent == 1
    record = audit_records(tmp_path / "audit.jsonl")[-1]
    # FailedOperation does not prove that nothing ran: after the request left, its outcome is unknown.
    assert record["event"] == "outcome_unknown" and record["code"] == "FailedOperation"
    assert record["request_id"] == "req-42" and "NOT retried" in message


async def test_token_from_one_replica_executes_on_another_sharing_the_secret_and_store(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    shared = MemoryTokenStore()
    first, second = Wire(sandbox), Wire(sandbox)
    async with Client(make_server(tmp_path, first, store=shared)) as one:
        token = await preview_token(one)
        async with Client(make_server(tmp_path, second, store=shared)) as other:
            result = await other.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
        again = await one.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.structured_content and result.structured_content["Status"] == "executed"
    assert again.structured_content and again.structured_content["Status"] == "already_executed"
    assert first.sent + second.sent == 1


@pytest.mark.parametrize(
    "change",
    [
        {"region": "ap-shanghai"},
        {"endpoint": "http://other.sandbox"},
        {"token_secret": "another-secret-entirely-0123456789"},
    ],
)
async def test_token_does_not_work_for_another_region_endpoint_or_secret(
    tmp_path: Path, change: dict[str, str]
) -> None:
    sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox))) as first:
        token = await preview_token(first)
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire, **change)) as second:
        result = await second.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.is_error and "not executed" in text(result)
    assert wire.sent == 0


async def test_token_does_not_work_with_other_credentials(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox))) as first:
        token = await preview_token(first)
    wire = Wire(sandbox)
    other = build_server(
        Settings(
            endpoint="http://wedata.sandbox",
            region=REGION,
            audit_log=tmp_path / "a.jsonl",
            token_secret=SECRET,
            project_ids=PROJECT_IDS,
        ),
        Credentials("AKIDsomeoneElse000000000000000000", SECRET_KEY),
        transport=wire,
        audit=JsonLinesAudit(tmp_path / "a.jsonl"),
    )
    async with Client(other) as second:
        result = await second.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.is_error and "different request" in text(result)
    assert wire.sent == 0


async def test_read_only_mode_does_not_even_list_the_rerun_tool(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()), read_only=True)) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    assert TOOL not in names


async def test_no_secret_appears_in_any_log_line_output_or_audit_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("", "httpx", "httpcore", "wedata_mcp", "mcp", "tencentcloud_sdk_common"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    outputs: list[str] = []
    faults: dict[int, Callable[[httpx.Request], httpx.Response]] = {2: _timeout_after_receipt, 3: _rate_limited}
    async with Client(make_server(tmp_path, Wire(new_sandbox(), faults=faults))) as client:
        for arguments in (doc_example(), doc_example() | {"RerunType": "1"}, doc_example() | {"RerunType": "3"}):
            token = await preview_token(client, arguments)
            for attempt in (token, token, "forged"):
                result = await client.call_tool(TOOL, arguments | {"ConfirmationToken": attempt})
                outputs.append(text(result) + json.dumps(result.structured_content))
        outputs.append(text(await client.call_tool(TOOL, {"Instances": [{"TaskId": SECRET_KEY}]})))
    everything = "\n".join([*outputs, caplog.text, (tmp_path / "audit.jsonl").read_text()])
    assert "sending" in everything  # the audit and logs were really captured
    assert SECRET_KEY not in everything
    assert SECRET_ID not in everything


async def test_cancelling_after_the_send_does_not_lose_the_outcome(tmp_path: Path) -> None:
    wire = HeldRerun(new_sandbox())
    async with Client(make_server(tmp_path, wire)) as client:
        token = await preview_token(client)
        with anyio.fail_after(10):
            call = anyio.CancelScope()

            async def execute() -> None:
                with call:
                    await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})

            async with anyio.create_task_group() as group:
                group.start_soon(execute)
                await wire.received.wait()
                call.cancel()  # the user gives up while the request is on the wire
                wire.release.set()
            # The shielded send finishes on its own; a replay waits for its recorded outcome.
            replay = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert replay.structured_content and replay.structured_content["Status"] == "already_executed"
    assert replay.structured_content["RequestId"]
    assert wire.sent == 1


@pytest.mark.parametrize(
    ("endpoint", "shown"),
    [
        ("http://wedata.sandbox", "http://wedata.sandbox"),
        ("http://ops:hunter2@wedata.sandbox", "http://wedata.sandbox"),
    ],
)
async def test_every_audit_record_names_the_endpoint_without_userinfo_and_the_region(
    tmp_path: Path, endpoint: str, shown: str
) -> None:
    # One log may hold records of the production endpoint and of a sandbox: each says which it was.
    async with Client(make_server(tmp_path, Wire(new_sandbox()), endpoint=endpoint)) as client:
        token = await preview_token(client)
        await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    records = audit_records(tmp_path / "audit.jsonl")
    assert [r["event"] for r in records] == ["preview", "sending", "executed"]
    assert all(r["endpoint"] == shown and r["region"] == REGION for r in records), records
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
