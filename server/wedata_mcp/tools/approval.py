"""The human step of an execution, through the SDK's resolver form of elicitation (works on handshake-era
connections and on 2026-07-28's input-required round trip alike), and the one preparation of the request that
the approval and the tool body share."""

# No `from __future__ import annotations`: the SDK reads the `Resolve(...)` annotations at run time, and the
# resolver they name is a local.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, Resolve

from wedata_mcp.guardrail.approval import ApprovalMode, RerunApproval, approval_message, channel
from wedata_mcp.guardrail.gate import Guardrail
from wedata_mcp.guardrail.prepared import PreparedRerun, RerunRequest
from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.tools.actor import actor_of
from wedata_mcp.tools.sdk import taking_arguments

TOKEN = "ConfirmationToken"  # noqa: S105 - the argument's name, not a secret
DISCARD = "Discard"
GUARDRAIL_ARGUMENTS = frozenset({TOKEN, DISCARD})  # ours, not the request's

# What the resolver decides when it does not ask a person.
Decision = Literal["dry_run", "discard", "token", "refuse", "nothing_to_approve"]
Resolver = Callable[..., Awaitable[Elicit[RerunApproval] | Decision]]


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    """Form elicitation declared by the client (a bare `elicitation: {}` means form, by the spec)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def preparer(
    guardrail_of: Callable[[Context[Any, Any]], Guardrail],
    argument_names: list[str],
    model: type[RerunRequest] = RunRerunScheduleInstancesRequest,
) -> Callable[..., Any]:
    """A resolver that turns the tool's arguments into the one PreparedRerun of this call. The SDK validated them
    with the request model itself (tools/sdk.py `model_tool`) and memoizes a resolver within a call, so the
    approval question and the tool body read the same object, and nothing validates the arguments again."""

    async def prepare(ctx: Context[Any, Any], **arguments: Any) -> PreparedRerun:
        fields = {k: v for k, v in arguments.items() if k not in GUARDRAIL_ARGUMENTS}
        # Already validated by the same model (the tool's argument model subclasses it): construct, not re-check.
        return guardrail_of(ctx).prepare(model.model_construct(**fields))

    return taking_arguments(prepare, argument_names)


def approval_resolver(
    guardrail_of: Callable[[Context[Any, Any]], Guardrail], mode: ApprovalMode, prepare: Callable[..., Any]
) -> Resolver:
    """A resolver that either asks the person or says why not.

    It is deterministic for given arguments and time (the SDK may re-run it on each round) and asks only
    when the token would really let a request go out, so a forged or reused token never bothers a person.
    """

    async def resolve(
        ctx: Context[Any, Any],
        prepared: Annotated[PreparedRerun, Resolve(prepare)],
        ConfirmationToken: Any = None,
        Discard: Any = None,
    ) -> Elicit[RerunApproval] | Decision:
        token = ConfirmationToken
        if token is None:
            return "dry_run"
        if Discard:
            return "discard"  # the person said no: nothing to ask
        route = channel(mode, client_can_elicit(ctx))
        if route == "token":
            return "token"
        guardrail = guardrail_of(ctx)
        found = await guardrail.would_send(prepared, token, actor_of(ctx))
        if found is None:
            return "nothing_to_approve"  # the tool body reports the token problem or replays
        if route == "refuse":
            return "refuse"
        return Elicit(approval_message(prepared, found.totals), RerunApproval)

    return resolve
