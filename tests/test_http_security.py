"""HTTP transport security end to end: the real server process behind Host/Origin checks, a bearer token (static
or an OAuth JWT) and a body limit. Every refusal happens before any tool runs: nothing more reaches the simulator
and nothing is audited; the same request without the defect then executes exactly once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from starlette.types import Receive, Scope, Send

from tests.conftest import SECRET_ID, SECRET_KEY, audit_records, doc_example
from tests.spawn import free_port, server_env, stop, until_listening
from wedata_mcp.http.config import OAuthConfig, http_config
from wedata_mcp.http.verifiers import JwtVerifier, StaticTokenVerifier
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio

TOOL = "rerun_schedule_instances"
TOKEN = "mcp-bearer-canary-5f2c9a7e1d3b4c6a"  # the static bearer token; must never reach Tencent
JWT_SECRET = "jwt-hs256-canary-secret-0123456789abcdef"
ISSUER = "https://login.example.com/"
SCOPE = "wedata:rerun"
BODY_LIMIT = 16_384
EVIL = "evil.example"


# --- the simulator, recording every request exactly as it arrived -------------------------------------------------


@dataclass(frozen=True)
class Arrived:
    headers: list[tuple[str, str]]
    body: bytes


class RecordingSandbox(Sandbox):
    """The simulator, also keeping every request's raw headers and body (to prove what Tencent would see)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived: list[Arrived] = []

    def app(self) -> Callable[[Scope, Receive, Send], Any]:
        inner = super().app()

        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            chunks: list[bytes] = []

            async def tap() -> Any:
                message = await receive()
                chunks.append(message.get("body", b""))
                return message

            await inner(scope, tap if scope["type"] == "http" else receive, send)
            if scope["type"] == "http":
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
                self.arrived.append(Arrived(headers, b"".join(chunks)))

        return recording


@dataclass
class Cloud:
    sandbox: RecordingSandbox
    url: str

    def reruns(self) -> int:
        return len(self.sandbox.requests("RunRerunScheduleInstances", verified=None))

    def received(self) -> int:
        return len(self.sandbox.received)


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    sandbox = RecordingSandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)})
    with serve_in_thread(sandbox) as url:
        yield Cloud(sandbox, url)


@pytest.fixture(autouse=True)
def _fresh_cloud(cloud: Cloud) -> None:
    cloud.sandbox.clear_received()
    cloud.sandbox.arrived.clear()


# --- the server process ---------------------------------------------------------------------------------------------


@dataclass
class Served:
    port: int
    audit: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def audited(self) -> int:
        return len(audit_records(self.audit))


async def _until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    await until_listening(port, lambda: process.poll() is not None)


@contextmanager
def serve_http(tmp: Path, cloud: Cloud, *, host: str = "127.0.0.1", port: int = 0, **env: str) -> Iterator[Served]:
    """`wedata-mcp serve --transport http` as a process for the block; it is stopped (and reaped) at the end."""
    port = port or free_port()
    command = [sys.executable, "-m", "wedata_mcp", "serve", "--transport", "http", "--host", host, "--port", str(port)]
    environment = server_env(cloud.url, tmp, **env)
    with (tmp / "stderr").open("w") as errlog:
        process = subprocess.Popen(
            command, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog
        )
        try:
            anyio.run(_until_listening, port, process)
            yield Served(port, tmp / "audit.jsonl")
        finally:
            stop(process)


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    """Loopback, a static bearer token, a 16 KiB body limit."""
    tmp = tmp_path_factory.mktemp("static")
    with serve_http(tmp, cloud, WEDATA_MCP_HTTP_TOKEN=TOKEN, WEDATA_MCP_MAX_BODY_BYTES=str(BODY_LIMIT)) as served:
        yield served


@contextmanager
def serve_oauth(tmp: Path, cloud: Cloud) -> Iterator[Served]:
    """Loopback, OAuth: HS256 JWTs from ISSUER for the audience http://127.0.0.1:PORT/mcp, with scope SCOPE."""
    port = free_port()
    env = {
        "WEDATA_MCP_OAUTH_ISSUER": ISSUER,
        "WEDATA_MCP_RESOURCE_URL": f"http://127.0.0.1:{port}/mcp",
        "WEDATA_MCP_OAUTH_HS256_SECRET": JWT_SECRET,
        "WEDATA_MCP_OAUTH_SCOPES": SCOPE,
    }
    with serve_http(tmp, cloud, port=port, **env) as served:
        yield served


@pytest.fixture(scope="module")
def oauth(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    with serve_oauth(tmp_path_factory.mktemp("oauth"), cloud) as served:
        yield served


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    """Bound to every interface (with a token, as it must be), reached here through 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("public")
    with serve_http(tmp, cloud, host="0.0.0.0", WEDATA_MCP_HTTP_TOKEN=TOKEN) as served:  # noqa: S104 - the point
        yield served


def mint(served: Served, **changes: Any) -> str:
    """A JWT access token for the OAuth server; `changes` override claims (None drops one), `key`/`alg` the signing."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": served.url,
        "sub": "alice",
        "client_id": "test-client",
        "iat": now,
        "exp": now + 300,
        "scope": SCOPE,
    }
    key = changes.pop("key", JWT_SECRET)
    alg = changes.pop("alg", "HS256")
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=alg)


# --- clients: the SDK's, and a hand-driven one for requests the SDK will not send ------------------------------------


@asynccontextmanager
async def sdk_client(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def sdk_client_is_refused(url: str, headers: dict[str, str]) -> set[int]:
    """The statuses the server answered while the SDK's client failed to get a session (it must fail)."""
    statuses: set[int] = set()

    async def note(response: httpx2.Response) -> None:
        statuses.add(response.status_code)

    refused = False
    with anyio.fail_after(30):
        try:
            async with (
                httpx2.AsyncClient(headers=headers, event_hooks={"response": [note]}) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                await client.call_tool(TOOL, doc_example())
        except* MCPError:
            refused = True
    assert refused, statuses
    return statuses


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sse_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a Streamable HTTP response (an SSE `data:` line, or a JSON body)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads(data[-1])


class RawSession:
    """An MCP session driven by hand over httpx: any header or the body can be made wrong on purpose."""

    def __init__(self, http: httpx.AsyncClient, served: Served, credential: dict[str, str]) -> None:
        self._http = http
        self._served = served
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        self.headers |= credential
        self._ids = 0

    def message(self, method: str, params: dict[str, Any], *, notification: bool = False) -> dict[str, Any]:
        self._ids += 1
        return {"jsonrpc": "2.0", "method": method, "params": params} | ({} if notification else {"id": self._ids})

    async def send(self, content: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self._http.post(self._served.url, headers=self.headers | (headers or {}), content=content)

    async def post(self, message: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.send(json.dumps(message).encode(), headers)

    async def open(self) -> RawSession:
        init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        response = await self.post(self.message("initialize", init))
        assert response.status_code == 200, response.text
        self.headers |= {"Mcp-Session-Id": response.headers["mcp-session-id"], "Mcp-Protocol-Version": "2025-06-18"}
        response = await self.post(self.message("notifications/initialized", {}, notification=True))
        assert response.status_code == 202, response.text
        return self

    def call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.message("tools/call", {"name": TOOL, "arguments": arguments})

    async def confirmation_token(self) -> str:
        result = sse_result(await self.post(self.call(doc_example())))["result"]
        assert not result.get("isError"), result
        return result["structuredContent"]["ConfirmationToken"]


Defect = Callable[[RawSession, dict[str, Any]], Awaitable[httpx.Response]]


def with_headers(headers: dict[str, str]) -> Defect:
    """The message as is, with these headers replaced."""
    return lambda session, message: session.post(message, headers)


def oversized(*, chunked: bool) -> Defect:
    """The message past the body limit. Trailing whitespace is valid JSON: only the size is wrong."""

    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    def send(session: RawSession, message: dict[str, Any]) -> Awaitable[httpx.Response]:
        body = json.dumps(message).encode() + b" " * BODY_LIMIT
        # Chunked: no Content-Length to refuse early, so the limit must count the bytes as they come.
        return session.send(chunks(body) if chunked else body)

    return send


async def assert_refused_before_any_tool_runs(
    served: Served, cloud: Cloud, credential: dict[str, str], defect: Defect, status: int
) -> None:
    """A confirmed rerun with one defect is refused with `status` and nothing runs; without it, it runs once."""
    with anyio.fail_after(30):
        async with httpx.AsyncClient(timeout=30) as http:
            session = await RawSession(http, served, credential).open()
            token = await session.confirmation_token()
            execute = session.call(doc_example() | {"ConfirmationToken": token})
            audited, received = served.audited(), cloud.received()

            refused = await defect(session, execute)
            assert refused.status_code == status, refused.text
            assert served.audited() == audited  # the tool never ran: not even a rejection was audited
            assert cloud.received() == received and cloud.reruns() == 0

            accepted = await session.post(execute)
    assert accepted.status_code == 200
    assert sse_result(accepted)["result"]["structuredContent"]["Status"] == "executed"
    assert cloud.reruns() == 1


# --- the static bearer token -------------------------------------------------------------------------------------


async def test_the_right_token_works_and_never_reaches_tencent(static: Served, cloud: Cloud) -> None:
    with anyio.fail_after(30):
        async with sdk_client(static.url, bearer(TOKEN)) as client:
            preview = await client.call_tool(TOOL, doc_example())
            assert preview.structured_content, preview.content
            token = preview.structured_content["ConfirmationToken"]
            result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.structured_content and result.structured_content["Status"] == "executed"
    assert cloud.reruns() == 1 and cloud.sandbox.arrived
    for request in cloud.sandbox.arrived:
        authorizations = [value for name, value in request.headers if name == "authorization"]
        assert len(authorizations) == 1
        assert authorizations[0].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
        assert not any(name.startswith("mcp-") for name, _ in request.headers)
        assert TOKEN not in json.dumps(request.headers) and TOKEN.encode() not in request.body


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        (bearer("wrong-token"), 401),
        (bearer(TOKEN[:-1]), 401),
        ({"Authorization": TOKEN}, 401),  # no scheme
        (bearer(TOKEN) | {"Host": EVIL}, 421),
        (bearer(TOKEN) | {"Host": f"{EVIL}:80"}, 421),
        (bearer(TOKEN) | {"Origin": f"https://{EVIL}"}, 403),
        (bearer(TOKEN) | {"Origin": "null"}, 403),
        ({"Origin": "null"}, 403),  # refused as a foreign origin before the token is even looked at
    ],
    ids=[
        "no-token",
        "wrong-token",
        "token-prefix",
        "no-scheme",
        "foreign-host",
        "foreign-host-port",
        "foreign-origin",
        "null-origin",
        "null-origin-no-token",
    ],
)
async def test_the_sdk_client_is_refused(static: Served, cloud: Cloud, headers: dict[str, str], status: int) -> None:
    audited = static.audited()
    assert await sdk_client_is_refused(static.url, headers) == {status}
    assert cloud.received() == 0 and static.audited() == audited


@pytest.mark.parametrize(
    ("defect", "status"),
    [
        (with_headers({"Authorization": ""}), 401),
        (with_headers(bearer("wrong-token")), 401),
        (with_headers({"Host": EVIL}), 421),
        (with_headers({"Origin": f"http://{EVIL}"}), 403),
        (with_headers({"Origin": "null"}), 403),
        (oversized(chunked=False), 413),
        (oversized(chunked=True), 413),
    ],
    ids=["no-token", "wrong-token", "foreign-host", "foreign-origin", "null-origin", "oversized", "oversized-chunked"],
)
async def test_a_confirmed_rerun_with_one_defect_is_refused_before_the_tool_runs(
    static: Served, cloud: Cloud, defect: Defect, status: int
) -> None:
    await assert_refused_before_any_tool_runs(static, cloud, bearer(TOKEN), defect, status)


# --- OAuth 2.1: JWT access tokens for this resource --------------------------------------------------------------


async def test_a_jwt_for_this_resource_works_and_never_reaches_tencent(oauth: Served, cloud: Cloud) -> None:
    access_token = mint(oauth)
    with anyio.fail_after(30):
        async with sdk_client(oauth.url, bearer(access_token)) as client:
            preview = await client.call_tool(TOOL, doc_example())
            assert preview.structured_content, preview.content
            token = preview.structured_content["ConfirmationToken"]
            result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.structured_content and result.structured_content["Status"] == "executed"
    assert cloud.reruns() == 1
    for request in cloud.sandbox.arrived:
        assert access_token not in json.dumps(request.headers) and access_token.encode() not in request.body


BAD_JWTS: dict[str, tuple[dict[str, Any], int]] = {
    "another-audience": ({"aud": "https://other.example.com/mcp"}, 401),
    "audience-of-the-issuer": ({"aud": ISSUER}, 401),
    "expired": ({"exp": int(time.time()) - 60, "iat": int(time.time()) - 600}, 401),
    "no-expiry": ({"exp": None}, 401),
    "another-issuer": ({"iss": "https://evil.example.com/"}, 401),
    "another-key": ({"key": "another-secret-of-the-same-length-0123456"}, 401),
    "unsigned": ({"key": None, "alg": "none"}, 401),
    "not-yet-valid": ({"nbf": int(time.time()) + 3600}, 401),
    "missing-scope": ({"scope": "wedata:read"}, 403),
}


@pytest.mark.parametrize("case", list(BAD_JWTS))
async def test_a_bad_jwt_is_refused_before_the_tool_runs(oauth: Served, cloud: Cloud, case: str) -> None:
    changes, status = BAD_JWTS[case]
    bad = mint(oauth, **changes)
    assert await sdk_client_is_refused(oauth.url, bearer(bad)) == {status}
    await assert_refused_before_any_tool_runs(oauth, cloud, bearer(mint(oauth)), with_headers(bearer(bad)), status)


async def test_the_protected_resource_metadata_names_the_issuer_and_a_401_points_to_it(oauth: Served) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        with anyio.fail_after(10):
            refused = await http.post(oauth.url, json={})
            metadata_url = f"http://127.0.0.1:{oauth.port}/.well-known/oauth-protected-resource/mcp"
            metadata = await http.get(metadata_url)
    assert refused.status_code == 401
    assert f'resource_metadata="{metadata_url}"' in refused.headers["www-authenticate"]
    assert metadata.status_code == 200
    document = metadata.json()
    assert document["resource"] == oauth.url
    assert document["authorization_servers"] == [ISSUER]
    assert document["scopes_supported"] == [SCOPE]


# --- a public bind --------------------------------------------------------------------------------------------------


async def test_a_public_bind_keeps_host_and_origin_checks_on(public: Served, cloud: Cloud) -> None:
    assert await sdk_client_is_refused(public.url, bearer(TOKEN) | {"Host": EVIL}) == {421}
    assert await sdk_client_is_refused(public.url, bearer(TOKEN) | {"Origin": f"http://{EVIL}"}) == {403}
    assert await sdk_client_is_refused(public.url, {}) == {401}
    await assert_refused_before_any_tool_runs(public, cloud, bearer(TOKEN), with_headers({"Host": EVIL}), 421)


# --- start-up configuration (no process needed) -------------------------------------------------------------------


def test_a_public_bind_without_authentication_is_refused() -> None:
    with pytest.raises(SettingsError, match="WEDATA_MCP_HTTP_TOKEN"):
        http_config(Settings(), "0.0.0.0", 8765)  # noqa: S104 - the point


def test_loopback_names_are_the_default_and_extra_hosts_and_origins_are_added() -> None:
    settings = Settings.from_env(
        {
            "WEDATA_MCP_HTTP_TOKEN": TOKEN,
            "WEDATA_MCP_ALLOWED_HOSTS": "mcp.example.com, 10.0.0.5:8765",
            "WEDATA_MCP_ALLOWED_ORIGINS": "https://app.example.com",
        }
    )
    config = http_config(settings, "0.0.0.0", 8765)  # noqa: S104
    assert {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"} <= set(config.allowed_hosts)
    assert {"mcp.example.com", "mcp.example.com:*", "10.0.0.5:8765"} <= set(config.allowed_hosts)
    assert "0.0.0.0:8765" not in config.allowed_hosts  # never a Host a browser would send for us
    assert "https://app.example.com" in config.allowed_origins and "null" not in config.allowed_origins
    assert TOKEN not in repr(config)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEDATA_MCP_ALLOWED_HOSTS": "*"}, "WEDATA_MCP_ALLOWED_HOSTS"),
        ({"WEDATA_MCP_ALLOWED_ORIGINS": "null"}, "WEDATA_MCP_ALLOWED_ORIGINS"),
        ({"WEDATA_MCP_ALLOWED_ORIGINS": "*"}, "WEDATA_MCP_ALLOWED_ORIGINS"),
        ({"WEDATA_MCP_MAX_BODY_BYTES": "0"}, "WEDATA_MCP_MAX_BODY_BYTES"),
        ({"WEDATA_MCP_OAUTH_HS256_SECRET": "short"}, "WEDATA_MCP_OAUTH_HS256_SECRET"),
        ({"WEDATA_MCP_TOKEN_STORE": "memcached://x"}, "WEDATA_MCP_TOKEN_STORE"),
    ],
)
def test_a_bad_http_setting_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEDATA_MCP_HTTP_TOKEN": TOKEN, "WEDATA_MCP_HTTP_TOKEN_FILE": "/dev/null"}, "not both"),
        ({"WEDATA_MCP_HTTP_TOKEN_FILE": "/nonexistent/token"}, "WEDATA_MCP_HTTP_TOKEN_FILE"),
        ({"WEDATA_MCP_HTTP_TOKEN_FILE": "/dev/null"}, "empty"),
        ({"WEDATA_MCP_OAUTH_ISSUER": ISSUER}, "WEDATA_MCP_RESOURCE_URL"),
        (
            {"WEDATA_MCP_OAUTH_ISSUER": ISSUER, "WEDATA_MCP_RESOURCE_URL": "https://mcp.example.com/mcp"},
            "exactly one of",
        ),
        (
            {
                "WEDATA_MCP_OAUTH_ISSUER": "http://login.example.com/",
                "WEDATA_MCP_RESOURCE_URL": "https://mcp.example.com/mcp",
                "WEDATA_MCP_OAUTH_HS256_SECRET": JWT_SECRET,
            },
            "WEDATA_MCP_OAUTH_ISSUER: must be an https URL",
        ),
        (
            {
                "WEDATA_MCP_HTTP_TOKEN": TOKEN,
                "WEDATA_MCP_OAUTH_ISSUER": ISSUER,
                "WEDATA_MCP_RESOURCE_URL": "https://mcp.example.com/mcp",
                "WEDATA_MCP_OAUTH_HS256_SECRET": JWT_SECRET,
            },
            "not both",
        ),
    ],
)
def test_contradictory_or_incomplete_authentication_stops_start_up(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        http_config(Settings.from_env(env), "127.0.0.1", 8765)


def test_the_token_file_is_read_once_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    config = http_config(Settings.from_env({"WEDATA_MCP_HTTP_TOKEN_FILE": str(path)}), "0.0.0.0", 1)  # noqa: S104
    assert config.static_token == TOKEN and config.authenticated


def test_the_resource_url_host_is_accepted_behind_a_proxy() -> None:
    env = {
        "WEDATA_MCP_OAUTH_ISSUER": ISSUER,
        "WEDATA_MCP_RESOURCE_URL": "https://mcp.example.com/mcp",
        "WEDATA_MCP_OAUTH_JWKS_URL": "https://login.example.com/jwks.json",
    }
    config = http_config(Settings.from_env(env), "127.0.0.1", 8765)
    assert "mcp.example.com" in config.allowed_hosts and "https://mcp.example.com" in config.allowed_origins


# --- verifiers, in process ----------------------------------------------------------------------------------------


async def test_the_static_verifier_accepts_only_the_exact_token() -> None:
    verifier = StaticTokenVerifier(TOKEN)
    accepted = await verifier.verify_token(TOKEN)
    assert accepted is not None and TOKEN not in accepted.model_dump_json()  # the token is kept nowhere
    for wrong in ("", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
        assert await verifier.verify_token(wrong) is None
    assert TOKEN not in repr(verifier)


@contextmanager
def jwks_server(document: dict[str, Any], fetches: list[str]) -> Iterator[str]:
    """A JWKS document on a loopback port, for the block; each fetch is noted in `fetches`."""
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_a_jwks_signed_token_is_verified_with_its_audience_and_alg_confusion_is_refused() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key())) | {"kid": "k1", "use": "sig"}
    resource = "https://mcp.example.com/mcp"
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": resource, "exp": now + 300, "sub": "bob", "scp": [SCOPE]}
    fetches: list[str] = []
    with jwks_server({"keys": [public_jwk]}, fetches) as jwks_url:
        verifier = JwtVerifier(OAuthConfig(ISSUER, resource, jwks_url, None, (SCOPE,)))
        with anyio.fail_after(20):
            good = await verifier.verify_token(jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"}))
            other = claims | {"aud": "https://other.example.com/mcp"}
            wrong_audience = await verifier.verify_token(
                jwt.encode(other, private, algorithm="RS256", headers={"kid": "k1"})
            )
            # The classic confusion: HS256 "signed" with the public key, which anyone can fetch.
            public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            confused = await verifier.verify_token(hs256_by_hand(claims, public_pem, kid="k1"))
            # Unknown key ids refetch the JWKS at most once a minute, however many arrive.
            strangers = [jwt.encode(claims, private, algorithm="RS256", headers={"kid": f"x{n}"}) for n in range(5)]
            unknown = [await verifier.verify_token(stranger) for stranger in strangers]
    assert unknown == [None] * 5 and len(fetches) == 2  # the first fetch, and one refresh for the unknown kids
    assert good is not None and good.resource == resource and good.scopes == [SCOPE] and good.subject == "bob"
    assert wrong_audience is None and confused is None


def hs256_by_hand(claims: dict[str, Any], key: bytes, kid: str) -> str:
    """A JWS PyJWT itself refuses to make (an HMAC keyed with a public key), assembled by hand."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "."
    signing_input += b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
