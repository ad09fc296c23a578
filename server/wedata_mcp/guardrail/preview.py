"""What a rerun request would do, in words and numbers built only from the request itself."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.models.base import wire_datetime

MAX_LISTED = 20

RERUN_TYPES = {
    "1": "the selected instances only",
    "2": "the selected instances and their downstream instances",
    "3": "only the downstream instances of the selected ones (not the selected ones)",
}
DOWNSTREAM_SCOPES = {
    "1": "within the same workflow",
    "2": "within the same project",
    "3": "across every project linked by cross-workflow dependencies",
}
DEPENDENT_WAYS = {"1": "self-dependency", "2": "task dependency", "3": "self-dependency and parent/child dependency"}


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


def plan(request: RunRerunScheduleInstancesRequest) -> RerunPlan:
    instances = request.Instances or []
    rerun_type = request.RerunType
    downstream = rerun_type in ("2", "3")
    return RerunPlan(
        Selection="instances" if instances else "search_condition",
        SelectedCount=len(instances) if instances else None,
        Instances=[
            PlannedInstance(
                TaskId=i.TaskId,
                CurRunDate=wire_datetime(i.CurRunDate),
                WorkflowId=i.WorkflowId or None,
                ProjectId=i.ProjectId or None,
            )
            for i in instances[:MAX_LISTED]
        ],
        Reruns=RERUN_TYPES[rerun_type] if rerun_type else "WeData's default (RerunType not set)",
        DownstreamScope=(
            DOWNSTREAM_SCOPES.get(request.SonInstanceType or "", "WeData's default scope") if downstream else None
        ),
        SkippedChecks=skipped_checks(request),
    )


def skipped_checks(request: RunRerunScheduleInstancesRequest) -> list[str]:
    skipped: list[str] = []
    if request.CheckFather is False:
        skipped.append("upstream (parent) completion is not checked (CheckFather=false)")
    if request.CheckParentType == "NONE":
        skipped.append("no upstream task is checked (CheckParentType=NONE)")
    if request.SkipEventListening:
        skipped.append("event listening is ignored (SkipEventListening=true)")
    return skipped


def summary(request: RunRerunScheduleInstancesRequest, the_plan: RerunPlan) -> str:
    if the_plan.SelectedCount:
        first = the_plan.Instances[0]
        what = f"{the_plan.SelectedCount} instance(s), first task {first.TaskId} at {first.CurRunDate}"
    else:
        what = "the instances WeData matches with SearchCondition at execution time"
    text = f"Rerun {what}: reruns {the_plan.Reruns}"
    if the_plan.DownstreamScope:
        text += f", downstream {the_plan.DownstreamScope}"
    if request.DependentWay:
        text += f"; dependency mode: {DEPENDENT_WAYS[request.DependentWay]}"
    text += "." if not the_plan.SkippedChecks else "; skipped checks: " + "; ".join(the_plan.SkippedChecks) + "."
    return text


def warnings(request: RunRerunScheduleInstancesRequest, the_plan: RerunPlan) -> list[str]:
    found: list[str] = []
    if request.RerunType is None:
        found.append('RerunType is not set: WeData applies its own default; set "1" to rerun only these instances.')
    if the_plan.DownstreamScope:
        found.append("Downstream instances will also rerun (see BlastRadius for those found now).")
    if request.SonInstanceType == "3" and the_plan.DownstreamScope:
        found.append("The downstream scope crosses workflows and projects (SonInstanceType=3).")
    if request.SearchCondition is not None:
        found.append(
            "SearchCondition is resolved by WeData when the rerun runs; it may match other instances "
            "than a search now would."
        )
    found.extend(f"Check skipped: {check}." for check in the_plan.SkippedChecks)
    if the_plan.SelectedCount and the_plan.SelectedCount > MAX_LISTED:
        found.append(f"Only the first {MAX_LISTED} of {the_plan.SelectedCount} instances are listed.")
    return found
