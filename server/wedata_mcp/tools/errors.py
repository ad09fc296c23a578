"""One place where domain errors become MCP tool errors (the only kind whose text reaches the model)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from wedata_mcp.cloud.errors import WeDataError
from wedata_mcp.guardrail.policy import PolicyError
from wedata_mcp.guardrail.refusals import RefusedError, ReplayedError, StalePreviewError
from wedata_mcp.guardrail.sending import SendFailedError
from wedata_mcp.guardrail.tokens import TokenError
from wedata_mcp.models.base import closest_name

T = TypeVar("T")


def describe_validation(exc: ValidationError) -> str:
    """`Field.path: message` per problem, with the closest valid value of a code, without echoing the values."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        message = error["msg"]
        given = error.get("input")
        if error["type"] == "literal_error":
            valid = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected", "")))
            if isinstance(given, str):
                close = closest_name(given, valid)
                message += f"; did you mean '{close}'?" if close else ""
            elif not isinstance(given, bool) and isinstance(given, int | float) and str(given) in valid:
                # RerunType 2 for "2": the quotes in pydantic's words are easy to miss (the value is not echoed).
                message += " (these codes are strings: put the number in quotes)"
        lines.append(f"{where}: {message}")
    return "invalid arguments — " + "; ".join(lines)


async def as_tool_errors(call: Callable[[], Awaitable[T]]) -> T:
    """Run `call`, turning every anticipated failure into a `ToolError` with a message for a person."""
    try:
        return await call()
    except ValidationError as exc:
        raise ToolError(describe_validation(exc)) from None
    except (TokenError, ReplayedError, PolicyError, StalePreviewError, RefusedError) as exc:
        raise ToolError(f"not executed: {exc}") from None
    except (WeDataError, SendFailedError) as exc:
        raise ToolError(str(exc)) from None
