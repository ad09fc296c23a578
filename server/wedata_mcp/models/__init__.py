"""Pydantic models of WeData's documented API shapes (no I/O, no MCP)."""

from wedata_mcp.models.request import (
    ACTION,
    SERVICE,
    VERSION,
    InstanceApiOpsRequest,
    InstanceOpsDto,
    ProjectBaseInfoOpsRequest,
    RunRerunScheduleInstancesRequest,
)
from wedata_mcp.models.response import BatchOperateResultOpsDto, RunRerunScheduleInstancesResponse

__all__ = [
    "ACTION",
    "SERVICE",
    "VERSION",
    "BatchOperateResultOpsDto",
    "InstanceApiOpsRequest",
    "InstanceOpsDto",
    "ProjectBaseInfoOpsRequest",
    "RunRerunScheduleInstancesRequest",
    "RunRerunScheduleInstancesResponse",
]
