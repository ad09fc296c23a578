"""The batch plan as the preview shows it and the per-batch outcomes as the result reports them: pure views of
`PreparedRerun.batches` (planned once, in `prepare`). Sending them is `sending.py`'s."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.models import BatchOperateResultOpsDto
from wedata_mcp.models.v2025 import OpsAsyncResponse

BatchStatus = Literal["succeeded", "failed", "unknown", "not_sent"]


class BatchPlan(BaseModel):
    Number: int
    Count: int = Field(description="Instances in this batch.")
    First: str = Field(description="First instance, 'TaskId@CurRunDate'.")
    Last: str = Field(description="Last instance, 'TaskId@CurRunDate'.")


class BatchOutcome(BaseModel):
    Number: int
    Count: int
    Status: BatchStatus = Field(
        description="failed: did not run (WeData said so, or the error proves it); unknown: may have run — check "
        "before rerunning; not_sent: safe to rerun."
    )
    RequestId: str | None = None
    Error: str | None = None
    Data: BatchOperateResultOpsDto | None = None
    Instances: list[str] = Field(
        default_factory=lambda: [], description="For batches that did not succeed: their instances, to follow up."
    )
    # RerunTaskInstancesAsync's Data (its AsyncId), kept out of the schema, whose Data is 2021-08-20's.
    _async_data: OpsAsyncResponse | None = PrivateAttr(None)


def plan(prepared: PreparedRerun) -> list[BatchPlan] | None:
    """The numbered batches of a rerun that needs more than one request (None for a single request)."""
    if len(prepared.batches) < 2:
        return None
    return [
        BatchPlan(Number=b.number, Count=len(b.instances), First=b.instances[0], Last=b.instances[-1])
        for b in prepared.batches
    ]


def not_sent(prepared: PreparedRerun) -> list[BatchOutcome]:
    """Every batch as not sent yet; the sender updates them in place as they complete."""
    return [
        BatchOutcome(Number=b.number, Count=len(b.instances), Status="not_sent", Instances=list(b.instances))
        for b in prepared.batches
    ]
