"""An HTTP edge that cannot be held open: read deadlines per request, and a cap on sessions per principal."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from wedata_mcp.tools.sdk import may_open_session, request_principal

logger = logging.getLogger(__name__)


def deadline_protocol(header_seconds: float, body_seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with two read deadlines it lacks (uvicorn 0.54 has only an idle keep-alive timer,
    disarmed by the first byte of a request): a connection that has not sent a whole request head within
    `header_seconds` of connecting (or of its next request's first byte), or whose body is not all there within
    `body_seconds` of its head, is closed. A slowloris therefore holds a connection for seconds, whether it stops
    before authentication (in the headers) or after it (in the body); a long SSE response, whose request is
    complete, is never cut. This relies on H11Protocol's `conn` (the h11 state machine), `transport`, `loop` and
    `timeout_keep_alive_task`; tests/test_http_edge.py pins the behaviour on real sockets."""

    class DeadlineH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _phase: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm("head", header_seconds)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._follow()

        def _follow(self) -> None:
            """Arm the deadline of the part of the request still being read, or none once it is all read."""
            if self.transport.is_closing():
                return
            state = self.conn.their_state
            if state is h11.SEND_BODY:
                self._arm("body", body_seconds)
            elif state is h11.IDLE and (self.timeout_keep_alive_task is None or self.conn.trailing_data[0]):
                # Bytes of a next request have arrived (they disarmed the keep-alive timer, or came pipelined
                # behind the last request and wait in h11's buffer): its head is due.
                self._arm("head", header_seconds)
            elif state is not h11.IDLE:
                self._disarm()

        def _arm(self, phase: str, seconds: float) -> None:
            if self._phase == phase:
                return  # a deadline runs from the start of its phase, not from the latest byte
            self._disarm()
            self._phase = phase
            self._deadline = self.loop.call_later(seconds, self._expired, phase, seconds)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline, self._phase = None, None

        def _expired(self, phase: str, seconds: float) -> None:
            self._deadline, self._phase = None, None
            if not self.transport.is_closing():
                logger.warning("closing an HTTP connection whose request %s took over %g s", phase, seconds)
                self.transport.close()

    return DeadlineH11Protocol


class SessionCap:
    """At most `per_principal` open MCP sessions for each principal. A request that would open one more (one the
    SDK would answer with a new session: see `may_open_session`) is answered 429 before the SDK sees it; sessions
    close when their client deletes them or the SDK ends them (idle timeout), which `live()` — the SDK's open
    session ids — tells. Sessions being opened count too, so a burst of parallel opens cannot slip past the cap."""

    def __init__(self, app: ASGIApp, per_principal: int, live: Callable[[], Collection[str]]) -> None:
        self._app = app
        self._cap = per_principal
        self._live = live
        self._owned: dict[str, set[str]] = {}
        self._opening: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not may_open_session(scope["headers"]):
            await self._app(scope, receive, send)
            return
        principal = request_principal()
        live = set(self._live())
        owned = self._owned.setdefault(principal, set())
        owned.intersection_update(live)
        if len(owned) + self._opening.get(principal, 0) >= self._cap:
            logger.warning("refusing a new MCP session: its principal has %d open", len(owned))
            await _too_many(send, self._cap)
            return
        self._opening[principal] = self._opening.get(principal, 0) + 1
        pending = True

        async def noting(message: Message) -> None:
            nonlocal pending
            if message["type"] == "http.response.start" and pending:
                session = _session_id(message.get("headers", [])) if message["status"] < 400 else None
                if session is not None:
                    owned.add(session)
                self._opening[principal] -= 1
                pending = False
            await send(message)

        try:
            await self._app(scope, receive, noting)
        finally:
            if pending:
                self._opening[principal] -= 1
            if not owned and not self._opening[principal]:
                self._owned.pop(principal, None)
                self._opening.pop(principal, None)


def _session_id(headers: Any) -> str | None:
    for name, value in headers:
        if bytes(name).lower() == b"mcp-session-id":
            return bytes(value).decode("latin-1")
    return None


async def _too_many(send: Send, cap: int) -> None:
    error = {"code": -32000, "message": f"too many open sessions for you ({cap}); close one or wait for one to end"}
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
