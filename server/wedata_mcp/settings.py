"""All configuration, read once at the edge (the CLI) from the environment into one frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasGenerator, BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

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
    "project_ids": "WEDATA_MCP_PROJECT_IDS",
    "api_version": "WEDATA_MCP_API_VERSION",
    "sandbox_clock": "WEDATA_MCP_SANDBOX_CLOCK",
    # --- the HTTP edge that cannot be held open (issue 11 item 9) ---
    "http_header_timeout_seconds": "WEDATA_MCP_HTTP_HEADER_TIMEOUT",
    "http_body_timeout_seconds": "WEDATA_MCP_HTTP_BODY_TIMEOUT",
    "http_max_connections": "WEDATA_MCP_HTTP_MAX_CONNECTIONS",
    "http_sessions_per_principal": "WEDATA_MCP_HTTP_SESSIONS_PER_PRINCIPAL",
}

# The only spellings a switch accepts (any case). Anything else is refused: a typo in a safety switch such as
# WEDATA_MCP_READ_ONLY must stop start-up, never leave the mutating tool on.
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})

# A WeData project ID as the console shows it (digits today); bounded so a pasted URL or list is refused.
_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _switch(value: object) -> object:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _ON:
            return True
        if word in _OFF:
            return False
        raise ValueError("must be one of 1/true/yes/on or 0/false/no/off (any case)")
    if isinstance(value, bool):
        return value
    raise ValueError("must be a boolean")


# A boolean that fails closed: pydantic's own parsing would also take t/y/f/n; ours takes only the usual words.
Switch = Annotated[bool, BeforeValidator(_switch)]


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


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (the CLI's, or a test's), not `os.environ`:
    names exactly as ENV_NAMES spells them, values stripped, an empty value the same as an unset one."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls, case_sensitive=True, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value.strip() for name, value in self._env.items() if value.strip()}


class Settings(BaseSettings):
    """The server's configuration. Secrets here are held as-is and never printed (see `__repr__`)."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        # Each field is read from its ENV_NAMES variable (a field missing from the table fails at import).
        alias_generator=AliasGenerator(validation_alias=ENV_NAMES.__getitem__),
        validate_by_name=True,
        validate_by_alias=True,
        # Lists are comma-separated strings (split by the validators below), never JSON.
        enable_decoding=False,
    )

    region: str = Field("ap-guangzhou", min_length=1)
    endpoint: str = "https://wedata.tencentcloudapi.com"
    language: Literal["zh-CN", "en-US"] | None = None
    approval: Literal["auto", "elicit", "token"] = "auto"
    read_only: Switch = False
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
    token_ttl_seconds: float = Field(300.0, gt=0, le=86_400, allow_inf_nan=False)
    audit_log: Path | None = None
    rate_limit_per_second: float = Field(20.0, gt=0, le=1000, allow_inf_nan=False)
    timeout_seconds: float = Field(30.0, gt=0, le=600, allow_inf_nan=False)
    # Instances per RunRerunScheduleInstances request in a large rerun (the API documents no maximum).
    batch_size: int = Field(100, ge=1, le=1000)
    # After a batch fails or has an unknown outcome: stop starting new ones (safe) or continue.
    on_batch_failure: Literal["stop", "continue"] = "stop"
    # Batches in flight at once (the per-action rate limit still sets the pace).
    batch_concurrency: int = Field(4, ge=1, le=20)
    # The WeData projects the server works in; the first is the default (issue 13.1).
    project_ids: tuple[str, ...] = ()
    # The WeData API the server speaks (issue 14): its actions, and the tools listed for them.
    api_version: Literal["2021-08-20", "2025-08-06"] = "2021-08-20"
    # A simulator's clock (its StoryClock.spec()) for a server pointed at one in another process, e.g. the demo's:
    # tokens, the audit and prompts then follow the simulated world's time. Unset: the wall clock.
    sandbox_clock: str | None = Field(None, pattern=r"^[0-9.]+,[0-9.]+,[0-9.e+-]+$")
    # --- the HTTP edge that cannot be held open (issue 11 item 9) ---
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

    @field_validator("project_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # Unlike the lists above, an empty item is kept, so that `1,,2` is refused rather than read as `1,2`.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(","))
        return value

    @field_validator("project_ids")
    @classmethod
    def _ids_are_project_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for project in value:
            if not _PROJECT_ID.fullmatch(project):
                shown = repr(project) if project else "an empty item"
                raise ValueError(f"{shown} is not a project ID (comma-separated IDs of letters, digits, _ or -)")
        if len(set(value)) != len(value):
            raise ValueError("lists a project twice")
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
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `Settings(...)` reads only its arguments: the environment is read once, at the edge, by `from_env`.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from environment variables, then explicit overrides (CLI flags); errors name the variable."""
        given = {k: v for k, v in overrides.items() if v is not None}
        from_environment = _Environment(cls, os.environ if env is None else env)()
        # Flags win: drop the variable a flag overrides, so its (maybe bad) value is not validated at all.
        values = {k: v for k, v in from_environment.items() if _field_of(k) not in given} | given
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems: list[str] = []
            for error in exc.errors():
                field = _field_of(str(error["loc"][0])) if error["loc"] else "?"
                label = f"--{field.replace('_', '-')}" if field in given else ENV_NAMES.get(field, field)
                problems.append(f"{label}: {error['msg'].removeprefix('Value error, ')}")
            raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


_FIELDS = {var: name for name, var in ENV_NAMES.items()}


def _field_of(key: str) -> str:
    """The field a validation key names: pydantic reports the variable (the field's alias) or the field name."""
    return _FIELDS.get(key, key)
