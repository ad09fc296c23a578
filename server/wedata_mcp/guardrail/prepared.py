"""One prepared rerun: the request validated once, its exact body, hash and token binding, what each of its codes
means, and its batch plan. The preview, policy, the approval question, the token and the send all read this one
frozen object; nothing after `prepare` serializes or hashes the request again.

Each API version's rerun action is described once, by a `RerunApi`: its names, how its request reads as an `Effect`,
and whether it may be split into batches. Everything else about a rerun is shared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wedata_mcp.guardrail.effect import CHECK_FATHER_UNSET, Effect, effect_of, effect_of_async
from wedata_mcp.models import ACTION, VERSION, RunRerunScheduleInstancesRequest
from wedata_mcp.models.codes import OMITTED, UNDOCUMENTED, OmittedCode
from wedata_mcp.models.request import wire_bytes
from wedata_mcp.models.v2025 import OMITTED_2025, RERUN_ACTION_2025, VERSION_2025, RerunTaskInstancesAsyncRequest

__all__ = [
    "API_2021",
    "API_2025",
    "CHECK_FATHER_UNSET",
    "Effect",
    "PreparedRerun",
    "RerunApi",
    "RerunRequest",
    "Where",
    "effect_of",
]

RerunRequest = RunRerunScheduleInstancesRequest | RerunTaskInstancesAsyncRequest

DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True, slots=True)
class Where:
    """Where, and as whom, a request would be sent: part of what a token is bound to."""

    action: str
    version: str
    region: str
    endpoint: str
    secret_id: str | None  # None: no credentials, so no token can be bound


@dataclass(frozen=True, slots=True)
class RerunApi:
    """One API version's rerun action, as the guardrail needs to know it."""

    action: str
    version: str
    tool: str  # the MCP tool that wraps it
    selection_field: str  # the request's list of selected instances
    scope_field: str  # the code that bounds the downstream, and its widest value
    widest_scope: str
    no_default: str  # what the reference says of an omitted code, in the preview's words
    omitted: dict[str, OmittedCode]  # each code's reading when omitted
    omitted_why: str  # why it reads so, in the preview's words
    how: tuple[str, ...]  # parameters that change how the rerun runs: named in the approval question when given
    custom: tuple[str, ...]  # free-text parameters: named with a fingerprint, never shown there
    splits: bool  # whether a selection too large for one request may be sent as batches
    by_key: bool  # the selection is a list of InstanceKeys (2025-08-06), not of TaskId + CurRunDate objects
    name_of: Callable[[Any], str]  # one item of the selection, as previews and batches name it
    effect_of: Callable[[Any], Effect]

    def named_projects(self, request: RerunRequest) -> set[str]:
        """The projects the request itself names."""
        named = {request.ProjectId} if request.ProjectId else set[str]()
        if isinstance(request, RunRerunScheduleInstancesRequest):
            named |= {i.ProjectId for i in request.Instances or [] if i.ProjectId}
            if request.SearchCondition is not None and request.SearchCondition.ProjectId:
                named.add(request.SearchCondition.ProjectId)
        return named


API_2021 = RerunApi(
    action=ACTION,
    version=VERSION,
    tool="rerun_schedule_instances",
    selection_field="Instances",
    scope_field="SonInstanceType",
    widest_scope="3",
    no_default="WeData documents no default",
    omitted=OMITTED,
    omitted_why=UNDOCUMENTED,
    how=("ParallelNum", "SelfWorkflowDependency", "SameSelfDependType", "SameSelfWorkflowDependType", "AsyncMode"),
    custom=("MapParamList", "ReDoParams", "AppParam", "OperatorName", "OperatorId"),
    splits=True,
    by_key=False,
    name_of=lambda i: f"{i['TaskId']}@{i['CurRunDate']}",
    effect_of=effect_of,
)
API_2025 = RerunApi(
    action=RERUN_ACTION_2025,
    version=VERSION_2025,
    tool="rerun_task_instances_async",
    selection_field="InstanceKeyList",
    scope_field="SonRangeType",
    widest_scope="ALL",
    no_default="an omitted code counts as its widest, whatever the SDK's default",
    omitted=OMITTED_2025,
    omitted_why="widest case assumed, whatever the SDK's default",
    how=("RedefineParallelNum", "RedefineSelfWorkflowDependency"),
    custom=("RedefineParamList",),
    # Each request is one asynchronous job to follow; batches would make several (not supported yet).
    splits=False,
    by_key=True,
    name_of=str,
    effect_of=effect_of_async,
)


def api_of(request: RerunRequest) -> RerunApi:
    return API_2025 if isinstance(request, RerunTaskInstancesAsyncRequest) else API_2021


@dataclass(frozen=True, slots=True)
class Batch:
    """One request of the plan: its exact body, its hash and its instances ('TaskId@CurRunDate')."""

    number: int
    body: bytes
    body_hash: str
    instances: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PreparedRerun:
    request: RerunRequest
    api: RerunApi
    params: dict[str, Any]  # the wire parameters (read-only by convention)
    body: bytes  # the exact bytes that are signed and sent when there is one batch
    body_hash: str
    binding: str | None  # what a token for this request is bound to (None without credentials)
    where: Where
    effect: Effect
    instances: tuple[str, ...]  # every explicitly selected instance ('TaskId@CurRunDate' or InstanceKey), in order
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


def where_for(request: RerunRequest, region: str, endpoint: str, secret_id: str | None) -> Where:
    api = api_of(request)
    return Where(api.action, api.version, region, endpoint, secret_id)


FINGERPRINT_HEX = 8  # per field: enough to say which argument changed; the binding still covers every byte


def fingerprints_of(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A short digest of each parameter's value, so a token for other arguments can name the fields that differ."""
    return tuple(
        (name, hashlib.sha256(wire_bytes(value)).hexdigest()[:FINGERPRINT_HEX]) for name, value in params.items()
    )


def prepare(request: RerunRequest, where: Where, batch_size: int) -> PreparedRerun:
    """Everything later steps need, derived once from a validated request."""
    api = api_of(request)
    params = request.wire_params()
    body = wire_bytes(params)
    body_hash = hashlib.sha256(body).hexdigest()
    effect = api.effect_of(request)
    listed: list[Any] = params.get(api.selection_field) or []
    names = tuple(api.name_of(i) for i in listed)
    refusal = None
    if len(listed) <= batch_size:
        batches = (Batch(1, body, body_hash, names),)
    elif not api.splits:
        batches = ()
        refusal = f"{len(listed)} instances exceed one request ({batch_size}); select fewer instances"
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
            part = wire_bytes(params | {api.selection_field: listed[start : start + batch_size]})
            planned.append(Batch(number, part, hashlib.sha256(part).hexdigest(), names[start : start + batch_size]))
        batches = tuple(planned)
    return PreparedRerun(
        request=request,
        api=api,
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
