"""What the HTTP transport enforces, resolved once at start-up: accepted Host/Origin values, body limit, callers."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wedata_mcp.settings import Settings, SettingsError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_BINDS = ("0.0.0.0", "::", "[::]")  # noqa: S104 - names of the wildcard binds, to recognise them
_HAS_PORT = re.compile(r"(^\[[^\]]+\]:\d+$)|(^[^\[\]:]+:(\d+|\*)$)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """OAuth 2.1 resource server: JWT access tokens from `issuer`, for the audience `resource_url`."""

    issuer: str
    resource_url: str
    jwks_url: str | None
    hs256_secret: str | None = field(repr=False)
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Everything the HTTP app needs; no secret in its repr."""

    host: str
    port: int
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    max_body_bytes: int
    static_token: str | None = field(repr=False)
    oauth: OAuthConfig | None
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 200
    sessions_per_principal: int = 16

    @property
    def authenticated(self) -> bool:
        return self.static_token is not None or self.oauth is not None


def http_config(settings: Settings, host: str, port: int) -> HttpConfig:
    """The HTTP transport's configuration; a missing or contradictory value stops start-up naming its variable."""
    static_token = _static_token(settings)
    oauth = _oauth(settings)
    if static_token is not None and oauth is not None:
        raise SettingsError(
            "set either a static bearer token (WEDATA_MCP_HTTP_TOKEN / WEDATA_MCP_HTTP_TOKEN_FILE) "
            "or OAuth (WEDATA_MCP_OAUTH_*), not both"
        )
    if not is_loopback(host) and static_token is None and oauth is None:
        raise SettingsError(
            f"refusing to serve HTTP on non-loopback {host} without authentication: set WEDATA_MCP_HTTP_TOKEN "
            "(or WEDATA_MCP_HTTP_TOKEN_FILE, or WEDATA_MCP_OAUTH_ISSUER with WEDATA_MCP_RESOURCE_URL)"
        )
    names: list[str] = list(LOOPBACK_NAMES)
    if not is_loopback(host) and host not in _WILDCARD_BINDS:
        names.append(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    # Port 0 lets the OS pick, so the port is not known here: accept any port on these names then.
    suffix = f":{port}" if port else ":*"
    hosts = [f"{name}{suffix}" for name in names] + names
    origins = [f"http://{name}{suffix}" for name in names]
    for extra in settings.allowed_hosts:
        hosts += [extra] if _HAS_PORT.match(extra) else [extra, f"{extra}:*"]
    origins += settings.allowed_origins
    if oauth is not None:
        # The resource URL is the public name of this server (e.g. behind a proxy): its Host and Origin are ours.
        resource = urlsplit(oauth.resource_url)
        hosts += [resource.netloc, resource.hostname or resource.netloc]
        origins.append(f"{resource.scheme}://{resource.netloc}")
    return HttpConfig(
        host=host,
        port=port,
        allowed_hosts=tuple(dict.fromkeys(hosts)),
        allowed_origins=tuple(dict.fromkeys(origins)),
        max_body_bytes=settings.max_body_bytes,
        static_token=static_token,
        oauth=oauth,
        header_timeout_seconds=settings.http_header_timeout_seconds,
        body_timeout_seconds=settings.http_body_timeout_seconds,
        max_connections=settings.http_max_connections,
        sessions_per_principal=settings.http_sessions_per_principal,
    )


def _static_token(settings: Settings) -> str | None:
    if settings.http_token is not None and settings.http_token_file is not None:
        raise SettingsError("set WEDATA_MCP_HTTP_TOKEN or WEDATA_MCP_HTTP_TOKEN_FILE, not both")
    token = settings.http_token
    if settings.http_token_file is not None:
        try:
            token = settings.http_token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"WEDATA_MCP_HTTP_TOKEN_FILE: cannot read it ({type(exc).__name__})") from None
        if not token:
            raise SettingsError("WEDATA_MCP_HTTP_TOKEN_FILE: the file is empty")
    if token is not None and (not token.isprintable() or " " in token):
        # A header value cannot carry it intact; say so rather than refuse every request later.
        raise SettingsError("WEDATA_MCP_HTTP_TOKEN: must be printable with no spaces")
    return token


def _oauth(settings: Settings) -> OAuthConfig | None:
    wanted = (settings.oauth_issuer, settings.oauth_jwks_url, settings.oauth_hs256_secret, settings.resource_url)
    if all(value is None for value in wanted) and not settings.oauth_scopes:
        return None
    if settings.oauth_issuer is None or settings.resource_url is None:
        raise SettingsError(
            "OAuth needs WEDATA_MCP_OAUTH_ISSUER (the authorization server) and WEDATA_MCP_RESOURCE_URL "
            "(this server's URL, e.g. https://mcp.example.com/mcp, the tokens' audience)"
        )
    if (settings.oauth_jwks_url is None) == (settings.oauth_hs256_secret is None):
        raise SettingsError("OAuth needs exactly one of WEDATA_MCP_OAUTH_JWKS_URL or WEDATA_MCP_OAUTH_HS256_SECRET")
    for name, url in (
        ("WEDATA_MCP_OAUTH_ISSUER", settings.oauth_issuer),
        ("WEDATA_MCP_RESOURCE_URL", settings.resource_url),
        ("WEDATA_MCP_OAUTH_JWKS_URL", settings.oauth_jwks_url),
    ):
        parts = urlsplit(url or "https://x")
        # The MCP authorization spec requires HTTPS; plain http only to this machine (tests, local proxies).
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise SettingsError(f"{name}: must be an https URL (http only for loopback)")
        if parts.query or parts.fragment:
            raise SettingsError(f"{name}: must not have a query or fragment")
    return OAuthConfig(
        issuer=settings.oauth_issuer,
        resource_url=settings.resource_url,
        jwks_url=settings.oauth_jwks_url,
        hs256_secret=settings.oauth_hs256_secret,
        scopes=settings.oauth_scopes,
    )
