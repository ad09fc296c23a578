"""What a prepared rerun would do, in words and numbers built only from the validated request, the code table and
what the look-ups found: one headline, the plan, every omitted code with the value that applies, and warnings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from wedata_mcp.guardrail.blast import Resolution
from wedata_mcp.guardrail.prepared import CHECK_FATHER_UNSET, PreparedRerun
from wedata_mcp.guardrail.tokens import Totals
from wedata_mcp.models.base import spoken
from wedata_mcp.models.codes import (
    DEPENDENT_WAY,
    RERUN_TYPE,
    omitted_words,
    state_group,
    state_name,
)
from wedata_mcp.models.describe import InstanceOpsView

MAX_LISTED = 20
NAMED = 5  # instances named in one warning
ERROR_LINE = 120  # characters of a failed instance's last error line
# A project name stands in the headline only when it is plainly a name (letters, digits, '_', '.', '-', CJK):
# anything else is cloud text that could read as an instruction (invariant 4), so its ID stands there instead.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-\u4e00-\u9fff]{1,64}")
# What rerunning a selected instance does, by the state it is in now (only failed is the expected case).
_STATE_EFFECT: dict[str, str] = {
    "running": "rerunning restarts a job that is still running (the runs may overlap, or WeData may refuse it)",
    "waiting_event": "it has not run yet: a rerun starts it again before its event, unless SkipEventListening",
    "waiting_upstream": "it has not run yet (waiting for upstream): a rerun does not make its upstream finish",
    "waiting_run": "it is queued to run: a rerun queues it again",
    "failed_retrying": "WeData is still retrying it: a rerun starts another run beside the retries",
    "success": "it already succeeded: a rerun recomputes its data (and its downstream's, if they rerun)",
    "skipped": "it was skipped by its branch: a rerun runs it anyway",
}


class PlannedInstance(BaseModel):
    """A selected instance; what the look-ups found of it (names are WeData's data)."""

    TaskId: str
    CurRunDate: str
    TaskName: str | None = None
    StateName: str | None = None
    WorkflowName: str | None = None
    ProjectId: str | None = None
    LastError: str | None = Field(None, description="A failed instance's last error line (WeData's data).")


class PlannedKey(BaseModel):
    """A selected instance of API 2025-08-06, by its InstanceKey."""

    InstanceKey: str
    ProjectId: str | None = None


class RerunPlan(BaseModel):
    """The shape of the rerun, at a glance."""

    Selection: Literal["instances", "search_condition"]
    RequestedCount: int | None = Field(description="Instances listed in the request (None: chosen by WeData).")
    Instances: list[PlannedInstance] = Field(description=f"The first {MAX_LISTED} selected instances.")
    Reruns: str
    DownstreamScope: str | None = Field(None, description="How far downstream reaches, when it reruns.")
    DependentWay: str | None = None
    Omitted: dict[str, str] = Field(description="Each code left out: the value that applies, and why.")


class KeyedRerunPlan(RerunPlan):
    """The plan of a rerun that names its instances by InstanceKey (API 2025-08-06)."""

    # Same field, narrower item type for this version's own tool schema; the 2021-08-20 schema stays as it was.
    Instances: list[PlannedKey] = Field(  # pyright: ignore[reportIncompatibleVariableOverride]
        description=f"The first {MAX_LISTED} selected instances."
    )


def project_label(project_id: str | None, name: str | None) -> str:
    """How the headline names a project: its name when plainly a name, else its ID."""
    if name and _PLAIN_NAME.fullmatch(name):
        return name
    return project_id or "unknown"


def headline(totals: Totals) -> str:
    """The one headline of a rerun, the same in the preview, the confirmation question and the executed result."""
    noun = "instance" if totals.total == 1 else "instances"
    projects = ", ".join(f"{count} in project {label}" for label, count in totals.by_project)
    text = f"{totals.total} {noun} will rerun" + (f" ({projects})" if projects else "")
    if totals.reruns_selection:
        text += f": {totals.selected} selected + {totals.downstream} downstream."
    else:  # RerunType 3: the selected instances are counted, but they do not run again themselves
        some = "instance, which does" if totals.selected == 1 else "instances, which do"
        text += f": the {totals.downstream} downstream of {totals.selected} selected {some} not rerun."
    if totals.waiting is None:
        text += " Whether instances outside the rerun wait on it could not be checked."
    elif totals.waiting:
        they = "instance waits" if totals.waiting == 1 else "instances wait"
        text += f" {totals.waiting} more {they} on it outside the rerun: WeData's schedule starts "
        text += ("it once its" if totals.waiting == 1 else "them once their") + " upstream succeeds."
    if totals.not_found:
        text += f" {totals.not_found} requested instance(s) were not found."
    return text


def omitted(prepared: PreparedRerun) -> dict[str, str]:
    """Every code the request leaves out that matters to this rerun, with the value that applies."""
    api = prepared.api
    fields = list(prepared.effect.omitted)
    if not api.by_key and prepared.params.get("DependentWay") is None:
        fields.append("DependentWay")
    # Each version's own table: the same field name may read differently in another version (CheckParentType).
    widest = f"not set: {api.no_default}, so the widest effect is shown"
    return {f: omitted_words(api.omitted[f], api.omitted_why) if f in api.omitted else widest for f in fields}


def last_error(instance: InstanceOpsView) -> str | None:
    """A failed instance's last error line, cut to ERROR_LINE characters (WeData's data); None otherwise."""
    if state_group(instance.State) != "failed":
        return None
    text = (instance.ErrorDesc or instance.LastLog or "").strip()
    line = text.splitlines()[-1] if text else ""
    return line[: ERROR_LINE - 1] + "…" if len(line) > ERROR_LINE else line or None


def plan(prepared: PreparedRerun, selected: Iterable[InstanceOpsView] = ()) -> RerunPlan:
    """The plan; `selected` (what the look-ups found) fills in each listed instance's names, state and project."""
    api, effect = prepared.api, prepared.effect
    listed: list[Any] = prepared.params.get(api.selection_field) or []
    scope = effect.scope.words if effect.scope is not None else None
    common: dict[str, Any] = {
        "Selection": "instances" if listed else "search_condition",
        "RequestedCount": len(listed) if listed else None,
        "Reruns": RERUN_TYPE[effect.rerun_type].words,
        "DownstreamScope": scope,
        "Omitted": omitted(prepared),
    }
    if api.by_key:
        project = prepared.params.get("ProjectId") or None
        keys = [PlannedKey(InstanceKey=i, ProjectId=project) for i in listed[:MAX_LISTED]]
        return KeyedRerunPlan(Instances=keys, **common)
    found = {i.key: i for i in selected}
    instances: list[PlannedInstance] = []
    for item in listed[:MAX_LISTED]:
        seen = found.get((item["TaskId"], item["CurRunDate"]))
        instances.append(
            PlannedInstance(
                TaskId=item["TaskId"],
                CurRunDate=item["CurRunDate"],
                TaskName=seen.TaskName if seen else None,
                StateName=state_name(seen.State) if seen else None,
                WorkflowName=seen.WorkflowName if seen else item.get("WorkflowName") or None,
                ProjectId=seen.ProjectId if seen else item.get("ProjectId") or None,
                LastError=last_error(seen) if seen else None,
            )
        )
    way = prepared.params.get("DependentWay")
    return RerunPlan(Instances=instances, DependentWay=DEPENDENT_WAY[way] if way is not None else None, **common)


def _named(instances: list[InstanceOpsView]) -> str:
    names = ", ".join(spoken(i.TaskId, i.CurRunDate) for i in instances[:NAMED])
    return names + (f" and {len(instances) - NAMED} more" if len(instances) > NAMED else "")


# Downstream instances usually wait for or failed with the selection; the states worth telling are the others.
_DOWNSTREAM_TOLD = frozenset({"running", "failed_retrying", "success", "skipped"})


def state_warnings(prepared: PreparedRerun, found: Resolution | None) -> list[str]:
    """One warning per state an instance that reruns is in, when a rerun does more than run it again: every
    state but failed for the selection, and for downstream the states other than waiting and failed. A state
    WeData left out or does not document is told as unknown. Identifiers and state names only (no cloud text)."""
    if found is None:
        return []
    roles = [("selected", found.selected or [])] if prepared.effect.reruns_selection else []
    roles.append(("downstream", found.downstream or []))
    told: list[str] = []
    for role, instances in roles:
        by_state: dict[str, list[InstanceOpsView]] = {}
        for instance in instances:
            group = state_group(instance.State)
            if group is None or (group in _DOWNSTREAM_TOLD if role == "downstream" else group != "failed"):
                by_state.setdefault(group or state_name(instance.State), []).append(instance)
        for state, some in by_state.items():
            effect = (
                _STATE_EFFECT.get(state)
                or ("WeData's answer left its state out" if state == "unknown" else "its state is not documented")
                + ", so what a rerun does to it is unknown"
            )
            count = f"{len(some)} {role} instance{'s are' if len(some) > 1 else ' is'}"
            told.append(f"{count} {state} ({_named(some)}): {effect}.")
    return told


def warnings(prepared: PreparedRerun) -> list[str]:
    """What the request alone says (no look-ups): codes left to their widest effect, checks turned off."""
    effect = prepared.effect
    found: list[str] = []
    if "RerunType" in effect.omitted:
        found.append('RerunType is not set, so downstream may rerun too; set "1" to rerun only these instances.')
    if effect.scope is not None and effect.scope.bound == "linked":
        field, widest = prepared.api.scope_field, prepared.api.widest_scope
        found.append(f"Downstream reaches across workflows and projects ({field} {widest}, or not set).")
    if "SearchCondition" in prepared.params:
        found.append(
            "SearchCondition is resolved by WeData when the rerun runs; it may match other instances "
            "than a search now would."
        )
    # An omitted CheckFather is stated in Plan.Omitted with what applies; the checks turned off on purpose here.
    found.extend(f"Check skipped: {check}." for check in effect.skipped_checks if check != CHECK_FATHER_UNSET)
    listed = len(prepared.instances)
    if listed > MAX_LISTED:
        found.append(f"Only the first {MAX_LISTED} of {listed} selected instances are listed in Plan.")
    return found
