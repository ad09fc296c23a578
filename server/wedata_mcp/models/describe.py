"""Read-only companions of the rerun: DescribeScheduleInstances and DescribeInstanceLastLog shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from wedata_mcp.models.response import BatchOperateResultOpsDto

__all__ = ["BatchOperateResultOpsDto", "CollectionInstanceOpsDto", "InstanceOpsView", "TaskTypeOpsDto"]


class _Lenient(BaseModel):
    # Responses carry dozens of fields and grow over time; keep what we use, ignore the rest.
    model_config = ConfigDict(extra="ignore", frozen=True)


class TaskTypeOpsDto(_Lenient):
    TypeDesc: str | None = None
    TypeId: int | None = None


class InstanceOpsView(_Lenient):
    """An `InstanceOpsDto` as DescribeScheduleInstances returns it (the fields an operator reads)."""

    TaskId: str
    TaskName: str | None = None
    WorkflowId: str | None = None
    WorkflowName: str | None = None
    ProjectId: str | None = None
    ProjectName: str | None = None
    InCharge: str | None = None
    CycleType: str | None = None
    CurRunDate: str
    State: str | None = None
    Tries: int | None = None
    TryLimit: int | None = None
    TotalRunNum: int | None = None
    StartTime: str | None = None
    EndTime: str | None = None
    CostTime: str | None = None
    ErrorDesc: str | None = None
    LastLog: str | None = None
    SchedulerDateTime: str | None = None
    TaskType: TaskTypeOpsDto | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.TaskId, self.CurRunDate)


class CollectionInstanceOpsDto(_Lenient):
    TotalCount: int = 0
    TotalPage: int | None = None
    PageCount: int | None = None
    PageNumber: int | None = None
    PageSize: int | None = None
    Items: list[InstanceOpsView] = Field(default_factory=lambda: [])
