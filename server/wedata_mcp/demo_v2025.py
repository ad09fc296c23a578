"""`wedata-mcp demo --api-version 2025-08-06`: the same guarded flow on API 2025-08-06's tools, through a real MCP
stdio session: list yesterday's failed instances, dry-run RerunTaskInstancesAsync, confirm, execute, follow the job."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO, cast

from mcp import Client, StdioServerParameters, stdio_client

from wedata_mcp.demo import DEMO_SPEED, DemoError, Transcript, settle
from wedata_mcp.sandbox.app import Sandbox

RERUN_TOOL = "rerun_task_instances_async"


async def _call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    content: Any = result.structured_content
    if result.is_error or not isinstance(content, dict):
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise DemoError(f"{tool} failed: {text}")
    return cast(dict[str, Any], content)


def _rows(t: Transcript, items: list[dict[str, Any]]) -> None:
    for i in items:
        name = str(i.get("TaskName") or "")[:40]
        t.say(f"{i.get('InstanceKey')}  {i.get('StateName', ''):<20} {name}", indent=4)


async def flow_2025(sandbox: Sandbox, env: dict[str, str], work: Path, out: TextIO) -> int:
    t = Transcript(out)
    t.say("wedata-mcp demo: a guarded WeData rerun on API 2025-08-06, end to end, against the local simulator")
    t.say(f"simulator: {env['WEDATA_ENDPOINT']} (simulated now {sandbox.now():%Y-%m-%d %H:%M}, {DEMO_SPEED:g}x speed)")
    params = StdioServerParameters(command=sys.executable, args=["-m", "wedata_mcp", "serve"], env=env)
    project = sorted(sandbox.world.projects)[0]
    with (work / "server.stderr").open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            t.say(f"MCP server over stdio; tools: {', '.join(tools)}")

            t.step(f"1. Find the failed instances of project {project} (list_task_instances, InstanceState EXPIRED)")
            page = await _call(client, "list_task_instances", {"ProjectId": project, "InstanceState": "EXPIRED"})
            failed = cast(list[dict[str, Any]], page["Instances"])
            _rows(t, failed)
            if not failed:
                raise DemoError("the simulator shows no failed instance")

            arguments: dict[str, Any] = {
                "ProjectId": project,
                "InstanceKeyList": [i["InstanceKey"] for i in failed],
                "RerunType": "2",
                "SonRangeType": "ALL",
                "CheckParentType": "ALL",
                "SkipEventListening": False,
            }
            t.step(f"2. Dry run: {RERUN_TOOL} without ConfirmationToken (nothing is sent)")
            t.say("arguments: " + json.dumps(arguments, ensure_ascii=False), indent=2)
            preview = await _call(client, RERUN_TOOL, arguments)
            t.say(f"Summary: {preview['Summary']}", indent=2)
            radius = cast(dict[str, Any], preview.get("BlastRadius") or {})
            t.say(f"Blast radius (GetTaskInstance, ListDownstreamTaskInstances): {radius.get('TotalCount')}", indent=2)
            if preview["Status"] != "dry_run" or sandbox.requests("RerunTaskInstancesAsync", verified=None):
                raise DemoError("the dry run was not a dry run")

            t.step("3. Confirmation: a person reads the preview and says yes; this demo confirms on their behalf")

            t.step(f"4. Execute: {RERUN_TOOL} with the same arguments plus ConfirmationToken")
            result = await _call(client, RERUN_TOOL, {**arguments, "ConfirmationToken": preview["ConfirmationToken"]})
            t.say(f"Status: {result['Status']}  Data: {json.dumps(result.get('Data'))}", indent=2)
            sent = sandbox.requests("RerunTaskInstancesAsync")
            t.say(f"[simulator] RerunTaskInstancesAsync requests received: {len(sent)}", indent=2)
            if result["Status"] != "executed" or len(sent) != 1:
                raise DemoError("the confirmed rerun was not sent exactly once")

            t.step("5. Follow the job (follow_rerun: GetOpsAsyncJob), once the simulated scheduler has run")
            await settle(sandbox)
            job = await _call(client, "follow_rerun", {"AsyncId": result["Data"]["AsyncId"], "WaitSeconds": 2})
            t.say(
                f"Status: {job['Status']} ({job['StatusName']}); sub-operations: {job['FinishedSubProcessCount']} "
                f"of {job['TotalSubProcessCount']} finished, {job['SuccessSubProcessCount']} succeeded",
                indent=2,
            )
            t.say("the selected instances now:", indent=2)
            _rows(t, cast(list[dict[str, Any]], job["Selected"]))
            if not job["Finished"]:
                t.say(
                    "The job has not ended: an instance downstream of one that failed again waits for it. A rerun "
                    "does not fix every failure; read the error and the log (get_task_instance) before trying again.",
                    indent=2,
                )
    audit = work / "audit.jsonl"
    events = [json.loads(line).get("event", "?") for line in audit.read_text(encoding="utf-8").splitlines()]
    t.step(f"Audit log ({len(events)} records, written before each answer): {', '.join(map(str, events))}")
    return 0
