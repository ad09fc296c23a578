"""The read-only follow-through tool: the state of what a confirmed rerun reran, optionally waiting for it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from wedata_mcp.guardrail.follow import ExecutionNotFoundError, Followed, Follower
from wedata_mcp.guardrail.preview import last_error
from wedata_mcp.guardrail.tokens import TokenError
from wedata_mcp.models.codes import state_name
from wedata_mcp.models.describe import InstanceOpsView
from wedata_mcp.tools.errors import as_tool_errors
from wedata_mcp.tools.instances import DATA_NOTE, read_only
from wedata_mcp.tools.output import answer
from wedata_mcp.tools.sdk import function_tool, request_principal

MAX_WAIT_SECONDS = 300
LISTED = 20
# Polling while waiting: soon at first (a short rerun), then every 10 s; a poll is one look-up per 100 task IDs.
POLL_SECONDS = (1.0, 2.0, 5.0, 10.0)

DESCRIPTION = (
    "How an executed rerun is going: its instances and what waited on it, by state, the unfinished listed. By "
    "RequestId or ConfirmationToken; WaitSeconds waits for the end."
)


class FollowedInstance(BaseModel):
    """Names are WeData's data."""

    TaskId: str
    CurRunDate: str
    TaskName: str | None = None
    StateName: str
    ProjectId: str | None = None
    LastError: str | None = Field(None, description="A failed instance's last error line (WeData's data).")


class RerunProgress(BaseModel):
    RequestIds: list[str]
    TotalCount: int = Field(description="Instances the rerun reran (found now).")
    ByState: dict[str, int]
    Finished: bool = Field(
        description="Every instance it reran, and every one outside it that waited on it, succeeded, failed or was "
        "skipped, or still waits for an upstream that this rerun will not run."
    )
    Unfinished: list[FollowedInstance] = Field(description=f"The first {LISTED} not yet finished.")
    WaitingCount: int | None = Field(
        description="Instances outside the rerun that waited on it at the dry run (WeData's schedule starts them "
        "once their upstream succeeds); null when the dry run could not tell."
    )
    WaitingByState: dict[str, int] = Field(description="Those of them found now, by state.")
    WaitingUnfinished: list[FollowedInstance] = Field(description=f"The first {LISTED} of them not yet finished.")
    Failed: list[FollowedInstance] = Field(description=f"The first {LISTED} failed.")
    Batches: list[str] = Field(description="Batches that were not simply accepted, and what happened to them.")
    Complete: bool = Field(
        description="Whether every state above could be read (False: see Unresolved); not whether the rerun ended "
        "(Finished says that)."
    )
    Unresolved: list[str]
    WaitedSeconds: float
    NextStep: str
    Note: str = DATA_NOTE


def _listed(instances: list[InstanceOpsView]) -> list[FollowedInstance]:
    return [
        FollowedInstance(
            TaskId=i.TaskId,
            CurRunDate=i.CurRunDate,
            TaskName=i.TaskName,
            StateName=state_name(i.State),
            ProjectId=i.ProjectId,
            LastError=last_error(i),
        )
        for i in instances[:LISTED]
    ]


def _progress(followed: Followed, waited: float) -> RerunProgress:
    unfinished = followed.unfinished
    notes = list(dict.fromkeys(followed.notes))
    return RerunProgress(
        RequestIds=followed.execution.request_ids,
        TotalCount=len(followed.instances),
        ByState=followed.by_state,
        Finished=followed.finished,
        Unfinished=_listed(unfinished),
        WaitingCount=followed.execution.waiting_count,
        WaitingByState=dict(sorted(Counter(state_name(i.State) for i in followed.waiting).items())),
        WaitingUnfinished=_listed(followed.waiting_unfinished),
        Failed=_listed([i for i in followed.instances if state_name(i.State) == "failed"]),
        Batches=followed.told,
        Complete=not notes and not followed.missing,
        Unresolved=notes + [f"not found now: {t}@{d}" for t, d in followed.missing[:LISTED]],
        WaitedSeconds=round(waited, 1),
        NextStep=_next_step(followed, complete=not notes and not followed.missing),
    )


def _next_step(followed: Followed, *, complete: bool) -> str:
    unread = " Some states could not be read (Unresolved): follow again for them." if not complete else ""
    if followed.going:
        return (
            f"Not finished: {followed.going} instance(s) still waiting or running. Call follow_rerun again "
            f"(WaitSeconds up to {MAX_WAIT_SECONDS} waits for the end)." + unread
        )
    failed = any(state_name(i.State) == "failed" for i in followed.instances)
    then = " For a failed one, get_schedule_instance shows its log; rerunning it needs a new dry run." if failed else ""
    if followed.blocked:
        then += (
            f" {len(followed.blocked)} instance(s) that waited on it still wait for an upstream that failed "
            "(WaitingUnfinished): get_instance_lineage shows which."
        )
    if not followed.finished:  # nothing known is going, but what waited on the rerun is not known
        return (
            "The rerun's own instances are done, but what waited on it is unknown (Unresolved): report ByState and "
            "say so; get_instance_lineage (Downstream) shows what it feeds." + then
        )
    return "Finished: report ByState" + (" and Failed" if failed else "") + " to the user." + then + unread


def follow_tool(follower_of: Callable[[Context[Any, Any]], Follower]) -> Tool:
    # Parameters under WeData's own field names, as every tool's input and output uses them.
    async def follow_rerun(
        ctx: Context[Any, Any],
        RequestId: str | None = None,
        ConfirmationToken: str | None = None,
        WaitSeconds: Annotated[int, Field(ge=0, le=MAX_WAIT_SECONDS)] = 0,
    ) -> Annotated[CallToolResult, RerunProgress]:
        async def run() -> RerunProgress:
            if (RequestId is None) == (ConfirmationToken is None):
                raise ToolError("give exactly one of RequestId or ConfirmationToken (of an executed rerun)")
            follower = follower_of(ctx)
            try:
                execution = follower.execution(
                    request_id=RequestId, token=ConfirmationToken, principal=request_principal()
                )
            except (ExecutionNotFoundError, TokenError) as exc:
                raise ToolError(f"ConfirmationToken: {exc}" if ConfirmationToken else str(exc)) from None
            started = time.monotonic()
            followed = await follower.follow(execution)
            polls = iter(POLL_SECONDS)
            total = len(followed.instances) + len(followed.waiting)
            # Bounded strictly: a slow look-up is cut at the deadline, keeping the states last read.
            with anyio.move_on_after(WaitSeconds):
                while (going := followed.going) and WaitSeconds:
                    await ctx.report_progress(total - going, total, f"{total - going}/{total} finished")
                    await anyio.sleep(next(polls, POLL_SECONDS[-1]))
                    await follower.refresh(followed)
            if WaitSeconds and total:
                done = total - followed.going
                await ctx.report_progress(done, total, f"{done}/{total} finished")
            return _progress(followed, time.monotonic() - started)

        return answer(await as_tool_errors(run))

    title = "Follow a rerun"
    return function_tool(follow_rerun, title=title, description=DESCRIPTION, annotations=read_only(title))
