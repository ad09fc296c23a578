"""The guardrail: every rerun is first a dry run; only a valid, unused, unexpired token for exactly that
request lets one signed RunRerunScheduleInstances go out, and every step is audited before it returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.cloud.errors import MissingCredentialsError, WeDataError
from wedata_mcp.guardrail import batching
from wedata_mcp.guardrail.audit import AuditSink
from wedata_mcp.guardrail.batching import DEFAULT_BATCH_SIZE
from wedata_mcp.guardrail.blast import BlastRadiusResolver, selection_digest, state_class
from wedata_mcp.guardrail.policy import ExecutionBudget, Policy, PolicyError
from wedata_mcp.guardrail.radius import blast_radius
from wedata_mcp.guardrail.results import (
    NEXT_STEP_DRY_RUN,
    NEXT_STEP_REPLAYED,
    NEXT_STEP_UNRESOLVED,
    RerunResult,
    Status,
    build_result,
    request_hash,
)
from wedata_mcp.guardrail.sending import Sender
from wedata_mcp.guardrail.store import MemoryTokenStore, Recorded, TokenStore
from wedata_mcp.guardrail.tokens import Token, TokenAuthority, TokenError, request_binding
from wedata_mcp.models import (
    ACTION,
    VERSION,
    InstanceOpsDto,
    RunRerunScheduleInstancesRequest,
)
from wedata_mcp.models.describe import InstanceOpsView

__all__ = ["Guardrail", "ReplayedError", "RerunResult", "StalePreviewError"]


class ReplayedError(Exception):
    """A reused token whose first use failed: the same failure, and nothing new sent."""

    def __init__(self, first_error: str) -> None:
        super().__init__(f"This ConfirmationToken was already used and nothing new was sent. First use: {first_error}")


class StalePreviewError(Exception):
    """The selection changed since the dry run in a way that matters; a new dry run is needed."""


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
        resolver: BlastRadiusResolver | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        stop_on_failure: bool = True,
        in_flight: int = batching.IN_FLIGHT,
    ) -> None:
        self._client = client
        self._authority = authority
        self._audit = audit
        self._store = store or MemoryTokenStore()
        self.policy = policy or Policy()
        self._budget = budget or ExecutionBudget(self.policy.max_executions_per_minute)
        self._resolver = resolver
        self._batch_size = batch_size
        self._sender = Sender(client, audit, self._store, batch_size, stop_on_failure, in_flight)

    @property
    def region(self) -> str:
        return self._client.target.region

    def _binding(self, request: RunRerunScheduleInstancesRequest) -> str:
        credentials = self._client.credentials
        if credentials is None:
            raise MissingCredentialsError()
        target = self._client.target
        return request_binding(
            action=ACTION,
            version=VERSION,
            body=request.wire_body(),
            secret_id=credentials.secret_id,
            region=target.region,
            endpoint=target.endpoint,
        )

    def _result(self, status: Status, request: RunRerunScheduleInstancesRequest, **extra: Any) -> RerunResult:
        target = self._client.target
        return build_result(status, request, region=target.region, endpoint=target.endpoint, **extra)

    def _audit_refusal(
        self, event: str, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any], **fields: Any
    ) -> None:
        self._audit.write(event, action=ACTION, actor=actor, request_hash=request_hash(request), **fields)

    def _check_policy(self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any]) -> None:
        try:
            self.policy.check_request(request, self.region)
        except PolicyError as exc:
            self._audit_refusal("refused", request, actor, rule=exc.rule, reason=str(exc))
            raise

    def _resolves_search(self, request: RunRerunScheduleInstancesRequest) -> bool:
        """A SearchCondition-only request is turned into an explicit instance list, unless policy says not to."""
        return not request.Instances and self.policy.resolve_search_condition and self._resolver is not None

    def record_refusal(self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any], reason: str) -> None:
        """Audit an execution that the approval step stopped before it reached the gate."""
        self._audit_refusal("declined", request, actor, reason=reason)

    async def dry_run(self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any]) -> RerunResult:
        self._check_policy(request, actor)
        self._binding(request)  # no credentials, no preview: the token could not be bound
        radius, digest, final = None, None, request
        if self._resolver is not None:
            found = await self._resolver.resolve(request)
            radius = blast_radius(request, found)
            if found.selected is not None:
                digest = selection_digest(found.selected, found.missing)
            if self._resolves_search(request):
                if found.selected is None or not found.selected:
                    why = "matched no instances" if found.selected == [] else "could not be resolved"
                    self._audit_refusal("preview", request, actor, token_id=None, unresolved=why)
                    result = self._result("dry_run", request, radius=radius, NextStep=NEXT_STEP_UNRESOLVED)
                    result.Warnings.append(f"SearchCondition {why}; no ConfirmationToken was issued.")
                    return result
                final = _with_instances(request, found.selected)
                self._check_policy(final, actor)
            try:
                self.policy.check_blast_radius(radius.TotalCount, [g.Id for g in radius.ByProject if g.Id])
            except PolicyError as exc:
                self._audit_refusal("refused", final, actor, rule=exc.rule, reason=str(exc))
                raise
        batches = self._split(final, actor)
        # A resolved SearchCondition is also bound as asked, so that the gate can refuse another request, and
        # replay a used token, before it looks anything up (the selection changes once the rerun has run).
        asked = self._binding(request) if final is not request else None
        token = self._authority.mint(self._binding(final), digest, asked)
        result = self._result(
            "dry_run",
            final,
            radius=radius,
            ConfirmationToken=token.value,
            ExpiresAt=datetime.fromtimestamp(token.expires_at, UTC).isoformat(),
            NextStep=NEXT_STEP_DRY_RUN,
            Batches=batching.plan(batches) if len(batches) > 1 else None,
        )
        if len(batches) > 1:
            result.Warnings.append(
                f"Sent as {len(batches)} batches of up to {self._batch_size} instances, within the API's rate "
                "limit; one confirmation covers them all."
            )
        self._audit.write(
            "preview",
            action=ACTION,
            actor=actor,
            request_hash=result.RequestHash,
            token_id=token.token_id,
            instances=radius.TotalCount if radius else None,
        )
        return result

    async def would_send(self, request: RunRerunScheduleInstancesRequest, token_value: str) -> bool:
        """Whether `token_value` could let this request be sent now (authentic, bound, unexpired, unused).
        No side effects and no look-ups: the approval step uses it to decide whether to ask a person."""
        # A SearchCondition request is bound to the list it resolves to: check it as asked here, the binding
        # after the gate re-resolves it.
        try:
            if self._resolves_search(request):
                token = self._authority.open(token_value, None, asked=self._binding(request))
            else:
                token = self._authority.open(token_value, self._binding(request))
            self._authority.check_unexpired(token)
        except (TokenError, MissingCredentialsError):
            return False
        return not await self._store.is_claimed(token.token_id)

    def _split(
        self, request: RunRerunScheduleInstancesRequest, actor: dict[str, Any]
    ) -> list[RunRerunScheduleInstancesRequest]:
        try:
            return batching.split(request, self._batch_size)
        except batching.BatchingError as exc:
            self._audit_refusal("refused", request, actor, reason=str(exc))
            raise

    async def execute(
        self,
        request: RunRerunScheduleInstancesRequest,
        token_value: str,
        actor: dict[str, Any],
        approved_by: str | None,
        progress: batching.Progress | None = None,
    ) -> RerunResult:
        """Send the request once if the token allows it. `approved_by` names the human step that confirmed it
        (`token` or `elicitation`); None means no approval was obtained, which only a replay survives."""
        self._check_policy(request, actor)
        selection: list[InstanceOpsView] | None = None
        try:
            if self._resolves_search(request):
                token = self._authority.open(token_value, None, asked=self._binding(request))
                if await self._store.is_claimed(token.token_id):
                    return await self._replay(request, token, actor)
                selection = await self._current_selection(request)
                request = _with_instances(request, selection)
            token = self._authority.open(token_value, self._binding(request))
            if await self._store.is_claimed(token.token_id):
                return await self._replay(request, token, actor)
            self._authority.check_unexpired(token)
            if approved_by is None:
                raise TokenError("no person approved this rerun; run a new dry run and confirm it")
            if token.state_digest is not None and self._resolver is not None:
                try:
                    await self._check_not_stale(request, token, selection)
                except StalePreviewError:
                    if await self._store.is_claimed(token.token_id):
                        # A concurrent call with this token executed meanwhile (and changed the states).
                        return await self._replay(request, token, actor)
                    raise
            if not await self._store.claim(token.token_id, token.expires_at):
                return await self._replay(request, token, actor)  # another call won the race
        except (TokenError, MissingCredentialsError, StalePreviewError) as exc:
            self._audit_refusal("rejected", request, actor, reason=str(exc))
            raise
        try:
            self._budget.take()
        except PolicyError as exc:
            await self._store.record(token.token_id, Recorded(error=str(exc)))
            self._audit_refusal("refused", request, actor, rule=exc.rule, reason=str(exc), token_id=token.token_id)
            raise
        actor = actor | {"approved_by": approved_by}
        return await self._sender.send(request, token, actor, progress)

    async def _current_selection(self, request: RunRerunScheduleInstancesRequest) -> list[InstanceOpsView]:
        assert self._resolver is not None  # noqa: S101 - guarded by _resolves_search
        try:
            selected, _ = await self._resolver.selection(request)
        except WeDataError as exc:
            raise StalePreviewError(
                f"could not re-read the instances SearchCondition selects ({type(exc).__name__});"
                " nothing was sent, try again"
            ) from None
        if not selected:
            raise StalePreviewError("SearchCondition now matches no instances; nothing was sent")
        return selected

    async def _check_not_stale(
        self, request: RunRerunScheduleInstancesRequest, token: Token, selection: list[InstanceOpsView] | None
    ) -> None:
        """Re-read the targeted instances just before sending; refuse if their states changed in a way that
        matters (e.g. a failed instance is now running)."""
        assert self._resolver is not None  # noqa: S101 - checked by the caller
        try:
            selected, missing = (selection, []) if selection is not None else await self._resolver.selection(request)
        except WeDataError as exc:
            raise StalePreviewError(
                f"could not re-read the instances' states ({type(exc).__name__}); nothing was sent, try again"
            ) from None
        if selection_digest(selected, missing) != token.state_digest:
            now = ", ".join(f"{i.TaskId}@{i.CurRunDate} is {state_class(i.State)}" for i in selected[:5])
            raise StalePreviewError(
                f"the instances changed since the dry run (now: {now or 'not found'}); nothing "
                "was sent — run a new dry run and confirm again"
            )

    async def _replay(
        self, request: RunRerunScheduleInstancesRequest, token: Token, actor: dict[str, Any]
    ) -> RerunResult:
        recorded = await self._store.outcome(token.token_id)
        self._audit.write(
            "replayed",
            action=ACTION,
            actor=actor,
            request_hash=request_hash(request),
            token_id=token.token_id,
            had_error=recorded.error is not None,
        )
        if recorded.error is not None or recorded.result is None:
            raise ReplayedError(recorded.error or "no outcome was recorded")
        return RerunResult.model_validate(
            recorded.result | {"Status": "already_executed", "ConfirmationToken": None, "NextStep": NEXT_STEP_REPLAYED}
        )


def _with_instances(
    request: RunRerunScheduleInstancesRequest, selected: list[InstanceOpsView]
) -> RunRerunScheduleInstancesRequest:
    """The request with SearchCondition replaced by the explicit instances it selects now."""
    instances = [InstanceOpsDto.model_validate({"TaskId": i.TaskId, "CurRunDate": i.CurRunDate}) for i in selected]
    return request.model_copy(update={"Instances": instances, "SearchCondition": None})
