"""The world as API 2025-08-06's response types spell it (v20250806 `TaskInstance`, `TaskInstanceDetail`): only
fields the SDK's models know (its deserializer warns about any other)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wedata_mcp.models.v2025 import InstanceStateName
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.views import instance_key
from wedata_mcp.sandbox.world import Instance, World, format_time, parse_time

# The eight documented InstanceState names, by the simulator's written state codes (states.py, one per group).
STATE_NAME: dict[str, str] = {
    states.WAITING_EVENT: "WAIT_EVENT",
    states.WAITING_UPSTREAM: "WAIT_UPSTREAM",
    states.WAITING_RUN: "WAIT_RUN",
    states.RUNNING: "RUNNING",
    states.SKIPPED: "SKIP_RUNNING",
    states.FAILED_RETRYING: "FAILED_RETRY",
    states.FAILED: "EXPIRED",
    states.SUCCESS: "COMPLETED",
}
StateName = InstanceStateName
# TaskInstance.CycleType "O: ONEOFF_CYCLE ... D: DAY_CYCLE ..."; TaskInstanceDetail spells the long name.
CYCLE = {
    "O": "ONEOFF_CYCLE",
    "Y": "YEAR_CYCLE",
    "M": "MONTH_CYCLE",
    "W": "WEEK_CYCLE",
    "D": "DAY_CYCLE",
    "H": "HOUR_CYCLE",
    "I": "MINUTE_CYCLE",
    "C": "CRONTAB_CYCLE",
}


def state_name(code: str) -> str:
    """The InstanceState name of any documented state code."""
    group = states.group(code)
    return next(STATE_NAME[c] for c in states.WRITTEN if group is not None and states.group(c) == group)


def scheduled(instance: Instance) -> datetime:
    return parse_time(instance.cur_run_date) + timedelta(days=1, minutes=30)  # as views.instance_ops_dto


def task_instance(world: World, instance: Instance, *, detail: bool = False) -> dict[str, Any]:
    """A `TaskInstance` (or, with `detail`, a `TaskInstanceDetail`)."""
    task = world.tasks[instance.task_id]
    workflow = world.workflow_of(instance.task_id)
    cost = None
    if instance.start_time is not None:
        cost = int(((instance.end_time or world.now) - instance.start_time).total_seconds() * 1000)
    item: dict[str, Any] = {
        "ProjectId": workflow.project_id,
        "InstanceKey": instance_key(task.task_id, instance.cur_run_date),
        "WorkflowId": workflow.workflow_id,
        "WorkflowName": workflow.name,
        "TaskId": task.task_id,
        "TaskName": task.task_name,
        "CurRunDate": instance.cur_run_date,
        "InstanceState": state_name(instance.state),
        "InstanceType": 1,  # every simulated instance is periodic
        "OwnerUinList": [task.in_charge],
        "TotalRunNum": instance.total_runs,
        "TaskType": task.task_type_desc,
        "TaskTypeId": task.task_type_id,
        "CycleType": CYCLE[task.cycle_type] if detail else task.cycle_type,
        "TryLimit": task.try_limit,
        "Tries": instance.tries,
        "StartTime": format_time(instance.start_time),
        "EndTime": format_time(instance.end_time),
        "CostTime": cost,
        "SchedulerTime": format_time(scheduled(instance)),
        "LastUpdateTime": format_time(instance.end_time or instance.start_time or instance.waiting_since),
        "ExecutorGroupName": "default-scheduler-group",
    }
    if detail:
        item["JobErrorMsg"] = instance.error_desc
    return item
