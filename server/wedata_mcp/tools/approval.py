"""The human step of an execution, through the SDK's resolver form of elicitation (works on handshake-era
connections and on 2026-07-28's input-required round trip alike)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from mcp.server.mcpserver import Context, Elicit
from pydantic import ValidationError

from wedata_mcp.guardrail.approval import ApprovalMode, RerunApproval, approval_message, channel
from wedata_mcp.guardrail.gate import Guardrail
from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.tools.sdk import taking_arguments

# What the resolver decides when it does not ask a person.
Decision = Literal["dry_run", "token", "refuse", "nothing_to_approve"]
Resolver = Callable[..., Awaitable[Elicit[RerunApproval] | Decision]]


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    """Form elicitation declared by the client (a bare `elicitation: {}` means form, by the spec)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def approval_resolver(
    guardrail_of: Callable[[Context[Any, Any]], Guardrail], mode: ApprovalMode, argument_names: list[str]
) -> Resolver:
    """A resolver that receives every tool argument by name and either asks the person or says why not.

    It is deterministic for given arguments and time (the SDK may re-run it on each round) and asks only
    when the token would really let a request go out, so a forged or reused token never bothers a person.
    """

    async def resolve(ctx: Context[Any, Any], **arguments: Any) -> Elicit[RerunApproval] | Decision:
        token = arguments.pop("ConfirmationToken", None)
        if token is None:
            return "dry_run"
        route = channel(mode, client_can_elicit(ctx))
        if route == "token":
            return "token"
        guardrail = guardrail_of(ctx)
        try:
            request = RunRerunScheduleInstancesRequest.model_validate(arguments)
        except ValidationError:
            return "nothing_to_approve"  # the tool body reports the invalid arguments
        if not await guardrail.would_send(request, token):
            return "nothing_to_approve"  # the tool body reports the token problem or replays
        if route == "refuse":
            return "refuse"
        return Elicit(approval_message(request, guardrail.region), RerunApproval)

    # The SDK passes tool arguments to a resolver by parameter name only: name each one.
    return taking_arguments(resolve, argument_names)
