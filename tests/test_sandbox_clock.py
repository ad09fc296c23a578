"""One clock in the sandbox: with --sandbox, "yesterday" in the prompts, a token's ExpiresAt and the audit's times
follow the simulator's clock (the seeded world's now, 2026-11-25 09:00), not the wall clock; a server in another
process (the demo's) follows it from WEDATA_MCP_SANDBOX_CLOCK."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY
from tests.inproc import TOOL, Wire, text
from tests.worlds import CHAIN_DAY, chain_task, chain_world
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import sandbox_audit_path
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.timeline import StoryClock, following
from wedata_mcp.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio

SEEDED_NOW = datetime(2026, 11, 25, 9, 0, 0)  # seed.json's "now", read as local time like every story time
TTL = timedelta(minutes=5)


def rendered(result: Any) -> str:
    return " ".join(getattr(m.content, "text", "") for m in result.messages)


def expires_at(preview: dict[str, Any]) -> datetime:
    """ExpiresAt (UTC) as the local wall time the simulator's story is told in."""
    return datetime.fromisoformat(preview["ExpiresAt"]).astimezone().replace(tzinfo=None)


async def test_serve_sandbox_prompts_and_tokens_follow_the_simulators_clock(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "WEDATA_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "wedata_mcp", "serve", "--sandbox"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            prompt = await client.get_prompt("investigate-failed-instance", {"task": "ods_payments_sync"})
            zh = await client.get_prompt("rerun-failed-instances-zh", {"workflow": "ods"})
            preview = await client.call_tool(
                TOOL,
                {"Instances": [{"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}], "RerunType": "1"},
            )
            listed = await client.call_tool("find_schedule_instances", {"StateName": ["failed"]})
    assert "yesterday, 2026-11-24" in rendered(prompt)
    # A listing says what day it is there, so "yesterday" needs no prompt (a helper's assistant guessed its own).
    assert listed.structured_content is not None and listed.structured_content["Today"] == "2026-11-25", text(listed)
    assert "昨天，即 2026-11-24" in rendered(zh)
    assert preview.structured_content is not None, text(preview)
    # The simulator started with the server: its clock has moved seconds, not the week to the wall clock.
    assert abs(expires_at(preview.structured_content) - (SEEDED_NOW + TTL)) < timedelta(minutes=1)
    # `serve --sandbox` keeps its own audit file (never WEDATA_MCP_AUDIT_LOG's production one).
    audited = [json.loads(line) for line in sandbox_audit_path(tmp_path).read_text().splitlines()]
    assert abs(datetime.fromtimestamp(audited[-1]["ts"]) - SEEDED_NOW) < timedelta(minutes=1)


async def test_a_server_given_the_simulators_clock_keeps_signing_with_the_wall_clock(tmp_path: Path) -> None:
    # A world a week behind the wall clock: the API checks a signature's timestamp against its own wall clock,
    # so only the product's "now" may follow the story.
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=chain_world(2, failed_at=2))
    settings = Settings(
        endpoint="http://wedata.sandbox", region=REGION, audit_log=tmp_path / "audit.jsonl", project_ids=PROJECT_IDS
    )
    server = build_server(
        settings, Credentials(SECRET_ID, SECRET_KEY), transport=Wire(sandbox), now=sandbox.epoch, home=tmp_path
    )
    arguments = {"Instances": [{"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY}], "RerunType": "1"}
    async with Client(server) as client:
        prompt = await client.get_prompt("rerun-failed-instances", {"workflow": "chain_first"})
        preview = await client.call_tool(TOOL, arguments)
        assert preview.structured_content is not None, text(preview)
        executed = await client.call_tool(
            TOOL, arguments | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
        )
    assert not executed.is_error, text(executed)
    assert "yesterday, 2026-11-24" in rendered(prompt)
    assert abs(expires_at(preview.structured_content) - (SEEDED_NOW + TTL)) < timedelta(minutes=1)
    assert datetime.fromisoformat(preview.structured_content["ExpiresAt"]).tzinfo == UTC


def test_a_server_in_another_process_follows_the_simulators_clock_from_its_spec() -> None:
    wall = [1_800_000_000.0]
    story = StoryClock(SEEDED_NOW, lambda: wall[0], speed=1000)
    clock = following(story.spec(), lambda: wall[0])
    wall[0] += 1.5
    assert abs(clock() - story.now().timestamp()) < 0.01
    with pytest.raises(SettingsError, match="WEDATA_MCP_SANDBOX_CLOCK"):
        Settings.from_env({"WEDATA_MCP_SANDBOX_CLOCK": "soon"})
