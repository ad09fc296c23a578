"""The simulator's seed file format (our own, snake_case JSON): projects, workflows, a task DAG, instances."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wedata_mcp.sandbox import states

WIRE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # the simulator reads times its own way, not the product's

# Cycle units as the SDK spells them: `DescribeBatchOperateTaskDTO.CycleUnit` "周期类型D天周期 H小时 C crontab类型
# I分钟 O一次性 Y年 R用户驱动 W周 M月" (also `DescribeRelatedTasksByTaskIdRequest.CycleTypeList` "D：天 ...").
CycleUnit = Literal["D", "H", "C", "I", "O", "Y", "R", "W", "M"]
# `TaskOpsDto.AllowRedoType`: "ALL 表示无论实例运行成功还是失败都允许重跑，NONE表示无论成功或者失败都不允许重跑，
# FAILURE 表示只有运行失败才能重跑".
AllowRedoType = Literal["ALL", "FAILURE", "NONE"]


def _datetime_text(value: str) -> str:
    datetime.strptime(value, WIRE_DATETIME_FORMAT)  # raises ValueError, which pydantic reports with the field
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedProject(_Strict):
    project_id: str = Field(min_length=1)
    project_name: str
    project_ident: str


class SeedWorkflow(_Strict):
    workflow_id: str = Field(min_length=1)
    workflow_name: str
    project_id: str


class SeedTask(_Strict):
    task_id: str = Field(min_length=1)
    task_name: str
    workflow_id: str
    in_charge: str
    task_type_id: int = 34
    task_type_desc: str = "Hive SQL"
    cycle_type: CycleUnit = "D"
    upstream: list[str] = Field(default_factory=list[str], description="Upstream task IDs (same data time).")
    run_seconds: int = Field(300, ge=1, description="How long a run takes, in simulated seconds.")
    try_limit: int = Field(3, ge=1, description="Runs allowed per trigger (InstanceOpsDto.TryLimit 尝试运行次数).")
    retry_wait_minutes: int = Field(5, ge=0, description="Wait before an automatic retry (TaskOpsDto.RetryWait, 分钟).")
    allow_redo_type: AllowRedoType = "ALL"
    event: str | None = Field(None, description="An event the task's instances wait for (state 0) before running.")
    # InstanceLifeDetailDto.DetailState "SKIP_RUNNING 表示 终态-被上游分支节点跳过的分支": state 21, 跳过运行.
    skipped_branch: bool = Field(False, description="A branch its upstream branch node does not take (state 21).")
    keeps_failing: bool = Field(False, description="Every run of this task fails (a bug a rerun will not fix).")
    failure_message: str = "task failed"


class SeedInstance(_Strict):
    task_id: str
    cur_run_date: str
    state: str
    tries: int = Field(1, ge=0)
    start_time: str | None = None
    end_time: str | None = None
    error_desc: str | None = None
    log: list[str] = Field(default_factory=list[str])

    _check_dates = field_validator("cur_run_date")(_datetime_text)

    @field_validator("start_time", "end_time")
    @classmethod
    def _optional_datetime(cls, value: str | None) -> str | None:
        return None if value is None else _datetime_text(value)

    @field_validator("state")
    @classmethod
    def _documented_state(cls, value: str) -> str:
        if value not in states.DOCUMENTED:
            raise ValueError(f"{value!r} is not a documented WeData instance state code")
        return value


class SeedFile(_Strict):
    """A whole world. Tasks must name existing workflows and upstream tasks; instances existing tasks."""

    description: str = ""
    now: str = Field(description="The simulated time when the world starts, 'YYYY-MM-DD HH:MM:SS'.")
    projects: list[SeedProject]
    workflows: list[SeedWorkflow]
    tasks: list[SeedTask]
    instances: list[SeedInstance]

    _check_now = field_validator("now")(_datetime_text)

    def check_references(self) -> None:
        """Raise ValueError naming the first dangling reference."""
        projects = {p.project_id for p in self.projects}
        workflows = {w.workflow_id for w in self.workflows}
        tasks = {t.task_id for t in self.tasks}
        problems: list[str] = []
        problems += [
            f"workflow {w.workflow_id}: unknown project {w.project_id}"
            for w in self.workflows
            if w.project_id not in projects
        ]
        problems += [
            f"task {t.task_id}: unknown workflow {t.workflow_id}" for t in self.tasks if t.workflow_id not in workflows
        ]
        problems += [
            f"task {t.task_id}: unknown upstream task {u}" for t in self.tasks for u in t.upstream if u not in tasks
        ]
        problems += [
            f"instance {i.task_id} {i.cur_run_date}: unknown task" for i in self.instances if i.task_id not in tasks
        ]
        if problems:
            raise ValueError("seed: " + "; ".join(problems[:5]))


def parse_seed(data: Any) -> SeedFile:
    seed = SeedFile.model_validate(data)
    seed.check_references()
    return seed
