"""Resources an assistant can read: the rerun tool's parameter reference and the recent audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from tests.conftest import SECRET_KEY, doc_example
from tests.inproc import TOOL, Wire, make_server, new_sandbox
from wedata_mcp.guardrail.audit import JsonLinesAudit

pytestmark = pytest.mark.anyio


async def test_the_parameter_reference_lists_every_documented_parameter(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()))) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "wedata://reference/RunRerunScheduleInstances" in uris
        content = (await client.read_resource("wedata://reference/RunRerunScheduleInstances")).contents[0]
    text = getattr(content, "text", "")
    for name in ("Instances", "RerunType", "SonInstanceType", "ReDoParams", "CheckParentType"):
        assert f"`{name}`" in text
    assert "'1', '2', '3'" in text or "['1', '2', '3']" in text


async def test_the_recent_audit_log_shows_what_happened_and_no_secret(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()))) as client:
        preview = await client.call_tool(TOOL, doc_example())
        assert preview.structured_content
        await client.call_tool(
            TOOL, doc_example() | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
        )
        content = (await client.read_resource("wedata://audit/recent")).contents[0]
    text = getattr(content, "text", "")
    assert [r["event"] for r in json.loads(text)] == ["preview", "sending", "executed"]
    assert SECRET_KEY not in text


def test_recent_reads_only_the_tail_and_skips_a_torn_line(tmp_path: Path) -> None:
    audit = JsonLinesAudit(tmp_path / "audit.jsonl")
    for n in range(500):
        audit.write("preview", n=n)
    with (tmp_path / "audit.jsonl").open("a") as handle:
        handle.write('{"ts": 1, "event": "sen')  # a crash mid-line
    recent = audit.recent(10, chunk=256)
    assert [r["n"] for r in recent] == list(range(490, 500))  # the torn line is not one of the 10
