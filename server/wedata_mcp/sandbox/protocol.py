"""The API 3.0 protocol as WeData's endpoint enforces it: headers, TC3 verification, the error envelope."""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wedata_mcp.cloud import signing

SUPPORTED_VERSIONS = frozenset({"2021-08-20", "2025-08-06"})
MAX_CLOCK_SKEW_SECONDS = 300  # Tencent rejects timestamps more than five minutes off
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


class APIError(Exception):
    """An answer in Tencent's error envelope."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def new_request_id() -> str:
    return str(uuid.uuid4())


def error_envelope(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}


def ok_envelope(payload: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    return {"Response": {**payload, "RequestId": request_id}}


@dataclass(frozen=True, slots=True)
class Account:
    """A key pair the simulator accepts, and the session token it requires if temporary."""

    secret_id: str
    secret_key: str
    token: str | None = None


def verify(
    *,
    method: str,
    headers: Mapping[str, str],
    body: bytes,
    accounts: Mapping[str, Account],
    now: float,
    service: str = "wedata",
) -> Account:
    """Check an API 3.0 request the way Tencent does; raise `APIError` with Tencent's code if it fails."""
    if method != "POST":
        raise APIError("UnsupportedProtocol", "only POST with a JSON body is supported by this endpoint")
    for required in ("X-TC-Action", "X-TC-Version", "X-TC-Timestamp", "Authorization"):
        if not headers.get(required):
            raise APIError("MissingParameter", f"the request is missing the {required} header")
    if not headers["X-TC-Timestamp"].isdigit():
        raise APIError("InvalidParameter", "X-TC-Timestamp must be a Unix time in seconds")
    timestamp = int(headers["X-TC-Timestamp"])
    match = _AUTH_RE.match(headers["Authorization"])
    if match is None:
        raise APIError("AuthFailure.InvalidAuthorization", "the Authorization header is malformed")
    if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise APIError("AuthFailure.SignatureExpire", "the request signature has expired (check the clock)")
    account = accounts.get(match["id"])
    if account is None:
        raise APIError("AuthFailure.SecretIdNotFound", "the SecretId is not found")
    if match["service"] != service or match["date"] != signing.utc_date(timestamp):
        raise APIError("AuthFailure.SignatureFailure", "the credential scope does not match the request")
    if match["signed"] != signing.SIGNED_HEADERS:
        raise APIError("AuthFailure.SignatureFailure", "signed headers must be content-type;host")
    expected = signing.sign(
        secret_id=account.secret_id,
        secret_key=account.secret_key,
        service=service,
        timestamp=timestamp,
        method=method,
        host=headers.get("Host", ""),
        content_type=headers.get("Content-Type", ""),
        payload=body,
    )
    if not hmac.compare_digest(expected.rsplit("=", 1)[1], match["sig"]):
        raise APIError("AuthFailure.SignatureFailure", "the request signature does not match")
    if account.token is not None and not hmac.compare_digest(headers.get("X-TC-Token", ""), account.token):
        raise APIError("AuthFailure.TokenFailure", "the session token is invalid")
    if headers["X-TC-Version"] not in SUPPORTED_VERSIONS:
        raise APIError("NoSuchVersion", f"version {headers['X-TC-Version']} is not supported")
    return account
