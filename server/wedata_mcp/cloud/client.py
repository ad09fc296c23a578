"""The WeData API 3.0 client: one pooled httpx.AsyncClient, TC3 signing, rate limit, error mapping, retries.

Retry policy (DESIGN.md, guardrail invariant 2): a mutating call is re-sent only when the failure proves
it was not executed (never left the process, or `RequestLimitExceeded`); a timeout after sending, a
dropped connection, a 5xx or an unreadable answer is reported as outcome unknown and never retried.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from wedata_mcp import __version__
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.errors import (
    CloudAPIError,
    MissingCredentialsError,
    OutcomeUnknownError,
    ReadFailedError,
    RequestNotSentError,
    WeDataError,
    redact,
)
from wedata_mcp.cloud.ratelimit import RateLimiter, RateLimits
from wedata_mcp.cloud.signing import TC3Auth

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"  # exactly what Tencent's SDK signs (no charset)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def may_retry(exc: WeDataError, *, mutating: bool) -> bool:
    """Whether sending again is safe: always if it proves nothing ran; for reads, also if it may be passing."""
    if isinstance(exc, RequestNotSentError):
        return exc.retryable
    if isinstance(exc, CloudAPIError):
        return exc.retryable or (not mutating and exc.code.startswith("InternalError"))
    return isinstance(exc, OutcomeUnknownError) and not mutating


def exponential_backoff(attempt: int) -> float:
    """Seconds before retry `attempt` (0-based): 0.2, 0.4, 0.8..."""
    return 0.2 * 2**attempt


@dataclass(frozen=True, slots=True)
class Target:
    """Where calls go: the endpoint URL, the API version and service, the region."""

    endpoint: str
    region: str
    service: str = "wedata"
    version: str = "2021-08-20"
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """The `Response` object of a successful call, with the RequestId pulled out."""

    data: dict[str, Any]
    request_id: str | None


class WeDataClient:
    """Signs and sends WeData API actions. Safe to share across concurrent tool calls."""

    def __init__(
        self,
        target: Target,
        credentials: Credentials | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        limiter: RateLimiter | RateLimits | None = None,
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff: Callable[[int], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.target = target
        self.credentials = credentials
        self._clock = clock
        # One shared limiter, or one per action (WeData limits each action separately).
        self._limits = limiter if isinstance(limiter, RateLimits) else None
        self._limiter = limiter if isinstance(limiter, RateLimiter) else RateLimiter(20)
        self._max_attempts = max_attempts
        self._backoff = backoff or exponential_backoff
        self._sleep = sleep
        self._transport = transport
        self._timeout = timeout
        self._pool: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        """The pooled client, made on first use: building its TLS context costs start-up time that a session
        which only lists tools should not pay."""
        if self._pool is None:
            self._pool = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 10.0)),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                follow_redirects=False,
            )
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    def secrets(self) -> tuple[str, ...]:
        return self.credentials.secrets() if self.credentials else ()

    async def call(self, action: str, body: bytes, *, mutating: bool) -> ApiResponse:
        """Send one action with `body` as the exact JSON payload; retry only where policy allows."""
        credentials = self.credentials
        if credentials is None:
            raise MissingCredentialsError()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send_once(action, body, credentials)
            except (RequestNotSentError, CloudAPIError, OutcomeUnknownError) as exc:
                if not may_retry(exc, mutating=mutating) or attempt >= self._max_attempts:
                    if isinstance(exc, OutcomeUnknownError) and not mutating:
                        # "Outcome unknown: check before rerunning" is about mutations; it misleads for a read.
                        raise ReadFailedError(action, exc.reason, exc.trace_id, attempt) from None
                    raise
                logger.warning("%s attempt %d failed (%s); retrying", action, attempt, type(exc).__name__)
                await self._sleep(self._backoff(attempt))

    async def _send_once(self, action: str, body: bytes, credentials: Credentials) -> ApiResponse:
        trace_id = str(uuid.uuid4())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "X-TC-Action": action,
            "X-TC-Version": self.target.version,
            "X-TC-Region": self.target.region,
            "X-TC-RequestClient": f"wedata-mcp/{__version__}",
            "X-TC-TraceId": trace_id,
        }
        if self.target.language:
            headers["X-TC-Language"] = self.target.language
        auth = TC3Auth(credentials.signing_key(), self.target.service, self._clock)
        # Build the pool before taking a rate-limit slot: the slot's time must be the send's, and making the
        # pool (TLS context, CA bundle) takes tens of ms that WeData's window would otherwise not see.
        http = self._http
        try:
            # The slot is held until the answer is in (a shared slot is then re-stamped: see RateLimiter).
            async with (self._limits[action] if self._limits else self._limiter).sending():
                logger.debug("sending %s (%d bytes, trace %s)", action, len(body), trace_id)
                response = await http.post(self.target.endpoint, content=body, headers=headers, auth=auth)
        except _NOT_SENT as exc:
            raise RequestNotSentError(f"{action} was not sent: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            # Sent, or partly sent: WeData may have acted on it.
            raise OutcomeUnknownError(action, f"{type(exc).__name__} after sending", trace_id) from None
        return self._parse(action, response, trace_id)

    def _parse(self, action: str, response: httpx.Response, trace_id: str) -> ApiResponse:
        if response.status_code >= 500:
            raise OutcomeUnknownError(action, f"HTTP {response.status_code} from the endpoint", trace_id)
        try:
            envelope = json.loads(response.content)
            payload = envelope["Response"]
            if not isinstance(payload, dict):
                raise TypeError("Response is not an object")
        except (ValueError, KeyError, TypeError):
            if response.status_code != 200:
                # No envelope: no message, and nothing that proves the action did not run.
                raise CloudAPIError(f"HTTP{response.status_code}", "", None, action=action, trace_id=trace_id) from None
            raise OutcomeUnknownError(action, "the answer was not Tencent's JSON envelope", trace_id) from None
        body: dict[str, Any] = payload  # pyright: ignore[reportUnknownVariableType]
        request_id = body.get("RequestId")
        request_id = request_id if isinstance(request_id, str) else None
        error = body.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", "UnknownError"))  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
            message = redact(str(error.get("Message", "")), self.secrets())  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
            raise CloudAPIError(code, message, request_id, action=action, trace_id=trace_id)
        return ApiResponse(body, request_id)
