"""Which instances a RunRerunScheduleInstances request reruns: a pure function of the world and the request.

Semantics the simulator gives the documented codes:
- Selection: `Instances` (each TaskId + CurRunDate must exist, and lie in the request's or the instance's
  ProjectId when one is given) or, when `Instances` is empty, every instance `SearchCondition` matches.
- RerunType "1": the selected instances; "2": them and their downstream; "3": only their downstream.
  Absent means "1".
- SonInstanceType bounds the downstream, relative to each selected instance: "1" its workflow, "2" its
  project, "3" everything linked by cross-workflow/cross-project dependencies. Downstream is what is
  reachable through instances inside that bound (a path that leaves the bound stops there). Absent
  means "1", the narrowest.
- CheckFather true ("检查父任务类型, true: 检查父任务"): every upstream instance of a covered instance must have
  succeeded, unless it reruns in the same request (it will run first). CheckParentType ("是否检查上游任务: ALL
  (全部)、 MAKE_SCOPE(选中)、NONE (全部不检查)"): "ALL" (or absent) checks all upstream; "MAKE_SCOPE" checks
  only among the selected instances (`MakePlanOpsDto.CheckParentType`: "MAKE_SCOPE: 只在（当前补录计划）选中任务
  中检查"), so an upstream outside the rerun is never checked and one inside it runs first; "NONE" checks
  nothing. CheckFather absent or false: no check. A failed check refuses the whole request
  (FailedOperation, the reference's one documented code) and reruns nothing.
- AllowRedoType of each selected instance's task (`TaskOpsDto.AllowRedoType`: "ALL 表示无论实例运行成功还是失败
  都允许重跑，NONE表示无论成功或者失败都不允许重跑，FAILURE 表示只有运行失败才能重跑"): "NONE" refuses, "FAILURE"
  refuses unless the instance is failed (4/5/8/13); a refusal is FailedOperation and reruns nothing.
- DataTimeOrder ("运行实例数据时间排序 0---正常 1--正序 2 – 逆序") orders the rerun's instances for starting:
  1 data time ascending, 2 descending (upstream before downstream within a data time), 0 or absent the order
  they were selected in (then downstream). ParallelNum ("实例运行并发度") caps how many run at once (absent: no
  cap). Both shape `RunPlan`, which simulation.py plays; neither changes which instances rerun.
- DependentWay and the other parameters are accepted and recorded; they do not change which instances rerun.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.models.base import wire_datetime
from wedata_mcp.sandbox import search, states
from wedata_mcp.sandbox.protocol import APIError
from wedata_mcp.sandbox.world import InstanceKey, RunPlan, World


@dataclass(frozen=True, slots=True)
class UnmetUpstream:
    """An upstream instance that has not succeeded, blocking `instance` under CheckFather."""

    instance: InstanceKey
    upstream: InstanceKey
    state: str


@dataclass(frozen=True, slots=True)
class RerunExpansion:
    """The outcome of expanding a rerun request against a world."""

    rerun_type: str
    son_instance_type: str
    check_father: bool
    selected: tuple[InstanceKey, ...]
    rerun: tuple[InstanceKey, ...]  # every instance that reruns, upstream before downstream
    unmet_upstream: tuple[UnmetUpstream, ...]  # empty unless CheckFather applies and something blocks
    not_redoable: tuple[InstanceKey, ...] = ()  # selected instances their task's AllowRedoType forbids rerunning
    plan: RunPlan = field(default_factory=lambda: RunPlan(()))

    @property
    def refused(self) -> bool:
        return bool(self.unmet_upstream or self.not_redoable)


def _redoable(world: World, key: InstanceKey) -> bool:
    allowed = world.tasks[key.task_id].allow_redo_type
    return allowed == "ALL" or (allowed == "FAILURE" and world.instances[key].state in states.FAILED_CODES)


def _plan(
    world: World, request: RunRerunScheduleInstancesRequest, selected: list[InstanceKey], covered: set[InstanceKey]
) -> RunPlan:
    topo = world.task_order
    if request.DataTimeOrder == 1:
        members = sorted(covered, key=lambda k: (k.cur_run_date, topo(k.task_id)))
    elif request.DataTimeOrder == 2:
        members = sorted(covered, key=lambda k: (_descending(k.cur_run_date), topo(k.task_id)))
    else:  # 0 "正常": no data-time order imposed; the simulator keeps the selection's order, then the rest
        rank = {k: n for n, k in enumerate(selected)}
        members = sorted(covered, key=lambda k: (rank.get(k, len(rank)), world.sort_key(k)))
    return RunPlan(tuple(members), request.ParallelNum, bool(request.SkipEventListening))


def _descending(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def _selected(world: World, request: RunRerunScheduleInstancesRequest) -> list[InstanceKey]:
    if not request.Instances:
        return search.select(world, request.SearchCondition, (request.ProjectId,))
    chosen: list[InstanceKey] = []
    for given in request.Instances:
        key = InstanceKey(given.TaskId, wire_datetime(given.CurRunDate))
        project = request.ProjectId or given.ProjectId
        if key not in world.instances or (project and world.project_of(key.task_id).project_id != project):
            where = f" in project {project}" if project else ""
            raise APIError(
                "ResourceNotFound", f"instance TaskId={key.task_id} CurRunDate={key.cur_run_date} does not exist{where}"
            )
        if key not in chosen:
            chosen.append(key)
    return chosen


def _in_scope(world: World, origin: InstanceKey, son_instance_type: str) -> Callable[[InstanceKey], bool]:
    if son_instance_type == "1":
        workflow = world.tasks[origin.task_id].workflow_id
        return lambda k: world.tasks[k.task_id].workflow_id == workflow
    if son_instance_type == "2":
        project = world.project_of(origin.task_id).project_id
        return lambda k: world.project_of(k.task_id).project_id == project
    return lambda _k: True


def downstream(world: World, origin: InstanceKey, son_instance_type: str) -> set[InstanceKey]:
    """Instances downstream of `origin` reachable within the SonInstanceType bound (origin excluded)."""
    inside = _in_scope(world, origin, son_instance_type)
    found: set[InstanceKey] = set()
    frontier = [origin]
    while frontier:
        frontier = [k for key in frontier for k in world.downstream_instances(key) if k not in found and inside(k)]
        found.update(frontier)
    return found


def expand_rerun(world: World, request: RunRerunScheduleInstancesRequest | Mapping[str, Any]) -> RerunExpansion:
    """Which instances `request` would rerun now; raises APIError(ResourceNotFound) for unknown instances."""
    if not isinstance(request, RunRerunScheduleInstancesRequest):
        request = RunRerunScheduleInstancesRequest.model_validate(dict(request))
    rerun_type = request.RerunType or "1"
    son = request.SonInstanceType or "1"
    with world.lock:
        selected = _selected(world, request)
        covered: set[InstanceKey] = set(selected) if rerun_type in ("1", "2") else set()
        if rerun_type in ("2", "3"):
            for key in selected:
                covered |= downstream(world, key, son)
        ordered = tuple(sorted(covered, key=world.sort_key))
        # MAKE_SCOPE checks only among the rerun's own instances, which run upstream first: nothing to refuse.
        check = bool(request.CheckFather) and request.CheckParentType in (None, "ALL")
        unmet = tuple(
            UnmetUpstream(key, up, world.instances[up].state)
            for key in (ordered if check else ())
            for up in world.upstream_instances(key)
            if up not in covered and world.instances[up].state not in states.DONE
        )
        not_redoable = tuple(k for k in selected if k in covered and not _redoable(world, k))
        plan = _plan(world, request, selected, covered)
    return RerunExpansion(
        rerun_type, son, bool(request.CheckFather), tuple(selected), ordered, unmet, not_redoable, plan
    )
