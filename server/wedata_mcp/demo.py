"""`wedata-mcp demo`: the guarded rerun flow against the local simulator, through a real MCP stdio session.

It starts the simulator on 127.0.0.1, spawns `python -m wedata_mcp serve` pointed at it, and prints a
transcript: find yesterday's failed instances, dry-run a rerun with their downstream, confirm (on the
user's behalf), execute with the token, and show the instances' new states. Output goes to stdout: this
is a program for people, not the server.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.cli import default_sandbox, sandbox_env
from wedata_mcp.sandbox.expansion import expand_rerun
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.sandbox.simulation import next_event

# Simulated seconds per wall-clock second: the nightly chain (about half an hour) replays in seconds.
DEMO_SPEED = 1000.0
SETTLE_TIMEOUT_SECONDS = 20.0
FIND_TOOL = "find_schedule_instances"  # used as soon as the server lists it
RERUN_TOOL = "rerun_schedule_instances"


class DemoError(Exception):
    """A step of the demo did not go as it should."""


class Transcript:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def say(self, text: str = "", indent: int = 0) -> None:
        for line in text.splitlines() or [""]:
            print(" " * indent + line, file=self._out)
        self._out.flush()

    def step(self, title: str) -> None:
        self.say()
        self.say(f"== {title}")

    def table(self, rows: Sequence[dict[str, Any]], before: dict[tuple[str, str], str] | None = None) -> None:
        for row in rows:
            key = (row["TaskId"], row["CurRunDate"])
            state = str(row["StateName"])
            if before is not None:
                state = f"{before.get(key, '?')} -> {state}"
            name = str(row.get("TaskName") or "")
            name = name if len(name) <= 48 else name[:47] + "…"  # task names are cloud data: shown, not obeyed
            error = f"  ({row['ErrorDesc']})" if row.get("ErrorDesc") else ""
            self.say(f"{row['TaskId']}  {row['CurRunDate']}  {state:<44} {name}{error}", indent=4)


def _instances_in(value: Any) -> list[dict[str, Any]] | None:
    """The first list of instance-like objects (with TaskId and CurRunDate) anywhere in a tool result."""
    if isinstance(value, list):
        items = cast(list[Any], value)
        if items and all(isinstance(i, dict) and "TaskId" in i and "CurRunDate" in i for i in items):
            return [cast(dict[str, Any], i) for i in items]
        found = (_instances_in(v) for v in items)
    elif isinstance(value, dict):
        found = (_instances_in(v) for v in cast(dict[str, Any], value).values())
    else:
        return None
    return next((f for f in found if f is not None), None)


class Finder:
    """Looks instances up through the MCP tool `find_schedule_instances`, as an assistant would."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def find(self, day: str, *, failed: bool = False, task_ids: set[str] | None = None) -> list[dict[str, Any]]:
        """Instances with data time `day` ('YYYY-MM-DD HH:MM:SS'): the failed ones, or those of `task_ids`."""
        arguments: dict[str, Any] = {"DateFrom": day[:10], "DateTo": day[:10], "PageSize": 100}
        if failed:
            arguments["StateName"] = ["failed"]
        result = await self._client.call_tool(FIND_TOOL, arguments)
        items = None if result.is_error else _instances_in(result.structured_content)
        if items is None:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            raise DemoError(f"{FIND_TOOL} gave no instances: {text}")
        return [i for i in items if i["CurRunDate"] == day and (task_ids is None or i["TaskId"] in task_ids)]


async def _call(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(RERUN_TOOL, arguments)
    content: Any = result.structured_content
    if result.is_error or not isinstance(content, dict):
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise DemoError(f"{RERUN_TOOL} failed: {text}")
    return cast(dict[str, Any], content)


def _show_preview(t: Transcript, preview: dict[str, Any]) -> None:
    t.say(f"Status: {preview['Status']}", indent=2)
    t.say(f"Summary: {preview['Summary']}", indent=2)
    t.say("Warnings:", indent=2)
    for warning in preview.get("Warnings") or ["(none)"]:
        t.say(f"- {warning}", indent=4)
    radius = cast(dict[str, Any], preview.get("BlastRadius") or {})
    t.say(f"Blast radius (resolved with read-only look-ups): {radius.get('TotalCount')} instance(s)", indent=2)
    for group in cast(list[dict[str, Any]], radius.get("ByProject") or []):
        t.say(f"project {group['Name']} ({group['Id']}): {group['Count']}", indent=4)
    for item in cast(list[dict[str, Any]], radius.get("Instances") or []):
        name = str(item.get("TaskName") or "")[:40]
        t.say(f"{item['Role']:<10} {item['TaskId']}  {item['CurRunDate']}  {item['StateName']:<20} {name}", indent=4)
    token = str(preview["ConfirmationToken"])
    t.say(f"ConfirmationToken: {token[:16]}… (expires {preview.get('ExpiresAt')})", indent=2)


async def settle(sandbox: Sandbox) -> None:
    """Wait (wall clock, bounded) until the simulated scheduler has nothing left to start or finish."""
    with anyio.move_on_after(SETTLE_TIMEOUT_SECONDS):
        while True:
            sandbox.now()
            if next_event(sandbox.world) is None:
                return
            await anyio.sleep(0.1)


async def _flow(sandbox: Sandbox, env: dict[str, str], work: Path, out: TextIO) -> int:
    t = Transcript(out)
    url = env["WEDATA_ENDPOINT"]
    yesterday = datetime.combine(sandbox.now().date(), datetime.min.time()) - timedelta(days=1)
    day = yesterday.strftime("%Y-%m-%d %H:%M:%S")
    t.say("wedata-mcp demo: a guarded WeData rerun, end to end, against the local simulator")
    t.say(f"simulator: {url} (simulated now {sandbox.now():%Y-%m-%d %H:%M}, {DEMO_SPEED:g}x speed)")
    params = StdioServerParameters(command=sys.executable, args=["-m", "wedata_mcp", "serve"], env=env)
    with (work / "server.stderr").open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            t.say(f"MCP server over stdio: `{sys.executable} -m wedata_mcp serve`; tools: {', '.join(tools)}")
            finder = Finder(client)

            t.step(f"1. Find yesterday's failed instances (data time {day})")
            failed = await finder.find(day, failed=True)
            t.say(f"via the MCP tool {FIND_TOOL}:", indent=2)
            t.table(failed)
            if not failed:
                raise DemoError("the simulator shows no failed instance yesterday")

            arguments: dict[str, Any] = {
                "Instances": [{"TaskId": i["TaskId"], "CurRunDate": i["CurRunDate"]} for i in failed],
                "RerunType": "2",
                "SonInstanceType": "3",
                "CheckFather": True,
                "DependentWay": "1",
            }
            t.step(f"2. Dry run: {RERUN_TOOL} without ConfirmationToken (nothing is sent)")
            t.say("arguments: " + json.dumps(arguments, ensure_ascii=False), indent=2)
            preview = await _call(client, arguments)
            _show_preview(t, preview)
            if preview["Status"] != "dry_run" or sandbox.requests("RunRerunScheduleInstances", verified=None):
                raise DemoError("the dry run was not a dry run")
            covered = expand_rerun(sandbox.world, arguments).rerun
            t.say(
                f"[simulator] if executed, this request reruns {len(covered)} instances "
                "(the failed ones and everything downstream of them).",
                indent=2,
            )
            rerun_tasks = {k.task_id for k in covered}
            before = {
                (i["TaskId"], i["CurRunDate"]): str(i["StateName"])
                for i in await finder.find(day, task_ids=rerun_tasks)
            }

            t.step("3. Confirmation")
            t.say("In a real session a person reads the preview above and says yes (or no).", indent=2)
            t.say("This demo confirms on the user's behalf.", indent=2)

            t.step(f"4. Execute: {RERUN_TOOL} with the same arguments plus ConfirmationToken")
            result = await _call(client, {**arguments, "ConfirmationToken": preview["ConfirmationToken"]})
            t.say(f"Status: {result['Status']}  Data: {json.dumps(result.get('Data'))}", indent=2)
            t.say(f"RequestId: {result.get('RequestId')}", indent=2)
            sent = sandbox.requests("RunRerunScheduleInstances")
            t.say(f"[simulator] RunRerunScheduleInstances requests received: {len(sent)}", indent=2)
            if result["Status"] != "executed" or len(sent) != 1:
                raise DemoError("the confirmed rerun was not sent exactly once")

            t.step("5. The instances' new states")
            t.say("right after the rerun (state before -> now):", indent=2)
            t.table(await finder.find(day, task_ids=rerun_tasks), before)
            await settle(sandbox)
            t.say(f"after the simulated scheduler ran them (simulated now {sandbox.now():%H:%M}):", indent=2)
            after = await finder.find(day, task_ids=rerun_tasks)
            t.table(after, before)
            again = [str(i["TaskId"]) for i in after if i["StateName"] == "failed"]
            if again:
                t.say(
                    f"{len(again)} instance(s) failed again ({', '.join(again)}): a rerun does not fix every "
                    "failure; read the error and the log before trying again.",
                    indent=2,
                )
    audit = work / "audit.jsonl"
    events = [json.loads(line).get("event", "?") for line in audit.read_text(encoding="utf-8").splitlines()]
    t.step(f"Audit log ({len(events)} records, written before each answer): {', '.join(map(str, events))}")
    return 0


def run_demo(out: TextIO | None = None, api_version: str = "2021-08-20") -> int:
    """Run the demo (on `api_version`'s tools); 0 when every step behaved as the guardrail promises."""
    stream = out or sys.stdout
    sandbox = default_sandbox(speed=DEMO_SPEED)
    flow = _flow
    if api_version == "2025-08-06":
        from wedata_mcp.demo_v2025 import flow_2025

        flow = flow_2025
    with tempfile.TemporaryDirectory(prefix="wedata-mcp-demo-") as tmp, serve_in_thread(sandbox) as url:
        work = Path(tmp)
        # One clock (sandbox_env): the server's ExpiresAt and audit times follow the simulator's story. At
        # DEMO_SPEED five simulated minutes pass in 0.3 s, so the demo's token gets a simulated day (86 real s).
        env = sandbox_env(url, sandbox) | {
            "WEDATA_MCP_AUDIT_LOG": str(work / "audit.jsonl"),
            # The demo's client cannot elicit; the confirmation token is the human step it shows.
            "WEDATA_MCP_APPROVAL": "token",
            "WEDATA_MCP_TOKEN_TTL": "86400",
            "WEDATA_MCP_API_VERSION": api_version,
        }
        try:
            return anyio.run(flow, sandbox, env, work, stream)
        except Exception as exc:
            failure = _demo_failure(exc)
            if failure is None:
                raise
            print(f"demo failed: {failure}", file=sys.stderr)
            stderr = work / "server.stderr"
            if stderr.exists():
                print(stderr.read_text(encoding="utf-8")[-4000:], file=sys.stderr)
            return 1


def _demo_failure(exc: BaseException) -> DemoError | OSError | None:
    """The demo's own failure, also when a task group wrapped it (the SDK's client runs its session in one)."""
    if isinstance(exc, DemoError | OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        group: BaseExceptionGroup[BaseException] = exc  # pyright: ignore[reportUnknownVariableType]
        for inner in group.exceptions:
            found = _demo_failure(inner)
            if found is not None:
                return found
    return None
