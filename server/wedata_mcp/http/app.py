"""The Streamable HTTP app: Host/Origin guard, then bearer authentication, then the SDK's MCP endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import BaseRoute, Route

from wedata_mcp.http.config import HttpConfig
from wedata_mcp.http.edge import SessionCap
from wedata_mcp.http.guard import HostOriginGuard, transport_security
from wedata_mcp.http.verifiers import JwtVerifier, StaticTokenVerifier
from wedata_mcp.tools.sdk import open_session_ids

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MCP_PATH = "/mcp"


def token_verifier(config: HttpConfig) -> TokenVerifier | None:
    if config.oauth is not None:
        return JwtVerifier(config.oauth)
    if config.static_token is not None:
        return StaticTokenVerifier(config.static_token)
    return None


def build_http_app(server: MCPServer[Any], config: HttpConfig) -> Starlette:
    """The ASGI app to serve. The bearer token stops here: nothing below it sees the Authorization header's
    value (the cloud client signs its own requests with TC3 and knows nothing of this one)."""
    security = transport_security(config.allowed_hosts, config.allowed_origins)
    # The SDK's own endpoint, with the same Host/Origin lists and an explicit body limit (413 past it).
    mcp_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=security,
        max_request_body_size=config.max_body_bytes,
        host=config.host,
        # The whole server's ceiling (the SDK answers 503 past it); each principal's share is capped below.
        max_sessions=max(config.max_connections, config.sessions_per_principal),
    )
    # Inside authentication: the principal is known by then. A session opened past the cap is refused with 429.
    mcp_app = SessionCap(mcp_app, config.sessions_per_principal, lambda: open_session_ids(server))
    middleware = [Middleware(HostOriginGuard, security=security)]
    routes: list[BaseRoute] = []
    verifier = token_verifier(config)
    if verifier is None:
        routes.append(Route(MCP_PATH, endpoint=mcp_app))
    else:
        resource = AnyHttpUrl(config.oauth.resource_url) if config.oauth else None
        middleware += [
            # The SDK's bearer machinery: authenticate (never require) here, require on the MCP route below.
            Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(verifier, resource_server_url=resource)),
            Middleware(AuthContextMiddleware),
        ]
        scopes = list(config.oauth.scopes) if config.oauth else []
        metadata_url = build_resource_metadata_url(resource) if resource else None
        routes.append(Route(MCP_PATH, endpoint=RequireAuthMiddleware(mcp_app, scopes, metadata_url)))
    if config.oauth is not None:
        # RFC 9728 protected resource metadata, which the MCP authorization spec requires of a resource server.
        routes += create_protected_resource_routes(
            resource_url=AnyHttpUrl(config.oauth.resource_url),
            authorization_servers=[AnyHttpUrl(config.oauth.issuer)],
            scopes_supported=list(config.oauth.scopes) or None,
            resource_name="wedata-mcp",
        )
    # The SDK's app is mounted as a route, so its session manager is run from this app's lifespan.
    return Starlette(routes=routes, middleware=middleware, lifespan=lambda _: server.session_manager.run())
