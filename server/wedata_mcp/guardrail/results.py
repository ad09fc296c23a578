"""What `rerun_schedule_instances` returns: our own result model, built from the request and its radius."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from wedata_mcp.guardrail import preview
from wedata_mcp.guardrail import radius as blast
from wedata_mcp.guardrail.batching import BatchOutcome, BatchPlan
from wedata_mcp.guardrail.blast import Resolution
from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.guardrail.radius import radius_warnings
from wedata_mcp.guardrail.tokens import Totals
from wedata_mcp.models import BatchOperateResultOpsDto
from wedata_mcp.models.v2025 import OpsAsyncResponse

RunStatus = Literal["dry_run", "executed", "partial", "failed", "unknown", "already_executed", "discarded"]

NEXT_STEP_DRY_RUN = (
    "Nothing was sent. Show Summary, Plan and Warnings to the user. Only if they confirm, call again with exactly "
    "the same arguments plus this ConfirmationToken; if they say no, the same plus Discard true."
)
# Where the server itself asks the person (WEDATA_MCP_APPROVAL elicit, or auto with a client that can): the model
# does not ask for a second yes; the form does.
NEXT_STEP_DRY_RUN_ELICIT = (
    "Nothing was sent. Show Summary, Plan and Warnings to the user. To go ahead, call again with exactly the same "
    "arguments plus this ConfirmationToken: the server then asks the user to confirm in their client before "
    "anything is sent. If the user already said no, call with the same plus Discard true."
)
NEXT_STEP_DRY_RUN_REFUSE = (
    "Nothing was sent. Show Summary, Plan and Warnings to the user. This server requires a person to confirm "
    "through MCP elicitation (WEDATA_MCP_APPROVAL=elicit), which this client did not declare, so the rerun cannot "
    "be executed from this client; tell the user so. If they do not want it, call with the same arguments plus "
    "this ConfirmationToken and Discard true."
)
NEXT_STEP_UNRESOLVED = (
    "Nothing was sent and no ConfirmationToken was issued: the server could not establish what this rerun "
    "touches (Warnings say why; BlastRadius.NotFound and BlastRadius.Unresolved say which instances). Fix the "
    "selection or try the dry run again."
)
NEXT_STEP_NOTHING = (
    "Nothing was sent and no ConfirmationToken was issued: this request would rerun no instance (see Summary). "
    "Tell the user; a wider RerunType or SonInstanceType, or another selection, would."
)
NEXT_STEP_REFUSED = (
    "Sent once, and WeData answered Result false: it did not accept the rerun (see Data.ErrorId and ErrorDesc). "
    "Nothing was retried; fix the cause, then make a new dry run."
)
NEXT_STEP_UNREADABLE = (
    "Sent once, but WeData's answer could not be read, so whether the rerun was accepted is unknown. Check the "
    "instances' states (get_schedule_instance) before doing anything else; keep the RequestId for Tencent support."
)
# The reference documents no action that reports on a rerun's AsyncActionId (2021-08-20's GetJobStatus takes a
# JobId, and nothing says the two are the same): the instances' states are how to follow a rerun (follow_rerun).
NEXT_STEP_EXECUTED = (
    "Sent once. Follow the rerun with follow_rerun (this RequestId, or a batch's from BatchResults; WaitSeconds "
    "waits for the end): the states of the instances it reran and of those waiting on it. Keep the RequestId "
    "(and AsyncActionId, if any) for WeData's console or Tencent support."
)
NEXT_STEP_BATCHES = (
    "Batches were sent at most once each. 'unknown' batches may have run: check their instances' states before "
    "rerunning them. 'failed' and 'not_sent' batches did not run: rerun their instances with a new dry run."
)
NEXT_STEP_DISCARDED = (
    "Nothing was sent, and this ConfirmationToken can no longer be used. If the user changes their mind, start "
    "with a new dry run."
)
NEXT_STEP_REPLAYED = (
    "This token was already used; nothing new was sent. This is the outcome of its first use, which said:"
)


class RerunResult(BaseModel):
    """The outcome of `rerun_schedule_instances`: a dry-run preview, or the result of the one execution."""

    Status: RunStatus = Field(
        description="A used token presented again replays its outcome and sends nothing: already_executed if it was "
        "executed; failed, unknown or partial as they were."
    )
    Summary: str = Field(description="The headline: how many instances rerun, selected + downstream, by project.")
    Warnings: list[str]
    Plan: preview.RerunPlan
    BlastRadius: blast.BlastRadius | None = Field(None, description="Resolved with read-only look-ups at the dry run.")
    Action: str
    Region: str
    Endpoint: str
    Request: dict[str, Any] = Field(description="The normalized request: its json.dumps is the exact body sent.")
    RequestHash: str = Field(description="SHA-256 of the exact body.")
    ConfirmationToken: str | None = Field(None, description="Pass back, with identical arguments, to execute.")
    ExpiresAt: str | None = Field(None, description="When ConfirmationToken expires (UTC, ISO 8601).")
    Data: BatchOperateResultOpsDto | None = Field(None, description="The API's Data: Result, ErrorId, ...")
    RequestId: str | None = Field(None, description="The API's RequestId for the execution.")
    Batches: list[BatchPlan] | None = Field(None, description="A large rerun's numbered batches (one token).")
    BatchResults: list[BatchOutcome] | None = Field(None, description="Per-batch outcome of a batched rerun.")
    NextStep: str


class AsyncRerunResult(RerunResult):
    """The outcome of `rerun_task_instances_async` (API 2025-08-06): the same result, with that version's plan
    (instances by InstanceKey) and Data (the asynchronous job's AsyncId)."""

    # Narrower types for this version's own tool schema; RerunResult's (2021-08-20's) stays as it was.
    Plan: preview.KeyedRerunPlan  # pyright: ignore[reportIncompatibleVariableOverride]
    Data: OpsAsyncResponse | None = Field(  # pyright: ignore[reportIncompatibleVariableOverride]
        None, description="The API's Data: AsyncId, the job to follow (follow_rerun, GetOpsAsyncJob)."
    )


NextStep = Literal[
    "dry_run",
    "dry_run_elicit",
    "dry_run_refuse",
    "unresolved",
    "nothing",
    "refused",
    "unreadable",
    "executed",
    "batches",
    "discarded",
    "replayed",
]
_NEXT_2021: dict[NextStep, str] = {
    "dry_run": NEXT_STEP_DRY_RUN,
    "dry_run_elicit": NEXT_STEP_DRY_RUN_ELICIT,
    "dry_run_refuse": NEXT_STEP_DRY_RUN_REFUSE,
    "unresolved": NEXT_STEP_UNRESOLVED,
    "nothing": NEXT_STEP_NOTHING,
    "refused": NEXT_STEP_REFUSED,
    "unreadable": NEXT_STEP_UNREADABLE,
    "executed": NEXT_STEP_EXECUTED,
    "batches": NEXT_STEP_BATCHES,
    "discarded": NEXT_STEP_DISCARDED,
    "replayed": NEXT_STEP_REPLAYED,
}
_NEXT_2025: dict[NextStep, str] = {
    **_NEXT_2021,
    "dry_run": NEXT_STEP_DRY_RUN.replace("rerun_schedule_instances", "rerun_task_instances_async"),
    "unreadable": (
        "Sent once, but WeData's answer carried no AsyncId, so whether the rerun was accepted is unknown. Check "
        "the instances' states (get_task_instance) before doing anything else; keep the RequestId for Tencent support."
    ),
    "executed": (
        "Sent once. Follow the rerun with follow_rerun (Data.AsyncId: GetOpsAsyncJob's status and counts, then the "
        "instances' states); keep the RequestId and AsyncId for WeData's console or Tencent support."
    ),
}


def next_step(prepared: PreparedRerun, kind: NextStep) -> str:
    """What the model should do next, in the words of the prepared request's own tool."""
    return (_NEXT_2025 if prepared.api.by_key else _NEXT_2021)[kind]


def result_model(prepared: PreparedRerun) -> type[RerunResult]:
    return AsyncRerunResult if prepared.api.by_key else RerunResult


def shown_endpoint(endpoint: str) -> str:
    """The endpoint as a person may see it: without any `user:password@`."""
    parts = urlsplit(endpoint)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


# What is true once the request has left, by outcome; the dry run's numbers follow as what was previewed.
_AFTER_SENDING: dict[str, str] = {
    "executed": "Sent once; WeData accepted the rerun.",
    "failed": "Sent once; WeData refused it (Result false): nothing reran.",
    "unknown": "Sent once; whether WeData accepted it is unknown.",
    "partial": "Sent in batches; some were accepted, some not (see BatchResults).",
    "discarded": "Discarded as the user asked: nothing was sent.",
}
UNRESOLVED_HEADLINE = "How many instances would rerun could not be established (see Warnings)."


def summary_of(status: RunStatus, totals: Totals | None) -> str:
    """The headline for a dry run; after sending, what is true now, then the headline as previewed."""
    told = preview.headline(totals) if totals is not None else None
    if status == "dry_run":
        return told or UNRESOLVED_HEADLINE
    after = _AFTER_SENDING.get(status, "")
    return f"{after} Previewed: {told}" if told else after


def build_result(
    status: RunStatus,
    prepared: PreparedRerun,
    *,
    found: Resolution | None = None,
    radius: blast.BlastRadius | None = None,
    totals: Totals | None = None,
    step: NextStep,
    **extra: Any,
) -> RerunResult:
    selected = found.selected or [] if found is not None else []
    warnings: list[str] = []
    if status == "dry_run":  # after sending, only what is true then (the preview's warnings were shown before)
        warnings = preview.warnings(prepared) + preview.state_warnings(prepared, found)
        warnings += radius_warnings(prepared, radius, found) if radius and found else []
    return result_model(prepared)(
        Status=status,
        Summary=summary_of(status, totals),
        Warnings=warnings,
        Plan=preview.plan(prepared, selected),
        BlastRadius=radius,
        Action=prepared.where.action,
        Region=prepared.where.region,
        Endpoint=shown_endpoint(prepared.where.endpoint),
        Request=prepared.params,
        RequestHash=prepared.body_hash,
        NextStep=next_step(prepared, step),
        **extra,
    )
