"""Request parameters of the read-only actions the simulator answers, and Tencent's codes for bad input."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wedata_mcp.models import InstanceApiOpsRequest
from wedata_mcp.models.base import WireDateTime
from wedata_mcp.sandbox.protocol import APIError

_M = TypeVar("_M", bound=BaseModel)
MAX_PAGE_SIZE = 200


class _Params(BaseModel):
    # Other parameters the SDK documents (many are marked deprecated) are accepted and ignored.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, hide_input_in_errors=True)


class DescribeScheduleInstancesParams(_Params):
    SearchCondition: InstanceApiOpsRequest | None = None
    ProjectId: str | None = None
    PageIndex: int = Field(1, ge=1)
    PageSize: int = Field(10, ge=1, le=MAX_PAGE_SIZE)


class DescribeInstanceLastLogParams(_Params):
    TaskId: str = Field(min_length=1)
    CurRunDate: WireDateTime


class DescribeDependOpsTasksParams(_Params):
    TaskId: str = Field(min_length=1)
    Deep: int = Field(1, ge=1, le=6)
    Up: Literal[0, 1, 2] = 0  # 0 downstream, 1 upstream, 2 both
    ProjectId: str | None = None
    WorkflowId: str | None = None


class DagAnchor(_Params):
    TaskId: str = Field(min_length=1)
    CurRunDate: WireDateTime


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
