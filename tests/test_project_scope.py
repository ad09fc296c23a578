"""Project scope (issue 13.1): every read the product makes carries the parameters the SDK marks required, a
question across projects covers each configured one, and with none configured nothing is sent."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest
from mcp import Client
from tencentcloud.wedata.v20210820 import models

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY, Endpoint, doc_example, make_settings
from tests.inproc import TOOL, Wire, make_server, new_sandbox, text
from wedata_mcp.app import build_server
from wedata_mcp.cloud.client import Target, WeDataClient
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.reader import WeDataReader
from wedata_mcp.doctor import diagnose
from wedata_mcp.guardrail.audit import JsonLinesAudit

ODS_PAYMENTS = {"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}  # failed yesterday
SEEDED_INSTANCES = 28


def required(action: str) -> set[str]:
    """The parameters the SDK's docstring of `action`'s request marks 【必要参数】."""
    doc = getattr(models, f"{action}Request").__init__.__doc__ or ""
    return set(re.findall(r":param _(\w+): 【必要参数】", doc))


def test_the_sdk_marks_project_and_paging_required_on_describe_schedule_instances() -> None:
    assert required("DescribeScheduleInstances") == {"ProjectIdent", "PageIndex", "PageSize"}
    assert required("DagInstances") == set()  # its page marks every parameter 否 (not required)


@pytest.mark.anyio
async def test_no_read_the_product_makes_lacks_a_required_parameter(
    endpoint: Endpoint, tmp_path: Path, credentials: Credentials
) -> None:
    settings = make_settings(endpoint.url, tmp_path / "audit.jsonl")
    server = build_server(settings, credentials, audit=JsonLinesAudit(tmp_path / "audit.jsonl"))
    async with Client(server) as client:
        found = await client.call_tool("find_schedule_instances", {})
        lineage = await client.call_tool("get_instance_lineage", ODS_PAYMENTS | {"Depth": 3})
        # The reference's example body, verbatim: a dry run, then the confirmed rerun, then following it.
        preview = await client.call_tool(TOOL, doc_example())
        assert preview.structured_content is not None, text(preview)
        token = preview.structured_content["ConfirmationToken"]
        executed = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
        followed = await client.call_tool("follow_rerun", {"ConfirmationToken": token})
    await diagnose(settings, credentials)
    for result in (found, lineage, executed, followed):
        assert not result.is_error, text(result)
    assert found.structured_content is not None and found.structured_content["TotalCount"] == SEEDED_INSTANCES
    assert executed.structured_content is not None and executed.structured_content["Data"]["Result"] is True

    # Every API call (the doctor's clock check is a bare GET, no action).
    received = [r for r in endpoint.sandbox.requests(verified=None) if r.action]
    counts = Counter(r.action for r in received)
    lacking = [
        (r.action, sorted(required(r.action) - set(r.json()))) for r in received if required(r.action) - set(r.json())
    ]
    dag_bodies = [r.json() for r in received if r.action == "DagInstances"]
    print(f"reads checked for required parameters: {dict(counts)}")
    # find and lineage ask both projects, the doctor each project, the preview and the execution once each.
    assert counts["DescribeScheduleInstances"] >= 8 and counts["DagInstances"] >= 5
    assert lacking == []
    assert [r.error_code for r in received if r.error_code] == []  # no MissingParameter, nor any other refusal
    # DagInstances: the instance in SearchCondition, as its page's example, with a project and paging.
    assert all(
        {"ProjectId", "PageIndex", "PageSize"} <= set(b) and "Instance" in b["SearchCondition"] for b in dag_bodies
    )
    described = [r.json() for r in received if r.action == "DescribeScheduleInstances"]
    assert {b["ProjectIdent"] for b in described} == set(PROJECT_IDS)


@pytest.mark.anyio
async def test_without_a_configured_project_a_question_names_the_variable_and_sends_nothing(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox), project_ids=())) as client:
        found = await client.call_tool("find_schedule_instances", {})
        preview = await client.call_tool(TOOL, {"Instances": [ODS_PAYMENTS], "RerunType": "1"})
    assert found.is_error and "WEDATA_MCP_PROJECT_IDS" in text(found)
    assert preview.structured_content is not None, text(preview)
    assert preview.structured_content.get("ConfirmationToken") is None
    assert any("WEDATA_MCP_PROJECT_IDS" in w for w in preview.structured_content["Warnings"])
    assert sandbox.requests(verified=None) == []


@pytest.mark.anyio
async def test_an_instance_that_names_its_project_is_looked_up_there_without_configuration(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox), project_ids=())) as client:
        preview = await client.call_tool(TOOL, doc_example())  # its instance carries "ProjectId": "127890865433555"
    assert preview.structured_content is not None, text(preview)
    assert preview.structured_content["ConfirmationToken"], preview.structured_content["Warnings"]
    asked = {r.json()["ProjectIdent"] for r in sandbox.requests("DescribeScheduleInstances")}
    assert asked == {doc_example()["Instances"][0]["ProjectId"]}


@pytest.mark.anyio
@pytest.mark.parametrize("page_size", [5, 7, 22, 100])
async def test_a_listing_across_projects_pages_every_instance_once(page_size: int) -> None:
    sandbox = new_sandbox()
    transport = httpx.ASGITransport(app=sandbox.app())
    client = WeDataClient(
        Target("http://wedata.sandbox", REGION), Credentials(SECRET_ID, SECRET_KEY), transport=transport
    )
    reader = WeDataReader(client, PROJECT_IDS)
    seen: list[tuple[str, str]] = []
    page = 1
    while True:
        found = await reader.instances_page({}, page, page_size)
        assert found.TotalCount == SEEDED_INSTANCES
        seen += [i.key for i in found.Items]
        if page * page_size >= found.TotalCount:
            break
        page += 1
    await client.aclose()
    assert len(seen) == len(set(seen)) == SEEDED_INSTANCES
    # Project after project, in the order configured.
    projects = [json.loads(r.body)["ProjectIdent"] for r in sandbox.requests("DescribeScheduleInstances")]
    assert set(projects) == set(PROJECT_IDS) and projects[0] == PROJECT_IDS[0]
