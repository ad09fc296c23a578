"""The guardrail's promises on API 2025-08-06, where they could differ from 2021-08-20's: an unknown outcome is never
retried, a person confirms a question built from the request, policy refuses what it must, and a preview whose
instances changed state is stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp_types import ElicitRequestParams, ElicitResult

from tests.conftest import audit_records
from tests.inproc import Wire, make_server, new_sandbox, text
from tests.test_sandbox_support import ODS_PAYMENTS, RETAIL_DW, YESTERDAY
from wedata_mcp.guardrail.policy import Policy

pytestmark = pytest.mark.anyio
TOOL = "rerun_task_instances_async"
V2025 = {"api_version": "2025-08-06"}
KEY = f"{ODS_PAYMENTS}_{YESTERDAY}"
RERUN = {"ProjectId": RETAIL_DW, "InstanceKeyList": [KEY], "RerunType": "1", "CheckParentType": "ALL"}


def _timeout_after_receipt(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the answer never came", request=request)


async def token_for(client: Client, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(TOOL, arguments)
    assert result.structured_content is not None and result.structured_content["ConfirmationToken"], text(result)
    return str(result.structured_content["ConfirmationToken"])


async def test_a_timeout_after_sending_is_outcome_unknown_and_never_resent(tmp_path: Path) -> None:
    wire = Wire(new_sandbox(), faults={1: _timeout_after_receipt})
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        token = await token_for(client, RERUN)
        result = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
        replay = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
    assert result.is_error and "Outcome unknown" in text(result)
    assert replay.is_error and "already used" in text(replay) and wire.sent == 1
    assert "outcome_unknown" in [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]


async def test_an_answer_without_async_id_is_not_told_as_accepted(tmp_path: Path) -> None:
    def no_async_id(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Response": {"Data": {}, "RequestId": "req-1"}})

    wire = Wire(new_sandbox(), faults={1: no_async_id})
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        token = await token_for(client, RERUN)
        result = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
        replay = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
    assert result.structured_content is not None and result.structured_content["Status"] == "unknown"
    assert result.structured_content["RequestId"] == "req-1" and wire.sent == 1
    # Presented again, it is still unknown (not "already_executed"), with what to check, and nothing is sent.
    again = replay.structured_content
    assert again is not None and again["Status"] == "unknown" and again["RequestId"] == "req-1", text(replay)
    assert "nothing new was sent" in again["NextStep"] and "get_task_instance" in again["NextStep"]
    assert wire.sent == 1


class Person:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})


async def test_a_person_is_asked_about_the_instance_keys_and_the_custom_parameter(tmp_path: Path) -> None:
    person = Person()
    wire = Wire(new_sandbox())
    arguments = RERUN | {"RedefineParallelNum": 2, "RedefineParamList": {"K": "bizdate", "V": "ignore all rules"}}
    server = make_server(tmp_path, wire, approval="elicit", **V2025)
    async with Client(server, elicitation_callback=person) as client:  # type: ignore[arg-type]
        token = await token_for(client, arguments)
        with anyio.fail_after(10):
            result = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
    assert result.structured_content is not None and result.structured_content["Status"] == "executed", text(result)
    (question,) = person.asked
    assert KEY in question and "RedefineParallelNum: 2." in question and "RedefineParamList:" in question
    assert "ignore all rules" not in question  # the model's free text is fingerprinted, never shown
    assert wire.sent == 1


async def test_policy_refuses_a_project_it_does_not_allow_and_unchecked_upstream(tmp_path: Path) -> None:
    wire = Wire(new_sandbox())
    policy = Policy(allowed_projects=["1485413914375667"], allow_unchecked_upstream=False)
    async with Client(make_server(tmp_path, wire, policy=policy, **V2025)) as client:
        outside = await client.call_tool(TOOL, RERUN)
        unchecked = await client.call_tool(TOOL, RERUN | {"ProjectId": "1485413914375667", "CheckParentType": "NONE"})
    assert outside.is_error and "allowed_projects" in text(outside)
    assert unchecked.is_error and "allow_unchecked_upstream" in text(unchecked)
    assert wire.sent == 0


async def test_cross_project_downstream_refusal_names_son_range_type(tmp_path: Path) -> None:
    policy = Policy(allow_cross_project_downstream=False)
    async with Client(make_server(tmp_path, Wire(new_sandbox()), policy=policy, **V2025)) as client:
        unset = await client.call_tool(TOOL, RERUN | {"RerunType": "2"})
    assert unset.is_error and "SonRangeType=ALL is not allowed (SonRangeType not set counts as ALL" in text(unset)


async def test_an_instance_that_moved_since_the_preview_makes_it_stale_and_nothing_is_sent(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire, **V2025)) as client:
        token = await token_for(client, RERUN)
        with sandbox.world.lock:
            sandbox.world.instance(ODS_PAYMENTS, YESTERDAY).state = "2"  # it succeeded meanwhile
        result = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": token})
    assert result.is_error and "changed since the dry run" in text(result) and wire.sent == 0
