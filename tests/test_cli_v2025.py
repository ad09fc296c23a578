"""`wedata-mcp serve --api-version`: the flag overrides WEDATA_MCP_API_VERSION, fails closed naming itself, and
`serve --sandbox` on 2025-08-06 serves that version's tools against the in-process simulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client


def test_a_bad_api_version_flag_stops_start_up_naming_the_flag() -> None:
    command = [sys.executable, "-m", "wedata_mcp", "serve", "--api-version", "2025"]
    env = {"PATH": "", "WEDATA_MCP_API_VERSION": "2025-08-06"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 2 and "--api-version" in result.stderr and result.stdout == ""


@pytest.mark.anyio
async def test_serve_sandbox_on_2025_lists_its_tools_and_previews_a_rerun(tmp_path: Path) -> None:
    args = ["-m", "wedata_mcp", "serve", "--sandbox", "--api-version", "2025-08-06"]
    params = StdioServerParameters(command=sys.executable, args=args, env={"HOME": str(tmp_path), "PATH": ""})
    with (tmp_path / "stderr").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            with anyio.fail_after(60):
                tools = {t.name for t in (await client.list_tools()).tools}
                found = await client.call_tool(
                    "list_task_instances", {"ProjectId": "127890865433555", "InstanceState": "EXPIRED"}
                )
                assert found.structured_content is not None, found.content
                keys = [i["InstanceKey"] for i in found.structured_content["Instances"]]
                preview = await client.call_tool(
                    "rerun_task_instances_async",
                    {"ProjectId": "127890865433555", "InstanceKeyList": keys, "RerunType": "1"},
                )
    assert "rerun_task_instances_async" in tools and "rerun_schedule_instances" not in tools
    assert len(keys) == 2 and preview.structured_content is not None
    assert preview.structured_content["ConfirmationToken"], preview.content
