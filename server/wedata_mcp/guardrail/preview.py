"""What a prepared rerun would do, in words and numbers built only from the validated request and the code table."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.models.codes import DEPENDENT_WAY, RERUN_TYPE

MAX_LISTED = 20


class PlannedInstance(BaseModel):
    TaskId: str
    CurRunDate: str
    WorkflowId: str | None = None
    ProjectId: str | None = None


class RerunPlan(BaseModel):
    """The shape of the rerun, at a glance."""

    Selection: Literal["instances", "search_condition"] = Field(
        description="Whether instances are listed explicitly or selected by WeData from SearchCondition."
    )
    SelectedCount: int | None = Field(description="Instances explicitly selected (None: decided by WeData).")
    Instances: list[PlannedInstance] = Field(description=f"The first {MAX_LISTED} selected instances.")
    Reruns: str = Field(description="What reruns: the instances, their downstream, or both.")
    DownstreamScope: str | None = Field(description="How far downstream reaches, when downstream reruns.")
    SkippedChecks: list[str] = Field(description="Safety checks this request turns off.")


def plan(prepared: PreparedRerun) -> RerunPlan:
    listed: list[dict[str, Any]] = prepared.params.get("Instances") or []
    effect = prepared.effect
    reruns = RERUN_TYPE[effect.rerun_type].words
    if "RerunType" in effect.omitted:
        reruns += " (RerunType not set: WeData documents no default, so the widest effect is shown)"
    scope = None
    if effect.scope is not None:
        scope = effect.scope.words
        if "SonInstanceType" in effect.omitted:
            scope += " (SonInstanceType not set: WeData documents no default, so the widest scope is shown)"
    return RerunPlan(
        Selection="instances" if listed else "search_condition",
        SelectedCount=len(listed) if listed else None,
        Instances=[
            PlannedInstance(
                TaskId=i["TaskId"],
                CurRunDate=i["CurRunDate"],
                WorkflowId=i.get("WorkflowId") or None,
                ProjectId=i.get("ProjectId") or None,
            )
            for i in listed[:MAX_LISTED]
        ],
        Reruns=reruns,
        DownstreamScope=scope,
        SkippedChecks=list(effect.skipped_checks),
    )


def summary(prepared: PreparedRerun, the_plan: RerunPlan) -> str:
    if the_plan.SelectedCount:
        first = the_plan.Instances[0]
        what = f"{the_plan.SelectedCount} instance(s), first task {first.TaskId} at {first.CurRunDate}"
    else:
        what = "the instances WeData matches with SearchCondition at execution time"
    text = f"Rerun {what}: reruns {the_plan.Reruns}"
    if the_plan.DownstreamScope:
        text += f", downstream {the_plan.DownstreamScope}"
    way = prepared.request.DependentWay
    if way is not None:
        text += f"; dependency mode: {DEPENDENT_WAY[way]}"
    text += "." if not the_plan.SkippedChecks else "; skipped checks: " + "; ".join(the_plan.SkippedChecks) + "."
    return text


def warnings(prepared: PreparedRerun, the_plan: RerunPlan) -> list[str]:
    effect = prepared.effect
    found: list[str] = []
    if "RerunType" in effect.omitted:
        found.append(
            'RerunType is not set: WeData documents no default, so this may rerun downstream too; set "1" to '
            "rerun only these instances."
        )
    if effect.reruns_downstream:
        found.append("Downstream instances will also rerun (see BlastRadius for those found now).")
        if effect.scope is not None and effect.scope.bound == "linked":
            found.append("The downstream scope crosses workflows and projects (SonInstanceType 3, or not set).")
    if prepared.request.SearchCondition is not None:
        found.append(
            "SearchCondition is resolved by WeData when the rerun runs; it may match other instances "
            "than a search now would."
        )
    found.extend(f"Check skipped: {check}." for check in the_plan.SkippedChecks)
    if the_plan.SelectedCount and the_plan.SelectedCount > MAX_LISTED:
        found.append(f"Only the first {MAX_LISTED} of {the_plan.SelectedCount} instances are listed.")
    return found
