"""What `rerun_schedule_instances` returns: our own result model, built from the request and its radius."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

from wedata_mcp.guardrail import preview
from wedata_mcp.guardrail import radius as blast
from wedata_mcp.guardrail.batching import BatchOutcome, BatchPlan
from wedata_mcp.guardrail.radius import radius_warnings
from wedata_mcp.models import ACTION, BatchOperateResultOpsDto, RunRerunScheduleInstancesRequest

BODY_SHOWN_UP_TO = 50  # instances; a 1,000-instance body would cost an LLM ~60 KB of context twice over
Status = Literal["dry_run", "executed", "partial", "failed", "already_executed"]

NEXT_STEP_DRY_RUN = (
    "Nothing was sent. Show Summary, BlastRadius and Warnings to the user. Only if they confirm, call "
    "rerun_schedule_instances again with exactly the same arguments plus this ConfirmationToken."
)
NEXT_STEP_UNRESOLVED = (
    "Nothing was sent and no ConfirmationToken was issued, because the selection could not be resolved "
    "into concrete instances. Fix the selection or try the dry run again."
)
# The reference documents no action that reports on a rerun's AsyncActionId (2021-08-20's GetJobStatus takes a
# JobId, and nothing says the two are the same): the instances' states are how to follow a rerun.
NEXT_STEP_EXECUTED = (
    "Sent once. Follow the rerun with get_schedule_instance or find_schedule_instances (the instances' states); "
    "keep the RequestId (and AsyncActionId, if any) for WeData's console or Tencent support."
)
NEXT_STEP_BATCHES = (
    "Batches were sent at most once each. 'unknown' batches may have run: check their instances' states before "
    "rerunning them. 'failed' and 'not_sent' batches did not run: rerun their instances with a new dry run."
)
NEXT_STEP_REPLAYED = "This token was already used; nothing new was sent. This is the recorded outcome."


class RerunResult(BaseModel):
    """The outcome of `rerun_schedule_instances`: a dry-run preview, or the result of the one execution."""

    Status: Status
    Summary: str = Field(description="Plain-language description of what will be (or was) rerun.")
    Warnings: list[str]
    Plan: preview.RerunPlan
    BlastRadius: blast.BlastRadius | None = Field(None, description="Resolved with read-only look-ups at the dry run.")
    Action: str
    Region: str
    Endpoint: str
    Request: dict[str, Any] = Field(description="The normalized request parameters that are signed and sent.")
    RequestBody: str | None = Field(
        description="The exact JSON body bytes that are signed and sent (omitted above "
        f"{BODY_SHOWN_UP_TO} instances to spare context: it is json.dumps(Request), hashed in RequestHash)."
    )
    RequestHash: str = Field(description="SHA-256 of the exact body.")
    ConfirmationToken: str | None = Field(None, description="Pass back, with identical arguments, to execute.")
    ExpiresAt: str | None = Field(None, description="When ConfirmationToken expires (UTC, ISO 8601).")
    Data: BatchOperateResultOpsDto | None = Field(None, description="The API's Data: Result, ErrorId, ...")
    RequestId: str | None = Field(None, description="The API's RequestId for the execution.")
    Batches: list[BatchPlan] | None = Field(None, description="A large rerun's numbered batches (one token).")
    BatchResults: list[BatchOutcome] | None = Field(None, description="Per-batch outcome of a batched rerun.")
    NextStep: str


def request_hash(request: RunRerunScheduleInstancesRequest) -> str:
    """SHA-256 of the exact body: what the audit log and the token refer to."""
    return hashlib.sha256(request.wire_body()).hexdigest()


def build_result(
    status: Status,
    request: RunRerunScheduleInstancesRequest,
    *,
    region: str,
    endpoint: str,
    radius: blast.BlastRadius | None = None,
    **extra: Any,
) -> RerunResult:
    the_plan = preview.plan(request)
    body = request.wire_body()
    summary = preview.summary(request, the_plan)
    if radius is not None and radius.TotalCount is not None:
        summary += (
            f" Resolved: {radius.TotalCount} instance(s) rerun ({radius.DownstreamCount} downstream) in "
            f"{len(radius.ByWorkflow)} workflow(s) and {len(radius.ByProject)} project(s)."
        )
    warnings = preview.warnings(request, the_plan) + (radius_warnings(request, radius) if radius else [])
    return RerunResult(
        Status=status,
        Summary=summary,
        Warnings=warnings,
        Plan=the_plan,
        BlastRadius=radius,
        Action=ACTION,
        Region=region,
        Endpoint=endpoint,
        Request=request.wire_params(),
        RequestBody=body.decode() if len(request.Instances or []) <= BODY_SHOWN_UP_TO else None,
        RequestHash=hashlib.sha256(body).hexdigest(),
        **extra,
    )
