"""The documented response of RunRerunScheduleInstances."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BatchOperateResultOpsDto(BaseModel):
    """Result of a batch operation."""

    model_config = ConfigDict(extra="ignore")

    Result: bool | None = Field(None, description="Whether the operation was accepted.")
    ErrorId: str | None = Field(None, description="Error ID, when it failed.")
    ErrorDesc: str | None = Field(None, description="Error description, when it failed.")
    AsyncActionId: str | None = Field(None, description="Async operation ID (AsyncMode).")


class RunRerunScheduleInstancesResponse(BaseModel):
    """The `Response` object of a successful call."""

    model_config = ConfigDict(extra="ignore")

    Data: BatchOperateResultOpsDto | None = None
    RequestId: str
