"""Request parameters of API 2025-08-06's actions as the simulator reads them (strict; unknown ones refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wedata_mcp.sandbox.views_v2025 import StateName

MAX_PAGE_SIZE = 100  # PageSize "最小值为1、最大值为100"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


class ProjectParams(Params):
    ProjectId: str = Field(min_length=1)


class Page(ProjectParams):
    PageNumber: int = Field(1, ge=1)
    PageSize: int = Field(10, ge=1, le=MAX_PAGE_SIZE)


class ListParams(Page):
    Keyword: str | None = None
    TimeZone: Literal["UTC+8"] | None = None  # the only zone the simulated world keeps
    InstanceType: Literal[0, 1, 2] | None = None
    InstanceState: StateName | None = None
    TaskTypeId: int | None = None
    CycleType: str | None = None
    OwnerUin: str | None = None
    WorkflowId: str | None = None
    ScheduleTimeFrom: str | None = None
    ScheduleTimeTo: str | None = None
    StartTimeFrom: str | None = None
    StartTimeTo: str | None = None
    SortColumn: Literal["SCHEDULE_DATE", "START_TIME", "END_TIME", "COST_TIME"] | None = None
    SortType: Literal["ASC", "DESC"] | None = None


class KeyParams(Page):
    InstanceKey: str = Field(min_length=1)
    TimeZone: Literal["UTC+8"] | None = None


class LogParams(ProjectParams):
    InstanceKey: str = Field(min_length=1)
    LifeRoundNum: int | None = Field(None, ge=0)
    LogLevel: Literal["Info", "Debug", "Warn", "Error", "All"] = "All"
    NextCursor: str | None = None


class KVMapParams(Params):
    K: str | None = None
    V: str | None = None


class RerunParams(ProjectParams):
    InstanceKeyList: list[str] = Field(min_length=1)
    RerunType: Literal["1", "2", "3"] = "1"
    CheckParentType: Literal["ALL", "MAKE_SCOPE", "NONE"] = "NONE"
    SonRangeType: Literal["WORKFLOW", "PROJECT", "ALL"] = "WORKFLOW"
    SkipEventListening: bool | None = None
    RedefineParallelNum: int | None = Field(None, ge=1)
    RedefineSelfWorkflowDependency: Literal["yes", "no"] | None = None
    RedefineParamList: KVMapParams | None = None


class JobParams(ProjectParams):
    AsyncId: str = Field(min_length=1)
