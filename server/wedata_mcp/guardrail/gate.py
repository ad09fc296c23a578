"""The guardrail: every rerun is first a dry run; only a valid, unused, unexpired token for exactly that
request lets one signed rerun request go out, and every step is audited before it returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wedata_mcp.cloud.client import WeDataClient
from wedata_mcp.cloud.errors import MissingCredentialsError
from wedata_mcp.guardrail import batching
from wedata_mcp.guardrail.approval import Channel
from wedata_mcp.guardrail.audit import AuditSink, ScopedAudit
from wedata_mcp.guardrail.blast import Resolution, Resolver, selection_digest, unknown_state
from wedata_mcp.guardrail.policy import ExecutionBudget, Policy, PolicyError
from wedata_mcp.guardrail.prepared import PreparedRerun, RerunRequest, prepare, where_for
from wedata_mcp.guardrail.preview import project_label
from wedata_mcp.guardrail.radius import BlastRadius, blast_radius
from wedata_mcp.guardrail.recheck import check_not_stale, current_selection, with_instances
from wedata_mcp.guardrail.refusals import RefusedError, ReplayedError, StalePreviewError
from wedata_mcp.guardrail.results import NextStep, RerunResult, build_result, next_step, result_model, shown_endpoint
from wedata_mcp.guardrail.sending import Progress, Sender
from wedata_mcp.guardrail.store import Recorded, TokenStore
from wedata_mcp.guardrail.tokens import Token, TokenAuthority, TokenError, Totals, principal_of
from wedata_mcp.models.describe import InstanceOpsView

# The dry run's next step, by who will confirm it (approval.channel).
_DRY_RUN_STEP: dict[Channel, NextStep] = {"token": "dry_run", "elicit": "dry_run_elicit", "refuse": "dry_run_refuse"}
# What a discarded token's later use answers (it replays as the token's recorded outcome).
DISCARDED = "the person declined this rerun and its ConfirmationToken was discarded"

__all__ = ["Guardrail", "RerunResult"]


def totals_of(found: Resolution, radius: BlastRadius) -> Totals:
    """The counts a preview's headline states (and its token carries), from a resolution whose counts are known."""
    return Totals(
        total=radius.TotalCount or 0,
        selected=len(found.selected or []),
        downstream=radius.DownstreamCount or 0,
        by_project=tuple((project_label(g.Id, g.Name), g.Count) for g in radius.ByProject),
        not_found=len(found.missing),
        reruns_selection=found.reruns_selection,
        waiting=radius.WaitingCount,
    )


# Instances waiting on a rerun that its preview record keeps for follow_rerun (with their count, should there be
# more): ~55 bytes each, and the audit that follow_rerun searches is a budget too.
WAITING_AUDITED = 100


class Guardrail:
    """Dry runs and confirmed executions of a rerun action (RunRerunScheduleInstances, RerunTaskInstancesAsync),
    over one prepared rerun each."""

    def __init__(
        self,
        client: WeDataClient,
        authority: TokenAuthority,
        audit: AuditSink,
        store: TokenStore,
        policy: Policy,
        budget: ExecutionBudget,
        resolver: Resolver,
        *,
        batch_size: int,
        stop_on_failure: bool,
        in_flight: int,
    ) -> None:
        self._client = client
        self._authority = authority
        # Every record says where it went: one log may hold the production endpoint's and a sandbox's records.
        target = client.target
        audit = ScopedAudit(audit, endpoint=shown_endpoint(target.endpoint), region=target.region)
        self._audit = audit
        self._store = store
        self.policy = policy
        self._budget = budget
        self._resolver = resolver
        self._batch_size = batch_size
        self._sender = Sender(client, audit, store, stop_on_failure=stop_on_failure, in_flight=in_flight)

    def prepare(self, request: RerunRequest) -> PreparedRerun:
        """The one prepared rerun every later step reads."""
        credentials, target = self._client.credentials, self._client.target
        where = where_for(request, target.region, target.endpoint, credentials.secret_id if credentials else None)
        return prepare(request, where, self._batch_size)

    @staticmethod
    def _bound(prepared: PreparedRerun) -> str:
        if prepared.binding is None:
            raise MissingCredentialsError()  # no credentials, no token: it could not be bound
        return prepared.binding

    def _audit_refusal(self, event: str, prepared: PreparedRerun, actor: dict[str, Any], **fields: Any) -> None:
        self._audit.write(event, action=prepared.where.action, actor=actor, request_hash=prepared.body_hash, **fields)

    def _check_request(self, prepared: PreparedRerun, actor: dict[str, Any]) -> None:
        """What the request alone decides, before any look-up."""
        try:
            self.policy.check_request(prepared)
            if prepared.batch_refusal is not None:
                raise RefusedError(prepared.batch_refusal)
        except PolicyError as exc:
            self._audit_refusal("refused", prepared, actor, rule=exc.rule, reason=str(exc))
            raise
        except RefusedError as exc:
            self._audit_refusal("refused", prepared, actor, reason=str(exc))
            raise

    def _resolves_search(self, prepared: PreparedRerun) -> bool:
        """A SearchCondition-only request is turned into an explicit instance list, unless policy says not to."""
        return not prepared.instances and self.policy.resolve_search_condition

    def record_refusal(self, prepared: PreparedRerun, actor: dict[str, Any], reason: str) -> None:
        """Audit an execution that the approval step stopped before it reached the gate."""
        self._audit_refusal("declined", prepared, actor, reason=reason)

    async def dry_run(
        self, prepared: PreparedRerun, actor: dict[str, Any], confirmed_by: Channel = "token"
    ) -> RerunResult:
        """The preview, and a token for exactly this request when the server can vouch for what it touches.
        `confirmed_by` says who will confirm it (approval.channel), which the next step tells the model."""
        self._check_request(prepared, actor)
        self._bound(prepared)
        found = await self._resolver.resolve(prepared, stop_above=self.policy.max_instances)
        radius = blast_radius(found)
        final = prepared
        if self._resolves_search(prepared):
            if not found.selected:
                why = "matched no instances" if found.selected == [] else "could not be resolved"
                return self._unresolved(prepared, actor, radius, found, f"SearchCondition {why}")
            final = self.prepare(with_instances(prepared.request, found.selected))
            self._check_request(final, actor)
        try:
            unchecked = self.policy.check_resolution(found) or unknown_state(found)
        except PolicyError as exc:
            self._audit_refusal("refused", final, actor, rule=exc.rule, reason=str(exc))
            raise
        if unchecked is not None or found.selected is None:
            return self._unresolved(final, actor, radius, found, unchecked or "the selection could not be resolved")
        if radius.TotalCount == 0:  # e.g. RerunType 3 where no downstream lies in the scope: nothing to confirm
            return self._unresolved(final, actor, radius, found, "it would rerun no instance", step="nothing")
        # A resolved SearchCondition is also bound as asked, so that the gate can refuse another request, and
        # replay a used token, before it looks anything up (the selection changes once the rerun has run).
        asked = self._bound(prepared) if final is not prepared else None
        totals = totals_of(found, radius)
        digest = selection_digest(found.selected, found.missing)
        generation = await self._store.generation()
        token = self._authority.mint(
            self._bound(final),
            digest,
            asked,
            totals,
            principal=principal_of(actor),
            generation=generation,
            fingerprints=prepared.fingerprints,  # as asked: a later call is compared with what it asks
        )
        result = build_result(
            "dry_run",
            final,
            found=found,
            radius=radius,
            totals=totals,
            ConfirmationToken=token.value,
            ExpiresAt=datetime.fromtimestamp(token.expires_at, UTC).isoformat(),
            step=_DRY_RUN_STEP[confirmed_by],
            Batches=batching.plan(final),
        )
        if len(final.batches) > 1:
            result.Warnings.append(
                f"Sent as {len(final.batches)} batches of up to {self._batch_size} instances, within the API's "
                "rate limit; one confirmation covers them all."
            )
        self._audit.write(
            "preview",
            action=final.where.action,
            actor=actor,
            request_hash=final.body_hash,
            token_id=token.token_id,
            instances=radius.TotalCount,
            # What follow_rerun follows beside the rerun: the instances outside it that wait on it now.
            waiting=[[i.TaskId, i.CurRunDate, i.ProjectId] for i in (found.waiting or [])[:WAITING_AUDITED]],
            waiting_count=radius.WaitingCount,
        )
        return result

    def _unresolved(
        self,
        prepared: PreparedRerun,
        actor: dict[str, Any],
        radius: BlastRadius,
        found: Resolution,
        why: str,
        step: NextStep = "unresolved",
    ) -> RerunResult:
        """A preview without a token: the server cannot vouch for what the rerun would touch (or it touches nothing)."""
        self._audit_refusal("preview", prepared, actor, token_id=None, unresolved=why)
        # Counts that are complete are told as counts; the headline then says why there is no token anyway.
        totals = totals_of(found, radius) if radius.Resolved and found.selected is not None else None
        result = build_result("dry_run", prepared, found=found, radius=radius, totals=totals, step=step)
        if totals is not None:
            result.Summary += f" No ConfirmationToken: {why}."
        result.Warnings.append(f"{why}; no ConfirmationToken was issued.")
        return result

    def _open_as_asked(self, prepared: PreparedRerun, token_value: str, principal: str) -> Token:
        """The token, checked against the request as the caller asked it (a SearchCondition before it is resolved);
        a mismatch names the arguments that differ."""
        if self._resolves_search(prepared):
            return self._authority.open(
                token_value, None, principal=principal, asked=self._bound(prepared), fingerprints=prepared.fingerprints
            )
        return self._authority.open(
            token_value, self._bound(prepared), principal=principal, fingerprints=prepared.fingerprints
        )

    async def would_send(self, prepared: PreparedRerun, token_value: str, actor: dict[str, Any]) -> Token | None:
        """The token, if it could let this request be sent now (authentic, bound, unexpired, unused); else None.
        No side effects and no look-ups: the approval step uses it to decide whether to ask a person."""
        # A SearchCondition request is bound to the list it resolves to: check it as asked here, the binding
        # after the gate re-resolves it.
        try:
            token = self._open_as_asked(prepared, token_value, principal_of(actor))
            self._authority.check_unexpired(token)
            await self._store.remembers(token.generation)
        except (TokenError, MissingCredentialsError):
            return None
        return None if await self._store.is_claimed(token.token_id) else token

    async def execute(
        self,
        prepared: PreparedRerun,
        token_value: str,
        actor: dict[str, Any],
        approved_by: str | None,
        progress: Progress | None = None,
    ) -> RerunResult:
        """Send the request once if the token allows it. `approved_by` names the human step that confirmed it
        (`token` or `elicitation`); None means no approval was obtained, which only a replay survives."""
        self._check_request(prepared, actor)
        selection: list[InstanceOpsView] | None = None
        as_asked: Token | None = None  # a SearchCondition's token, opened against the request as asked
        principal = principal_of(actor)
        try:
            if self._resolves_search(prepared):
                token = as_asked = self._open_as_asked(prepared, token_value, principal)
                # Before the replay check: a store that forgot since the dry run cannot say the token is unused.
                await self._store.remembers(token.generation)
                if await self._store.is_claimed(token.token_id):
                    return await self._replay(prepared, token, actor)
                selection = await current_selection(self._resolver, prepared)
                prepared = self.prepare(with_instances(prepared.request, selection))
                self._check_request(prepared, actor)
            if selection is None or as_asked is None:
                token = self._open_as_asked(prepared, token_value, principal)
            else:  # the list the SearchCondition resolved to now: only its binding can say it is the same
                try:
                    token = self._authority.open(token_value, self._bound(prepared), principal=principal)
                except TokenError:
                    # The same token opened as asked just above: what differs is the list it resolves to now.
                    then = f"{as_asked.totals.selected}, " if as_asked.totals else ""
                    raise StalePreviewError(
                        f"the instances this SearchCondition selects changed since the dry run (then {then}now "
                        f"{len(selection)}); nothing was sent — run a new dry run and confirm again"
                    ) from None
            await self._store.remembers(token.generation)
            if await self._store.is_claimed(token.token_id):
                return await self._replay(prepared, token, actor)
            self._authority.check_unexpired(token)
            if approved_by is None:
                raise TokenError("no person approved this rerun; run a new dry run and confirm it")
            if token.state_digest is None:
                # Nothing to compare the instances' states with: the server cannot vouch that they did not change.
                raise TokenError("ConfirmationToken carries no record of the instances' states; run a new dry run")
            try:
                await check_not_stale(self._resolver, prepared, token, selection)
            except StalePreviewError:
                if await self._store.is_claimed(token.token_id):
                    # A concurrent call with this token executed meanwhile (and changed the states).
                    return await self._replay(prepared, token, actor)
                raise
            if not await self._store.claim(token.token_id, token.expires_at, token.generation):
                return await self._replay(prepared, token, actor)  # another call won the race
        except (TokenError, MissingCredentialsError, StalePreviewError) as exc:
            self._audit_refusal("rejected", prepared, actor, reason=str(exc))
            raise
        try:
            await self._budget.take()
        except PolicyError as exc:
            await self._store.record(token.token_id, Recorded(error=str(exc)))
            self._audit_refusal("refused", prepared, actor, rule=exc.rule, reason=str(exc), token_id=token.token_id)
            raise
        return await self._sender.send(prepared, token, actor | {"approved_by": approved_by}, progress)

    async def discard(self, prepared: PreparedRerun, token_value: str, actor: dict[str, Any]) -> RerunResult:
        """The person said no: the token (for these arguments, this person) is claimed without sending, its
        outcome recorded so that any later use of it replays "discarded" and sends nothing; audited."""
        try:
            token = self._open_as_asked(prepared, token_value, principal_of(actor))
            self._authority.check_unexpired(token)  # an expired token cannot be used anyway
            await self._store.remembers(token.generation)
            if not await self._store.claim(token.token_id, token.expires_at, token.generation):
                raise TokenError("ConfirmationToken was already used or discarded; nothing was sent")
        except (TokenError, MissingCredentialsError) as exc:
            self._audit_refusal("rejected", prepared, actor, reason=str(exc))
            raise
        await self._store.record(token.token_id, Recorded(error=DISCARDED))
        self._audit.write(
            "discarded",
            action=prepared.where.action,
            actor=actor,
            request_hash=prepared.body_hash,
            token_id=token.token_id,
        )
        result = build_result("discarded", prepared, totals=token.totals, step="discarded")
        if self._resolves_search(prepared):
            result.Warnings.append(
                "Request is the SearchCondition as asked; the dry run showed the instances it resolved to, under "
                "another RequestHash."
            )
        return result

    async def _replay(self, prepared: PreparedRerun, token: Token, actor: dict[str, Any]) -> RerunResult:
        recorded = await self._store.outcome(token.token_id)
        self._audit.write(
            "replayed",
            action=prepared.where.action,
            actor=actor,
            request_hash=prepared.body_hash,
            token_id=token.token_id,
            had_error=recorded.error is not None,
        )
        if recorded.error is not None or recorded.result is None:
            raise ReplayedError(recorded.error or "no outcome was recorded")
        # The outcome as it was: only an accepted rerun is "already_executed"; failed, unknown and partial stay so.
        first = recorded.result
        replayed = {
            "Status": "already_executed" if first.get("Status") == "executed" else first.get("Status"),
            # Not the first answer's words alone: they tell of a send, and nothing was sent now.
            "Summary": f"Nothing new was sent: this ConfirmationToken was used before. Then: {first.get('Summary')}",
            "ConfirmationToken": None,
            "NextStep": f"{next_step(prepared, 'replayed')} {first.get('NextStep', '')}".strip(),
        }
        return result_model(prepared).model_validate(recorded.result | replayed)
