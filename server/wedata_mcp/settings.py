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
    "token_secret": "WEDATA_MCP_TOKEN_SECRET",
    "token_ttl_seconds": "WEDATA_MCP_TOKEN_TTL",
    "audit_log": "WEDATA_MCP_AUDIT_LOG",
    "rate_limit_per_second": "WEDATA_MCP_RATE_LIMIT",
    "timeout_seconds": "WEDATA_MCP_TIMEOUT",
}


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
    token_secret: str | None = None
    token_ttl_seconds: float = Field(300.0, gt=0, le=86_400)
    audit_log: Path | None = None
    rate_limit_per_second: float = Field(20.0, gt=0, le=1000)
    timeout_seconds: float = Field(30.0, gt=0, le=600)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.model_dump().items() if k not in ("http_token", "token_secret")}
        return f"Settings({shown})"

    __str__ = __repr__

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be a full URL such as https://wedata.tencentcloudapi.com")
        return value.rstrip("/")

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
