"""The simulator's HTTP face: one ASGI app answering API 3.0 POSTs, recording every request it receives."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wedata_mcp.sandbox.actions import ACTIONS, World
from wedata_mcp.sandbox.protocol import Account, APIError, error_envelope, new_request_id, ok_envelope, verify

MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the endpoint saw it (never its Authorization or token)."""

    action: str
    body: bytes
    region: str | None
    verified: bool
    error_code: str | None
    request_id: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Sandbox:
    """A WeData endpoint with accounts, a world of instances, and a log of what reached it."""

    accounts: Mapping[str, Account]
    world: World = field(default_factory=World)
    clock: Callable[[], float] = time.time
    received: list[Received] = field(default_factory=lambda: [])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, action: str | None = None, *, verified: bool | None = True) -> list[Received]:
        with self._lock:
            return [
                r for r in self.received
                if (action is None or r.action == action) and (verified is None or r.verified == verified)
            ]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self._handle, methods=["GET", "POST", "PUT", "DELETE"])])

    async def _handle(self, request: Request) -> JSONResponse:
        request_id = new_request_id()
        body = await request.body()
        headers = {k.title() if not k.lower().startswith("x-tc-") else "X-TC-" + k[5:].title(): v
                   for k, v in request.headers.items()}
        action = headers.get("X-TC-Action", "")
        verified, code = False, None
        try:
            if len(body) > MAX_BODY_BYTES:
                raise APIError("RequestSizeLimitExceeded", "the request body is too large")
            verify(method=request.method, headers=headers, body=body, accounts=self.accounts, now=self.clock())
            verified = True
            handler = ACTIONS.get(action)
            if handler is None:
                raise APIError("InvalidAction", f"the action {action or '(none)'} does not exist")
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise APIError("InvalidParameter", "the request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise APIError("InvalidParameter", "the request body must be a JSON object")
            payload = handler(self.world, cast(dict[str, Any], params), self.clock())
            return JSONResponse(ok_envelope(payload, request_id))
        except APIError as exc:
            code = exc.code
            return JSONResponse(error_envelope(exc.code, exc.message, request_id))
        finally:
            with self._lock:
                self.received.append(Received(action, body, headers.get("X-TC-Region"), verified, code, request_id))
