"""Test helper: small generated worlds for the simulator (e.g. one task with many daily instances)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wedata_mcp.sandbox.cli import sandbox_project_ids
from wedata_mcp.sandbox.world import World

TASK_ID = "20250101000000001"
WORKFLOW_ID = "wf-backfill-0000000001"
# Every test world has the shipped story's two projects (the second may be empty), so that one configured pair,
# WEDATA_MCP_PROJECT_IDS in every test server, covers whichever world a test loads.
PROJECTS = sandbox_project_ids()
PROJECT_ID = PROJECTS[0]


def _projects(name: str) -> list[dict[str, str]]:
    return [
        {"project_id": PROJECT_ID, "project_name": name, "project_ident": name},
        {"project_id": PROJECTS[1], "project_name": "other", "project_ident": "other"},
    ]


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
            "projects": _projects("backfill"),
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
            "projects": _projects("small"),
            "workflows": [{"workflow_id": WORKFLOW_ID, "workflow_name": "small_daily", "project_id": PROJECT_ID}],
            "tasks": [{"task_name": t["task_id"], "workflow_id": WORKFLOW_ID, "in_charge": "ops"} | t for t in tasks],
            "instances": [{"tries": 1} | i for i in instances],
        }
    )


CHAIN_DAY = "2026-11-24 00:00:00"
CHAIN_PROJECTS = PROJECTS


def chain_task(level: int) -> str:
    return f"3000000000000000{level}"


def chain_world(length: int = 5, *, failed_at: int = 1, running: int | None = None) -> World:
    """Tasks chain_task(1) -> chain_task(2) -> ... -> chain_task(length), one instance each on CHAIN_DAY; the
    second half of the chain lives in another project. Instance `failed_at` failed; those after it wait for it
    (or `running` runs); those before it succeeded."""
    half = (length + 1) // 2
    tasks: list[dict[str, Any]] = [
        {
            "task_id": chain_task(n),
            "task_name": f"chain_step_{n}",
            "workflow_id": f"wf-chain-{1 if n <= half else 2}",
            "in_charge": "ops",
            "upstream": [chain_task(n - 1)] if n > 1 else [],
            "run_seconds": 60,
        }
        for n in range(1, length + 1)
    ]

    def state(n: int) -> str:
        if n == running:
            return "1"
        return "2" if n < failed_at else "4" if n == failed_at else "12"

    return World.from_dict(
        {
            "now": "2026-11-25 09:00:00",
            "projects": [
                {"project_id": p, "project_name": f"chain_{i}", "project_ident": f"chain_{i}"}
                for i, p in enumerate(CHAIN_PROJECTS, start=1)
            ],
            "workflows": [
                {"workflow_id": "wf-chain-1", "workflow_name": "chain_first", "project_id": CHAIN_PROJECTS[0]},
                {"workflow_id": "wf-chain-2", "workflow_name": "chain_second", "project_id": CHAIN_PROJECTS[1]},
            ],
            "tasks": tasks,
            "instances": [
                {"task_id": chain_task(n), "cur_run_date": CHAIN_DAY, "state": state(n), "tries": 1}
                for n in range(1, length + 1)
            ],
        }
    )
