"""Typed read-only WeData calls, each inside a project: DescribeScheduleInstances, DagInstances, the last log.

Project scope (issue 13.1). The SDK marks three parameters of `DescribeScheduleInstancesRequest` 【必要参数】:
`ProjectIdent` ("项目ID"), `PageIndex` and `PageSize`; its `ProjectIds` (the multi-project form) is marked
【已废弃参数】 (deprecated), so a question across projects asks each configured project in turn, in the order
configured. `ProjectId` ("项目ID") is sent beside `ProjectIdent` (the project's own scope). Without a configured
project there is nothing to ask: the one 2021-08-20 action that lists projects, `DescribeTenantProjects`, says
"租户全局范围的项目列表，与用户查看范围无关" (the tenant's projects, whatever the caller may see), so it cannot tell
which projects these credentials can read, and the reader refuses with `NoProjectError` instead.

`DagInstances` ("拉取dag实例", https://cloud.tencent.com/document/product/1267/95230) documents no required
parameter; it is sent with `ProjectId` and its paging (`PageIndex`, `PageSize`) all the same.
`DescribeInstanceLastLog` documents only `TaskId` and `CurRunDate` (no project): nothing else is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from wedata_mcp.cloud.client import ApiResponse, WeDataClient
from wedata_mcp.cloud.errors import IncompleteAnswerError, NoProjectError, ReadFailedError
from wedata_mcp.models import InstanceApiOpsRequest
from wedata_mcp.models.describe import (
    CollectionInstanceOpsDto,
    DagAnchor,
    DagCondition,
    DagInstancesQuery,
    DescribeInstanceLastLogQuery,
    DescribeScheduleInstancesQuery,
    InstanceOpsView,
)

PAGE_SIZE = 100
SCHEDULE_INSTANCES = "DescribeScheduleInstances"
DAG_INSTANCES = "DagInstances"
LAST_LOG = "DescribeInstanceLastLog"


class WeDataReader:
    """Read-only actions; never sends a mutating one (a test proves it with a transport spy)."""

    READ_ACTIONS = frozenset({SCHEDULE_INSTANCES, DAG_INSTANCES, LAST_LOG})

    def __init__(self, client: WeDataClient, projects: tuple[str, ...] = ()) -> None:
        self._client = client
        self.projects = projects

    def scope(self, project_id: str | None = None) -> tuple[str, ...]:
        """The projects a question covers: the one it names, else every configured one. Raises NoProjectError."""
        if project_id:
            return (project_id,)
        if not self.projects:
            raise NoProjectError()
        return self.projects

    async def _read(self, action: str, query: BaseModel) -> ApiResponse:
        params = query.model_dump(mode="json", exclude_none=True)
        return await self._client.call(action, json.dumps(params).encode(), mutating=False)

    async def _listing(self, action: str, query: BaseModel) -> CollectionInstanceOpsDto:
        """A listing's `Data`. The SDK documents it may be null ("取不到有效值": no valid value could be had): an
        answer without it, or with one that does not read as a listing, is a failed read, never "no instances"."""
        response = await self._read(action, query)
        data = response.data.get("Data")
        request_id = response.request_id
        if not isinstance(data, dict):
            raise ReadFailedError(action, "its answer has no Data", None, 1, request_id=request_id)
        # Without TotalCount, what the pages hold and whether they end is unknown: never "0 instances".
        if cast(dict[str, Any], data).get("TotalCount") is None:
            why = "its Data has no TotalCount, so whether the listing is whole is unknown"
            raise ReadFailedError(action, why, None, 1, request_id=request_id)
        try:
            return CollectionInstanceOpsDto.model_validate(data)
        except ValidationError:
            raise ReadFailedError(action, "its Data could not be read", None, 1, request_id=request_id) from None

    async def _page(self, search: dict[str, Any], page: int, page_size: int, project: str) -> CollectionInstanceOpsDto:
        query = DescribeScheduleInstancesQuery(
            SearchCondition=InstanceApiOpsRequest.model_validate(search),
            ProjectId=project,
            ProjectIdent=project,  # 【必要参数】, documented as "项目ID"
            PageIndex=page,
            PageSize=page_size,
        )
        return await self._listing(SCHEDULE_INSTANCES, query)

    async def instances_page(
        self, search: dict[str, Any], page: int, page_size: int, project_id: str | None = None
    ) -> CollectionInstanceOpsDto:
        """Page `page` of the instances matching `search` in `project_id`, or across every configured project
        (one listing, project after project); `TotalCount` counts them all."""
        scope = self.scope(project_id)
        if len(scope) == 1:
            return await self._page(search, page, page_size, scope[0])
        start, items, before = (page - 1) * page_size, list[InstanceOpsView](), 0
        for project in scope:
            # Every project answers once at least: its TotalCount places the next project in the listing.
            local = max(start + len(items) - before, 0)
            index = local // page_size + 1
            found = await self._page(search, index, page_size, project)
            if len(items) < page_size and local < found.TotalCount:
                skip = local - (index - 1) * page_size
                items += found.Items[skip : skip + page_size - len(items)]
                if len(items) < page_size and index * page_size < found.TotalCount:
                    more = await self._page(search, index + 1, page_size, project)
                    items += more.Items[: page_size - len(items)]
            before += found.TotalCount
        return CollectionInstanceOpsDto(TotalCount=before, PageNumber=page, PageSize=page_size, Items=items)

    async def all_instances(
        self, search: dict[str, Any], limit: int, project_id: str | None = None
    ) -> AsyncIterator[InstanceOpsView]:
        """Every instance matching `search`, project by project and page by page, stopping after `limit`."""
        seen = 0
        for project in self.scope(project_id):
            page, listed = 1, 0
            while True:
                batch = await self._page(search, page, PAGE_SIZE, project)
                for item in batch.Items:
                    if seen >= limit:
                        return
                    seen += 1
                    yield item
                listed += len(batch.Items)
                if listed >= batch.TotalCount:
                    break
                if not batch.Items or page * PAGE_SIZE >= batch.TotalCount:
                    # Pages that end before their count: what they left out is unknown, never "nothing more".
                    raise IncompleteAnswerError(SCHEDULE_INSTANCES, listed, batch.TotalCount)
                page += 1

    async def dag_page(
        self, task_id: str, cur_run_date: str, dag_type: str, page: int, project_id: str | None = None
    ) -> CollectionInstanceOpsDto:
        """One page of an instance's parents (`dag_type` "1") or children ("2"), one level deep, by DagInstances.

        Its SearchCondition is the documented example's shape: `{"Instance": {TaskId, CurRunDate}, "DagType",
        "DagDependent", "DagDepth"}` ("查询条件,当前接口需要把要查询的示例信息放在该字段"). `DagDependent` "3"
        (所有依赖, self and task dependencies) is the widest: what a rerun may reach is never narrowed by a guess.
        The project is the instance's own (else the default one)."""
        query = DagInstancesQuery(
            SearchCondition=DagCondition(
                Instance=DagAnchor.model_validate({"TaskId": task_id, "CurRunDate": cur_run_date}),
                DagType="1" if dag_type == "1" else "2",
                DagDependent="3",
                DagDepth=1,
            ),
            ProjectId=self.scope(project_id)[0],
            PageIndex=page,
            PageSize=PAGE_SIZE,
        )
        return await self._listing(DAG_INSTANCES, query)

    async def last_log(self, task_id: str, cur_run_date: str) -> str | None:
        """The instance's last log (documented as a string), or None when the answer carries none that reads."""
        query = DescribeInstanceLastLogQuery.model_validate({"TaskId": task_id, "CurRunDate": cur_run_date})
        log = (await self._read(LAST_LOG, query)).data.get("Data")
        return log if isinstance(log, str) else None
