"""One place where domain errors become MCP tool errors (the only kind whose text reaches the model)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from wedata_mcp.cloud.errors import WeDataError
from wedata_mcp.guardrail.gate import RefusedError, ReplayedError, StalePreviewError
from wedata_mcp.guardrail.policy import PolicyError
from wedata_mcp.guardrail.sending import SendFailedError
from wedata_mcp.guardrail.tokens import TokenError

T = TypeVar("T")


def describe_validation(exc: ValidationError) -> str:
    """`Field.path: message` per problem, without echoing the values."""
    lines: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        lines.append(f"{where}: {error['msg']}")
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
