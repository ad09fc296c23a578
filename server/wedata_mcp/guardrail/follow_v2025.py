"""Following a RerunTaskInstancesAsync once it was sent (API 2025-08-06): its job, found in the audit by AsyncId among
the asking person's own executions (DESIGN.md invariant 7), and read with GetOpsAsyncJob."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from wedata_mcp.cloud.errors import WeDataError
from wedata_mcp.cloud.reader_v2025 import TaskInstanceReader
from wedata_mcp.guardrail.audit import principal_of
from wedata_mcp.guardrail.blast import reason
from wedata_mcp.guardrail.follow import SCANNED, AuditLog, ExecutionNotFoundError
from wedata_mcp.models.v2025 import RERUN_ACTION_2025, OpsAsyncJobDetail, TaskInstance


@dataclass(frozen=True, slots=True)
class AsyncExecution:
    """One accepted RerunTaskInstancesAsync, as the audit recorded it."""

    async_id: str
    project_id: str
    request_id: str | None
    token_id: str | None
    instance_keys: tuple[str, ...]  # the selection, as the audited request named it


class JobFollower:
    """Finds a person's asynchronous reruns in the audit and reads their jobs."""

    def __init__(self, audit: AuditLog | None, reader: TaskInstanceReader) -> None:
        self._audit = audit
        self._reader = reader

    def execution(self, async_id: str, *, principal: str) -> AsyncExecution:
        """The principal's own execution whose job is `async_id`; raises ExecutionNotFoundError otherwise."""
        if self._audit is None:
            raise ExecutionNotFoundError("this server's audit log cannot be read back")
        mine = self._audit.recent(
            SCANNED,
            where=lambda r: principal_of(r) == principal and r.get("action") == RERUN_ACTION_2025,
        )
        executed = next((r for r in mine if r.get("event") == "executed" and r.get("async_id") == async_id), None)
        if executed is None:
            raise ExecutionNotFoundError(f"AsyncId {async_id} is not one of your reruns in the last {SCANNED} records")
        token_id = executed.get("token_id")
        sent = next((r for r in mine if r.get("event") == "sending" and r.get("token_id") == token_id), None)
        request: object = (sent or {}).get("request")
        project = cast(dict[str, object], request).get("ProjectId") if isinstance(request, dict) else None
        if not isinstance(project, str) or not project:
            raise ExecutionNotFoundError(f"the audit does not say which project AsyncId {async_id} ran in")
        request_id = executed.get("request_id")
        listed: object = cast(dict[str, object], request).get("InstanceKeyList")
        keys = tuple(str(k) for k in cast(list[object], listed)) if isinstance(listed, list) else ()
        return AsyncExecution(
            async_id,
            project,
            request_id if isinstance(request_id, str) else None,
            str(token_id) if token_id else None,
            keys,
        )

    async def job(self, execution: AsyncExecution) -> OpsAsyncJobDetail:
        """The job as WeData reports it now (raises WeDataError when it cannot be read)."""
        return await self._reader.job(execution.project_id, execution.async_id)

    async def selected(self, execution: AsyncExecution, limit: int) -> tuple[list[TaskInstance], list[str]]:
        """The first `limit` selected instances as WeData reports them now, and what could not be read (a job's
        status says how the asynchronous operation went; the instances' own states say how their runs went)."""
        found: list[TaskInstance] = []
        unread: list[str] = []
        for key in execution.instance_keys[:limit]:
            try:
                found.append(await self._reader.instance(execution.project_id, key))
            except WeDataError as exc:
                unread.append(f"{key}: {reason(exc)}")
        return found, unread
