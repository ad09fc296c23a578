"""The documented request of WeData's RunRerunScheduleInstances (API 2021-08-20) and its nested types."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from wedata_mcp.models.base import DocumentedModel, Identifier, OptionalIdentifier, VisibleText, WireDateTime
from wedata_mcp.models.codes import (
    CHECK_PARENT_TYPE,
    DATA_TIME_ORDER,
    DEPENDENT_WAY,
    INSTANCE_TYPE,
    RERUN_TYPE,
    SON_INSTANCE_TYPE,
    STATE_CODES,
    STATE_NUMBERS,
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


def _documented_state(code: int) -> int:
    if code not in STATE_NUMBERS:
        raise PydanticCustomError(
            "state_code",
            "Input should be a documented instance state code ({codes})",
            {"codes": "; ".join(f"{group} {codes}" for group, codes in STATE_CODES.items())},
        )
    return code


# An instance state code of InstanceDetailVO.InstanceState; the schema lists them, validation keeps to them.
StateNumber = Annotated[
    int, AfterValidator(_documented_state), WithJsonSchema({"type": "integer", "enum": list(STATE_NUMBERS)})
]


class InstanceOpsDto(DocumentedModel):
    """One schedule instance, identified by task and data time. Other documented InstanceOpsDto fields are
    accepted."""

    DOCUMENTED_EXTRA: ClassVar[frozenset[str]] = _INSTANCE_EXTRA

    TaskId: Identifier
    CurRunDate: WireDateTime = Field(description="'YYYY-MM-DD HH:MM:SS'")
    # Informational (the reference's example leaves them empty): validated and sent, not spelled out to a model.
    TaskName: SkipJsonSchema[VisibleText | None] = None
    WorkflowId: SkipJsonSchema[OptionalIdentifier | None] = None
    WorkflowName: SkipJsonSchema[VisibleText | None] = None
    ProjectId: SkipJsonSchema[OptionalIdentifier | None] = None
    InstanceKey: SkipJsonSchema[VisibleText | None] = None


class InstanceApiOpsRequest(DocumentedModel):
    """Search condition selecting instances server-side. Other documented InstanceApiOpsRequest fields are
    accepted."""

    DOCUMENTED_EXTRA: ClassVar[frozenset[str]] = _SEARCH_EXTRA

    ProjectId: Identifier | None = None
    TaskIdList: list[Identifier] | None = None
    TaskNameList: list[VisibleText] | None = None
    WorkflowIdList: list[Identifier] | None = None
    WorkflowNameList: list[VisibleText] | None = None
    StateList: list[StateNumber] | None = Field(None, description=describe("State codes.", STATE_CODES))
    OwnerList: list[VisibleText] | None = None
    CycleList: list[str] | None = None
    DateFrom: WireDateTime | None = Field(None, description="'YYYY-MM-DD HH:MM:SS'")
    DateTo: WireDateTime | None = None
    Keyword: VisibleText | None = None
    InstanceType: Literal["0", "1", "2"] | None = Field(None, description=describe("Instance type.", INSTANCE_TYPE))


class ProjectBaseInfoOpsRequest(DocumentedModel):
    """Basic request information."""

    ProjectId: OptionalIdentifier | None = None
    ProjectIdent: OptionalIdentifier | None = None
    ProjectName: VisibleText | None = None
    IsAdmin: bool | None = None


class StrToStrMap(DocumentedModel):
    """One custom parameter of a rerun: the SDK's `StrToStrMap`, a key `K` and a value `V`."""

    model_config = DocumentedModel.model_config | {"extra": "forbid"}  # K and V are all it has

    K: str | None = None  # the parameter's name
    V: str | None = None  # its value


class RunRerunScheduleInstancesRequest(DocumentedModel):
    """Batch rerun of schedule instances (WeData RunRerunScheduleInstances, 2021-08-20)."""

    model_config = DocumentedModel.model_config | {"extra": "forbid"}

    Instances: list[InstanceOpsDto] | None = None  # each: TaskId and CurRunDate (the schema requires them)
    CheckFather: bool | None = Field(None, description="true: upstream must be done.")
    RerunType: Code3 | None = Field(
        None, description=describe("What to rerun.", {k: v.brief for k, v in RERUN_TYPE.items()})
    )
    DependentWay: Code3 | None = Field(None, description=describe("Dependency mode.", DEPENDENT_WAY))
    SkipEventListening: bool | None = Field(None, description="Ignore event listening.")
    SonInstanceType: Code3 | None = Field(
        None, description=describe("Downstream scope.", {k: v.brief for k, v in SON_INSTANCE_TYPE.items()})
    )
    SearchCondition: InstanceApiOpsRequest | None = None
    OptType: str | None = None
    OperatorName: VisibleText | None = None
    OperatorId: OptionalIdentifier | None = None
    ProjectId: OptionalIdentifier | None = None
    ProjectIdent: OptionalIdentifier | None = None
    ProjectName: VisibleText | None = None
    PageIndex: int | None = Field(None, ge=1)
    PageSize: int | None = Field(None, ge=1)
    Count: int | None = Field(None, ge=0)
    # Its four fields (ProjectId, ProjectIdent, ProjectName, IsAdmin) are validated, not spelled out to the model.
    RequestBaseInfo: Annotated[ProjectBaseInfoOpsRequest | None, WithJsonSchema({"type": "object"})] = None
    IsCount: bool | None = None
    AsyncMode: bool | None = None  # the result then carries AsyncActionId
    CheckParentType: Literal["ALL", "MAKE_SCOPE", "NONE"] | None = Field(
        None, description=describe("Whose upstream is checked.", {k: v.brief for k, v in CHECK_PARENT_TYPE.items()})
    )
    SameSelfDependType: bool | None = None
    ParallelNum: int | None = Field(None, ge=1)
    SameSelfWorkflowDependType: bool | None = None
    SelfWorkflowDependency: Literal["yes", "no"] | None = None
    DataTimeOrder: Literal[0, 1, 2] | None = Field(None, description=describe("Order by data time.", DATA_TIME_ORDER))
    ReDoParams: str | None = None
    MapParamList: list[StrToStrMap] | None = Field(None, description="Custom parameters.")
    AppParam: str | None = None

    @field_validator("DataTimeOrder", mode="before")
    @classmethod
    def _integer_code(cls, value: object) -> object:
        # A Literal matches by equality, so even in strict mode true would pass as 1 and 1.0 as 1.
        if value is not None and type(value) is not int:
            raise PydanticCustomError("int_type", "Input should be 0, 1 or 2 (an integer)")
        return value

    @model_validator(mode="after")
    def _require_one_selection(self) -> RunRerunScheduleInstancesRequest:
        if not self.Instances and self.SearchCondition is None:
            raise PydanticCustomError(
                "empty_selection",
                "Instances: select at least one instance (TaskId and CurRunDate), or give a SearchCondition",
            )
        if self.Instances and self.SearchCondition is not None:
            # The reference documents each alone, never both: what WeData would rerun for both cannot be known,
            # and a preview of the instances alone would understate it (unknown is not allowed).
            raise PydanticCustomError(
                "two_selections",
                "SearchCondition: give Instances or a SearchCondition, not both (how WeData combines them is not "
                "documented, so what would rerun cannot be known)",
                {"field": "SearchCondition"},
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
