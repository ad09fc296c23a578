"""The simulator's WeData API 2025-08-06 actions, over the same world as 2021-08-20's.

Shapes and codes from the SDK's `tencentcloud.wedata.v20250806.models` docstrings. The simulator's choices
(docs/simulator.md lists them):
- `InstanceKey` is "<TaskId>_<CurRunDate>" (GetTaskInstance's 示例值 "20240627201611119_2025-03-20 00:00:00").
- Every action needs `ProjectId`; a project the world lacks is UnauthorizedOperation, as for 2021-08-20; an
  InstanceKey that is not an instance of that project is ResourceNotFound.
- RerunTaskInstancesAsync reruns what RunRerunScheduleInstances would (expansion.py) with the documented defaults
  (RerunType 1, CheckParentType NONE, SonRangeType WORKFLOW). It answers an AsyncId at once; a rerun that upstream
  or AllowRedoType refuses is accepted as a job that reads FAIL with the reason in ErrorDesc, and reruns nothing.
- GetOpsAsyncJob: a job's sub-processes are the instances it reran; one is finished when its instance reaches a
  final state, and succeeded when that state is success or skipped. INIT until one has started, RUNNING until all
  finished, then SUCCESS, FAIL (none succeeded) or PART_SUCCESS.
- GetTaskInstanceLog pages the latest run's log by LOG_PAGE_LINES lines; NextCursor is the next line's offset,
  null after the last page. LogLevel keeps the lines of that level (All: every line).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from wedata_mcp.models.base import wire_datetime
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.expansion import expand_rerun
from wedata_mcp.sandbox.params import parse
from wedata_mcp.sandbox.params_v2025 import JobParams, KeyParams, ListParams, LogParams, Page, RerunParams
from wedata_mcp.sandbox.protocol import APIError
from wedata_mcp.sandbox.simulation import start_rerun
from wedata_mcp.sandbox.views import instance_key
from wedata_mcp.sandbox.views_v2025 import CYCLE, scheduled, state_name, task_instance
from wedata_mcp.sandbox.world import AsyncJob, InstanceKey, World, parse_time

Handler = Callable[[World, dict[str, Any], datetime], dict[str, Any]]
LOG_PAGE_LINES = 20

_LEVEL_WORD = {"Info": " INFO ", "Debug": " DEBUG ", "Warn": " WARN ", "Error": " ERROR "}


def _project(world: World, project_id: str) -> None:
    if project_id not in world.projects:
        raise APIError("UnauthorizedOperation", f"no permission in project {project_id}, or it does not exist")


def _in_project(world: World, project_id: str) -> list[InstanceKey]:
    return sorted(
        (k for k in world.instances if world.project_of(k.task_id).project_id == project_id), key=world.sort_key
    )


def _key(world: World, project_id: str, given: str) -> InstanceKey:
    _project(world, project_id)
    for key in world.instances:
        if instance_key(key.task_id, key.cur_run_date) == given:
            if world.project_of(key.task_id).project_id == project_id:
                return key
            break
    raise APIError("ResourceNotFound", f"instance {given} does not exist in project {project_id}")


def _page(world: World, keys: list[InstanceKey], q: Page) -> dict[str, Any]:
    shown = keys[(q.PageNumber - 1) * q.PageSize : q.PageNumber * q.PageSize]
    return {
        "Data": {
            "TotalCount": len(keys),
            "TotalPageNumber": math.ceil(len(keys) / q.PageSize),
            "PageNumber": q.PageNumber,
            "PageSize": q.PageSize,
            "Items": [task_instance(world, world.instances[k]) for k in shown],
        }
    }


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise APIError("InvalidParameterValue", f"{name}: must be yyyy-MM-dd HH:mm:ss") from None


def _between(value: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    return value is not None and (start is None or value >= start) and (end is None or value <= end)


def list_task_instances(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = parse(ListParams, params)
    schedule = (_time(q.ScheduleTimeFrom, "ScheduleTimeFrom"), _time(q.ScheduleTimeTo, "ScheduleTimeTo"))
    started = (_time(q.StartTimeFrom, "StartTimeFrom"), _time(q.StartTimeTo, "StartTimeTo"))
    words = [w.strip().lower() for w in (q.Keyword or "").split(",") if w.strip()]
    with world.lock:
        _project(world, q.ProjectId)

        def keep(key: InstanceKey) -> bool:
            instance, task = world.instances[key], world.tasks[key.task_id]
            return (
                (not words or any(w in task.task_id.lower() or w in task.task_name.lower() for w in words))
                and q.InstanceType in (None, 1)
                and (q.InstanceState is None or state_name(instance.state) == q.InstanceState)
                and q.TaskTypeId in (None, task.task_type_id)
                and q.CycleType in (None, task.cycle_type, CYCLE[task.cycle_type])
                and q.OwnerUin in (None, task.in_charge)
                and q.WorkflowId in (None, task.workflow_id)
                and _between(scheduled(instance), *schedule)
                and _between(instance.start_time, *started)
            )

        keys = [k for k in _in_project(world, q.ProjectId) if keep(k)]
        if q.SortColumn is not None:
            keys.sort(key=_sort_key(world, q.SortColumn), reverse=q.SortType == "DESC")
        return _page(world, keys, q)


def _sort_key(world: World, column: str) -> Callable[[InstanceKey], tuple[int, Any]]:
    def key(k: InstanceKey) -> tuple[int, Any]:
        instance = world.instances[k]
        if column == "SCHEDULE_DATE":
            return (0, scheduled(instance))
        value = {"START_TIME": instance.start_time, "END_TIME": instance.end_time}.get(column)
        if column == "COST_TIME" and instance.start_time is not None:
            value = (instance.end_time or world.now) - instance.start_time
        return (0, value) if value is not None else (1, 0)  # unset values last

    return key


def get_task_instance(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = parse(KeyParams, params)
    with world.lock:
        key = _key(world, q.ProjectId, q.InstanceKey)
        return {"Data": task_instance(world, world.instances[key], detail=True)}


def _lineage(step: Callable[[World, InstanceKey], Iterable[InstanceKey]]) -> Handler:
    def handler(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        q = parse(KeyParams, params)
        with world.lock:
            key = _key(world, q.ProjectId, q.InstanceKey)
            return _page(world, sorted(step(world, key), key=world.sort_key), q)

    return handler


def get_task_instance_log(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = parse(LogParams, params)
    with world.lock:
        key = _key(world, q.ProjectId, q.InstanceKey)
        instance = world.instances[key]
        latest = max(instance.total_runs - 1, 0)
        if q.LifeRoundNum is not None and q.LifeRoundNum != latest:
            raise APIError("ResourceNotFound", f"LifeRoundNum {q.LifeRoundNum}: only the latest run ({latest}) is kept")
        word = _LEVEL_WORD.get(q.LogLevel)
        lines = [line for line in instance.log if word is None or word in f" {line} "]
    start = 0
    if q.NextCursor is not None:
        if not q.NextCursor.isdigit() or int(q.NextCursor) > len(lines):
            raise APIError("InvalidParameterValue", "NextCursor: use the NextCursor of the previous answer")
        start = int(q.NextCursor)
    end = start + LOG_PAGE_LINES
    return {
        "Data": {
            "InstanceKey": q.InstanceKey,
            "ProjectId": q.ProjectId,
            "CodeContent": None,
            "LogInfo": "\n".join(lines[start:end]),
            "NextCursor": str(end) if end < len(lines) else None,
        }
    }


def rerun_task_instances_async(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = parse(RerunParams, params)
    with world.lock:
        keys = [_key(world, q.ProjectId, given) for given in q.InstanceKeyList]
        # The same semantics as RunRerunScheduleInstances (expansion.py), under 2021-08-20's names.
        legacy: dict[str, Any] = {
            "Instances": [{"TaskId": k.task_id, "CurRunDate": k.cur_run_date} for k in keys],
            "RerunType": q.RerunType,
            "SonInstanceType": {"WORKFLOW": "1", "PROJECT": "2", "ALL": "3"}[q.SonRangeType],
            "CheckFather": q.CheckParentType != "NONE",
            "CheckParentType": q.CheckParentType,
            "SkipEventListening": q.SkipEventListening,
            "ParallelNum": q.RedefineParallelNum,
        }
        expansion = expand_rerun(world, {k: v for k, v in legacy.items() if v is not None})
        async_id = f"async-{uuid.uuid4().hex}"
        error = None
        if not expansion.rerun:
            error = f"nothing to rerun: no downstream instances within SonRangeType {q.SonRangeType}"
        elif expansion.not_redoable:
            error = "AllowRedoType: the task of a selected instance does not allow rerunning it in its current state"
        elif expansion.unmet_upstream:
            first = expansion.unmet_upstream[0]
            up = instance_key(first.upstream.task_id, first.upstream.cur_run_date)
            error = f"CheckParentType: upstream instance {up} is {states.name(first.state)}; rerun it first"
        if error is None:
            start_rerun(world, expansion.plan, now)
        world.reruns.append(q.model_dump(exclude_none=True))
        rerun = () if error else expansion.rerun
        world.async_jobs[async_id] = AsyncJob(async_id, q.ProjectId, now, expansion.selected, rerun, error)
    return {"Data": {"AsyncId": async_id}}


def job_status(world: World, job: AsyncJob) -> tuple[str, int, int, int, datetime]:
    """(Status, total, finished, succeeded, last update) of a job, as the world stands now."""
    if job.error is not None:
        return "FAIL", len(job.selected), len(job.selected), 0, job.at
    members = [world.instances[k] for k in job.rerun]
    finished = [m for m in members if m.state in states.FINAL]
    succeeded = sum(1 for m in finished if m.state in states.DONE)
    started = any(m.tries or m.state in states.FINAL for m in members)
    ends = [m.end_time for m in finished if m.end_time is not None]
    if len(finished) == len(members):
        status = "SUCCESS" if succeeded == len(members) else "FAIL" if succeeded == 0 else "PART_SUCCESS"
    else:
        status = "RUNNING" if started else "INIT"
    return status, len(members), len(finished), succeeded, max([job.at, *ends])


def get_ops_async_job(world: World, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    q = parse(JobParams, params)
    with world.lock:
        _project(world, q.ProjectId)
        job = world.async_jobs.get(q.AsyncId)
        if job is None or job.project_id != q.ProjectId:
            raise APIError("ResourceNotFound", f"async job {q.AsyncId} does not exist in project {q.ProjectId}")
        status, total, finished, succeeded, updated = job_status(world, job)
    return {
        "Data": {
            "ProjectId": job.project_id,
            "AsyncId": job.async_id,
            "AsyncType": "RERUN_INSTANCES",
            "Status": status,
            "ErrorDesc": job.error,
            "TotalSubProcessCount": total,
            "FinishedSubProcessCount": finished,
            "SuccessSubProcessCount": succeeded,
            "CreateUserUin": None,
            "CreateTime": wire_datetime(job.at),
            "UpdateTime": wire_datetime(updated),
        }
    }


ACTIONS_2025: dict[str, Handler] = {
    "ListTaskInstances": list_task_instances,
    "GetTaskInstance": get_task_instance,
    "GetTaskInstanceLog": get_task_instance_log,
    "ListUpstreamTaskInstances": _lineage(World.upstream_instances),
    "ListDownstreamTaskInstances": _lineage(World.downstream_instances),
    "RerunTaskInstancesAsync": rerun_task_instances_async,
    "GetOpsAsyncJob": get_ops_async_job,
}
