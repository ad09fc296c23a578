"""Just before a confirmed rerun is sent: the instances it targets are read again, and it is refused if they are
not what the dry run saw (a SearchCondition is resolved again into the instances it selects now)."""

from __future__ import annotations

from wedata_mcp.cloud.errors import WeDataError
from wedata_mcp.guardrail.blast import Resolver, selection_digest
from wedata_mcp.guardrail.prepared import PreparedRerun, RerunRequest
from wedata_mcp.guardrail.refusals import StalePreviewError
from wedata_mcp.guardrail.tokens import Token
from wedata_mcp.models import InstanceOpsDto, RunRerunScheduleInstancesRequest
from wedata_mcp.models.base import spoken
from wedata_mcp.models.codes import state_name
from wedata_mcp.models.describe import InstanceOpsView


async def current_selection(resolver: Resolver, prepared: PreparedRerun) -> list[InstanceOpsView]:
    """The instances a SearchCondition selects now; none, or a failed read, is a refusal."""
    try:
        selected, _ = await resolver.selection(prepared)
    except WeDataError as exc:
        raise StalePreviewError(
            f"could not re-read the instances SearchCondition selects ({type(exc).__name__});"
            " nothing was sent, try again"
        ) from None
    if not selected:
        raise StalePreviewError("SearchCondition now matches no instances; nothing was sent")
    return selected


async def check_not_stale(
    resolver: Resolver, prepared: PreparedRerun, token: Token, selection: list[InstanceOpsView] | None
) -> None:
    """Re-read the targeted instances (unless `selection` was just read); refuse if any moved to another state
    group (e.g. a failed instance is now retrying, waiting, running or succeeded)."""
    try:
        selected, missing = (selection, []) if selection is not None else await resolver.selection(prepared)
    except WeDataError as exc:
        raise StalePreviewError(
            f"could not re-read the instances' states ({type(exc).__name__}); nothing was sent, try again"
        ) from None
    if selection_digest(selected, missing) != token.state_digest:
        now = ", ".join(f"'{spoken(i.TaskId, i.CurRunDate)}' is {state_name(i.State)}" for i in selected[:5])
        raise StalePreviewError(
            f"the instances changed since the dry run (now: {now or 'not found'}); nothing "
            "was sent — run a new dry run and confirm again"
        )


def with_instances(request: RerunRequest, selected: list[InstanceOpsView]) -> RunRerunScheduleInstancesRequest:
    """The request with SearchCondition replaced by the explicit instances it selects now."""
    if not isinstance(request, RunRerunScheduleInstancesRequest):
        raise TypeError("only a RunRerunScheduleInstances request selects instances with a SearchCondition")
    instances = [InstanceOpsDto.model_validate({"TaskId": i.TaskId, "CurRunDate": i.CurRunDate}) for i in selected]
    return request.model_copy(update={"Instances": instances, "SearchCondition": None})
