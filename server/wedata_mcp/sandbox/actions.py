"""The WeData actions the simulator answers, each a function of (world, parameters, simulated now).

A refused rerun (unknown instance, nothing to rerun, CheckFather, AllowRedoType) is an error envelope and changes
nothing: `ResourceNotFound` for instances that do not exist, `FailedOperation` (the code the API
reference documents for this action) for the rest.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.models.base import wire_datetime
from wedata_mcp.sandbox import params as p
from wedata_mcp.sandbox import search, states
from wedata_mcp.sandbox.expansion import RerunExpansion, expand_rerun
from wedata_mcp.sandbox.protocol import APIError
from wedata_mcp.sandbox.simulation import start_rerun
from wedata_mcp.sandbox.views import instance_ops_dto, ops_task_canvas_dto, ops_task_link_info_dto
from wedata_mcp.sandbox.world import InstanceKey, RerunRecord, World

Handler = Callable[[World, dict[str, Any], datetime], dict[str, Any]]


def _refusal(expansion: RerunExpansion) -> str:
    if expansion.not_redoable:
        key = expansion.not_redoable[0]
        return (
            f"AllowRedoType: the task of TaskId={key.task_id} CurRunDate={key.cur_run_date} does not allow "
            "rerunning this instance in its current state"
        )
    first = expansion.unmet_upstream[0]
    more = len(expansion.unmet_upstream) - 1
    return (
        f"CheckFather: upstream instance TaskId={first.upstream.task_id} CurRunDate={first.upstream.cur_run_date} "
        f"is {states.name(first.state)} (State {first.state}), so TaskId={first.instance.task_id} cannot rerun"
        + (f" ({more} more unmet upstream instance(s))" if more else "")
        + "; rerun the upstream first, or set CheckFather to false"
    )


def run_rerun_schedule_instances(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    request = p.parse(RunRerunScheduleInstancesRequest, params)
    with world.lock:
        expansion = expand_rerun(world, request)
        if not expansion.selected:
            raise APIError("ResourceNotFound", "SearchCondition matched no instances")
        if not expansion.rerun:
            raise APIError(
                "FailedOperation",
                "nothing to rerun: the selected instances have no downstream "
                f"instances within SonInstanceType {expansion.son_instance_type}",
            )
        if expansion.refused:
            raise APIError("FailedOperation", _refusal(expansion))
        async_id = f"async-{uuid.uuid4().hex}" if request.AsyncMode else None
        start_rerun(world, expansion.plan, now)
        world.reruns.append(request.wire_params())
        world.rerun_records.append(
            RerunRecord(
                at=now,
                params=request.wire_params(),
                rerun_type=expansion.rerun_type,
                son_instance_type=expansion.son_instance_type,
                check_father=expansion.check_father,
                selected=expansion.selected,
                rerun=expansion.rerun,
                async_action_id=async_id,
            )
        )
    data: dict[str, Any] = {"Result": True, "ErrorId": None, "ErrorDesc": None}
    if async_id:
        data["AsyncActionId"] = async_id
    return {"Data": data}


def _in_project(world: World, project_id: str | None) -> None:
    # The SDK (DescribeScheduleInstancesRequest.ProjectIds): a project ID must be one the caller has rights
    # in, "否则会由于权限校验失败报错" (else the permission check fails). Here: a project the world lacks.
    if project_id is not None and project_id not in world.projects:
        raise APIError("UnauthorizedOperation", f"no permission in project {project_id}, or it does not exist")


def _collection(world: World, keys: list[InstanceKey], page_index: int, page_size: int) -> dict[str, Any]:
    """A `CollectionInstanceOpsDto`: one page of `keys`, with the paging the SDK documents on it."""
    page = keys[(page_index - 1) * page_size : page_index * page_size]
    items = [instance_ops_dto(world, world.instances[k]) for k in page]
    return {
        "TotalCount": len(keys),
        "TotalPage": math.ceil(len(keys) / page_size),
        "PageCount": len(items),
        "PageNumber": page_index,
        "PageSize": page_size,
        "Items": items,
    }


def describe_schedule_instances(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = p.parse(p.DescribeScheduleInstancesParams, params)
    if q.ProjectIds is not None and not q.ProjectId:
        # SDK DescribeScheduleInstancesRequest.ProjectIds: "该字段传入时 ProjectId 字段也必须传".
        raise APIError("MissingParameter", "ProjectId: required when ProjectIds is given")
    with world.lock:
        for project in (q.ProjectIdent, q.ProjectId, *(q.ProjectIds or [])):
            _in_project(world, project)
        keys = search.select(world, q.SearchCondition, (q.ProjectIdent, q.ProjectId))
        return {"Data": _collection(world, keys, q.PageIndex, q.PageSize)}


def dag_instances(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    """DagInstances ("拉取dag实例"): the parents or children of `SearchCondition.Instance`, up to `DagDepth` levels
    (docs/simulator.md, Q8). The DAG crosses workflows and projects; `ProjectId` is only checked for rights."""
    q = p.parse(p.DagInstancesParams, params)
    c = q.SearchCondition
    with world.lock:
        _in_project(world, q.ProjectId)
        start = InstanceKey(c.Instance.TaskId, wire_datetime(c.Instance.CurRunDate))
        found = search.walk(world, start, c.DagType, c.DagDepth)
        # DagDependent "1 自依赖" alone: the simulated world has no self-dependencies (every dependency is a task's).
        keys = search.ordered(world, found) if c.DagDependent != "1" else []
        return {"Data": _collection(world, keys, q.PageIndex, q.PageSize)}


def describe_instance_last_log(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = p.parse(p.DescribeInstanceLastLogParams, params)
    key = InstanceKey(q.TaskId, wire_datetime(q.CurRunDate))
    with world.lock:
        instance = world.instances.get(key)
        if instance is None:
            raise APIError(
                "ResourceNotFound", f"instance TaskId={key.task_id} CurRunDate={key.cur_run_date} does not exist"
            )
        return {"Data": "\n".join(instance.log)}


def describe_depend_ops_tasks(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = p.parse(p.DescribeDependOpsTasksParams, params)
    with world.lock:
        if q.TaskId not in world.tasks or (q.ProjectId and world.project_of(q.TaskId).project_id != q.ProjectId):
            raise APIError("ResourceNotFound", f"task {q.TaskId} does not exist")
        seen = [q.TaskId]
        links: list[tuple[str, str]] = []
        for upward in [True] if q.Up == 1 else [False] if q.Up == 0 else [True, False]:
            frontier = [q.TaskId]
            for _ in range(q.Deep):
                step: list[str] = []
                for task_id in frontier:
                    nexts = world.tasks[task_id].upstream if upward else world.children_of(task_id)
                    for other in nexts:
                        links.append((other, task_id) if upward else (task_id, other))
                        if other not in seen:
                            seen.append(other)
                            step.append(other)
                frontier = step
        return {
            "Data": {
                "TasksList": [ops_task_canvas_dto(world, t) for t in sorted(seen, key=world.task_order)],
                "LinksList": [ops_task_link_info_dto(world, a, b) for a, b in dict.fromkeys(links)],
                "CirculateTaskList": [],
            }
        }


ACTIONS: dict[str, Handler] = {
    "RunRerunScheduleInstances": run_rerun_schedule_instances,
    "DescribeScheduleInstances": describe_schedule_instances,
    "DagInstances": dag_instances,
    "DescribeInstanceLastLog": describe_instance_last_log,
    "DescribeDependOpsTasks": describe_depend_ops_tasks,
}
