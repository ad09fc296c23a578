"""TC3-HMAC-SHA256 request signing as small pure functions, plus an httpx.Auth that applies them.

Mirrors Tencent's own SDK (`tencentcloud.common.abstract_client._get_tc3_signature`): the signed
headers are exactly `content-type;host`, the canonical URI is `/`, the query is empty for POST, and
the credential-scope date is the UTC date of the same timestamp that goes in `X-TC-Timestamp`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_date(timestamp: int) -> str:
    # isoformat, not strftime: glibc's strftime re-reads the time zone on every call (most of this function's cost).
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def credential_scope(timestamp: int, service: str) -> str:
    return f"{utc_date(timestamp)}/{service}/tc3_request"


def canonical_request(
    *, method: str, content_type: str, host: str, payload: bytes, uri: str = "/", query: str = ""
) -> str:
    canonical_headers = f"content-type:{content_type}\nhost:{host}\n"
    return "\n".join([method, uri, query, canonical_headers, SIGNED_HEADERS, sha256_hex(payload)])


def string_to_sign(canonical: str, timestamp: int, service: str) -> str:
    digest = sha256_hex(canonical.encode())
    return "\n".join([ALGORITHM, str(timestamp), credential_scope(timestamp, service), digest])


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature(secret_key: str, timestamp: int, service: str, to_sign: str) -> str:
    k_date = _hmac(("TC3" + secret_key).encode(), utc_date(timestamp))
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(secret_id: str, timestamp: int, service: str, sig: str) -> str:
    scope = credential_scope(timestamp, service)
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={sig}"


def sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    method: str,
    host: str,
    content_type: str,
    payload: bytes,
) -> str:
    """The `Authorization` header value for one request."""
    canonical = canonical_request(method=method, content_type=content_type, host=host, payload=payload)
    to_sign = string_to_sign(canonical, timestamp, service)
    return authorization(secret_id, timestamp, service, signature(secret_key, timestamp, service, to_sign))


@dataclass(frozen=True, slots=True)
class SigningKey:
    """What signing needs from a credential; `repr` never shows the key or token."""

    secret_id: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return "SigningKey(<redacted>)"


class TC3Auth(httpx.Auth):
    """Signs each request with TC3-HMAC-SHA256, stamping `X-TC-Timestamp` from an injected clock."""

    requires_request_body = True

    def __init__(self, key: SigningKey, service: str, clock: Callable[[], float]) -> None:
        self._key = key
        self._service = service
        self._clock = clock

    def __repr__(self) -> str:
        return "TC3Auth(<redacted>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = int(self._clock())
        request.headers["X-TC-Timestamp"] = str(timestamp)
        if self._key.token:
            request.headers["X-TC-Token"] = self._key.token
        # Replace, never append: a re-sent request must carry exactly one fresh Authorization.
        request.headers["Authorization"] = sign(
            secret_id=self._key.secret_id,
            secret_key=self._key.secret_key,
            service=self._service,
            timestamp=timestamp,
            method=request.method,
            host=request.headers["Host"],
            content_type=request.headers["Content-Type"],
            payload=request.content,
        )
        yield request
