"""An HTTP edge that cannot be held open (issue 11 item 9), on real sockets against the real server process: a
client that stops halfway through a request's head (before authentication) or its body (after it) is dropped
within seconds; past the connection limit a request is answered 503; past a principal's session cap opening
another is answered 429, and other principals still work — nothing of it reaches the simulator."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from tests.conftest import doc_example
from tests.spawn import free_port
from tests.test_http_security import (
    ISSUER,
    JWT_SECRET,
    SCOPE,
    TOKEN,
    Cloud,
    RawSession,
    Served,
    bearer,
    mint,
    serve_http,
    sse_result,
)

# The simulator fixtures of the HTTP security tests, shared (the `as` form marks them as re-exported for pytest).
from tests.test_http_security import _fresh_cloud as _fresh_cloud
from tests.test_http_security import cloud as cloud

pytestmark = pytest.mark.anyio
DEADLINE = 1.5  # the head and body read deadlines of the servers below, in seconds
CONNECTIONS = 3
SESSIONS = 2


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    env = {
        "WEDATA_MCP_HTTP_TOKEN": TOKEN,
        "WEDATA_MCP_HTTP_HEADER_TIMEOUT": str(DEADLINE),
        "WEDATA_MCP_HTTP_BODY_TIMEOUT": str(DEADLINE),
        "WEDATA_MCP_HTTP_MAX_CONNECTIONS": str(CONNECTIONS),
    }
    with serve_http(tmp_path_factory.mktemp("edge"), cloud, **env) as served:
        yield served


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    port = free_port()
    env = {
        "WEDATA_MCP_OAUTH_ISSUER": ISSUER,
        "WEDATA_MCP_RESOURCE_URL": f"http://127.0.0.1:{port}/mcp",
        "WEDATA_MCP_OAUTH_HS256_SECRET": JWT_SECRET,
        "WEDATA_MCP_OAUTH_SCOPES": SCOPE,
        "WEDATA_MCP_HTTP_SESSIONS_PER_PRINCIPAL": str(SESSIONS),
    }
    with serve_http(tmp_path_factory.mktemp("capped"), cloud, port=port, **env) as served:
        yield served


def head(served: Served, *, length: int | None = None, credential: bool = True) -> bytes:
    lines = ["POST /mcp HTTP/1.1", f"Host: 127.0.0.1:{served.port}", "Accept: application/json, text/event-stream"]
    lines += ["Content-Type: application/json"]
    if credential:
        lines.append(f"Authorization: Bearer {TOKEN}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def seconds_until_dropped(served: Served, sent: bytes, limit: float = 10.0) -> float:
    """Connect, send `sent`, then stay silent: how long until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=limit) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        received = b""
        while chunk := sock.recv(65_536):  # bounded by the socket timeout: it raises past `limit`
            received += chunk
        return time.monotonic() - started


@pytest.mark.parametrize(
    "case", ["silent", "half-a-head", "head-without-the-credential-line", "half-a-body", "half-a-second-request"]
)
def test_a_client_that_stops_sending_is_dropped_within_seconds(edge: Served, cloud: Cloud, case: str) -> None:
    full = head(edge)
    body = doc_example_bytes()
    sent = {
        "silent": b"",
        "half-a-head": full[: len(full) // 2],
        "head-without-the-credential-line": head(edge, credential=False)[:-2],  # before authentication
        "half-a-body": head(edge, length=len(body)) + body[: len(body) // 2],  # after authentication
        # A whole request (refused: no session), then the start of a next one on the kept-alive connection.
        "half-a-second-request": head(edge, length=2) + b"{}" + full[:20],
    }[case]
    elapsed = seconds_until_dropped(edge, sent)
    assert DEADLINE * 0.8 < elapsed < DEADLINE + 3
    assert cloud.received() == 0


def doc_example_bytes() -> bytes:
    import json

    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "arguments": doc_example()}}
    return json.dumps(call).encode()


def test_past_the_connection_limit_a_request_is_answered_503(edge: Served) -> None:
    held = [socket.create_connection(("127.0.0.1", edge.port), timeout=10) for _ in range(CONNECTIONS)]
    try:
        with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
            sock.sendall(head(edge, length=2) + b"{}")
            assert sock.recv(65_536).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    # Once they are gone (or dropped by the head deadline), requests are served again.
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(head(edge, length=2) + b"{}")
        assert not sock.recv(65_536).startswith(b"HTTP/1.1 503")


async def test_one_principal_cannot_take_every_session(capped: Served, cloud: Cloud) -> None:
    alice, bob = bearer(mint(capped, sub="alice")), bearer(mint(capped, sub="bob"))
    with anyio.fail_after(60):
        async with httpx.AsyncClient(timeout=30) as http:
            hers = [await RawSession(http, capped, alice).open() for _ in range(SESSIONS)]
            one_more = RawSession(http, capped, alice)
            init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
            refused = await one_more.post(one_more.message("initialize", init))
            assert refused.status_code == 429 and "too many open sessions" in refused.text
            # Bob is not locked out: he opens a session, previews and confirms, and it runs once.
            his = await RawSession(http, capped, bob).open()
            token = await his.confirmation_token()
            executed = await his.post(his.call(doc_example() | {"ConfirmationToken": token}))
            assert sse_result(executed)["result"]["structuredContent"]["Status"] == "executed"
            # When alice closes one of hers, she may open another.
            closed = await http.delete(capped.url, headers=hers[0].headers)
            assert closed.status_code in (200, 204)
            await RawSession(http, capped, alice).open()
    assert cloud.reruns() == 1
