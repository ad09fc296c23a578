"""Tencent Cloud credentials from the sources Tencent's SDK and CLI use: environment, then profile file."""

from __future__ import annotations

import configparser
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wedata_mcp.cloud.signing import SigningKey

ENV_SECRET_ID = "TENCENTCLOUD_SECRET_ID"  # noqa: S105 - the variable's name, not a secret
ENV_SECRET_KEY = "TENCENTCLOUD_SECRET_KEY"  # noqa: S105 - the variable's name, not a secret
ENV_SECURITY_TOKEN = "TENCENTCLOUD_SECURITY_TOKEN"  # noqa: S105 - the variable's name, not a secret


@dataclass(frozen=True, slots=True)
class Credentials:
    """A SecretId/SecretKey pair (and session token for temporary credentials); never printed."""

    secret_id: str
    secret_key: str
    token: str | None = None
    source: str = "environment"

    def __repr__(self) -> str:
        return f"Credentials(source={self.source!r}, <redacted>)"

    __str__ = __repr__

    def signing_key(self) -> SigningKey:
        return SigningKey(self.secret_id, self.secret_key, self.token)

    def account_key(self) -> str:
        """A name for this account's shared counts (Redis keys) that does not reveal the SecretId: a hash of it."""
        return hashlib.sha256(b"wedata-mcp account\0" + self.secret_id.encode()).hexdigest()[:32]

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in output, for redaction."""
        return tuple(s for s in (self.secret_id, self.secret_key, self.token) if s)


def profile_paths(home: Path) -> list[Path]:
    """Where Tencent's SDK looks for its INI profile (`[default]` with secret_id / secret_key)."""
    return [home / ".tencentcloud" / "credentials", Path("/etc/tencentcloud/credentials")]


def load_credentials(env: Mapping[str, str], home: Path) -> Credentials | None:
    """The first complete credential: environment variables, then the SDK's profile file."""
    secret_id, secret_key = env.get(ENV_SECRET_ID, "").strip(), env.get(ENV_SECRET_KEY, "").strip()
    if secret_id and secret_key:
        return Credentials(secret_id, secret_key, env.get(ENV_SECURITY_TOKEN, "").strip() or None)
    for path in profile_paths(home):
        if path.is_file():
            return _from_profile(path)
    return None


def _from_profile(path: Path) -> Credentials | None:
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    if not parser.has_section("default"):
        return None
    section = parser["default"]
    secret_id = section.get("secret_id", "").strip().strip('"')
    secret_key = section.get("secret_key", "").strip().strip('"')
    token = section.get("token", "").strip().strip('"') or None
    if not (secret_id and secret_key):
        return None
    return Credentials(secret_id, secret_key, token, source=f"profile file {path}")
