"""The blast radius's look-ups on API 2025-08-06: GetTaskInstance for the selection, List{Up,Down}streamTaskInstances
for one level of the dependency graph (each paged); the walk over them is `Resolver`'s, as for 2021-08-20.

An instance is read into the same view as 2021-08-20's (`InstanceOpsView`, its InstanceState name as `State`:
models/codes.py groups both spellings), plus its InstanceKey, which the neighbours' look-ups take."""

from __future__ import annotations

from collections.abc import Iterable

from wedata_mcp.cloud.errors import CloudAPIError, ReadFailedError
from wedata_mcp.cloud.reader_v2025 import TaskInstanceReader
from wedata_mcp.guardrail.blast import CutShortError, Key, LookupBudget, Resolver
from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.models.describe import InstanceOpsView
from wedata_mcp.models.v2025 import TaskInstance

NOT_FOUND = frozenset({"ResourceNotFound", "ResourceNotFound.InstanceNotFound"})


class TaskInstanceView(InstanceOpsView):
    """An instance as 2025-08-06 names it: the shared view, plus its InstanceKey."""

    InstanceKey: str


def view_of(item: TaskInstance, action: str) -> TaskInstanceView:
    """The view of one answered instance; one that does not say which instance it is cannot be vouched for."""
    if not item.TaskId or not item.CurRunDate or not item.InstanceKey:
        raise ReadFailedError(action, "an instance without TaskId, CurRunDate or InstanceKey", None, 1)
    return TaskInstanceView(
        InstanceKey=item.InstanceKey,
        TaskId=item.TaskId,
        TaskName=item.TaskName,
        WorkflowId=item.WorkflowId,
        WorkflowName=item.WorkflowName,
        ProjectId=item.ProjectId,
        InCharge=",".join(item.OwnerUinList or []) or None,
        CycleType=item.CycleType,
        CurRunDate=item.CurRunDate,
        State=item.InstanceState,
        Tries=item.Tries,
        TryLimit=item.TryLimit,
        TotalRunNum=item.TotalRunNum,
        StartTime=item.StartTime,
        EndTime=item.EndTime,
        ErrorDesc=item.JobErrorMsg,
        SchedulerDateTime=item.SchedulerTime,
    )


class TaskInstanceResolver(Resolver):
    """Resolves RerunTaskInstancesAsync requests (and follows them) with 2025-08-06's read actions."""

    def __init__(self, reader: TaskInstanceReader, *, max_lookups: int = 200, max_instances: int = 5000) -> None:
        super().__init__(max_lookups=max_lookups, max_instances=max_instances)
        self._reader = reader
        self._known: dict[Key, tuple[str, str]] = {}  # (TaskId, CurRunDate) -> (ProjectId, InstanceKey) seen

    def _seen(self, view: TaskInstanceView, project: str) -> TaskInstanceView:
        self._known[view.key] = (view.ProjectId or project, view.InstanceKey)
        return view

    async def selection(self, prepared: PreparedRerun) -> tuple[list[InstanceOpsView], list[Key]]:
        project = prepared.request.ProjectId or ""
        selected: list[InstanceOpsView] = []
        missing: list[Key] = []
        for instance_key in dict.fromkeys(prepared.params.get(prepared.api.selection_field) or []):
            view = await self.by_key(project, instance_key)
            if view is None:
                missing.append((instance_key, ""))
            else:
                selected.append(view)
        return selected, missing

    def looked_in(self, prepared: PreparedRerun, missing: list[Key]) -> tuple[tuple[str, ...], bool]:
        return (prepared.request.ProjectId or "",), False  # ProjectId is required: every key was looked for there

    async def by_key(self, project: str, instance_key: str) -> TaskInstanceView | None:
        """The instance `instance_key` names in `project`, or None when WeData does not know it there."""
        try:
            item = await self._reader.instance(project, instance_key)
        except CloudAPIError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise
        return self._seen(view_of(item, "GetTaskInstance"), project)

    async def instances(
        self, keys: Iterable[Key], project: str | None = None
    ) -> tuple[list[InstanceOpsView], list[Key]]:
        """Instances seen before (by this resolver), read again; a key never seen is not known."""
        selected: list[InstanceOpsView] = []
        missing: list[Key] = []
        for key in dict.fromkeys(keys):
            known = self._known.get(key)
            view = await self.by_key(*known) if known is not None else None
            if view is None:
                missing.append(key)
            else:
                selected.append(view)
        return selected, missing

    async def neighbours(self, origin: InstanceOpsView, dag_type: str, calls: LookupBudget) -> list[InstanceOpsView]:
        if not isinstance(origin, TaskInstanceView) or not origin.ProjectId:
            raise ReadFailedError(
                "ListDownstreamTaskInstances", "an instance without InstanceKey or ProjectId", None, 1
            )
        calls.take()
        direction = "up" if dag_type == "1" else "down"
        action = "ListUpstreamTaskInstances" if direction == "up" else "ListDownstreamTaskInstances"
        found: list[InstanceOpsView] = []
        limit = self._max_instances
        # One more than a look-up may hold: an answer that goes on past it is cut short, never "exactly the limit".
        async for item in self._reader.neighbours(origin.ProjectId, origin.InstanceKey, direction, limit + 1):
            found.append(self._seen(view_of(item, action), origin.ProjectId))
        if len(found) > limit:
            raise CutShortError(
                f"{action} lists more than {limit} instances around {origin.InstanceKey}, more than a look-up may hold"
            )
        return found
