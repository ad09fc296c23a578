"""One prepared rerun: the request validated once, its exact body, hash and token binding, what each of its codes
means, and its batch plan. The preview, policy, the approval question, the token and the send all read this one
frozen object; nothing after `prepare` serializes or hashes the request again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.models.codes import (
    CHECK_PARENT_TYPE,
    RERUN_TYPE,
    RERUN_TYPE_WIDEST,
    SON_INSTANCE_TYPE,
    SON_INSTANCE_TYPE_WIDEST,
    ScopeCode,
)
from wedata_mcp.models.request import wire_bytes

DEFAULT_BATCH_SIZE = 100
CHECK_FATHER_UNSET = "upstream completion is not checked (CheckFather not set: WeData documents no default)"


@dataclass(frozen=True, slots=True)
class Where:
    """Where, and as whom, a request would be sent: part of what a token is bound to."""

    action: str
    version: str
    region: str
    endpoint: str
    secret_id: str | None  # None: no credentials, so no token can be bound


@dataclass(frozen=True, slots=True)
class Effect:
    """What the request's codes make WeData do. An omitted code is read as its widest documented effect
    (the reference documents no defaults), and `omitted` says which were left out."""

    rerun_type: str  # the code that applies: the one given, or the widest
    reruns_selection: bool
    reruns_downstream: bool
    scope: ScopeCode | None  # how far downstream reaches, when it reruns
    upstream_check: Literal["covered", "selected", "none"]  # whose upstream WeData is asked to check
    skipped_checks: tuple[str, ...]
    omitted: tuple[str, ...]  # codes left out, read as their widest effect

    @property
    def scope_code(self) -> str | None:
        return next((k for k, v in SON_INSTANCE_TYPE.items() if v is self.scope), None)


def effect_of(request: RunRerunScheduleInstancesRequest) -> Effect:
    omitted: list[str] = []
    if request.RerunType is None:
        omitted.append("RerunType")
    rerun = RERUN_TYPE[request.RerunType or RERUN_TYPE_WIDEST]
    scope = None
    if rerun.downstream:
        if request.SonInstanceType is None:
            omitted.append("SonInstanceType")
        scope = SON_INSTANCE_TYPE[request.SonInstanceType or SON_INSTANCE_TYPE_WIDEST]
    skipped: list[str] = []
    # A check counts only when asked for explicitly: CheckFather true, and CheckParentType not NONE.
    if request.CheckFather is None:
        omitted.append("CheckFather")
        skipped.append(CHECK_FATHER_UNSET)
    elif request.CheckFather is False:
        skipped.append("upstream (parent) completion is not checked (CheckFather=false)")
    if request.CheckParentType == "NONE":
        skipped.append("no upstream task is checked (CheckParentType=NONE)")
    if request.SkipEventListening:
        skipped.append("event listening is ignored (SkipEventListening=true)")
    elif request.SkipEventListening is None:
        omitted.append("SkipEventListening")
    if request.CheckFather is not True or request.CheckParentType == "NONE":
        check: Literal["covered", "selected", "none"] = "none"
    elif request.CheckParentType is None:
        omitted.append("CheckParentType")
        check = "covered"  # its reach is not documented: look at the upstream of everything that reruns
    else:
        check = CHECK_PARENT_TYPE[request.CheckParentType].checks
    return Effect(
        rerun_type=request.RerunType or RERUN_TYPE_WIDEST,
        reruns_selection=rerun.selection,
        reruns_downstream=rerun.downstream,
        scope=scope,
        upstream_check=check,
        skipped_checks=tuple(skipped),
        omitted=tuple(omitted),
    )


@dataclass(frozen=True, slots=True)
class Batch:
    """One request of the plan: its exact body, its hash and its instances ('TaskId@CurRunDate')."""

    number: int
    body: bytes
    body_hash: str
    instances: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PreparedRerun:
    request: RunRerunScheduleInstancesRequest
    params: dict[str, Any]  # the wire parameters (read-only by convention)
    body: bytes  # the exact bytes that are signed and sent when there is one batch
    body_hash: str
    binding: str | None  # what a token for this request is bound to (None without credentials)
    where: Where
    effect: Effect
    instances: tuple[str, ...]  # every explicitly selected instance, 'TaskId@CurRunDate', in order
    batches: tuple[Batch, ...]
    batch_refusal: str | None  # why the request cannot be split safely, when it would need to be
    fingerprints: tuple[tuple[str, str], ...]  # (field, short hash of its value) per parameter sent, for a token

    @property
    def keys(self) -> list[tuple[str, str]]:
        """The selected instances as (TaskId, CurRunDate), in order."""
        listed: list[dict[str, Any]] = self.params.get("Instances") or []
        return [(i["TaskId"], i["CurRunDate"]) for i in listed]


def binding_of(where: Where, body_hash: str) -> str | None:
    """The hash a token is bound to: the exact body plus where and as whom it would be sent."""
    if where.secret_id is None:
        return None
    material = json.dumps(
        [
            where.action,
            where.version,
            where.region,
            where.endpoint.rstrip("/"),
            hashlib.sha256(where.secret_id.encode()).hexdigest(),
            body_hash,
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


FINGERPRINT_HEX = 8  # per field: enough to say which argument changed; the binding still covers every byte


def fingerprints_of(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A short digest of each parameter's value, so a token for other arguments can name the fields that differ."""
    return tuple(
        (name, hashlib.sha256(wire_bytes(value)).hexdigest()[:FINGERPRINT_HEX]) for name, value in params.items()
    )


def prepare(request: RunRerunScheduleInstancesRequest, where: Where, batch_size: int) -> PreparedRerun:
    """Everything later steps need, derived once from a validated request."""
    params = request.wire_params()
    body = wire_bytes(params)
    body_hash = hashlib.sha256(body).hexdigest()
    effect = effect_of(request)
    listed: list[dict[str, Any]] = params.get("Instances") or []
    names = tuple(f"{i['TaskId']}@{i['CurRunDate']}" for i in listed)
    refusal = None
    if len(listed) <= batch_size:
        batches = (Batch(1, body, body_hash, names),)
    elif effect.reruns_downstream:
        # Downstream of instances in different batches can overlap: it would rerun more than once.
        batches = ()
        code = request.RerunType or "not set, so possibly with downstream"
        refusal = (
            f"{len(listed)} instances with downstream (RerunType {code}) exceed one request ({batch_size}); "
            "rerun them with RerunType 1 in batches, or select fewer instances"
        )
    else:
        planned: list[Batch] = []
        for number, start in enumerate(range(0, len(listed), batch_size), start=1):
            part = wire_bytes(params | {"Instances": listed[start : start + batch_size]})
            planned.append(Batch(number, part, hashlib.sha256(part).hexdigest(), names[start : start + batch_size]))
        batches = tuple(planned)
    return PreparedRerun(
        request=request,
        params=params,
        body=body,
        body_hash=body_hash,
        binding=binding_of(where, body_hash),
        where=where,
        effect=effect,
        instances=names,
        batches=batches,
        batch_refusal=refusal,
        fingerprints=fingerprints_of(params),
    )
