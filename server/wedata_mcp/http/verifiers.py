"""Bearer token verifiers for the SDK's auth middleware: a static token, or OAuth 2.1 JWT access tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any, cast

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken

from wedata_mcp.http.config import OAuthConfig

logger = logging.getLogger(__name__)

# Asymmetric algorithms a JWKS key may sign with; never "none", never HMAC with a public key (alg confusion).
JWKS_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
REFRESH_SECONDS = 60.0  # at most one JWKS refetch a minute for unknown key ids
LEEWAY_SECONDS = 10  # clock skew allowed for nbf/iat; the SDK's middleware checks exp again with none
# The issuer the static bearer's principal is named under; its subject is the bearer's fingerprint.
STATIC_ISSUER = "wedata-mcp:static-bearer"


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
        # The principal is the bearer itself, as its fingerprint: whoever holds it is the same person to us.
        fp = fingerprint(token)
        return AccessToken(token=fp, client_id="static-token", scopes=[], subject=fp, claims={"iss": STATIC_ISSUER})


class JwtVerifier:
    """JWT access tokens for this resource: signature (JWKS or HS256), `exp`, `iss`, `sub` and `aud` = the
    resource URL."""

    def __init__(self, config: OAuthConfig) -> None:
        self._config = config
        self._jwks = jwt.PyJWKClient(config.jwks_url, cache_keys=True, timeout=10) if config.jwks_url else None
        self._refreshed_at = -REFRESH_SECONDS

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
            subject=str(claims["sub"]),
            claims={"iss": claims["iss"]},
        )

    async def _decode(self, token: str) -> dict[str, Any]:
        if self._jwks is not None:
            # PyJWKClient fetches over blocking urllib (cached afterwards): keep it off the event loop.
            key: Any = await anyio.to_thread.run_sync(self._signing_key, self._jwks, token)
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
            # `sub` too: a confirmation token is bound to issuer + subject, so a token that names nobody is refused.
            options={"require": ["exp", "iss", "aud", "sub"]},
        )

    def _signing_key(self, jwks: jwt.PyJWKClient, token: str) -> Any:
        """The key for the token's `kid`. An unknown kid refetches the JWKS (keys rotate), but at most once per
        REFRESH_SECONDS: PyJWT alone would refetch on every unknown kid, letting anyone make us flood the issuer."""
        kid = jwt.get_unverified_header(token).get("kid")
        for refresh in (False, True):
            if refresh:
                if time.monotonic() - self._refreshed_at < REFRESH_SECONDS:
                    break
                self._refreshed_at = time.monotonic()
            keys = jwks.get_signing_keys(refresh=refresh)
            matching = [k for k in keys if k.key_id == kid] if kid is not None else keys[:1] if len(keys) == 1 else []
            if matching:
                return matching[0].key
        raise jwt.PyJWKClientError(f"no signing key matches kid {kid!r}")


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp: object = claims.get("scp")
    if isinstance(scp, list):
        return [str(item) for item in cast(list[object], scp)]
    return []
