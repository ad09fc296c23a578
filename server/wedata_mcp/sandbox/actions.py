"""The WeData actions the simulator implements, over an in-memory world of schedule instances."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.sandbox.protocol import APIError


@dataclass
class World:
    """What the simulated WeData knows; reruns accepted so far, in order."""

    reruns: list[dict[str, Any]] = field(default_factory=lambda: [])


def _invalid(exc: ValidationError) -> APIError:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "request"
    return APIError("InvalidParameterValue" if first["loc"] else "InvalidParameter", f"{where}: {first['msg']}")


def run_rerun_schedule_instances(world: World, params: dict[str, Any], now: float) -> dict[str, Any]:
    try:
        request = RunRerunScheduleInstancesRequest.model_validate(params)
    except ValidationError as exc:
        raise _invalid(exc) from None
    world.reruns.append(request.wire_params())
    return {"Data": {"Result": True, "ErrorId": None, "ErrorDesc": None}}


ACTIONS: dict[str, Callable[[World, dict[str, Any], float], dict[str, Any]]] = {
    "RunRerunScheduleInstances": run_rerun_schedule_instances,
}
