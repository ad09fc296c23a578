"""Large reruns as numbered batches: planned at preview (one token covers the plan), sent within the rate
limit with progress, each batch audited as it completes. A batch whose outcome is unknown is never re-sent."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
import anyio.lowlevel
from pydantic import BaseModel, Field

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.cloud.errors import CloudAPIError, OutcomeUnknownError, WeDataError
from wedata_mcp.guardrail.audit import AuditSink
from wedata_mcp.models import ACTION, BatchOperateResultOpsDto, RunRerunScheduleInstancesRequest
from wedata_mcp.models.base import wire_datetime

DEFAULT_BATCH_SIZE = 100
IN_FLIGHT = 4  # batches in flight at once; the per-action rate limiter decides the pace
Progress = Callable[[int, int, str], Awaitable[None]]


class BatchingError(Exception):
    """The request cannot be split safely; `str()` says what to do instead."""


class BatchPlan(BaseModel):
    Number: int
    Count: int = Field(description="Instances in this batch.")
    First: str = Field(description="First instance, 'TaskId@CurRunDate'.")
    Last: str = Field(description="Last instance, 'TaskId@CurRunDate'.")


class BatchOutcome(BaseModel):
    Number: int
    Count: int
    Status: Literal["succeeded", "failed", "unknown", "not_sent"] = Field(
        description="unknown: may have run — check before rerunning; not_sent: safe to rerun."
    )
    RequestId: str | None = None
    Error: str | None = None
    Data: BatchOperateResultOpsDto | None = None
    Instances: list[str] = Field(
        default_factory=lambda: [], description="For batches that did not succeed: their instances, to follow up."
    )


def _name(request: RunRerunScheduleInstancesRequest, index: int) -> str:
    instance = (request.Instances or [])[index]
    return f"{instance.TaskId}@{wire_datetime(instance.CurRunDate)}"


def split(request: RunRerunScheduleInstancesRequest, size: int) -> list[RunRerunScheduleInstancesRequest]:
    """The batches, each the same request with a slice of `Instances` (deterministic, in order)."""
    instances = request.Instances or []
    if len(instances) <= size:
        return [request]
    if request.RerunType in ("2", "3"):
        # Downstream of instances in different batches can overlap: it would rerun more than once.
        raise BatchingError(
            f"{len(instances)} instances with downstream (RerunType {request.RerunType}) exceed one request "
            f"({size}); rerun them with RerunType 1 in batches, or select fewer instances"
        )
    return [request.model_copy(update={"Instances": instances[i : i + size]}) for i in range(0, len(instances), size)]


def plan(batches: list[RunRerunScheduleInstancesRequest]) -> list[BatchPlan]:
    return [
        BatchPlan(Number=n, Count=len(b.Instances or []), First=_name(b, 0), Last=_name(b, len(b.Instances or []) - 1))
        for n, b in enumerate(batches, start=1)
    ]


def not_sent(batches: list[RunRerunScheduleInstancesRequest]) -> list[BatchOutcome]:
    """Every batch as not sent yet; `send_batches` updates them in place as they complete."""
    return [
        BatchOutcome(
            Number=n,
            Count=len(b.Instances or []),
            Status="not_sent",
            Instances=[_name(b, i) for i in range(len(b.Instances or []))],
        )
        for n, b in enumerate(batches, start=1)
    ]


async def send_batches(
    client: WeDataClient,
    batches: list[RunRerunScheduleInstancesRequest],
    outcomes: list[BatchOutcome],
    *,
    audit: AuditSink,
    audit_fields: dict[str, Any],
    stop_on_failure: bool,
    progress: Progress | None,
    in_flight: int = IN_FLIGHT,
) -> None:
    """Send every batch at most once, updating `outcomes`. Stops starting new batches on cancellation, or
    after a failed or unknown one when `stop_on_failure` (batches already in flight then still complete);
    what was not started stays `not_sent`."""
    queue = list(range(len(batches)))
    state = {"stop": False, "done": 0}

    async def send(index: int) -> None:
        batch, outcome = batches[index], outcomes[index]
        body = batch.wire_body()
        fields = audit_fields | {
            "batch": outcome.Number,
            "batches": len(batches),
            "request_hash": hashlib.sha256(body).hexdigest(),
            "instances": outcome.Count,
        }
        audit.write("sending", **fields)
        try:
            response = await client.call(ACTION, body, mutating=True)
        except WeDataError as exc:
            unknown = isinstance(exc, OutcomeUnknownError)
            outcome.Status = "unknown" if unknown else "failed"
            outcome.Error = str(exc)
            outcome.RequestId = exc.request_id if isinstance(exc, CloudAPIError | OutcomeUnknownError) else None
            audit.write(
                "outcome_unknown" if unknown else "failed",
                **fields,
                error=str(exc),
                code=getattr(exc, "code", None),
                request_id=outcome.RequestId,
            )
            state["stop"] = state["stop"] or stop_on_failure
        else:
            outcome.Status, outcome.Instances = "succeeded", []
            outcome.RequestId = response.request_id
            outcome.Data = BatchOperateResultOpsDto.model_validate(response.data.get("Data") or {})
            audit.write("executed", **fields, request_id=response.request_id, result=outcome.Data.Result)
        state["done"] += 1
        if progress is not None:
            await progress(state["done"], len(batches), f"batch {outcome.Number}/{len(batches)}: {outcome.Status}")

    async def worker() -> None:
        while queue and not state["stop"]:
            await anyio.lowlevel.checkpoint()  # a cancelled call starts no new batch
            index = queue.pop(0)
            # Shielded: a batch that may be on the wire always gets its outcome recorded.
            with anyio.CancelScope(shield=True):
                await send(index)

    async with anyio.create_task_group() as group:
        for _ in range(min(in_flight, len(batches))):
            group.start_soon(worker)
