"""The cloud layer's error tree; `str()` of each is what a person needs to read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

# Codes that prove the API did not execute the action: Tencent's API gateway answers them before the action runs
# (signature, permission, quota, parameter checks; the common error codes of API 3.0). Every other error after a
# mutation may have left is "outcome unknown". The README's guardrail section lists them.
NOT_EXECUTED_CODES = frozenset(
    {
        "AuthFailure",
        "RequestLimitExceeded",
        "UnauthorizedOperation",
        "InvalidParameter",
        "InvalidParameterValue",
        "MissingParameter",
        "UnknownParameter",
        "InvalidAction",
        "NoSuchVersion",
        "UnsupportedRegion",
        "UnsupportedProtocol",
    }
)  # each with its sub-codes (AuthFailure.SignatureExpire, ...)
# Of those, the ones worth sending again: the same request meets the same refusal otherwise.
RETRYABLE_CODES = frozenset({"RequestLimitExceeded"})
# Tencent's error codes ("FailedOperation.InstanceNotFound", "HTTP403" for a bare status) and RequestIds (UUIDs).
_CODE = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*", re.ASCII)
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}", re.ASCII)


class WeDataError(Exception):
    """Base of every error raised by the cloud layer."""


class MissingCredentialsError(WeDataError):
    def __init__(self) -> None:
        super().__init__(
            "No Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY "
            "(plus TENCENTCLOUD_SECURITY_TOKEN for temporary credentials) in the server's environment, "
            "or write them to ~/.tencentcloud/credentials. To try it without an account, run "
            "`wedata-mcp serve --sandbox` (a local simulator)."
        )


class NoProjectError(WeDataError):
    def __init__(self) -> None:
        super().__init__(
            "No WeData project to look in: set WEDATA_MCP_PROJECT_IDS to the comma-separated IDs of the projects "
            "this server works in (the first is the default), or name a project in the request. WeData's reads "
            "need a project (DescribeScheduleInstances: ProjectIdent 【必要参数】), and no documented action lists "
            "the projects these credentials can see."
        )


class IncompleteAnswerError(WeDataError):
    """A paged answer that ended before the TotalCount it gave: what it left out is unknown, not absent."""

    def __init__(self, action: str, got: int, total: int | None, *, page: int = 0, pages: int | None = None) -> None:
        counted = f"{total} items" if total is not None else f"{pages} pages (stopped at page {page})"
        super().__init__(f"{action} stopped after {got} of the {counted} it counts")


class CloudAPIError(WeDataError):
    """Tencent answered with its error envelope: `{"Response": {"Error": {Code, Message}, RequestId}}`."""

    def __init__(
        self, code: str, message: str, request_id: str | None, *, action: str = "", trace_id: str = ""
    ) -> None:
        self.action = action
        self.trace_id = trace_id
        # Codes and RequestIds are shown (and audited) as identifiers, so only what has their shape passes.
        self.code = code if len(code) <= 100 and _CODE.fullmatch(code) else "UnknownError"
        self.message = message
        self.request_id = request_id if request_id and _REQUEST_ID.fullmatch(request_id) else None
        # The message is WeData's text, not ours: quoted as a JSON string, so whatever it says reads as data
        # (DESIGN.md, guardrail invariant 4) and not as more of the server's own words.
        quoted = json.dumps(message, ensure_ascii=False)
        said = f"WeData's message, quoted as data: {quoted}" if message else "no message"
        super().__init__(f"{self.code} (RequestId: {self.request_id or 'none'}); {said}")

    @property
    def proves_not_executed(self) -> bool:
        return self.code.partition(".")[0] in NOT_EXECUTED_CODES

    @property
    def retryable(self) -> bool:
        return self.code.partition(".")[0] in RETRYABLE_CODES


class NotExecutedError(WeDataError):
    """A mutation that WeData refused before running it (a code of NOT_EXECUTED_CODES): told as not executed, with
    Tencent's code, RequestId and message kept, so a person knows nothing reran and what to fix before retrying."""

    def __init__(self, refused: CloudAPIError) -> None:
        self.action = refused.action
        self.code = refused.code
        self.request_id = refused.request_id
        self.trace_id = refused.trace_id
        super().__init__(
            f"Not executed: WeData refused {refused.action or 'the request'} before running it, so nothing reran: "
            f"{refused}"
        )


class RequestNotSentError(WeDataError):
    """The request never left this process (connection refused, DNS, pool exhausted)."""

    retryable = True  # nothing ran, and the cause may pass


class RateLimitUnavailableError(RequestNotSentError):
    """The rate limit shared by replicas could not be read, so the request was not sent: refusing rather than
    risking more than WeData's quota. Not retried at once: the shared store is what failed, not the request."""

    retryable = False

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        super().__init__(
            f"{action} was not sent: the request rate limit that replicas share could not be checked ({reason}), "
            "and sending anyway could exceed WeData's quota; nothing ran, try again when the shared store "
            "(WEDATA_MCP_TOKEN_STORE) is reachable"
        )


class OutcomeUnknownError(WeDataError):
    """The request may have reached WeData, but no definite answer came back."""

    def __init__(self, action: str, reason: str, trace_id: str, request_id: str | None = None) -> None:
        self.action = action
        self.reason = reason
        self.trace_id = trace_id
        self.request_id = request_id
        super().__init__(
            f"Outcome unknown for {action}: {reason}. It was NOT retried, because it may already have run. "
            f"Check the instances' states (X-TC-TraceId {trace_id}"
            + (f", RequestId {request_id}" if request_id else "")
            + ") before deciding to rerun; a new rerun needs a fresh dry run."
        )


class ReadFailedError(WeDataError):
    """A read-only action got no usable answer, even after its retries. A read changes nothing, so unlike a
    mutation there is no unknown outcome to check: trying again later is safe."""

    def __init__(
        self, action: str, reason: str, trace_id: str | None, attempts: int, *, request_id: str | None = None
    ) -> None:
        self.action = action
        self.reason = reason
        self.trace_id = trace_id
        # Shown as an identifier (as CloudAPIError's): only what has a RequestId's shape passes.
        self.request_id = request_id if request_id and _REQUEST_ID.fullmatch(request_id) else None
        ids = [f"RequestId {self.request_id}"] if self.request_id else []
        ids += [f"X-TC-TraceId {trace_id}"] if trace_id else []
        super().__init__(
            f"{action} (read-only) got no usable answer after {attempts} attempt(s): {reason}"
            + (f" ({', '.join(ids)})" if ids else "")
            + ". Nothing was changed; try again later."
        )


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of a secret value in text coming back from the network."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
