"""Sending a confirmed rerun: one signed request, or numbered batches; every outcome recorded for replays
and audited ("sending" before the request leaves, the outcome after)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.cloud.errors import OutcomeUnknownError, WeDataError
from wedata_mcp.guardrail import batching
from wedata_mcp.guardrail.audit import AuditSink
from wedata_mcp.guardrail.results import (
    NEXT_STEP_BATCHES,
    NEXT_STEP_EXECUTED,
    RerunResult,
    Status,
    build_result,
    request_hash,
)
from wedata_mcp.guardrail.store import Recorded, TokenStore
from wedata_mcp.guardrail.tokens import Token
from wedata_mcp.models import ACTION, BatchOperateResultOpsDto, RunRerunScheduleInstancesRequest


class Sender:
    """Sends what the gate let through, exactly once per batch."""

    def __init__(
        self,
        client: WeDataClient,
        audit: AuditSink,
        store: TokenStore,
        batch_size: int,
        stop_on_failure: bool,
        in_flight: int = batching.IN_FLIGHT,
    ) -> None:
        self._client = client
        self._audit = audit
        self._store = store
        self._batch_size = batch_size
        self._stop_on_failure = stop_on_failure
        self._in_flight = in_flight

    def _build(self, status: Status, request: RunRerunScheduleInstancesRequest, **extra: Any) -> RerunResult:
        target = self._client.target
        return build_result(status, request, region=target.region, endpoint=target.endpoint, **extra)

    async def send(
        self,
        request: RunRerunScheduleInstancesRequest,
        token: Token,
        actor: dict[str, Any],
        progress: batching.Progress | None,
    ) -> RerunResult:
        batches = batching.split(request, self._batch_size)  # the same plan the dry run showed
        if len(batches) > 1:
            return await self._batches(request, batches, token, actor, progress)
        # Shielded: once the request may be on the wire, a cancelled call must still record its outcome.
        with anyio.CancelScope(shield=True):
            return await self._one(request, token, actor)
        # Only reached if the shielded scope swallowed an exception, which a shielded scope does not do.
        raise RuntimeError("the shielded send ended without a result")

    async def _one(self, request: RunRerunScheduleInstancesRequest, token: Token, actor: dict[str, Any]) -> RerunResult:
        body_hash = request_hash(request)
        self._audit.write(
            "sending",
            action=ACTION,
            actor=actor,
            request_hash=body_hash,
            token_id=token.token_id,
            instances=len(request.Instances or []),
        )
        try:
            response = await self._client.call(ACTION, request.wire_body(), mutating=True)
        except WeDataError as exc:
            await self._store.record(token.token_id, Recorded(error=str(exc)))
            self._audit.write(
                "outcome_unknown" if isinstance(exc, OutcomeUnknownError) else "failed",
                action=ACTION,
                actor=actor,
                request_hash=body_hash,
                token_id=token.token_id,
                error=str(exc),
                code=getattr(exc, "code", None),
                request_id=getattr(exc, "request_id", None),
                trace_id=getattr(exc, "trace_id", None),
            )
            raise
        data = BatchOperateResultOpsDto.model_validate(response.data.get("Data") or {})
        result = self._build("executed", request, Data=data, RequestId=response.request_id, NextStep=NEXT_STEP_EXECUTED)
        await self._store.record(token.token_id, Recorded(result=result.model_dump(mode="json")))
        self._audit.write(
            "executed",
            action=ACTION,
            actor=actor,
            request_hash=body_hash,
            token_id=token.token_id,
            request_id=response.request_id,
            result=data.Result,
            error_id=data.ErrorId,
            async_action_id=data.AsyncActionId,
        )
        return result

    async def _batches(
        self,
        request: RunRerunScheduleInstancesRequest,
        batches: list[RunRerunScheduleInstancesRequest],
        token: Token,
        actor: dict[str, Any],
        progress: batching.Progress | None,
    ) -> RerunResult:
        outcomes = batching.not_sent(batches)
        try:
            await batching.send_batches(
                self._client,
                batches,
                outcomes,
                audit=self._audit,
                progress=progress,
                audit_fields={"action": ACTION, "actor": actor, "token_id": token.token_id},
                stop_on_failure=self._stop_on_failure,
                in_flight=self._in_flight,
            )
        except BaseException:
            # Cancelled or failed midway: the outcome of what was sent is still recorded (a replay returns it).
            with anyio.CancelScope(shield=True):
                await self._finish(request, outcomes, token, actor)
            raise
        return await self._finish(request, outcomes, token, actor)

    async def _finish(
        self,
        request: RunRerunScheduleInstancesRequest,
        outcomes: list[batching.BatchOutcome],
        token: Token,
        actor: dict[str, Any],
    ) -> RerunResult:
        counts = Counter(o.Status for o in outcomes)
        kinds = ("succeeded", "failed", "unknown", "not_sent")
        status: Status = "executed" if counts["succeeded"] == len(outcomes) else "failed"
        if status == "failed" and counts["succeeded"]:
            status = "partial"
        next_step = NEXT_STEP_EXECUTED if status == "executed" else NEXT_STEP_BATCHES
        result = self._build(status, request, BatchResults=outcomes, NextStep=next_step)
        result.Summary += " Batches: " + ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in kinds) + "."
        await self._store.record(token.token_id, Recorded(result=result.model_dump(mode="json")))
        self._audit.write(
            "batches_done",
            action=ACTION,
            actor=actor,
            request_hash=request_hash(request),
            token_id=token.token_id,
            **{k: counts[k] for k in kinds},
        )
        return result
