"""Argument helpers shared by the read-only tools."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

from wedata_mcp.models.base import parse_wire_datetime, wire_datetime


def data_time(value: str, field: str) -> str:
    """A CurRunDate as WeData writes it ('YYYY-MM-DD HH:MM:SS'), or a tool error naming `field`."""
    try:
        return wire_datetime(parse_wire_datetime(value.strip()))
    except ValueError:
        raise ToolError(f"{field}: '{value[:40]}' is not a data time 'YYYY-MM-DD HH:MM:SS'") from None
