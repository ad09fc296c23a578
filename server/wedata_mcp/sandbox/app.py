"""The simulator's HTTP face: one ASGI app answering API 3.0 POSTs, recording every request it receives.

The order of checks follows Tencent's gateway: size, signature (`protocol.verify`), region, action,
rate limit; then an injected fault may take over (see faults.py); then the action runs on the world,
advanced to the current simulated time first.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from wedata_mcp.sandbox.actions import ACTIONS
from wedata_mcp.sandbox.faults import Fault, FaultKind, Faults
from wedata_mcp.sandbox.protocol import Account, APIError, error_envelope, new_request_id, ok_envelope, verify
from wedata_mcp.sandbox.ratelimit import DEFAULT_LIMIT, SlidingWindowLimiter
from wedata_mcp.sandbox.simulation import advance
from wedata_mcp.sandbox.timeline import StoryClock
from wedata_mcp.sandbox.transport import answer_late, drop_connection
from wedata_mcp.sandbox.v2025 import ACTIONS_2025
from wedata_mcp.sandbox.world import World

MAX_BODY_BYTES = 10 * 1024 * 1024
_STATUS_FAULTS = {
    FaultKind.HTTP_500: (500, "text/plain", "Internal Server Error"),
    FaultKind.HTTP_502: (502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    FaultKind.HTTP_503: (503, "text/plain", "Service Unavailable"),
}
# Each API version has its own actions, over the one world.
_ACTIONS_BY_VERSION: dict[str, Mapping[str, Callable[[World, dict[str, Any], datetime], dict[str, Any]]]] = {
    "2021-08-20": ACTIONS,
    "2025-08-06": ACTIONS_2025,
}
_SOCKET_FAULTS = frozenset({FaultKind.SLOW, FaultKind.DROP})
_NON_JSON = "<html><head><title>Gateway</title></head><body>upstream answered with an unexpected page</body></html>"


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        decoded: Any = json.loads(body or b"{}")
    except ValueError:
        raise APIError("InvalidParameter", "the request body is not valid JSON") from None
    if not isinstance(decoded, dict):
        raise APIError("InvalidParameter", "the request body must be a JSON object")
    return cast(dict[str, Any], decoded)


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the endpoint saw it (never its Authorization or token)."""

    action: str
    body: bytes
    region: str | None
    verified: bool
    error_code: str | None
    request_id: str
    fault: str | None = None  # the injected FaultKind that hit it, if any
    executed: bool = False  # whether the action ran (and, for a rerun, was accepted)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class _Decision:
    response: Response
    verified: bool = False
    code: str | None = None
    fault: Fault | None = None
    executed: bool = False


@dataclass
class Sandbox:
    """A WeData endpoint with accounts, a world of instances, and a log of what reached it.

    `clock` is the wall clock (signatures, rate limit); the world's simulated time starts at `world.now`
    and runs `speed` times faster than it.
    """

    accounts: Mapping[str, Account]
    world: World = field(default_factory=World.seeded)
    clock: Callable[[], float] = time.time
    received: list[Received] = field(default_factory=lambda: [])
    speed: float = 1.0
    rate_limit: int = DEFAULT_LIMIT
    faults: Faults = field(default_factory=Faults)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    story: StoryClock = field(init=False)
    _limiter: SlidingWindowLimiter = field(init=False)
    # `received` by action: tests ask for one action's requests thousands of times over a long log.
    _by_action: dict[str, list[Received]] = field(default_factory=lambda: {}, init=False, repr=False)

    def __post_init__(self) -> None:
        self.story = StoryClock(self.world.now, self.clock, self.speed)
        self._limiter = SlidingWindowLimiter(self.clock, self.rate_limit)

    def requests(self, action: str | None = None, *, verified: bool | None = True) -> list[Received]:
        with self._lock:
            pool = self.received if action is None else self._by_action.get(action, [])
            return [r for r in pool if verified is None or r.verified == verified]

    def load(self, world: World) -> None:
        """Replace the world (e.g. a fresh `World.seeded()` between tests); its story restarts at `world.now`."""
        with self._lock:
            self.world = world
            self.story = StoryClock(world.now, self.clock, self.speed)

    def clear_received(self) -> None:
        with self._lock:
            self.received.clear()
            self._by_action.clear()

    def epoch(self) -> float:
        """The simulated now as a POSIX timestamp (story times read as local time, as `datetime.timestamp` does),
        for a server whose every "now" follows the simulator. Reads the clock only: the world is not advanced."""
        with self._lock:
            story = self.story
        return story.now().timestamp()

    def now(self) -> datetime:
        """The current simulated time, with the world brought up to it."""
        now = self.story.now()
        advance(self.world, now)
        return now

    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """The ASGI application (a plain coroutine function, so servers detect ASGI 3)."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await self._asgi(scope, receive, send)

        return app

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http" or scope["path"] != "/":
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        headers = {
            k.title() if not k.lower().startswith("x-tc-") else "X-TC-" + k[5:].title(): v
            for k, v in request.headers.items()
        }
        request_id = new_request_id()
        decision = self._decide(request.method, headers, body, request_id)
        fault = decision.fault
        seen = Received(
            headers.get("X-TC-Action", ""),
            body,
            headers.get("X-TC-Region"),
            decision.verified,
            decision.code,
            request_id,
            fault.kind.value if fault else None,
            decision.executed,
        )
        with self._lock:
            self.received.append(seen)
            self._by_action.setdefault(seen.action, []).append(seen)
        if fault is not None and fault.kind == FaultKind.DROP:
            await drop_connection(send)
            return
        if fault is not None and fault.kind == FaultKind.SLOW and not await answer_late(fault.delay, receive):
            return  # the client stopped waiting: nobody to answer
        await decision.response(scope, receive, send)

    def _decide(self, method: str, headers: Mapping[str, str], body: bytes, request_id: str) -> _Decision:
        decision = _Decision(JSONResponse({}))
        try:
            if len(body) > MAX_BODY_BYTES:
                raise APIError("RequestSizeLimitExceeded", "the request body is too large")
            account = verify(method=method, headers=headers, body=body, accounts=self.accounts, now=self.clock())
            decision.verified = True
            if not headers.get("X-TC-Region"):
                raise APIError("MissingParameter", "the request is missing the X-TC-Region header")
            action = headers.get("X-TC-Action", "")
            handler = _ACTIONS_BY_VERSION[headers["X-TC-Version"]].get(action)
            if handler is None:
                raise APIError("InvalidAction", f"the action {action or '(none)'} does not exist")
            if not self._limiter.admit(account.secret_id, action):
                raise APIError("RequestLimitExceeded", "the request rate limit (20 per second) is exceeded")
            decision.fault = self.faults.take(action)
            if decision.fault is None or decision.fault.execute:
                payload = handler(self.world, _json_object(body), self.now())
                decision.executed = True
                decision.response = JSONResponse(ok_envelope(payload, request_id))
        except APIError as exc:
            decision.code = exc.code
            decision.response = JSONResponse(error_envelope(exc.code, exc.message, request_id))
        fault = decision.fault
        # A fault replaces the answer, whether or not the action ran; `slow` and `drop` act on the socket.
        if fault is not None and not (fault.kind in _SOCKET_FAULTS and fault.execute):
            self._fault_answer(decision, fault, request_id)
        return decision

    @staticmethod
    def _fault_answer(decision: _Decision, fault: Fault, request_id: str) -> None:
        if fault.kind in _STATUS_FAULTS:
            status, media_type, text = _STATUS_FAULTS[fault.kind]
            decision.response = Response(text, status, media_type=media_type)
            return
        if fault.kind == FaultKind.NON_JSON:
            decision.response = Response(_NON_JSON, 200, media_type="text/html")
            return
        code, message = {
            FaultKind.RATE_LIMIT: ("RequestLimitExceeded", "the request rate limit (20 per second) is exceeded"),
        }.get(fault.kind, ("InternalError", "an internal error occurred; please try again later"))
        # rate_limit, internal_error, and a `slow` that did not execute (a gateway giving up late).
        decision.code = code
        decision.response = JSONResponse(error_envelope(code, message, request_id))
