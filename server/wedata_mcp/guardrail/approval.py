"""Who confirms a rerun: a human through MCP elicitation, or the token round trip through the client's own
tool-approval prompt. Pure decisions and texts here; the MCP plumbing lives in the tools layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from wedata_mcp.guardrail import preview
from wedata_mcp.guardrail.prepared import PreparedRerun

ApprovalMode = Literal["auto", "elicit", "token"]
Channel = Literal["elicit", "token", "refuse"]


class RerunApproval(BaseModel):
    """The form a person answers (elicitation): one explicit yes."""

    confirm: bool = Field(description="Rerun these instances now?")


def channel(mode: ApprovalMode, client_can_elicit: bool) -> Channel:
    """`elicit`: a human must answer through the client (refuse if it cannot ask); `token`: the client's own
    tool approval is the human step; `auto`: elicit where the client can, else token."""
    if mode == "token":
        return "token"
    if client_can_elicit:
        return "elicit"
    return "refuse" if mode == "elicit" else "token"


REFUSED_NO_CHANNEL = (
    "not executed: WEDATA_MCP_APPROVAL=elicit requires a person to confirm through the MCP client, and this "
    "client did not declare form elicitation. Use a client that supports elicitation, or ask the server's "
    "operator to set WEDATA_MCP_APPROVAL=token."
)


def approval_message(prepared: PreparedRerun) -> str:
    """What the person is asked, built only from the validated request's identifiers and codes: no free text
    from the model (names, operator, parameters) and nothing from the cloud."""
    the_plan = preview.plan(prepared)
    lines = [f"Confirm a WeData rerun in region {prepared.where.region}."]
    if the_plan.SelectedCount:
        lines.append(f"Instances selected: {the_plan.SelectedCount}.")
        lines.extend(f"  - task {i.TaskId} at {i.CurRunDate}" for i in the_plan.Instances[:10])
        if the_plan.SelectedCount > 10:
            lines.append(f"  - ... and {the_plan.SelectedCount - 10} more")
    else:
        lines.append("Instances: chosen by WeData from a search condition when the rerun runs.")
    lines.append(f"Reruns: {the_plan.Reruns}.")
    if the_plan.DownstreamScope:
        lines.append(f"Downstream: {the_plan.DownstreamScope}.")
    lines.extend(f"Skipped check: {check}." for check in the_plan.SkippedChecks)
    lines.append("This restarts production data jobs and cannot be undone.")
    return "\n".join(lines)
