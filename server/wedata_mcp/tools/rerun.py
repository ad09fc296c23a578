"""The `rerun_schedule_instances` tool: the documented request as its input, the guardrail behind it."""

# No `from __future__ import annotations`: the SDK reads the `Resolve(resolver)` annotation at run time, and
# `resolver` is a local of `rerun_tool`.
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import AcceptedElicitation, Context, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from wedata_mcp.guardrail.approval import REFUSED_NO_CHANNEL, ApprovalMode, RerunApproval, channel
from wedata_mcp.guardrail.gate import Guardrail, RerunResult
from wedata_mcp.guardrail.prepared import PreparedRerun, RerunRequest
from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.tools.actor import actor_of
from wedata_mcp.tools.approval import approval_resolver, client_can_elicit, preparer
from wedata_mcp.tools.errors import as_tool_errors
from wedata_mcp.tools.output import answer
from wedata_mcp.tools.sdk import model_tool

NAME = "rerun_schedule_instances"

DESCRIPTION = (
    "Rerun WeData schedule instances (RunRerunScheduleInstances). 1. No ConfirmationToken: a dry run; show the "
    "user its Summary, Plan and Warnings. 2. As its NextStep says (the user's yes, or the server asks them): the same "
    "arguments plus its ConfirmationToken."
)


class RerunArguments(RunRerunScheduleInstancesRequest):
    """RunRerunScheduleInstances parameters, plus the guardrail's ConfirmationToken."""

    ConfirmationToken: str | None = Field(
        None,
        description="Omit: dry run. To execute: its token.",
    )
    Discard: bool | None = Field(None, description="true + ConfirmationToken: the user said no.")

    @model_validator(mode="after")
    def _discard_names_its_token(self) -> "RerunArguments":
        discard_needs_a_token(self.Discard, self.ConfirmationToken)
        return self


def discard_needs_a_token(discard: bool | None, token: str | None) -> None:
    """Discard is an answer to one dry run: without its token there is nothing to discard."""
    if discard and token is None:
        raise PydanticCustomError(
            "discard_without_token",
            "{field}: give the ConfirmationToken of the dry run the user declined",
            {"field": "Discard"},
        )


def _approved_by(outcome: ElicitationResult[Any]) -> str | None:
    """`token`, `elicitation`, or None (nobody approved); raise if a person said no or no one can be asked."""
    if not isinstance(outcome, AcceptedElicitation):
        raise ToolError(f"not executed: the person did not confirm the rerun ({outcome.action})")
    data: Any = outcome.data
    if isinstance(data, RerunApproval):
        if not data.confirm:
            raise ToolError("not executed: the person answered no")
        return "elicitation"
    if data == "refuse":
        raise ToolError(REFUSED_NO_CHANNEL)
    return "token" if data == "token" else None


@dataclass(frozen=True, slots=True)
class RerunToolSpec:
    """What differs between the rerun tools of two API versions: names, words and models; the guardrail is one."""

    name: str
    title: str
    description: str
    request: type[RerunRequest]  # the documented request (validated into, by `arguments`)
    arguments: type[BaseModel]  # the request model plus ConfirmationToken: the tool's input schema
    result: type[RerunResult]


RERUN_2021 = RerunToolSpec(
    NAME,
    "Rerun WeData schedule instances (dry run first)",
    DESCRIPTION,
    RunRerunScheduleInstancesRequest,
    RerunArguments,
    RerunResult,
)


def rerun_tool(
    guardrail_of: Callable[[Context[Any, Any]], Guardrail],
    approval: ApprovalMode = "auto",
    spec: RerunToolSpec = RERUN_2021,
) -> Tool:
    """The tool, with its input schema taken from the request model itself."""
    prepare = preparer(guardrail_of, list(spec.arguments.model_fields), spec.request)
    resolver = approval_resolver(guardrail_of, approval, prepare)
    result_type = spec.result

    async def rerun_schedule_instances(
        ctx: Context[Any, Any],
        human: Annotated[ElicitationResult[RerunApproval], Resolve(resolver)],
        prepared: Annotated[PreparedRerun, Resolve(prepare)],
        **arguments: Any,
    ) -> Annotated[CallToolResult, result_type]:
        token = arguments.get("ConfirmationToken")

        async def run() -> RerunResult:
            guardrail = guardrail_of(ctx)
            if arguments.get("Discard") and token is not None:  # validation refused Discard without a token
                return await guardrail.discard(prepared, token, actor_of(ctx))
            if token is None:
                # Who will confirm it, so that the next step it tells the model is the one that will happen.
                confirmed_by = channel(approval, client_can_elicit(ctx))
                return await guardrail.dry_run(prepared, actor_of(ctx), confirmed_by)
            # A present but empty token is a token (and an invalid one), never "no token".
            try:
                approved_by = _approved_by(human)
            except ToolError as exc:
                guardrail.record_refusal(prepared, actor_of(ctx), str(exc))
                raise

            async def progress(done: int, total: int, message: str) -> None:
                await ctx.report_progress(done, total, message)

            return await guardrail.execute(prepared, token, actor_of(ctx), approved_by, progress)

        return answer(await as_tool_errors(run))

    return model_tool(
        rerun_schedule_instances,
        spec.arguments,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=ToolAnnotations(
            title=spec.title.removesuffix(" (dry run first)"),
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
