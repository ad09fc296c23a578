"""The documented request of WeData's RunRerunScheduleInstances (API 2021-08-20) and its nested types."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from wedata_mcp.models.base import DocumentedModel, Identifier, OptionalIdentifier, VisibleText, WireDateTime
from wedata_mcp.models.codes import (
    CHECK_PARENT_TYPE,
    DATA_TIME_ORDER,
    DEPENDENT_WAY,
    INSTANCE_TYPE,
    RERUN_TYPE,
    SON_INSTANCE_TYPE,
    describe,
)

ACTION = "RunRerunScheduleInstances"
VERSION = "2021-08-20"
SERVICE = "wedata"

# InstanceOpsDto has ~80 documented fields. Only the ones that identify an instance are described in
# the schema; the rest (as in the reference's example body) are accepted under their documented names.
_INSTANCE_EXTRA = frozenset(
    [
        "InCharge",
        "CycleType",
        "NextCurDate",
        "RunPriority",
        "TryLimit",
        "Tries",
        "TotalRunNum",
        "DoFlag",
        "RedoFlag",
        "State",
        "RuntimeBroker",
        "ErrorDesc",
        "TaskType",
        "DependenceFulfillTime",
        "FirstDependenceFulfillTime",
        "FirstStartTime",
        "StartTime",
        "EndTime",
        "CostTime",
        "CostMillisecond",
        "MaxCostTime",
        "MinCostTime",
        "AvgCostTime",
        "LastLog",
        "SchedulerDateTime",
        "LastSchedulerDateTime",
        "LastUpdate",
        "CreateTime",
        "DependencyRel",
        "ExecutionSpace",
        "IgnoreEvent",
        "VirtualFlag",
        "FolderId",
        "FolderName",
        "SonList",
        "ProductName",
        "ResourceGroup",
        "ResourceInstanceId",
        "YarnQueue",
        "SchedulerDesc",
        "FirstSubmitTime",
        "FirstRunTime",
        "ProjectIdent",
        "ProjectName",
        "TenantId",
        "ExecutorGroupId",
        "ExecutorGroupName",
        "RelatedInstanceList",
        "RelatedInstanceSize",
        "OwnerId",
        "UserId",
        "InstanceLifeCycleOpsDto",
        "RetryAttempts",
        "DeletedFatherList",
        "CirculateInstanceList",
        "ConcurrentStrategy",
        "ScheduleRunType",
        "AllowRedoType",
        "InstanceCycleType",
        "InstanceSchedulerDesc",
        "Privileges",
        "TaskExecutionId",
        "DlcTaskId",
        "DlcSparkJobId",
        "Ext",
        "RelatedEventList",
        "ProxyTaskId",
        "WorkflowRunName",
        "ProxyTaskType",
        "Privilege",
        "TriggerSource",
        "ParentSpTaskId",
        "ParentSpInstanceName",
        "ParentSpInstanceDataTime",
    ]
)

_SEARCH_EXTRA = frozenset(
    [
        "Instance",
        "SortCol",
        "Sort",
        "FolderList",
        "TaskTypeList",
        "CreateTimeFrom",
        "CreateTimeTo",
        "StartFrom",
        "StartTo",
        "SearchColumns",
        "Limit",
        "TaskTypeMap",
        "DagDeal",
        "DagType",
        "DagDependent",
        "DagDepth",
        "TenantId",
        "DataTimeCycle",
        "ExecutorGroupIdList",
        "OnlyRerun",
        "ScheduleTimeZone",
        "ScheduleTimeFrom",
        "ScheduleTimeTo",
        "RunPriorityList",
        "InstanceCycleType",
    ]
)

Code3 = Literal["1", "2", "3"]


class InstanceOpsDto(DocumentedModel):
    """One schedule instance, identified by task and data time. Other documented InstanceOpsDto fields are
    accepted."""

    DOCUMENTED_EXTRA: ClassVar[frozenset[str]] = _INSTANCE_EXTRA

    TaskId: Identifier = Field(description="Task ID, e.g. '20240307215220701'.")
    CurRunDate: WireDateTime = Field(description="The instance's data time, 'YYYY-MM-DD HH:MM:SS'.")
    TaskName: VisibleText | None = Field(None, description="Task name (informational).")
    WorkflowId: OptionalIdentifier | None = Field(None, description="Workflow ID.")
    WorkflowName: VisibleText | None = Field(None, description="Workflow name (informational).")
    ProjectId: OptionalIdentifier | None = Field(None, description="Project ID.")
    InstanceKey: VisibleText | None = Field(None, description="Instance key.")


class InstanceApiOpsRequest(DocumentedModel):
    """Search condition selecting instances server-side. Other documented InstanceApiOpsRequest fields are
    accepted."""

    DOCUMENTED_EXTRA: ClassVar[frozenset[str]] = _SEARCH_EXTRA

    ProjectId: Identifier | None = Field(None, description="Project ID.")
    TaskIdList: list[Identifier] | None = Field(None, description="Task IDs.")
    TaskNameList: list[VisibleText] | None = Field(None, description="Task names (fuzzy match).")
    WorkflowIdList: list[Identifier] | None = Field(None, description="Workflow IDs.")
    WorkflowNameList: list[VisibleText] | None = Field(None, description="Workflow names (fuzzy match).")
    StateList: list[int] | None = Field(None, description="Instance state codes.")
    OwnerList: list[VisibleText] | None = Field(None, description="Owners (persons in charge).")
    CycleList: list[str] | None = Field(None, description="Cycle types.")
    DateFrom: WireDateTime | None = Field(None, description="Data time from, 'YYYY-MM-DD HH:MM:SS'.")
    DateTo: WireDateTime | None = Field(None, description="Data time to, 'YYYY-MM-DD HH:MM:SS'.")
    Keyword: VisibleText | None = Field(None, description="Keyword (fuzzy match).")
    InstanceType: Literal["0", "1", "2"] | None = Field(None, description=describe("Instance type.", INSTANCE_TYPE))


class ProjectBaseInfoOpsRequest(DocumentedModel):
    """Basic request information."""

    ProjectId: OptionalIdentifier | None = Field(None, description="Project ID.")
    ProjectIdent: OptionalIdentifier | None = Field(None, description="Project identifier.")
    ProjectName: VisibleText | None = Field(None, description="Project name.")
    IsAdmin: bool | None = Field(None, description="Whether the caller is an admin.")


class StrToStrMap(DocumentedModel):
    """One custom parameter of a rerun: the SDK's `StrToStrMap`, a key `K` and a value `V`."""

    model_config = DocumentedModel.model_config | {"extra": "forbid"}  # K and V are all it has

    K: str | None = Field(None, description="Parameter name.")
    V: str | None = Field(None, description="Parameter value.")


class RunRerunScheduleInstancesRequest(DocumentedModel):
    """Batch rerun of schedule instances (WeData RunRerunScheduleInstances, 2021-08-20)."""

    model_config = DocumentedModel.model_config | {"extra": "forbid"}

    Instances: list[InstanceOpsDto] | None = Field(
        None, description="Instances to rerun; each needs TaskId and CurRunDate."
    )
    CheckFather: bool | None = Field(
        None, description="Check parent tasks: true checks that upstream instances are done; false skips it."
    )
    RerunType: Code3 | None = Field(
        None, description=describe("What to rerun.", {k: v.words for k, v in RERUN_TYPE.items()})
    )
    DependentWay: Code3 | None = Field(None, description=describe("Instance dependency mode.", DEPENDENT_WAY))
    SkipEventListening: bool | None = Field(None, description="Ignore event listening on rerun.")
    SonInstanceType: Code3 | None = Field(
        None, description=describe("Downstream scope.", {k: v.words for k, v in SON_INSTANCE_TYPE.items()})
    )
    SearchCondition: InstanceApiOpsRequest | None = Field(None, description="Search condition.")
    OptType: str | None = Field(None, description="Access type.")
    OperatorName: VisibleText | None = Field(None, description="Operator name, e.g. 'tom'.")
    OperatorId: OptionalIdentifier | None = Field(None, description="Operator ID.")
    ProjectId: OptionalIdentifier | None = Field(None, description="Project ID, e.g. '1485413914375667'.")
    ProjectIdent: OptionalIdentifier | None = Field(None, description="Project identifier.")
    ProjectName: VisibleText | None = Field(None, description="Project name.")
    PageIndex: int | None = Field(None, ge=1, description="Page index.")
    PageSize: int | None = Field(None, ge=1, description="Page size.")
    Count: int | None = Field(None, ge=0, description="Total count.")
    RequestBaseInfo: ProjectBaseInfoOpsRequest | None = Field(None, description="Basic request information.")
    IsCount: bool | None = Field(None, description="Whether to compute the total count.")
    AsyncMode: bool | None = Field(None, description="Asynchronous mode; the result then carries AsyncActionId.")
    CheckParentType: Literal["ALL", "MAKE_SCOPE", "NONE"] | None = Field(
        None, description=describe("Upstream check.", {k: v.words for k, v in CHECK_PARENT_TYPE.items()})
    )
    SameSelfDependType: bool | None = Field(None, description="Keep the task's own self-dependency setting.")
    ParallelNum: int | None = Field(None, ge=1, description="Instance run parallelism.")
    SameSelfWorkflowDependType: bool | None = Field(
        None, description="Keep the workflow's own self-dependency setting."
    )
    SelfWorkflowDependency: Literal["yes", "no"] | None = Field(
        None, description="Re-specified workflow self-dependency: yes or no."
    )
    DataTimeOrder: Literal[0, 1, 2] | None = Field(
        None, description=describe("Order of the reruns by data time.", DATA_TIME_ORDER)
    )
    ReDoParams: str | None = Field(None, description="Rerun parameters.")
    MapParamList: list[StrToStrMap] | None = Field(
        None, description="Custom parameters for the rerun instances, each {K: name, V: value}."
    )
    AppParam: str | None = Field(None, description="Engine application parameters.")

    @field_validator("DataTimeOrder", mode="before")
    @classmethod
    def _integer_code(cls, value: object) -> object:
        # A Literal matches by equality, so even in strict mode true would pass as 1 and 1.0 as 1.
        if value is not None and type(value) is not int:
            raise PydanticCustomError("int_type", "Input should be 0, 1 or 2 (an integer)")
        return value

    @model_validator(mode="after")
    def _require_a_selection(self) -> RunRerunScheduleInstancesRequest:
        if not self.Instances and self.SearchCondition is None:
            raise PydanticCustomError(
                "empty_selection",
                "Instances: select at least one instance (TaskId and CurRunDate), or give a SearchCondition",
            )
        return self

    def wire_params(self) -> dict[str, Any]:
        """The request parameters as the JSON object that is signed and sent (unset fields omitted)."""
        return self.model_dump(mode="json", exclude_none=True)

    def wire_body(self) -> bytes:
        return wire_bytes(self.wire_params())


def wire_bytes(params: dict[str, Any]) -> bytes:
    """The exact body bytes of request parameters, serialized as Tencent's Python SDK does (`json.dumps`
    defaults)."""
    return json.dumps(params).encode()
