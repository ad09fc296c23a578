"""Request parameters of the read-only actions the simulator answers, and Tencent's codes for bad input."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wedata_mcp.models import InstanceApiOpsRequest
from wedata_mcp.models.base import WireDateTime
from wedata_mcp.sandbox.protocol import APIError

_M = TypeVar("_M", bound=BaseModel)
MAX_PAGE_SIZE = 200
DAG_MAX_PAGE_SIZE = 10_000


class _Params(BaseModel):
    # Other parameters the SDK documents (many are marked deprecated) are accepted and ignored.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, hide_input_in_errors=True)


class DagAnchor(_Params):
    TaskId: str = Field(min_length=1)
    CurRunDate: WireDateTime


class DescribeScheduleInstancesParams(_Params):
    """The SDK's `DescribeScheduleInstancesRequest` marks `ProjectIdent` ("【必要参数】项目ID"), `PageIndex`
    ("【必要参数】分页查询开始页页码") and `PageSize` ("【必要参数】分页查询每页返回的结果行数") required: a request
    without one is refused with `MissingParameter` (docs/simulator.md, Q7)."""

    SearchCondition: InstanceApiOpsRequest | None = None
    ProjectId: str | None = None
    ProjectIdent: str = Field(min_length=1)
    PageIndex: int = Field(ge=1)
    PageSize: int = Field(ge=1, le=MAX_PAGE_SIZE)
    # 【已废弃参数】 "该字段传入时 ProjectId 字段也必须传" (with it, ProjectId is required too).
    ProjectIds: list[str] | None = None


class DagCondition(_Params):
    """DagInstances' SearchCondition: "当前接口需要把要查询的示例信息放在该字段" (the instance to query goes here),
    as the API page's example writes it: {"Instance": {TaskId, CurRunDate}, "DagType", "DagDependent", "DagDepth"}."""

    Instance: DagAnchor
    DagType: Literal["1", "2"] = "2"  # "1 父实例 2 子实例"
    DagDependent: Literal["1", "2", "3"] = "3"  # "1 自依赖 2 任务依赖 3 所有依赖"
    DagDepth: int = Field(1, ge=1, le=6)  # "dag深度 默认为1，取值 1-6"


class DagInstancesParams(_Params):
    """DagInstances documents no required parameter and no paging defaults; its example pages with PageIndex 1 and
    PageSize 10000, so that is the largest page (docs/simulator.md, Q8 and the choices)."""

    SearchCondition: DagCondition
    ProjectId: str | None = None
    PageIndex: int = Field(1, ge=1)
    PageSize: int = Field(10, ge=1, le=DAG_MAX_PAGE_SIZE)


class DescribeInstanceLastLogParams(_Params):
    TaskId: str = Field(min_length=1)
    CurRunDate: WireDateTime


class DescribeDependOpsTasksParams(_Params):
    TaskId: str = Field(min_length=1)
    Deep: int = Field(1, ge=1, le=6)
    Up: Literal[0, 1, 2] = 0  # 0 downstream, 1 upstream, 2 both
    ProjectId: str | None = None
    WorkflowId: str | None = None


class DagQuery(_Params):
    """The DAG part of an InstanceApiOpsRequest (documented fields our request model passes through)."""

    DagDeal: bool = False
    Instance: DagAnchor | None = None
    DagType: Literal["1", "2"] = "2"  # 1 parents, 2 children
    DagDepth: int = Field(1, ge=1, le=6)


def _error(exc: ValidationError) -> APIError:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "request"
    kind = first["type"]
    if kind in ("missing", "empty_selection"):
        code = "MissingParameter"
    elif kind == "unknown_field":
        code = "UnknownParameter"
    else:
        code = "InvalidParameterValue"
    return APIError(code, f"{where}: {first['msg']}")


def parse(model: type[_M], params: dict[str, Any]) -> _M:
    """Validate `params` into `model`, or raise APIError with the code Tencent uses for the problem."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise _error(exc) from None
