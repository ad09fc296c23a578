"""The product's promise end to end: the real server process, the SDK's client over stdio and over HTTP,
and the signature-verifying loopback endpoint counting what reaches it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY, Endpoint, audit_records, doc_example
from tests.spawn import connect, server_env
from wedata_mcp.models import RunRerunScheduleInstancesRequest

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("transport", ["stdio", "http"])]

TOOL = "rerun_schedule_instances"


def reruns(endpoint: Endpoint) -> int:
    """Every RunRerunScheduleInstances that reached the endpoint, verified or not."""
    return len(endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None))


def received(endpoint: Endpoint) -> int:
    """Every request of any action that reached the endpoint."""
    return len(endpoint.sandbox.requests(verified=None))


def assert_only_reads(endpoint: Endpoint) -> None:
    """A dry run may describe its blast radius with read-only look-ups, and nothing else."""
    actions = {r.action for r in endpoint.sandbox.requests(verified=None)}
    assert actions <= {"DescribeScheduleInstances", "DagInstances"}, actions


async def dry_run(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(TOOL, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(block.text for block in result.content)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert SECRET_ID not in text


async def assert_lists_the_documented_parameters(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    tool = tools[TOOL]
    properties = tool.input_schema["properties"]
    for name in (
        "Instances",
        "CheckFather",
        "RerunType",
        "DependentWay",
        "SkipEventListening",
        "SonInstanceType",
        "SearchCondition",
        "OptType",
        "OperatorName",
        "OperatorId",
        "ProjectId",
        "ProjectIdent",
        "ProjectName",
        "PageIndex",
        "PageSize",
        "Count",
        "RequestBaseInfo",
        "IsCount",
        "AsyncMode",
        "CheckParentType",
        "SameSelfDependType",
        "ParallelNum",
        "SameSelfWorkflowDependType",
        "SelfWorkflowDependency",
        "DataTimeOrder",
        "ReDoParams",
        "ConfirmationToken",
    ):
        assert name in properties, name
    assert tool.annotations is not None
    assert tool.annotations.destructive_hint is True
    assert tool.annotations.read_only_hint is False
    assert tool.annotations.idempotent_hint is False
    assert tool.annotations.open_world_hint is True
    assert tool.output_schema is not None and "ConfirmationToken" in tool.output_schema["properties"]


async def test_doc_example_dry_run_sends_nothing_then_token_sends_exactly_one_verified_request(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    """Listed with the documented parameters; the dry run sends nothing; its token sends exactly one verified
    request; presented again, the token returns the recorded outcome and sends nothing new."""
    async with connect(transport, server_env(endpoint.url, tmp_path), tmp_path / "stderr") as client:
        with anyio.fail_after(30):
            await assert_lists_the_documented_parameters(client)
            preview = await dry_run(client, doc_example())
            assert reruns(endpoint) == 0
            assert_only_reads(endpoint)
            assert preview["Status"] == "dry_run"
            token = preview["ConfirmationToken"]

            result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
            again = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert not result.is_error, result.content
    sent = endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None)
    assert len(sent) == 1 and sent[0].verified
    expected = RunRerunScheduleInstancesRequest.model_validate(doc_example()).wire_params()
    assert sent[0].json() == expected == preview["Request"]
    assert sent[0].body.decode() == json.dumps(preview["Request"])
    executed = result.structured_content
    assert executed is not None
    assert executed["Status"] == "executed"
    assert executed["Data"]["Result"] is True
    assert executed["RequestId"] == sent[0].request_id

    assert again.structured_content is not None and reruns(endpoint) == 1
    assert again.structured_content["Status"] == "already_executed"
    assert again.structured_content["RequestId"] == executed["RequestId"]
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events == ["preview", "sending", "executed", "replayed"]
    assert_no_secrets(
        (tmp_path / "audit.jsonl").read_text(),
        (tmp_path / "stderr").read_text(),
        json.dumps(preview),
        json.dumps(executed),
    )


async def test_expired_token_is_refused_and_sends_nothing(transport: str, endpoint: Endpoint, tmp_path: Path) -> None:
    # A time-to-live of one millisecond: the token has expired before it can come back. No sleeping.
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_TOKEN_TTL="0.001")
    async with connect(transport, env, tmp_path / "stderr") as client:
        with anyio.fail_after(30):
            token = (await dry_run(client, doc_example()))["ConfirmationToken"]
            before = received(endpoint)
            result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert "expired" in error_text(result)
    assert reruns(endpoint) == 0 and received(endpoint) == before  # not even the stale-preview re-read


BAD_INPUT = {
    "unknown-field": (doc_example() | {"RerunTyp": "2"}, "RerunType"),
    "wrong-type": (doc_example() | {"CheckFather": "sometimes"}, "CheckFather"),
    "bad-date": ({"Instances": [{"TaskId": "1", "CurRunDate": "2024-02-30 00:00:00"}]}, "CurRunDate"),
    "rerun-type-9": (doc_example() | {"RerunType": "9"}, "RerunType"),
    "empty-selection": ({"Instances": []}, "Instances"),
}


async def test_tokens_and_inputs_that_do_not_match_are_refused_and_send_nothing(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    """On one server: each bad input names its field and reaches nothing at all; a token presented with other
    arguments, and forged tokens (empty, garbage, a real one re-signed with a later expiry), are refused and send
    nothing, not even the stale-preview re-read."""
    async with connect(transport, server_env(endpoint.url, tmp_path), tmp_path / "stderr") as client:
        with anyio.fail_after(30):
            for case, (arguments, field) in BAD_INPUT.items():
                result = await client.call_tool(TOOL, arguments)
                assert field in error_text(result), case
            assert len(endpoint.sandbox.received) == 0

            real = (await dry_run(client, doc_example()))["ConfirmationToken"]
            prefix, payload, mac = real.split(".")
            fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            fields["e"] += 86_400  # try to extend the expiry
            longer = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
            before = received(endpoint)
            changed = doc_example() | {"RerunType": "3", "ConfirmationToken": real}
            assert "different request" in error_text(await client.call_tool(TOOL, changed))
            for forge, token in {"empty": "", "garbage": "not-a-token", "tampered": f"{prefix}.{longer}.{mac}"}.items():
                result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
                message = error_text(result)
                assert "not executed" in message and "ConfirmationToken" in message, (forge, message)
    assert reruns(endpoint) == 0 and received(endpoint) == before


async def test_missing_credentials_give_a_clear_error_and_send_nothing(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    env = server_env(endpoint.url, tmp_path, credentials=False)
    async with connect(transport, env, tmp_path / "stderr") as client:
        with anyio.fail_after(30):
            result = await client.call_tool(TOOL, doc_example())
    assert "TENCENTCLOUD_SECRET_ID" in error_text(result)
    assert len(endpoint.sandbox.received) == 0


# --- exactly once, across the wire ------------------------------------------------------------------------------


async def test_a_timeout_after_the_endpoint_received_the_rerun_is_outcome_unknown_and_a_repeat_sends_nothing(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    # Long enough for the look-ups on a loaded machine; the rerun's answer comes well after it.
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_TIMEOUT="2")
    # The endpoint runs the rerun, then answers after the server has given up waiting.
    endpoint.sandbox.faults.inject("slow", action="RunRerunScheduleInstances", times=1, delay=6.0)
    try:
        async with connect(transport, env, tmp_path / "stderr") as client:
            with anyio.fail_after(30):
                token = (await dry_run(client, doc_example()))["ConfirmationToken"]
                confirmed = doc_example() | {"ConfirmationToken": token}
                first = await client.call_tool(TOOL, confirmed)
                assert reruns(endpoint) == 1 and endpoint.sandbox.requests("RunRerunScheduleInstances")[0].executed
                before = received(endpoint)
                again = await client.call_tool(TOOL, confirmed)
    finally:
        endpoint.sandbox.faults.clear()
    message = error_text(first)
    assert "Outcome unknown" in message and "NOT retried" in message, message
    assert "already used" in error_text(again) and "Outcome unknown" in error_text(again)
    assert reruns(endpoint) == 1 and received(endpoint) == before
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events == ["preview", "sending", "outcome_unknown", "replayed"], events


async def test_the_same_token_fifty_times_at_once_runs_once_and_every_caller_gets_that_outcome(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    results: list[Any] = []
    async with connect(transport, server_env(endpoint.url, tmp_path), tmp_path / "stderr") as client:
        with anyio.fail_after(60):
            token = (await dry_run(client, doc_example()))["ConfirmationToken"]

            async def present() -> None:
                results.append(await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token}))

            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(present)
    assert reruns(endpoint) == 1
    statuses = sorted(r.structured_content["Status"] if r.structured_content else "error" for r in results)
    assert statuses == ["already_executed"] * 49 + ["executed"]
    (sent,) = endpoint.sandbox.requests("RunRerunScheduleInstances")
    assert {r.structured_content["RequestId"] for r in results} == {sent.request_id}


async def test_a_used_token_presented_to_a_restarted_server_sends_nothing(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    env = server_env(endpoint.url, tmp_path)
    async with connect(transport, env, tmp_path / "stderr") as client:
        with anyio.fail_after(30):
            token = (await dry_run(client, doc_example()))["ConfirmationToken"]
            first = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert first.structured_content and first.structured_content["Status"] == "executed"
    before = received(endpoint)
    # A new process has a new random secret and an empty single-use store: the old token is void, not replayable.
    async with connect(transport, env, tmp_path / "stderr-restarted") as client:
        with anyio.fail_after(30):
            again = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert "another secret" in error_text(again)
    assert reruns(endpoint) == 1 and received(endpoint) == before


# --- settings and policy, in the real process ------------------------------------------------------------------


async def test_read_only_setting_hides_the_rerun_tool(transport: str, endpoint: Endpoint, tmp_path: Path) -> None:
    async with connect(transport, server_env(endpoint.url, tmp_path, WEDATA_MCP_READ_ONLY="1"), tmp_path / "e") as c:
        with anyio.fail_after(30):
            names = {tool.name for tool in (await c.list_tools()).tools}
            result = await c.call_tool(TOOL, doc_example())
    # Every read-only tool stays (following an execution reads the audit and WeData, never sends).
    assert names == {"find_schedule_instances", "get_schedule_instance", "get_instance_lineage", "follow_rerun"}
    assert result.is_error and reruns(endpoint) == 0


async def test_a_policy_file_rule_refuses_the_dry_run_naming_the_rule(
    transport: str, endpoint: Endpoint, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nallowed_regions = ["ap-shanghai"]\n', encoding="utf-8")
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_POLICY_FILE=str(policy))
    async with connect(transport, env, tmp_path / "stderr") as client:
        with anyio.fail_after(30):
            result = await client.call_tool(TOOL, doc_example())
    assert "allowed_regions" in error_text(result)
    assert received(endpoint) == 0
    assert [r["event"] for r in audit_records(tmp_path / "audit.jsonl")] == ["refused"]
