"""Bearer token verifiers for the SDK's auth middleware: a static token, or OAuth 2.1 JWT access tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, cast

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken

from wedata_mcp.http.config import OAuthConfig

logger = logging.getLogger(__name__)

# Asymmetric algorithms a JWKS key may sign with; never "none", never HMAC with a public key (alg confusion).
JWKS_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 10  # clock skew allowed for nbf/iat; the SDK's middleware checks exp again with none


def fingerprint(token: str) -> str:
    """What stands for a token in memory after it is verified: the token itself is kept nowhere."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class StaticTokenVerifier:
    """One shared bearer token (WEDATA_MCP_HTTP_TOKEN / _FILE), compared in constant time."""

    def __init__(self, token: str) -> None:
        self._expected = hashlib.sha256(token.encode()).digest()

    def __repr__(self) -> str:
        return "StaticTokenVerifier(<token redacted>)"

    async def verify_token(self, token: str) -> AccessToken | None:
        # Digests first: compare_digest is constant-time only for equal lengths, so compare equal-length values.
        given = hashlib.sha256(token.encode()).digest()
        if not hmac.compare_digest(given, self._expected):
            return None
        return AccessToken(token=fingerprint(token), client_id="static-token", scopes=[])


class JwtVerifier:
    """JWT access tokens for this resource: signature (JWKS or HS256), `exp`, `iss` and `aud` = the resource URL."""

    def __init__(self, config: OAuthConfig) -> None:
        self._config = config
        self._jwks = jwt.PyJWKClient(config.jwks_url, cache_keys=True, timeout=10) if config.jwks_url else None

    def __repr__(self) -> str:
        return f"JwtVerifier(issuer={self._config.issuer!r}, audience={self._config.resource_url!r})"

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await self._decode(token)
        except jwt.PyJWTError as exc:
            # The reason only (expired, wrong audience, bad signature...), never the token.
            logger.info("bearer token refused: %s", type(exc).__name__)
            return None
        return AccessToken(
            token=fingerprint(token),
            client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "unknown"),
            scopes=_scopes(claims),
            expires_at=int(claims["exp"]),
            # The audience it was issued for (RFC 8707), which the SDK's middleware checks once more.
            resource=self._config.resource_url,
            subject=str(claims["sub"]) if "sub" in claims else None,
            claims={"iss": claims["iss"]},
        )

    async def _decode(self, token: str) -> dict[str, Any]:
        if self._jwks is not None:
            # PyJWKClient fetches over blocking urllib (cached afterwards): keep it off the event loop.
            signing_key = await anyio.to_thread.run_sync(self._jwks.get_signing_key_from_jwt, token)
            key: Any = signing_key.key
            algorithms = list(JWKS_ALGORITHMS)
        else:
            key = self._config.hs256_secret
            algorithms = ["HS256"]
        return jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=self._config.resource_url,
            issuer=self._config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp: object = claims.get("scp")
    if isinstance(scp, list):
        return [str(item) for item in cast(list[object], scp)]
    return []
