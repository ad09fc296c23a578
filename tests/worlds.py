"""Test helper: small generated worlds for the simulator (e.g. one task with many daily instances)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wedata_mcp.sandbox.world import World

TASK_ID = "20250101000000001"
WORKFLOW_ID = "wf-backfill-0000000001"
PROJECT_ID = "1000000000000001"


def backfill_world(days: int, *, state: str = "4", first_day: str = "2025-01-01") -> World:
    """One daily task whose last `days` instances all ended in `state` (failed by default)."""
    start = datetime.fromisoformat(first_day)
    instances: list[dict[str, Any]] = [
        {
            "task_id": TASK_ID,
            "cur_run_date": (start + timedelta(days=d)).strftime("%Y-%m-%d %H:%M:%S"),
            "state": state,
            "tries": 1,
        }
        for d in range(days)
    ]
    return World.from_dict(
        {
            "now": (start + timedelta(days=days + 1)).strftime("%Y-%m-%d %H:%M:%S"),
            "projects": [{"project_id": PROJECT_ID, "project_name": "backfill", "project_ident": "backfill"}],
            "workflows": [{"workflow_id": WORKFLOW_ID, "workflow_name": "backfill_daily", "project_id": PROJECT_ID}],
            "tasks": [
                {"task_id": TASK_ID, "task_name": "daily_rollup", "workflow_id": WORKFLOW_ID, "in_charge": "ops"}
            ],
            "instances": instances,
        }
    )


def all_instances(world: World) -> list[dict[str, str]]:
    return [{"TaskId": k.task_id, "CurRunDate": k.cur_run_date} for k in sorted(world.instances)]


def small_world(tasks: list[dict[str, Any]], instances: list[dict[str, Any]], *, now: str) -> World:
    """A one-workflow world from task and instance dicts in the seed's format (task defaults filled in)."""
    return World.from_dict(
        {
            "now": now,
            "projects": [{"project_id": PROJECT_ID, "project_name": "small", "project_ident": "small"}],
            "workflows": [{"workflow_id": WORKFLOW_ID, "workflow_name": "small_daily", "project_id": PROJECT_ID}],
            "tasks": [{"task_name": t["task_id"], "workflow_id": WORKFLOW_ID, "in_charge": "ops"} | t for t in tasks],
            "instances": [{"tries": 1} | i for i in instances],
        }
    )
