"""How read-only tools answer: structured content plus compact JSON text, without nulls (context is a budget)."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from wedata_mcp.models.base import parse_wire_datetime, wire_datetime


def compact(result: BaseModel) -> CallToolResult:
    """The SDK would indent the text and keep every null: about a third more context for the same facts."""
    return CallToolResult(
        content=[TextContent(type="text", text=result.model_dump_json(exclude_none=True))],
        structured_content=result.model_dump(mode="json"),
    )


def data_time(value: str, field: str) -> str:
    """A CurRunDate as WeData writes it ('YYYY-MM-DD HH:MM:SS'), or a tool error naming `field`."""
    try:
        return wire_datetime(parse_wire_datetime(value.strip()))
    except ValueError:
        raise ToolError(f"{field}: '{value[:40]}' is not a data time 'YYYY-MM-DD HH:MM:SS'") from None
