"""The read-only lineage tool: what an instance depends on and what depends on it, a few levels each way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from wedata_mcp.guardrail.blast import Resolver
from wedata_mcp.guardrail.blast_v2025 import TaskInstanceResolver, TaskInstanceView
from wedata_mcp.guardrail.lineage import MAX_DEPTH, Direction, Related, lineage
from wedata_mcp.models.codes import state_name
from wedata_mcp.models.describe import InstanceOpsView
from wedata_mcp.tools.errors import as_tool_errors
from wedata_mcp.tools.instances import DATA_NOTE, no_instance, read_only
from wedata_mcp.tools.output import answer
from wedata_mcp.tools.results import data_time
from wedata_mcp.tools.sdk import function_tool

TITLE = "Instance lineage"
DESCRIPTION = (
    "What an instance depends on (Upstream: what blocks it) and what depends on it (Downstream), with states and "
    "projects. Explore with this, never a dry run."
)


class LinkedInstance(BaseModel):
    """An instance in the lineage; names are WeData's data."""

    TaskId: str
    CurRunDate: str
    TaskName: str | None = None
    StateName: str
    WorkflowName: str | None = None
    ProjectId: str | None = Field(None, description="Named in Projects.")
    InstanceKey: str | None = Field(
        None, description="API 2025-08-06 only: the key that version's instance tools take."
    )
    Level: int = Field(0, description="Steps from the instance asked about (0: itself).")
    Via: str | None = Field(
        None,
        description="From level 2, the instance one level closer: TaskId if same CurRunDate, else TaskId@CurRunDate.",
    )


class InstanceLineage(BaseModel):
    Instance: LinkedInstance
    Projects: dict[str, str | None] = Field(description="ProjectId -> ProjectName, once for every listed instance.")
    # Counts beside the lists: the text leaves an empty list out, and 0 must still read as "looked, found none".
    UpstreamCount: int | None = Field(None, description="How many are listed upstream; null: not asked.")
    Upstream: list[LinkedInstance] | None = Field(None, description="What it depends on, nearest first.")
    DownstreamCount: int | None = Field(None, description="How many are listed downstream; null: not asked.")
    Downstream: list[LinkedInstance] | None = Field(None, description="What depends on it, nearest first.")
    Deeper: list[Direction] = Field(
        description=f"Directions in which more instances lie beyond Depth (ask with a larger Depth, at most "
        f"{MAX_DEPTH})."
    )
    Complete: bool = Field(
        description="True only when the whole lineage in the asked directions is here: no look-up failed, no list "
        "was cut short (see Unresolved), and nothing lies beyond Depth (Deeper is empty)."
    )
    Unresolved: list[str]
    Note: str = DATA_NOTE


def linked(instance: InstanceOpsView, related: Related | None = None) -> LinkedInstance:
    return LinkedInstance(
        TaskId=instance.TaskId,
        CurRunDate=instance.CurRunDate,
        TaskName=instance.TaskName,
        StateName=state_name(instance.State),
        WorkflowName=instance.WorkflowName,
        ProjectId=instance.ProjectId,
        InstanceKey=instance.InstanceKey if isinstance(instance, TaskInstanceView) else None,
        Level=related.level if related else 0,
        # Level 1 is reached from the instance asked about: saying so on every row would only cost context.
        Via=_via(instance, related) if related and related.level > 1 else None,
    )


def _via(instance: InstanceOpsView, related: Related) -> str:
    task, when = related.via
    return task if when == instance.CurRunDate else f"{task}@{when}"


async def walk(
    resolver: Resolver, origin: InstanceOpsView, direction: Literal["both", "upstream", "downstream"], depth: int
) -> InstanceLineage:
    """The lineage of `origin` as the tool answers it (the same for every API version's look-ups)."""
    directions: tuple[Direction, ...] = ("upstream", "downstream") if direction == "both" else (direction,)
    walked = await lineage(resolver, origin, directions, depth)
    listed = {d: [linked(r.instance, r) for r in rs] for d, rs in walked.related.items()}
    everyone = [walked.origin, *(r.instance for rs in walked.related.values() for r in rs)]
    return InstanceLineage(
        Instance=linked(walked.origin),
        Projects={i.ProjectId: i.ProjectName for i in everyone if i.ProjectId},
        UpstreamCount=len(listed["upstream"]) if "upstream" in listed else None,
        Upstream=listed.get("upstream"),
        DownstreamCount=len(listed["downstream"]) if "downstream" in listed else None,
        Downstream=listed.get("downstream"),
        Deeper=walked.deeper,
        Complete=not walked.notes and not walked.deeper,
        Unresolved=walked.notes,
    )


def lineage_tool(resolver_of: Callable[[Context[Any, Any]], Resolver]) -> Tool:
    # Parameters under WeData's own field names, as every tool's input and output uses them.
    async def get_instance_lineage(
        ctx: Context[Any, Any],
        TaskId: str,
        CurRunDate: Annotated[str, Field(description="'YYYY-MM-DD HH:MM:SS'")],
        Direction: Literal["both", "upstream", "downstream"] = "both",
        Depth: Annotated[int, Field(ge=1, le=MAX_DEPTH)] = 2,
        ProjectId: str | None = None,
    ) -> Annotated[CallToolResult, InstanceLineage]:

        async def run() -> InstanceLineage:
            when = data_time(CurRunDate, "CurRunDate")
            resolver = resolver_of(ctx)
            found, _ = await resolver.instances([(TaskId, when)], ProjectId)
            if not found:
                raise ToolError(no_instance(TaskId, when, ProjectId))
            return await walk(resolver, found[0], Direction, Depth)

        return answer(await as_tool_errors(run))

    return function_tool(
        get_instance_lineage,
        title=TITLE,
        description=DESCRIPTION,
        annotations=read_only(TITLE),
    )


DESCRIPTION_2025 = (
    "What a task instance depends on (Upstream: what blocks it) and what depends on it (Downstream), with states "
    "and projects. Explore with this, never a dry run."
)


def lineage_tool_2025(resolver_of: Callable[[Context[Any, Any]], TaskInstanceResolver]) -> Tool:
    async def get_instance_lineage(
        ctx: Context[Any, Any],
        ProjectId: Annotated[str, Field(min_length=1, max_length=64)],
        InstanceKey: Annotated[str, Field(min_length=1, max_length=128, description="From list_task_instances.")],
        Direction: Literal["both", "upstream", "downstream"] = "both",
        Depth: Annotated[int, Field(ge=1, le=MAX_DEPTH)] = 2,
    ) -> Annotated[CallToolResult, InstanceLineage]:
        async def run() -> InstanceLineage:
            resolver = resolver_of(ctx)
            origin = await resolver.by_key(ProjectId, InstanceKey)
            if origin is None:
                raise ToolError(f"InstanceKey: no instance {InstanceKey[:128]} in project {ProjectId[:64]}")
            return await walk(resolver, origin, Direction, Depth)

        return answer(await as_tool_errors(run))

    return function_tool(get_instance_lineage, title=TITLE, description=DESCRIPTION_2025, annotations=read_only(TITLE))
