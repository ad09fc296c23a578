"""Host and Origin checks in front of every HTTP route, before authentication and before any MCP handling."""

from __future__ import annotations

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


def transport_security(allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...]) -> TransportSecuritySettings:
    """Always explicit and always on: the SDK turns DNS-rebinding protection off by itself for other hosts."""
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(allowed_hosts),
        allowed_origins=list(allowed_origins),
    )


class HostOriginGuard:
    """Refuses a foreign `Host` (421) or `Origin` (403), `Origin: null` included, on every path."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        self._app = app
        self._checks = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            # Sandboxed iframes, file:// pages and some redirects send `Origin: null`: never a client we serve.
            if request.headers.get("origin", "").strip().lower() == "null":
                await Response("Invalid Origin header", status_code=403)(scope, receive, send)
                return
            # is_post=False: Content-Type is the MCP endpoint's business, checked there.
            refusal = await self._checks.validate_request(request, is_post=False)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)
