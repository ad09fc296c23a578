"""WeData API 2025-08-06: the documented request of RerunTaskInstancesAsync and the shapes of its companions.

Source: the SDK's `tencentcloud.wedata.v20250806.models` docstrings (RerunTaskInstancesAsyncRequest, TaskInstance,
TaskInstancePage, TaskInstanceDetail, InstanceLog, OpsAsyncResponse, OpsAsyncJobDetail, KVMap).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from wedata_mcp.models.base import DocumentedModel, Identifier, VisibleText
from wedata_mcp.models.codes import (
    CHECK_PARENT_TYPE,
    RERUN_TYPE,
    RERUN_TYPE_WIDEST,
    OmittedCode,
    ScopeCode,
    describe,
)

VERSION_2025 = "2025-08-06"
RERUN_ACTION_2025 = "RerunTaskInstancesAsync"

# SonRangeType "下游实例范围 WORKFLOW: 所在工作流 PROJECT: 所在项目 ALL: 所有跨工作流依赖的项目，默认WORKFLOW".
SON_RANGE_TYPE: dict[str, ScopeCode] = {
    "WORKFLOW": ScopeCode("within the same workflow", "workflow", "same workflow"),
    "PROJECT": ScopeCode("within the same project", "project", "same project"),
    "ALL": ScopeCode("across every project linked by cross-workflow dependencies", "linked", "all linked projects"),
}
SON_RANGE_TYPE_WIDEST = "ALL"
# What the preview reads each omitted code of RerunTaskInstancesAsync as: its widest effect (which for
# CheckParentType is also the SDK's documented default, NONE).
OMITTED_2025: dict[str, OmittedCode] = {
    "RerunType": OmittedCode(RERUN_TYPE_WIDEST, RERUN_TYPE[RERUN_TYPE_WIDEST].words),
    "SonRangeType": OmittedCode(SON_RANGE_TYPE_WIDEST, "downstream " + SON_RANGE_TYPE[SON_RANGE_TYPE_WIDEST].words),
    "CheckParentType": OmittedCode("NONE", "upstream completion is not checked"),
    "SkipEventListening": OmittedCode("true", "event listening may be ignored"),
}

# TaskInstance.InstanceState's documented names (models/codes.py groups them with 2021-08-20's codes).
InstanceStateName = Literal[
    "WAIT_EVENT", "WAIT_UPSTREAM", "WAIT_RUN", "RUNNING", "SKIP_RUNNING", "FAILED_RETRY", "EXPIRED", "COMPLETED"
]

# OpsAsyncJobDetail.Status "初始状态: INIT; 运行中: RUNNING; 成功: SUCCESS; 失败: FAIL; 部分成功: PART_SUCCESS".
ASYNC_STATUS: dict[str, str] = {
    "INIT": "initial",
    "RUNNING": "running",
    "SUCCESS": "succeeded",
    "FAIL": "failed",
    "PART_SUCCESS": "partly succeeded",
}
ASYNC_FINAL = frozenset({"SUCCESS", "FAIL", "PART_SUCCESS"})

# An InstanceKey as GetTaskInstance documents it (示例值 "20240627201611119_2025-03-20 00:00:00"): printable ASCII
# only, so that no invisible or look-alike character can make a key select something other than what was read.
_INSTANCE_KEY_RE = re.compile(r"^[A-Za-z0-9_:. -]{1,128}$", re.ASCII)


def _instance_key(value: object) -> object:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "expected an InstanceKey string")
    if not _INSTANCE_KEY_RE.fullmatch(value) or value != value.strip():
        raise PydanticCustomError(
            "instance_key",
            "must be 1-128 ASCII letters, digits, spaces or '_', '-', ':', '.' (an InstanceKey from ListTaskInstances)",
        )
    return value


InstanceKeyText = Annotated[
    str,
    BeforeValidator(_instance_key),
    WithJsonSchema({"type": "string", "examples": ["20240627201611119_2025-03-20 00:00:00"]}),
]


class KVMap(DocumentedModel):
    """One custom parameter: K and V."""

    model_config = DocumentedModel.model_config | {"extra": "forbid"}

    K: VisibleText | None = Field(None, description="Key.")
    V: VisibleText | None = Field(None, description="Value.")


class RerunTaskInstancesAsyncRequest(DocumentedModel):
    """Batch rerun of task instances, asynchronous (WeData RerunTaskInstancesAsync, 2025-08-06)."""

    model_config = DocumentedModel.model_config | {"extra": "forbid"}

    ProjectId: Identifier = Field(description="Project ID.")
    InstanceKeyList: list[InstanceKeyText] = Field(
        min_length=1, description="Instance keys to rerun (InstanceKey from ListTaskInstances)."
    )
    RerunType: Literal["1", "2", "3"] | None = Field(
        None,
        description=describe("What to rerun (documented default 1).", {k: v.words for k, v in RERUN_TYPE.items()}),
    )
    CheckParentType: Literal["ALL", "MAKE_SCOPE", "NONE"] | None = Field(
        None,
        description=describe(
            "Upstream check (documented default NONE).", {k: v.words for k, v in CHECK_PARENT_TYPE.items()}
        ),
    )
    SonRangeType: Literal["WORKFLOW", "PROJECT", "ALL"] | None = Field(
        None,
        description=describe(
            "Downstream scope (documented default WORKFLOW).", {k: v.words for k, v in SON_RANGE_TYPE.items()}
        ),
    )
    SkipEventListening: bool | None = Field(None, description="Ignore event listening on rerun.")
    RedefineParallelNum: int | None = Field(
        None, ge=1, description="Custom instance run parallelism (not set: the task's own)."
    )
    RedefineSelfWorkflowDependency: Literal["yes", "no"] | None = Field(
        None, description="Custom workflow self-dependency: yes or no (not set: the workflow's own)."
    )
    RedefineParamList: KVMap | None = Field(None, description="Custom parameter for the rerun instances (K, V).")

    def wire_params(self) -> dict[str, Any]:
        """The request parameters as the JSON object that is signed and sent (unset fields omitted)."""
        return self.model_dump(mode="json", exclude_none=True)


class _Lenient(BaseModel):
    # Responses carry many fields and grow over time; keep what we use, ignore the rest.
    model_config = ConfigDict(extra="ignore", frozen=True)


class TaskInstance(_Lenient):
    """A `TaskInstance` (ListTaskInstances, List{Up,Down}streamTaskInstances) or `TaskInstanceDetail`."""

    ProjectId: str | None = None
    InstanceKey: str | None = None
    WorkflowId: str | None = None
    WorkflowName: str | None = None
    TaskId: str | None = None
    TaskName: str | None = None
    CurRunDate: str | None = None
    InstanceState: str | None = None
    InstanceType: int | None = None
    OwnerUinList: list[str] | None = None
    TotalRunNum: int | None = None
    TaskType: str | None = None
    CycleType: str | None = None
    TryLimit: int | None = None
    Tries: int | None = None
    StartTime: str | None = None
    EndTime: str | None = None
    CostTime: int | None = None
    SchedulerTime: str | None = None
    LastUpdateTime: str | None = None
    JobErrorMsg: str | None = None  # TaskInstanceDetail only


class TaskInstancePage(_Lenient):
    TotalCount: int | None = None
    TotalPageNumber: int | None = None
    PageNumber: int | None = None
    PageSize: int | None = None
    Items: list[TaskInstance] | None = None


class InstanceLog(_Lenient):
    InstanceKey: str | None = None
    ProjectId: str | None = None
    CodeContent: str | None = None
    LogInfo: str | None = None
    NextCursor: str | None = None


class OpsAsyncResponse(BaseModel):
    """RerunTaskInstancesAsync's Data: the asynchronous job's ID (follow it with GetOpsAsyncJob)."""

    model_config = ConfigDict(extra="ignore")

    AsyncId: str | None = Field(None, description="Asynchronous job ID (GetOpsAsyncJob).")


class OpsAsyncJobDetail(_Lenient):
    ProjectId: str | None = None
    AsyncId: str | None = None
    AsyncType: str | None = None
    Status: str | None = None
    ErrorDesc: str | None = None
    TotalSubProcessCount: int | None = None
    FinishedSubProcessCount: int | None = None
    SuccessSubProcessCount: int | None = None
    CreateUserUin: str | None = None
    CreateTime: str | None = None
    UpdateTime: str | None = None
