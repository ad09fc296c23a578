"""Typed read-only WeData calls of API 2025-08-06: task instances (paged), one instance, its log (by cursor), its
direct upstream and downstream (paged), and an asynchronous job."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.cloud.errors import IncompleteAnswerError, ReadFailedError
from wedata_mcp.models.v2025 import InstanceLog, OpsAsyncJobDetail, TaskInstance, TaskInstancePage

M = TypeVar("M", bound=BaseModel)
PAGE_SIZE = 100  # PageSize "最小值为1、最大值为100"


class TaskInstanceReader:
    """Read-only actions of 2025-08-06; never sends a mutating one."""

    READ_ACTIONS = frozenset(
        {
            "ListTaskInstances",
            "GetTaskInstance",
            "GetTaskInstanceLog",
            "ListUpstreamTaskInstances",
            "ListDownstreamTaskInstances",
            "GetOpsAsyncJob",
        }
    )

    def __init__(self, client: WeDataClient) -> None:
        self._client = client

    async def _data(self, action: str, params: dict[str, Any], model: type[M]) -> M:
        response = await self._client.call(action, json.dumps(params).encode(), mutating=False)
        data = response.data.get("Data")
        request_id = response.request_id
        if data is None:  # documented as possibly null ("取不到有效值"): nothing known, never an empty answer
            raise ReadFailedError(action, "its answer has no Data", None, 1, request_id=request_id)
        try:
            found = model.model_validate(data)
        except ValidationError:
            raise ReadFailedError(action, "its Data could not be read", None, 1, request_id=request_id) from None
        # A page that counts neither its items nor its pages: whether the listing goes on is unknown (a short
        # page is not taken to mean the end).
        if isinstance(found, TaskInstancePage) and found.TotalCount is None and found.TotalPageNumber is None:
            why = "its Data has neither TotalCount nor TotalPageNumber, so whether the listing is whole is unknown"
            raise ReadFailedError(action, why, None, 1, request_id=request_id)
        return found

    async def page(self, action: str, params: dict[str, Any], page: int, size: int = PAGE_SIZE) -> TaskInstancePage:
        return await self._data(action, params | {"PageNumber": page, "PageSize": size}, TaskInstancePage)

    async def all(self, action: str, params: dict[str, Any], limit: int) -> AsyncIterator[TaskInstance]:
        """Every instance a paged action lists, page by page, stopping after `limit` of them."""
        page, seen, listed = 1, 0, 0
        while True:
            batch = await self.page(action, params, page)
            items = batch.Items or []
            for item in items:
                if seen >= limit:
                    return
                seen += 1
                yield item
            listed += len(items)
            if _last_page(batch, page, listed):
                return
            if not items:  # pages that end before their count: what they left out is unknown, not absent
                raise IncompleteAnswerError(action, listed, batch.TotalCount, page=page, pages=batch.TotalPageNumber)
            page += 1

    async def instance(self, project_id: str, instance_key: str) -> TaskInstance:
        params = {"ProjectId": project_id, "InstanceKey": instance_key}
        return await self._data("GetTaskInstance", params, TaskInstance)

    async def neighbours(
        self, project_id: str, instance_key: str, direction: Literal["up", "down"], limit: int
    ) -> AsyncIterator[TaskInstance]:
        action = "ListUpstreamTaskInstances" if direction == "up" else "ListDownstreamTaskInstances"
        async for item in self.all(action, {"ProjectId": project_id, "InstanceKey": instance_key}, limit):
            yield item

    async def log(self, project_id: str, instance_key: str, cursor: str | None = None) -> InstanceLog:
        params: dict[str, Any] = {"ProjectId": project_id, "InstanceKey": instance_key}
        if cursor is not None:
            params["NextCursor"] = cursor
        return await self._data("GetTaskInstanceLog", params, InstanceLog)

    async def job(self, project_id: str, async_id: str) -> OpsAsyncJobDetail:
        params = {"ProjectId": project_id, "AsyncId": async_id}
        return await self._data("GetOpsAsyncJob", params, OpsAsyncJobDetail)


def _last_page(batch: TaskInstancePage, page: int, listed: int) -> bool:
    """Whether this page is the listing's last: by its TotalCount, else its TotalPageNumber (`page` gives one)."""
    if batch.TotalCount is not None:
        return listed >= batch.TotalCount
    return page >= (batch.TotalPageNumber or 0)
