"""What a rerun request's codes make WeData do, for each API version: one `Effect` that the preview, policy and
the blast radius read, whichever version's names the request uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.models.codes import (
    CHECK_PARENT_TYPE,
    RERUN_TYPE,
    RERUN_TYPE_WIDEST,
    SON_INSTANCE_TYPE,
    SON_INSTANCE_TYPE_WIDEST,
    ScopeCode,
)
from wedata_mcp.models.v2025 import SON_RANGE_TYPE, SON_RANGE_TYPE_WIDEST, RerunTaskInstancesAsyncRequest

CHECK_FATHER_UNSET = "upstream completion is not checked (CheckFather not set: WeData documents no default)"


@dataclass(frozen=True, slots=True)
class Effect:
    """What the request's codes make WeData do. An omitted code is read as its widest documented effect
    (the reference documents no defaults), and `omitted` says which were left out."""

    rerun_type: str  # the code that applies: the one given, or the widest
    reruns_selection: bool
    reruns_downstream: bool
    scope: ScopeCode | None  # how far downstream reaches, when it reruns
    scope_code: str | None  # its code in the request's own table (SonInstanceType, or SonRangeType)
    upstream_check: Literal["covered", "selected", "none"]  # whose upstream WeData is asked to check
    skipped_checks: tuple[str, ...]
    omitted: tuple[str, ...]  # codes left out, read as their widest effect


def _effect(
    rerun_type: str | None,
    scope: tuple[str, str | None, dict[str, ScopeCode], str],
    skip_events: bool | None,
    check: Literal["covered", "selected", "none"],
    skipped: list[str],
    omitted_checks: list[str],
    omitted_last: tuple[str, ...] = (),
) -> Effect:
    """What every version shares: RerunType and its downstream scope (`scope` is the scope field's name, its
    value, its table and its widest code), and SkipEventListening; each omitted one read as its widest."""
    omitted = [] if rerun_type is not None else ["RerunType"]
    rerun_code = rerun_type or RERUN_TYPE_WIDEST
    rerun = RERUN_TYPE[rerun_code]
    field, given, table, widest = scope
    scope_code = (given or widest) if rerun.downstream else None
    if rerun.downstream and given is None:
        omitted.append(field)
    omitted += omitted_checks
    if skip_events:
        skipped.append("event listening is ignored (SkipEventListening=true)")
    elif skip_events is None:
        omitted.append("SkipEventListening")
    return Effect(
        rerun_type=rerun_code,
        reruns_selection=rerun.selection,
        reruns_downstream=rerun.downstream,
        scope=table[scope_code] if scope_code is not None else None,
        scope_code=scope_code,
        upstream_check=check,
        skipped_checks=tuple(skipped),
        omitted=(*omitted, *omitted_last),
    )


def effect_of(request: RunRerunScheduleInstancesRequest) -> Effect:
    omitted: list[str] = []
    skipped: list[str] = []
    # A check counts only when asked for explicitly: CheckFather true, and CheckParentType not NONE.
    if request.CheckFather is None:
        omitted.append("CheckFather")
        skipped.append(CHECK_FATHER_UNSET)
    elif request.CheckFather is False:
        skipped.append("upstream (parent) completion is not checked (CheckFather=false)")
    if request.CheckParentType == "NONE":
        skipped.append("no upstream task is checked (CheckParentType=NONE)")
    if request.CheckFather is not True or request.CheckParentType == "NONE":
        check: Literal["covered", "selected", "none"] = "none"
    elif request.CheckParentType is None:
        check = "covered"  # its reach is not documented: look at the upstream of everything that reruns
    else:
        check = CHECK_PARENT_TYPE[request.CheckParentType].checks
    scope = ("SonInstanceType", request.SonInstanceType, SON_INSTANCE_TYPE, SON_INSTANCE_TYPE_WIDEST)
    # CheckParentType counts as omitted only when the check is on (CheckFather true) and its reach unsaid.
    last = ("CheckParentType",) if check == "covered" else ()
    return _effect(request.RerunType, scope, request.SkipEventListening, check, skipped, omitted, last)


def effect_of_async(request: RerunTaskInstancesAsyncRequest) -> Effect:
    """RerunTaskInstancesAsync (2025-08-06). Its SDK documents defaults (RerunType 1, CheckParentType NONE,
    SonRangeType WORKFLOW), but an omitted code is still read as its widest effect (DESIGN.md, invariant 5): the
    preview never shows less than what may run, and says which codes were left out."""
    omitted: list[str] = []
    skipped: list[str] = []
    check = CHECK_PARENT_TYPE[request.CheckParentType].checks if request.CheckParentType else "none"
    if request.CheckParentType is None:
        omitted.append("CheckParentType")
        skipped.append("upstream completion is not checked (CheckParentType not set: its documented default is NONE)")
    elif request.CheckParentType == "NONE":
        skipped.append("no upstream task is checked (CheckParentType=NONE)")
    scope = ("SonRangeType", request.SonRangeType, SON_RANGE_TYPE, SON_RANGE_TYPE_WIDEST)
    return _effect(request.RerunType, scope, request.SkipEventListening, check, skipped, omitted)
