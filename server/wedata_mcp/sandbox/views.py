"""The world as WeData's response types spell it (field names exactly as the 2021-08-20 SDK models them).

Values follow the SDK's docstrings and the GetTaskInstance page's examples (docs/simulator.md, rules V1-V7);
the fields the docs say nothing about (scheduling times, broker, resource group) are listed there as choices.

Only fields the SDK's models know are emitted: its deserializer warns about any other, and the SDK-judged
tests run with warnings as errors.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wedata_mcp.sandbox.simulation import BROKER_IP
from wedata_mcp.sandbox.world import Instance, World, format_time, parse_time


def cost_time(millis: int) -> str:
    """`CostTime` as the GetTaskInstance page's output example writes it: "CostTime": "00:00:12.000" (HH:MM:SS.mmm)."""
    seconds, ms = divmod(millis, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{sec:02d}.{ms:03d}"


def instance_key(task_id: str, cur_run_date: str) -> str:
    """`InstanceKey` as the GetTaskInstance page documents it: 示例值 "20240627201611119_2025-03-20 00:00:00"."""
    return f"{task_id}_{cur_run_date}"


def _cost(instance: Instance, now: datetime) -> tuple[str | None, int | None]:
    if instance.start_time is None:
        return None, None
    millis = int(((instance.end_time or now) - instance.start_time).total_seconds() * 1000)
    return cost_time(millis), millis


def instance_ops_dto(world: World, instance: Instance) -> dict[str, Any]:
    """An `InstanceOpsDto`."""
    task = world.tasks[instance.task_id]
    workflow = world.workflow_of(instance.task_id)
    project = world.project_of(instance.task_id)
    data_time = parse_time(instance.cur_run_date)
    scheduled = format_time(data_time + timedelta(days=1, minutes=30))  # T+1 batch, 00:30 the next day
    cost_time, cost_ms = _cost(instance, world.now)
    return {
        "TaskId": task.task_id,
        "TaskName": task.task_name,
        "WorkflowId": workflow.workflow_id,
        "WorkflowName": workflow.name,
        "InCharge": task.in_charge,
        "CycleType": task.cycle_type,
        "CurRunDate": instance.cur_run_date,
        "NextCurDate": format_time(data_time + timedelta(days=1)),
        "RunPriority": 1,
        "TryLimit": task.try_limit,
        "Tries": instance.tries,
        # 自动重试次数: the runs after the first since the last trigger.
        "RetryAttempts": max(instance.tries - 1, 0),
        "TotalRunNum": instance.total_runs,
        "DoFlag": 0,
        "RedoFlag": 1 if instance.redo else 0,
        "State": instance.state,
        "RuntimeBroker": BROKER_IP if instance.start_time else None,
        "ErrorDesc": instance.error_desc,
        "TaskType": {"TypeDesc": task.task_type_desc, "TypeId": task.task_type_id, "TypeSort": None},
        "FirstStartTime": format_time(instance.first_start_time),
        "StartTime": format_time(instance.start_time),
        "EndTime": format_time(instance.end_time),
        "CostTime": cost_time,
        "CostMillisecond": cost_ms,
        "LastLog": instance.log[-1] if instance.log else None,
        "SchedulerDateTime": scheduled,
        "LastUpdate": format_time(instance.end_time or instance.start_time or instance.waiting_since),
        "CreateTime": format_time(data_time),
        "ProjectId": project.project_id,
        "ProjectIdent": project.ident,
        "ProjectName": project.name,
        "InstanceKey": instance_key(task.task_id, instance.cur_run_date),
        "ExecutorGroupName": "default-scheduler-group",
        "InstanceCycleType": "PERIODIC",
        "AllowRedoType": task.allow_redo_type,
        "IgnoreEvent": instance.ignore_event,
    }


def ops_task_canvas_dto(world: World, task_id: str) -> dict[str, Any]:
    """An `OpsTaskCanvasDto`."""
    task = world.tasks[task_id]
    workflow = world.workflow_of(task_id)
    project = world.project_of(task_id)
    return {
        "TaskId": task.task_id,
        "TaskName": task.task_name,
        "WorkflowId": workflow.workflow_id,
        "WorkflowName": workflow.name,
        "ProjectName": project.name,
        "ProjectIdent": project.ident,
        "ProjectId": project.project_id,
        "Status": "Y",  # OpsTaskCanvasDto.Status: "'Y','F','O','T','INVALID' 分别表示调度中、已停止、..."
        "TaskTypeId": task.task_type_id,
        "TaskTypeDesc": task.task_type_desc,
        "InCharge": task.in_charge,
        "CycleUnit": task.cycle_type,
    }


def ops_task_link_info_dto(world: World, task_from: str, task_to: str) -> dict[str, Any]:
    """An `OpsTaskLinkInfoDto`: LinkType "“real_real”表示任务->任务；"virtual_real" 跨工作流任务->任务"."""
    same_workflow = world.tasks[task_from].workflow_id == world.tasks[task_to].workflow_id
    return {
        "TaskFrom": task_from,
        "TaskTo": task_to,
        "LinkType": "real_real" if same_workflow else "virtual_real",
        "LinkId": f"{task_from}_{task_to}",
        "LinkStyle": "normal",
    }
