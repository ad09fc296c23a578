"""The tools of WeData API 2025-08-06: the guarded `rerun_task_instances_async` (the same guardrail as 2021-08-20's
rerun, over RerunTaskInstancesAsync's documented request)."""

from pydantic import Field, model_validator

from wedata_mcp.guardrail.results import AsyncRerunResult
from wedata_mcp.models.v2025 import RerunTaskInstancesAsyncRequest
from wedata_mcp.tools.rerun import RerunToolSpec, discard_needs_a_token

DESCRIPTION_2025 = """\
Rerun Tencent Cloud WeData task instances (API action RerunTaskInstancesAsync, 2025-08-06).

Two steps, always:
1. Call WITHOUT ConfirmationToken: a dry run. Nothing is sent; you get a preview (Summary, Plan, \
Warnings, BlastRadius, the exact request) and a ConfirmationToken.
2. Show the preview to the user, then do as its NextStep says: with their yes (or, when the server asks \
them itself, at once), call again with exactly the same arguments plus ConfirmationToken. Exactly one \
request is sent; the token works once and expires. The answer's Data.AsyncId is the job: follow it with follow_rerun.

Select instances with ProjectId and InstanceKeyList (InstanceKey from list_task_instances). \
RerunType "1" reruns only the instances, "2" them and their downstream, "3" only downstream; \
SonRangeType limits downstream: WORKFLOW same workflow, PROJECT same project, ALL across projects. \
An omitted code is previewed as its widest effect."""


class AsyncRerunArguments(RerunTaskInstancesAsyncRequest):
    """RerunTaskInstancesAsync parameters, plus the guardrail's ConfirmationToken."""

    ConfirmationToken: str | None = Field(
        None,
        description="Omit for a dry run. To execute, the token from the dry run of these exact arguments.",
    )
    Discard: bool | None = Field(None, description="true + ConfirmationToken: the user said no.")

    @model_validator(mode="after")
    def _discard_names_its_token(self) -> "AsyncRerunArguments":
        discard_needs_a_token(self.Discard, self.ConfirmationToken)
        return self


RERUN_2025 = RerunToolSpec(
    "rerun_task_instances_async",
    "Rerun WeData task instances (dry run first)",
    DESCRIPTION_2025,
    RerunTaskInstancesAsyncRequest,
    AsyncRerunArguments,
    AsyncRerunResult,
)
