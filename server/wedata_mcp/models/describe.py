"""Read-only companions of the rerun: what DescribeScheduleInstances, DagInstances and DescribeInstanceLastLog are
sent (under the SDK's request names) and what the product reads of their answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wedata_mcp.models.base import WireDateTime
from wedata_mcp.models.request import InstanceApiOpsRequest
from wedata_mcp.models.response import BatchOperateResultOpsDto

__all__ = [
    "BatchOperateResultOpsDto",
    "CollectionInstanceOpsDto",
    "DagInstancesQuery",
    "DescribeInstanceLastLogQuery",
    "DescribeScheduleInstancesQuery",
    "InstanceOpsView",
    "TaskTypeOpsDto",
]


class _Query(BaseModel):
    # What the product sends: only names it declares, each under the SDK's name and type.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DescribeScheduleInstancesQuery(_Query):
    """`DescribeScheduleInstancesRequest` as the product sends it: the 【必要参数】 ProjectIdent ("项目ID"),
    PageIndex and PageSize, the project's ProjectId, and the search."""

    SearchCondition: InstanceApiOpsRequest | None = None
    ProjectId: str
    ProjectIdent: str
    PageIndex: int
    PageSize: int


class DagAnchor(_Query):
    """The `InstanceOpsDto` a DAG starts from."""

    TaskId: str
    CurRunDate: WireDateTime


class DagCondition(_Query):
    """DagInstances' `InstanceApiOpsRequest`, as its API page's example writes it."""

    Instance: DagAnchor
    DagType: Literal["1", "2"]  # 1 父实例 2 子实例
    DagDependent: Literal["1", "2", "3"]  # 1 自依赖 2 任务依赖 3 所有依赖
    DagDepth: int = Field(ge=1, le=6)  # dag深度 默认为1，取值 1-6


class DagInstancesQuery(_Query):
    """`DagInstancesRequest` as the product sends it (its page marks no parameter required)."""

    SearchCondition: DagCondition
    ProjectId: str
    PageIndex: int
    PageSize: int


class DescribeInstanceLastLogQuery(_Query):
    """`DescribeInstanceLastLogRequest`: the instance, and nothing else (it documents no project)."""

    TaskId: str
    CurRunDate: WireDateTime


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
    TotalCount: int  # required: without it, whether a listing is whole is unknown (never "0")
    TotalPage: int | None = None
    PageCount: int | None = None
    PageNumber: int | None = None
    PageSize: int | None = None
    Items: list[InstanceOpsView] = Field(default_factory=lambda: [])
