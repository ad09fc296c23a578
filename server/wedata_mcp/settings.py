"""All configuration, read once at the edge (the CLI) from the environment into one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# setting name -> environment variable; names Tencent's SDK/CLI use, then the product's WEDATA_MCP_*.
ENV_NAMES: dict[str, str] = {
    "region": "TENCENTCLOUD_REGION",
    "endpoint": "WEDATA_ENDPOINT",
    "language": "WEDATA_MCP_LANGUAGE",
    "approval": "WEDATA_MCP_APPROVAL",
    "read_only": "WEDATA_MCP_READ_ONLY",
    "policy_file": "WEDATA_MCP_POLICY_FILE",
    "http_token": "WEDATA_MCP_HTTP_TOKEN",
    "http_token_file": "WEDATA_MCP_HTTP_TOKEN_FILE",
    "allowed_hosts": "WEDATA_MCP_ALLOWED_HOSTS",
    "allowed_origins": "WEDATA_MCP_ALLOWED_ORIGINS",
    "max_body_bytes": "WEDATA_MCP_MAX_BODY_BYTES",
    "resource_url": "WEDATA_MCP_RESOURCE_URL",
    "oauth_issuer": "WEDATA_MCP_OAUTH_ISSUER",
    "oauth_jwks_url": "WEDATA_MCP_OAUTH_JWKS_URL",
    "oauth_hs256_secret": "WEDATA_MCP_OAUTH_HS256_SECRET",
    "oauth_scopes": "WEDATA_MCP_OAUTH_SCOPES",
    "token_store": "WEDATA_MCP_TOKEN_STORE",
    "token_secret": "WEDATA_MCP_TOKEN_SECRET",
    "token_ttl_seconds": "WEDATA_MCP_TOKEN_TTL",
    "audit_log": "WEDATA_MCP_AUDIT_LOG",
    "rate_limit_per_second": "WEDATA_MCP_RATE_LIMIT",
    "timeout_seconds": "WEDATA_MCP_TIMEOUT",
    "batch_size": "WEDATA_MCP_BATCH_SIZE",
    "on_batch_failure": "WEDATA_MCP_ON_BATCH_FAILURE",
    "batch_concurrency": "WEDATA_MCP_BATCH_CONCURRENCY",
    # --- the HTTP edge that cannot be held open (issue 11 item 9); kept together for the settings rewrite ---
    "http_header_timeout_seconds": "WEDATA_MCP_HTTP_HEADER_TIMEOUT",
    "http_body_timeout_seconds": "WEDATA_MCP_HTTP_BODY_TIMEOUT",
    "http_max_connections": "WEDATA_MCP_HTTP_MAX_CONNECTIONS",
    "http_sessions_per_principal": "WEDATA_MCP_HTTP_SESSIONS_PER_PRINCIPAL",
}


_SECRET_FIELDS = ("http_token", "token_secret", "oauth_hs256_secret")


def redact_url(url: str) -> str:
    """A store URL fit for a log line: any password replaced."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, location = rest.rpartition("@")
    if not sep or not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{location}"


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the environment variable."""


class Settings(BaseModel):
    """The server's configuration. Secrets here are held as-is and never printed (see `__repr__`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str = Field("ap-guangzhou", min_length=1)
    endpoint: str = "https://wedata.tencentcloudapi.com"
    language: Literal["zh-CN", "en-US"] | None = None
    approval: Literal["auto", "elicit", "token"] = "auto"
    read_only: bool = False
    policy_file: Path | None = None
    http_token: str | None = None
    http_token_file: Path | None = None
    # Extra Host / Origin values the HTTP transport accepts besides loopback (DNS-rebinding protection).
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # A rerun request is a few KiB; 1 MiB leaves room for thousands of instances and refuses floods early.
    max_body_bytes: int = Field(1_048_576, gt=0, le=64 * 1_048_576)
    resource_url: str | None = None
    oauth_issuer: str | None = None
    oauth_jwks_url: str | None = None
    oauth_hs256_secret: str | None = None
    oauth_scopes: tuple[str, ...] = ()
    token_store: str = "memory"  # noqa: S105 - the kind of store, not a secret
    token_secret: str | None = None
    token_ttl_seconds: float = Field(300.0, gt=0, le=86_400)
    audit_log: Path | None = None
    rate_limit_per_second: float = Field(20.0, gt=0, le=1000)
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    # Instances per RunRerunScheduleInstances request in a large rerun (the API documents no maximum).
    batch_size: int = Field(100, ge=1, le=1000)
    # After a batch fails or has an unknown outcome: stop starting new ones (safe) or continue.
    on_batch_failure: Literal["stop", "continue"] = "stop"
    # Batches in flight at once (the per-action rate limit still sets the pace).
    batch_concurrency: int = Field(4, ge=1, le=20)
    # --- the HTTP edge that cannot be held open (issue 11 item 9); kept together for the settings rewrite ---
    # From a connection's first byte (or a kept-alive connection's next one) to the end of a request's headers.
    http_header_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # From the end of the headers to the end of the body: a rerun request is a few KiB.
    http_body_timeout_seconds: float = Field(30.0, gt=0, le=600)
    # Open connections at once; past it a request is answered 503 (a silent one is dropped by the timeouts).
    http_max_connections: int = Field(200, ge=1, le=100_000)
    # Open MCP sessions per principal (JWT issuer + subject, the static bearer, or the local user without
    # authentication): past it, opening another answers 429, so one client cannot take every session.
    http_sessions_per_principal: int = Field(16, ge=1, le=10_000)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.model_dump().items() if k not in _SECRET_FIELDS}
        shown["token_store"] = redact_url(self.token_store)
        return f"Settings({shown})"

    __str__ = __repr__

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be a full URL such as https://wedata.tencentcloudapi.com")
        return value.rstrip("/")

    @field_validator("allowed_hosts", "allowed_origins", "oauth_scopes", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # From the environment (or a flag) a list is one string: comma- (or, for scopes, space-) separated.
        if isinstance(value, str):
            return tuple(part for part in value.replace(" ", ",").split(",") if part)
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if host == "*" or "/" in host or "@" in host:
                raise ValueError(f"{host!r} is not a host name (give names such as mcp.example.com or host:port)")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest or "*" in rest.removesuffix(":*"):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example.com (and never null or *)")
        return value

    @field_validator("resource_url", "oauth_issuer", "oauth_jwks_url")
    @classmethod
    def _is_an_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be a full http(s) URL")
        return value

    @field_validator("oauth_hs256_secret")
    @classmethod
    def _hs256_secret_is_long_enough(cls, value: str | None) -> str | None:
        # RFC 7518 3.2: an HS256 key must be at least as long as the hash output (256 bits).
        if value is not None and len(value.encode()) < 32:
            raise ValueError("must be at least 32 bytes")
        return value

    @field_validator("token_store")
    @classmethod
    def _token_store_is_known(cls, value: str) -> str:
        if value != "memory" and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be memory or a Redis URL such as redis://127.0.0.1:6379/0")
        return value

    @field_validator("token_secret")
    @classmethod
    def _secret_is_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < 16:
            raise ValueError("must be at least 16 bytes")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from environment variables, then explicit overrides (CLI flags); errors name the variable."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, var in ENV_NAMES.items():
            raw = env.get(var, "").strip()
            if raw:
                values[name] = raw in ("1", "true", "yes", "on") if name == "read_only" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems: list[str] = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else "?"
                label = ENV_NAMES.get(field, field) if field not in overrides else f"--{field.replace('_', '-')}"
                problems.append(f"{label}: {error['msg']}")
            raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
