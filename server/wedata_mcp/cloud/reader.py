"""Typed read-only WeData calls: DescribeScheduleInstances (paged, with SearchCondition) and the last log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.models.describe import CollectionInstanceOpsDto, InstanceOpsView

PAGE_SIZE = 100


class WeDataReader:
    """Read-only actions; never sends a mutating one (a test proves it with a transport spy)."""

    READ_ACTIONS = frozenset({"DescribeScheduleInstances", "DescribeInstanceLastLog"})

    def __init__(self, client: WeDataClient) -> None:
        self._client = client

    async def _read(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.call(action, json.dumps(params).encode(), mutating=False)
        return response.data

    async def instances_page(
        self, search: dict[str, Any], page: int, page_size: int, project_id: str | None = None
    ) -> CollectionInstanceOpsDto:
        params: dict[str, Any] = {"SearchCondition": search, "PageIndex": page, "PageSize": page_size}
        if project_id:
            params["ProjectId"] = project_id
            params["ProjectIdent"] = project_id
        data = await self._read("DescribeScheduleInstances", params)
        return CollectionInstanceOpsDto.model_validate(data.get("Data") or {})

    async def all_instances(
        self, search: dict[str, Any], limit: int, project_id: str | None = None
    ) -> AsyncIterator[InstanceOpsView]:
        """Every instance matching `search`, page by page, stopping after `limit` of them."""
        page, seen = 1, 0
        while True:
            batch = await self.instances_page(search, page, PAGE_SIZE, project_id)
            for item in batch.Items:
                if seen >= limit:
                    return
                seen += 1
                yield item
            if not batch.Items or page * PAGE_SIZE >= batch.TotalCount:
                return
            page += 1

    async def last_log(self, task_id: str, cur_run_date: str) -> str:
        data = await self._read("DescribeInstanceLastLog", {"TaskId": task_id, "CurRunDate": cur_run_date})
        log = data.get("Data")
        return log if isinstance(log, str) else ""
