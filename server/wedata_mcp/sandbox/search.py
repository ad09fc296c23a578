"""Selecting instances with an `InstanceApiOpsRequest` (SearchCondition), as DescribeScheduleInstances does.

Sources are the SDK's `InstanceApiOpsRequest` docstrings (docs/simulator.md, rules Q1-Q4):
Filters combine with AND; a list filter matches any of its values. Name filters and Keyword are
case-insensitive substring matches ("按照taskName模糊查询", "关键字模糊查询"); Keyword looks at TaskId and TaskName.
DateFrom/DateTo ("数据时间") bound CurRunDate inclusively. InstanceType "0 补录类型 1 周期实例 2 非周期实例": every
simulated instance is periodic. With `DagDeal: true` ("是否dag") and `Instance: {TaskId, CurRunDate}` the result is
that instance's parents (`DagType` "1 父实例") or children ("2 子实例", the default) up to `DagDepth` levels
("dag深度 默认为1，取值 1-6"), across workflows and projects; the other filters then narrow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wedata_mcp.models import InstanceApiOpsRequest
from wedata_mcp.models.base import wire_datetime
from wedata_mcp.sandbox.params import DagQuery, parse
from wedata_mcp.sandbox.protocol import APIError
from wedata_mcp.sandbox.world import InstanceKey, World


def _any_in(needles: list[str] | None, haystack: str) -> bool:
    return not needles or any(n.lower() in haystack.lower() for n in needles)


def walk(world: World, start: InstanceKey, dag_type: str, depth: int) -> set[InstanceKey]:
    """The instances up to `depth` levels above (`dag_type` "1") or below ("2") `start`, itself excluded, across
    workflows and projects. Raises ResourceNotFound for an instance that does not exist."""
    if start not in world.instances:
        raise APIError(
            "ResourceNotFound", f"instance TaskId={start.task_id} CurRunDate={start.cur_run_date} does not exist"
        )
    step = world.upstream_instances if dag_type == "1" else world.downstream_instances
    found: set[InstanceKey] = set()
    frontier = [start]
    for _ in range(depth):
        frontier = [k for key in frontier for k in step(key) if k not in found and k != start]
        found.update(frontier)
    return found


def _dag(world: World, extra: dict[str, Any]) -> set[InstanceKey] | None:
    query = parse(DagQuery, extra)
    if not query.DagDeal:
        return None
    if query.Instance is None:
        raise APIError("MissingParameter", "SearchCondition.Instance: DagDeal needs Instance.TaskId and CurRunDate")
    start = InstanceKey(query.Instance.TaskId, wire_datetime(query.Instance.CurRunDate))
    return walk(world, start, query.DagType, query.DagDepth)


def ordered(world: World, keys: Iterable[InstanceKey]) -> list[InstanceKey]:
    """Newest data time first, then upstream before downstream, as the console lists them."""
    listed = sorted(keys, key=lambda k: world.task_order(k.task_id))
    listed.sort(key=lambda k: k.cur_run_date, reverse=True)
    return listed


def select(
    world: World, condition: InstanceApiOpsRequest | None, projects: Iterable[str | None] = ()
) -> list[InstanceKey]:
    """The instances matching `condition` and lying in each of `projects` (the request's ProjectIdent and
    ProjectId), newest data time first."""
    c = condition or InstanceApiOpsRequest.model_validate({})
    dag = _dag(world, dict(c.model_extra or {}))
    date_from = wire_datetime(c.DateFrom) if c.DateFrom else None
    date_to = wire_datetime(c.DateTo) if c.DateTo else None
    projects = {p for p in (*projects, c.ProjectId) if p}
    states = {str(s) for s in c.StateList} if c.StateList else None
    matched: list[InstanceKey] = []
    with world.lock:
        for key, instance in world.instances.items():
            task = world.tasks[key.task_id]
            workflow = world.workflow_of(key.task_id)
            if (
                (dag is None or key in dag)
                and all(workflow.project_id == p for p in projects)
                and (not c.TaskIdList or key.task_id in c.TaskIdList)
                and (not c.WorkflowIdList or workflow.workflow_id in c.WorkflowIdList)
                and _any_in(c.TaskNameList, task.task_name)
                and _any_in(c.WorkflowNameList, workflow.name)
                and (not c.OwnerList or any(o in task.in_charge.split(";") for o in c.OwnerList))
                and (not c.CycleList or task.cycle_type in c.CycleList)
                and (states is None or instance.state in states)
                and (date_from is None or key.cur_run_date >= date_from)
                and (date_to is None or key.cur_run_date <= date_to)
                and (not c.Keyword or _any_in([c.Keyword], f"{key.task_id} {task.task_name}"))
                and c.InstanceType in (None, "1")  # every simulated instance is periodic
            ):
                matched.append(key)
    return ordered(world, matched)
