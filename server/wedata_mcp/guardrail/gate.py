"""The guardrail: every rerun is first a dry run; only a valid, unused, unexpired token for exactly that
request lets one signed RunRerunScheduleInstances go out, and every step is audited first."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.cloud.errors import MissingCredentialsError, OutcomeUnknownError, WeDataError
from wedata_mcp.guardrail import preview
from wedata_mcp.guardrail.audit import AuditSink
from wedata_mcp.guardrail.policy import ExecutionBudget, Policy, PolicyError
from wedata_mcp.guardrail.store import MemoryTokenStore, Recorded, TokenStore
from wedata_mcp.guardrail.tokens import Token, TokenAuthority, TokenError, request_binding
from wedata_mcp.models import ACTION, VERSION, BatchOperateResultOpsDto, RunRerunScheduleInstancesRequest

NEXT_STEP_DRY_RUN = (
    "Nothing was sent. Show Summary, Plan and Warnings to the user. Only if they confirm, call "
    "rerun_schedule_instances again with exactly the same arguments plus this ConfirmationToken."
)
NEXT_STEP_EXECUTED = "Sent once. Use the RequestId (and AsyncActionId, if any) to follow up."
NEXT_STEP_REPLAYED = "This token was already used; nothing new was sent. This is the recorded outcome."


class RerunResult(BaseModel):
    """The outcome of `rerun_schedule_instances`: a dry-run preview, or the result of the one execution."""

    Status: Literal["dry_run", "executed", "already_executed"]
    Summary: str = Field(description="Plain-language description of what will be (or was) rerun.")
    Warnings: list[str]
    Plan: preview.RerunPlan
    Action: str
    Region: str
    Endpoint: str
    Request: dict[str, Any] = Field(description="The normalized request parameters that are signed and sent.")
    RequestBody: str = Field(description="The exact JSON body bytes that are signed and sent.")
    RequestHash: str = Field(description="SHA-256 of RequestBody.")
    ConfirmationToken: str | None = Field(None, description="Pass back, with identical arguments, to execute.")
    ExpiresAt: str | None = Field(None, description="When ConfirmationToken expires (UTC, ISO 8601).")
    Data: BatchOperateResultOpsDto | None = Field(None, description="The API's Data: Result, ErrorId, ...")
    RequestId: str | None = Field(None, description="The API's RequestId for the execution.")
    NextStep: str


class Guardrail:
    """Dry runs and confirmed executions of RunRerunScheduleInstances."""

    def __init__(
        self,
        client: WeDataClient,
        authority: TokenAuthority,
        audit: AuditSink,
        store: TokenStore | None = None,
        policy: Policy | None = None,
        budget: ExecutionBudget | None = None,
    ) -> None:
        self._client = client
        self._authority = authority
        self._audit = audit
        self._store = store or MemoryTokenStore()
        self.policy = policy or Policy()
        self._budget = budget or ExecutionBudget(self.policy.max_executions_per_minute)

    @property
    def region(self) -> str:
        return self._client.target.region

    def _check_policy(self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any]) -> None:
        try:
            self.policy.check_request(request, self.region)
        except PolicyError as exc:
            body = request.wire_body()
            self._audit.write(
                "refused",
                action=ACTION,
                actor=actor,
                request_hash=hashlib.sha256(body).hexdigest(),
                rule=exc.rule,
                reason=str(exc),
            )
            raise

    def record_refusal(self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any], reason: str) -> None:
        """Audit an execution that the approval step stopped before it reached the gate."""
        body = request.wire_body()
        self._audit.write(
            "declined", action=ACTION, actor=actor, request_hash=hashlib.sha256(body).hexdigest(), reason=reason
        )

    async def would_send(self, request: RunRerunScheduleInstancesRequest, token_value: str) -> bool:
        """Whether `token_value` would let this request be sent now (authentic, bound, unexpired, unused).
        No side effects: the approval step uses it to decide whether there is anything to ask a person."""
        try:
            token = self._authority.open(token_value, self._binding(request.wire_body()))
            self._authority.check_unexpired(token)
        except (TokenError, MissingCredentialsError):
            return False
        return not await self._store.is_claimed(token.token_id)

    def _binding(self, body: bytes) -> str:
        credentials = self._client.credentials
        if credentials is None:
            raise MissingCredentialsError()
        target = self._client.target
        return request_binding(
            action=ACTION,
            version=VERSION,
            body=body,
            secret_id=credentials.secret_id,
            region=target.region,
            endpoint=target.endpoint,
        )

    def _result(
        self,
        status: Literal["dry_run", "executed", "already_executed"],
        request: RunRerunScheduleInstancesRequest,
        **extra: Any,
    ) -> RerunResult:
        the_plan = preview.plan(request)
        body = request.wire_body()
        return RerunResult(
            Status=status,
            Summary=preview.summary(request, the_plan),
            Warnings=preview.warnings(request, the_plan),
            Plan=the_plan,
            Action=ACTION,
            Region=self._client.target.region,
            Endpoint=self._client.target.endpoint,
            Request=request.wire_params(),
            RequestBody=body.decode(),
            RequestHash=hashlib.sha256(body).hexdigest(),
            **extra,
        )

    async def dry_run(self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any]) -> RerunResult:
        self._check_policy(request, actor)
        binding = self._binding(request.wire_body())
        token = self._authority.mint(binding)
        result = self._result(
            "dry_run",
            request,
            ConfirmationToken=token.value,
            ExpiresAt=datetime.fromtimestamp(token.expires_at, UTC).isoformat(),
            NextStep=NEXT_STEP_DRY_RUN,
        )
        self._audit.write(
            "preview",
            action=ACTION,
            actor=actor,
            request_hash=result.RequestHash,
            token_id=token.token_id,
            instances=result.Plan.SelectedCount,
        )
        return result

    async def execute(
        self,
        request: RunRerunScheduleInstancesRequest,
        token_value: str,
        actor: dict[str, Any],
        approved_by: str | None,
    ) -> RerunResult:
        """Send the request once if the token allows it. `approved_by` names the human step that confirmed it
        (`token` or `elicitation`); None means no approval was obtained, which only a replay survives."""
        body = request.wire_body()
        request_hash = hashlib.sha256(body).hexdigest()
        self._check_policy(request, actor)
        try:
            token = self._authority.open(token_value, self._binding(body))
            if approved_by is None and not await self._store.is_claimed(token.token_id):
                raise TokenError("no person approved this rerun; run a new dry run and confirm it")
            if await self._store.claim(token.token_id, token.expires_at):
                try:
                    self._authority.check_unexpired(token)
                except TokenError as exc:
                    await self._store.record(token.token_id, Recorded(error=str(exc)))
                    raise
            else:
                return await self._replay(request, token, actor, request_hash)
        except (TokenError, MissingCredentialsError) as exc:
            self._audit.write("rejected", action=ACTION, actor=actor, request_hash=request_hash, reason=str(exc))
            raise
        try:
            self._budget.take()
        except PolicyError as exc:
            await self._store.record(token.token_id, Recorded(error=str(exc)))
            self._audit.write(
                "refused",
                action=ACTION,
                actor=actor,
                request_hash=request_hash,
                rule=exc.rule,
                reason=str(exc),
                token_id=token.token_id,
            )
            raise
        actor = actor | {"approved_by": approved_by}
        # Shielded: once the request may be on the wire, a cancelled call must still record its outcome.
        with anyio.CancelScope(shield=True):
            return await self._send(request, body, token, actor, request_hash)
        # Only reached if the shielded scope swallowed an exception, which a shielded scope does not do.
        raise RuntimeError("the shielded send ended without a result")

    async def _send(
        self,
        request: RunRerunScheduleInstancesRequest,
        body: bytes,
        token: Token,
        actor: dict[str, Any],
        request_hash: str,
    ) -> RerunResult:
        self._audit.write(
            "sending",
            action=ACTION,
            actor=actor,
            request_hash=request_hash,
            token_id=token.token_id,
            instances=len(request.Instances or []),
        )
        try:
            response = await self._client.call(ACTION, body, mutating=True)
        except WeDataError as exc:
            await self._store.record(token.token_id, Recorded(error=str(exc)))
            self._audit.write(
                "outcome_unknown" if isinstance(exc, OutcomeUnknownError) else "failed",
                action=ACTION,
                actor=actor,
                request_hash=request_hash,
                token_id=token.token_id,
                error=str(exc),
                code=getattr(exc, "code", None),
                request_id=getattr(exc, "request_id", None),
                trace_id=getattr(exc, "trace_id", None),
            )
            raise
        data = BatchOperateResultOpsDto.model_validate(response.data.get("Data") or {})
        result = self._result(
            "executed", request, Data=data, RequestId=response.request_id, NextStep=NEXT_STEP_EXECUTED
        )
        await self._store.record(token.token_id, Recorded(result=result.model_dump(mode="json")))
        self._audit.write(
            "executed",
            action=ACTION,
            actor=actor,
            request_hash=request_hash,
            token_id=token.token_id,
            request_id=response.request_id,
            result=data.Result,
            error_id=data.ErrorId,
            async_action_id=data.AsyncActionId,
        )
        return result

    async def _replay(
        self, request: RunRerunScheduleInstancesRequest, token: Token, actor: dict[str, Any], request_hash: str
    ) -> RerunResult:
        recorded = await self._store.outcome(token.token_id)
        self._audit.write(
            "replayed",
            action=ACTION,
            actor=actor,
            request_hash=request_hash,
            token_id=token.token_id,
            had_error=recorded.error is not None,
        )
        if recorded.error is not None:
            raise ReplayedError(recorded.error)
        if recorded.result is None:
            raise ReplayedError("no outcome was recorded")
        return RerunResult.model_validate(
            recorded.result | {"Status": "already_executed", "ConfirmationToken": None, "NextStep": NEXT_STEP_REPLAYED}
        )


class ReplayedError(Exception):
    """A reused token whose first use failed: the same failure, and nothing new sent."""

    def __init__(self, first_error: str) -> None:
        super().__init__(f"This ConfirmationToken was already used and nothing new was sent. First use: {first_error}")
