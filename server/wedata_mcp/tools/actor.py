"""Who is asking, for the guardrail and the audit log: the principal, and the MCP client it speaks through."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

from wedata_mcp.tools.sdk import request_principal


def actor_of(ctx: Context[Any, Any]) -> dict[str, Any]:
    """The principal (the person a token is bound to, DESIGN.md invariant 7), the MCP client's declared name
    and version (which anyone can claim: informative only), and the request id."""
    params = getattr(ctx.session, "client_params", None)
    info = getattr(params, "client_info", None)
    return {
        "principal": request_principal(),
        "client": getattr(info, "name", None),
        "client_version": getattr(info, "version", None),
        "mcp_request_id": ctx.request_id,
    }
