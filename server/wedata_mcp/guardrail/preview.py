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


class PlannedKey(BaseModel):
    InstanceKey: str
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


class KeyedRerunPlan(RerunPlan):
    """The plan of a rerun that names its instances by InstanceKey (API 2025-08-06)."""

    # Same field, narrower item type for this version's own tool schema; the 2021-08-20 schema stays as it was.
    Instances: list[PlannedKey] = Field(  # pyright: ignore[reportIncompatibleVariableOverride]
        description=f"The first {MAX_LISTED} selected instances."
    )


def plan(prepared: PreparedRerun) -> RerunPlan:
    api, effect = prepared.api, prepared.effect
    listed: list[Any] = prepared.params.get(api.selection_field) or []
    reruns = RERUN_TYPE[effect.rerun_type].words
    if "RerunType" in effect.omitted:
        reruns += f" (RerunType not set: {api.no_default}, so the widest effect is shown)"
    scope = None
    if effect.scope is not None:
        scope = effect.scope.words
        if api.scope_field in effect.omitted:
            scope += f" ({api.scope_field} not set: {api.no_default}, so the widest scope is shown)"
    common: dict[str, Any] = {
        "Selection": "instances" if listed else "search_condition",
        "SelectedCount": len(listed) if listed else None,
        "Reruns": reruns,
        "DownstreamScope": scope,
        "SkippedChecks": list(effect.skipped_checks),
    }
    if api.by_key:
        project = prepared.request.ProjectId or None
        keys = [PlannedKey(InstanceKey=i, ProjectId=project) for i in listed[:MAX_LISTED]]
        return KeyedRerunPlan(Instances=keys, **common)
    return RerunPlan(Instances=[_planned(i) for i in listed[:MAX_LISTED]], **common)


def _planned(item: dict[str, Any]) -> PlannedInstance:
    return PlannedInstance(
        TaskId=item["TaskId"],
        CurRunDate=item["CurRunDate"],
        WorkflowId=item.get("WorkflowId") or None,
        ProjectId=item.get("ProjectId") or None,
    )


def summary(prepared: PreparedRerun, the_plan: RerunPlan) -> str:
    if the_plan.SelectedCount:
        if isinstance(the_plan, KeyedRerunPlan):
            where = f"instance {the_plan.Instances[0].InstanceKey}"
        else:
            where = f"task {the_plan.Instances[0].TaskId} at {the_plan.Instances[0].CurRunDate}"
        what = f"{the_plan.SelectedCount} instance(s), first {where}"
    else:
        what = "the instances WeData matches with SearchCondition at execution time"
    text = f"Rerun {what}: reruns {the_plan.Reruns}"
    if the_plan.DownstreamScope:
        text += f", downstream {the_plan.DownstreamScope}"
    way = prepared.params.get("DependentWay")
    if way is not None:
        text += f"; dependency mode: {DEPENDENT_WAY[way]}"
    text += "." if not the_plan.SkippedChecks else "; skipped checks: " + "; ".join(the_plan.SkippedChecks) + "."
    return text


def warnings(prepared: PreparedRerun, the_plan: RerunPlan) -> list[str]:
    effect = prepared.effect
    found: list[str] = []
    if "RerunType" in effect.omitted:
        found.append(
            f'RerunType is not set: {prepared.api.no_default}, so this may rerun downstream too; set "1" to '
            "rerun only these instances."
        )
    if effect.reruns_downstream:
        found.append("Downstream instances will also rerun (see BlastRadius for those found now).")
        if effect.scope is not None and effect.scope.bound == "linked":
            field, widest = prepared.api.scope_field, prepared.api.widest_scope
            found.append(f"The downstream scope crosses workflows and projects ({field} {widest}, or not set).")
    if "SearchCondition" in prepared.params:
        found.append(
            "SearchCondition is resolved by WeData when the rerun runs; it may match other instances "
            "than a search now would."
        )
    found.extend(f"Check skipped: {check}." for check in the_plan.SkippedChecks)
    if the_plan.SelectedCount and the_plan.SelectedCount > MAX_LISTED:
        found.append(f"Only the first {MAX_LISTED} of {the_plan.SelectedCount} instances are listed.")
    return found
