"""Who confirms a rerun: a human through MCP elicitation, or the token round trip through the client's own
tool-approval prompt. Pure decisions and texts here; the MCP plumbing lives in the tools layer."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from wedata_mcp.guardrail import preview
from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.guardrail.tokens import Totals
from wedata_mcp.models.codes import DATA_TIME_ORDER, DEPENDENT_WAY

ApprovalMode = Literal["auto", "elicit", "token"]
Channel = Literal["elicit", "token", "refuse"]
LISTED = 10


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


def _quoted(value: Any, limit: int = 80) -> str:
    """A value from the request as one JSON-quoted line: nothing in it can start a line of its own."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fingerprint(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return f"{len(text)} characters, sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}"


def approval_message(prepared: PreparedRerun, totals: Totals | None) -> str:
    """What the person is asked, built only from the validated request, the code table and the totals the
    server signed into the token at the dry run; nothing from the cloud, and no free text from the model (its
    identifiers are quoted; its custom parameters are named with a fingerprint)."""
    the_plan = preview.plan(prepared)
    params = prepared.params
    lines = [f"Confirm a WeData rerun in region {_quoted(prepared.where.region)}."]
    if totals is not None:
        lines.append(preview.headline(totals))  # the preview's own headline: project labels are plain names or IDs
        if len(totals.by_project) > 1:
            lines.append(f"Warning: the rerun crosses {len(totals.by_project)} projects.")
    if the_plan.RequestedCount:
        lines.append(f"Instances selected: {the_plan.RequestedCount}.")
        if isinstance(the_plan, preview.KeyedRerunPlan):
            lines.extend(f"  - instance {_quoted(i.InstanceKey)}" for i in the_plan.Instances[:LISTED])
        else:
            lines.extend(f"  - task {_quoted(i.TaskId)} at {i.CurRunDate}" for i in the_plan.Instances[:LISTED])
        if the_plan.RequestedCount > LISTED:
            lines.append(f"  - ... and {the_plan.RequestedCount - LISTED} more")
    else:
        lines.append("Instances: chosen by WeData from a search condition when the rerun runs.")
    lines.append(f"Reruns: {the_plan.Reruns}.")
    if the_plan.DownstreamScope:
        lines.append(f"Downstream: {the_plan.DownstreamScope}.")
    if "DependentWay" in params:
        lines.append(f"Dependency mode: {DEPENDENT_WAY[params['DependentWay']]}.")
    if "DataTimeOrder" in params:
        order = params["DataTimeOrder"]
        lines.append(f"Order: {DATA_TIME_ORDER[order]}{' data time' if order else ''}.")
    lines.extend(f"Not set: {field} = {words}." for field, words in the_plan.Omitted.items())
    lines.extend(f"Skipped check: {check}." for check in prepared.effect.skipped_checks)
    # Parameters that change how the rerun runs, beyond what and how far: named whenever given.
    lines.extend(f"{name}: {_quoted(params[name])}." for name in prepared.api.how if name in params)
    custom = [name for name in prepared.api.custom if name in params]
    if custom:
        # Named, never shown: their text is the model's, and no instruction in it may reach this question.
        lines.append("Custom parameters are set (their values are in the preview's Request):")
        lines.extend(f"  - {name}: {_fingerprint(params[name])}" for name in custom)
    lines.append("This restarts production data jobs and cannot be undone.")
    return "\n".join(lines)
