"""Sending a confirmed rerun: one path for every plan (a single request is a batch of one). Each batch is sent at
most once, audited ("sending" before it leaves, its outcome after), and the whole outcome is recorded for replays."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
from pydantic import ValidationError

from wedata_mcp.cloud.client import ApiResponse, WeDataClient
from wedata_mcp.cloud.errors import (
    CloudAPIError,
    NotExecutedError,
    OutcomeUnknownError,
    RequestNotSentError,
    WeDataError,
    redact,
)
from wedata_mcp.guardrail import batching
from wedata_mcp.guardrail.audit import AuditSink
from wedata_mcp.guardrail.batching import BatchOutcome
from wedata_mcp.guardrail.prepared import Batch, PreparedRerun
from wedata_mcp.guardrail.results import NextStep, RerunResult, RunStatus, build_result
from wedata_mcp.guardrail.store import Recorded, TokenStore
from wedata_mcp.guardrail.tokens import Token
from wedata_mcp.models import BatchOperateResultOpsDto
from wedata_mcp.models.v2025 import OpsAsyncResponse

IN_FLIGHT = 4  # batches in flight at once; the per-action rate limiter decides the pace
Progress = Callable[[int, int, str], Awaitable[None]]
_KINDS = ("succeeded", "failed", "unknown", "not_sent")


class SendFailedError(Exception):
    """A single-request rerun that did not succeed: `str()` says whether it ran, may have run, and what to check."""


def as_sent(exc: WeDataError) -> WeDataError:
    """A mutation's error as it must be told: only an error that proves nothing ran is 'not executed'; every other
    answer after the request may have left means the outcome is unknown (DESIGN.md, invariant 6)."""
    if isinstance(exc, CloudAPIError):
        if exc.proves_not_executed:
            return NotExecutedError(exc)
        return OutcomeUnknownError(
            exc.action, f"WeData answered with an error after receiving it: {exc}", exc.trace_id, exc.request_id
        )
    return exc


class Sender:
    """Sends what the gate let through, exactly once per batch."""

    def __init__(
        self, client: WeDataClient, audit: AuditSink, store: TokenStore, *, stop_on_failure: bool, in_flight: int
    ) -> None:
        self._client = client
        self._audit = audit
        self._store = store
        self._stop_on_failure = stop_on_failure
        self._in_flight = in_flight

    async def send(
        self, prepared: PreparedRerun, token: Token, actor: dict[str, Any], progress: Progress | None
    ) -> RerunResult:
        outcomes = batching.not_sent(prepared)
        errors: dict[int, WeDataError] = {}
        fields = {"action": prepared.where.action, "actor": actor, "token_id": token.token_id}
        try:
            await self._send_all(prepared, outcomes, errors, fields, progress)
        except BaseException:
            # Cancelled midway: the outcome of what was sent is still recorded (a replay returns it).
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(SendFailedError):  # recorded; the cancellation is what this call reports
                    await self._finish(prepared, outcomes, errors, token, fields)
            raise
        return await self._finish(prepared, outcomes, errors, token, fields)

    async def _send_all(
        self,
        prepared: PreparedRerun,
        outcomes: list[BatchOutcome],
        errors: dict[int, WeDataError],
        fields: dict[str, Any],
        progress: Progress | None,
    ) -> None:
        """Send every batch at most once, updating `outcomes`. Stops starting new batches on cancellation, or
        after one that did not succeed when `stop_on_failure` (batches already in flight still complete)."""
        batches = prepared.batches
        queue = list(range(len(batches)))
        state = {"stop": False, "done": 0}

        async def worker() -> None:
            while queue and not state["stop"]:
                await anyio.lowlevel.checkpoint()  # a cancelled call starts no new batch
                if not queue or state["stop"]:
                    return  # another worker took the last batch (or stopped) while this one yielded
                index = queue.pop(0)
                # Shielded: a batch that may be on the wire always gets its outcome recorded.
                with anyio.CancelScope(shield=True):
                    outcome = outcomes[index]
                    error = await self._send_batch(batches[index], len(batches), outcome, fields, prepared.api.by_key)
                    if error is not None:
                        errors[index] = error
                    if outcome.Status != "succeeded":
                        state["stop"] = state["stop"] or self._stop_on_failure
                    state["done"] += 1
                    if progress is not None and len(batches) > 1:
                        message = f"batch {outcome.Number}/{len(batches)}: {outcome.Status}"
                        await progress(state["done"], len(batches), message)

        async with anyio.create_task_group() as group:
            for _ in range(min(self._in_flight, len(batches))):
                group.start_soon(worker)

    async def _send_batch(
        self, batch: Batch, total: int, outcome: BatchOutcome, fields: dict[str, Any], by_key: bool
    ) -> WeDataError | None:
        audit = fields | {"batch": batch.number, "batches": total, "request_hash": batch.body_hash}
        # The request itself: what an execution reran stays answerable from the audit alone (follow_rerun).
        self._audit.write("sending", **audit, instances=len(batch.instances), request=json.loads(batch.body))
        try:
            response = await self._client.call(fields["action"], batch.body, mutating=True)
        except WeDataError as raw:
            exc = as_sent(raw)
            unknown = isinstance(exc, OutcomeUnknownError)
            outcome.Status, outcome.Error = ("unknown" if unknown else "failed"), str(exc)
            outcome.RequestId = getattr(exc, "request_id", None)
            self._audit.write(
                "outcome_unknown" if unknown else "failed",
                **audit,
                error=str(exc),
                code=getattr(raw, "code", None),
                request_id=outcome.RequestId,
                trace_id=getattr(exc, "trace_id", None),
            )
            return exc
        outcome.RequestId = response.request_id
        if by_key:
            return self._read_async(response, outcome, audit)
        data = self._data(response)
        outcome.Data = data
        if data is None or data.Result is None:
            outcome.Status = "unknown"
            outcome.Error = "sent, answer unreadable: WeData's Data.Result could not be read"
        elif data.Result:
            outcome.Status, outcome.Instances = "succeeded", []
        else:
            outcome.Status, outcome.Error = "failed", "WeData answered Result false"
        self._audit.write(
            {"succeeded": "executed", "failed": "refused_by_wedata"}.get(outcome.Status, "answer_unreadable"),
            **audit,
            request_id=response.request_id,
            result=data.Result if data else None,
            error_id=data.ErrorId if data else None,
            async_action_id=data.AsyncActionId if data else None,
        )
        return None

    def _read_async(self, response: ApiResponse, outcome: BatchOutcome, audit: dict[str, Any]) -> None:
        """RerunTaskInstancesAsync answers only the job's AsyncId: accepted when there is one. How the job ends is
        GetOpsAsyncJob's to tell (follow_rerun); without an AsyncId, whether it was accepted is unknown."""
        try:
            data = OpsAsyncResponse.model_validate(response.data.get("Data"))
        except ValidationError:
            data = None
        outcome._async_data = data  # pyright: ignore[reportPrivateUsage]  # the sender's own field (batching.py)
        accepted = data is not None and isinstance(data.AsyncId, str) and bool(data.AsyncId)
        if accepted:
            outcome.Status, outcome.Instances = "succeeded", []
        else:
            outcome.Status = "unknown"
            outcome.Error = "sent, answer unreadable: WeData's Data.AsyncId could not be read"
        self._audit.write(
            "executed" if accepted else "answer_unreadable",
            **audit,
            request_id=response.request_id,
            async_id=data.AsyncId if data else None,
        )
        return None

    def _data(self, response: ApiResponse) -> BatchOperateResultOpsDto | None:
        """The answer's Data, with any secret in WeData's ErrorDesc redacted; None when it does not parse."""
        try:
            data = BatchOperateResultOpsDto.model_validate(response.data.get("Data"))
        except ValidationError:
            return None
        if data.ErrorDesc:
            data = data.model_copy(update={"ErrorDesc": redact(data.ErrorDesc, self._client.secrets())})
        return data

    async def _finish(
        self,
        prepared: PreparedRerun,
        outcomes: list[BatchOutcome],
        errors: dict[int, WeDataError],
        token: Token,
        fields: dict[str, Any],
    ) -> RerunResult:
        if len(outcomes) == 1:
            return await self._finish_one(prepared, outcomes[0], errors.get(0), token)
        counts = Counter(o.Status for o in outcomes)
        status: RunStatus = "executed" if counts["succeeded"] == len(outcomes) else "failed"
        if status == "failed" and counts["succeeded"]:
            status = "partial"
        elif status == "failed" and counts["unknown"]:
            status = "unknown"
        step: NextStep = "executed" if status == "executed" else "batches"
        result = build_result(status, prepared, totals=token.totals, BatchResults=outcomes, step=step)
        result.Summary += " Batches: " + ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in _KINDS) + "."
        await self._store.record(token.token_id, Recorded(result=result.model_dump(mode="json")))
        self._audit.write("batches_done", **fields, request_hash=prepared.body_hash, **{k: counts[k] for k in _KINDS})
        return result

    async def _finish_one(
        self, prepared: PreparedRerun, outcome: BatchOutcome, error: WeDataError | None, token: Token
    ) -> RerunResult:
        """A single request keeps the documented shape: `Data` and `RequestId` at the top, errors as errors."""
        if outcome.Status == "not_sent":
            error = RequestNotSentError("cancelled before the request was sent; nothing ran")
        if error is not None:
            await self._store.record(token.token_id, Recorded(error=str(error)))
            raise SendFailedError(str(error))
        status: RunStatus
        step: NextStep
        if outcome.Status == "succeeded":
            status, step = "executed", "executed"
        elif outcome.Status == "failed":
            status, step = "failed", "refused"
        else:
            status, step = "unknown", "unreadable"
        data = outcome._async_data or outcome.Data  # pyright: ignore[reportPrivateUsage]
        result = build_result(status, prepared, totals=token.totals, Data=data, RequestId=outcome.RequestId, step=step)
        await self._store.record(token.token_id, Recorded(result=result.model_dump(mode="json")))
        return result
