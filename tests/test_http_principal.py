"""The person, not the connection (DESIGN.md invariant 7), through the real server process over HTTP: a
confirmation token works only for the principal whose dry run issued it (JWT issuer + subject, or the static
bearer), in any of their sessions; another principal is refused by name and nothing reaches the simulator. The
audit records the principal, and wedata://audit/recent shows each person only their own records.

This also pins what tools/sdk.py relies on (its point 4): the verified access token of each HTTP request is what
a tool and a resource see through `get_access_token()`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import audit_records, doc_example
from tests.inproc import Wire, make_server, new_sandbox
from tests.test_http_security import (
    ISSUER,
    TOKEN,
    TOOL,
    Cloud,
    Served,
    bearer,
    mint,
    sdk_client,
    sdk_client_is_refused,
    serve_http,
    serve_oauth,
)

# The simulator fixtures of the HTTP security tests, shared (the `as` form marks them as re-exported for pytest).
from tests.test_http_security import _fresh_cloud as _fresh_cloud
from tests.test_http_security import cloud as cloud
from wedata_mcp.sandbox.app import Sandbox

pytestmark = pytest.mark.anyio
AUDIT = "wedata://audit/recent"


@pytest.fixture(scope="module")
def oauth_server(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    with serve_oauth(tmp_path_factory.mktemp("principal-oauth"), cloud) as served:
        yield served


@pytest.fixture(scope="module")
def static_server(tmp_path_factory: pytest.TempPathFactory, cloud: Cloud) -> Iterator[Served]:
    with serve_http(tmp_path_factory.mktemp("principal-static"), cloud, WEDATA_MCP_HTTP_TOKEN=TOKEN) as served:
        yield served


async def preview_token(client: Client) -> str:
    preview = await client.call_tool(TOOL, doc_example())
    assert preview.structured_content, preview.content
    return preview.structured_content["ConfirmationToken"]


async def recent(client: Client) -> list[dict[str, Any]]:
    content = (await client.read_resource(AUDIT)).contents[0]
    return json.loads(getattr(content, "text", ""))


async def test_another_persons_token_is_refused_and_sends_nothing(oauth_server: Served, cloud: Cloud) -> None:
    alice, bob = bearer(mint(oauth_server, sub="alice")), bearer(mint(oauth_server, sub="bob"))
    with anyio.fail_after(60):
        async with sdk_client(oauth_server.url, alice) as client:
            token = await preview_token(client)
        async with sdk_client(oauth_server.url, bob) as client:
            refused = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
            assert refused.is_error
            words = " ".join(getattr(c, "text", "") for c in refused.content)
            assert "issued to another person" in words and "Nothing was sent" in words
            assert cloud.reruns() == 0
            # The same person at another issuer is another person too.
        stranger = bearer(mint(oauth_server, sub="alice", iss="https://other.example.com/"))
        assert await sdk_client_is_refused(oauth_server.url, stranger) == {401}
        # The token is the person's, not the connection's: alice confirms it from a new session.
        async with sdk_client(oauth_server.url, alice) as client:
            result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.structured_content and result.structured_content["Status"] == "executed"
    assert cloud.reruns() == 1
    rejected = [r for r in audit_records(oauth_server.audit) if r["event"] == "rejected"]
    assert rejected and rejected[-1]["actor"]["principal"] == json.dumps([ISSUER, "bob"], separators=(",", ":"))


async def test_each_person_reads_only_their_own_audit_records(oauth_server: Served, cloud: Cloud) -> None:
    carol, dave = bearer(mint(oauth_server, sub="carol")), bearer(mint(oauth_server, sub="dave"))
    with anyio.fail_after(60):
        async with sdk_client(oauth_server.url, carol) as client:
            await preview_token(client)
            carols = await recent(client)
        async with sdk_client(oauth_server.url, dave) as client:
            daves = await recent(client)
            await preview_token(client)
            daves_after = await recent(client)
    principal = json.dumps([ISSUER, "carol"], separators=(",", ":"))
    assert carols and {r["actor"]["principal"] for r in carols} == {principal}
    assert daves == []  # dave has done nothing yet, and sees nothing of carol's
    assert [r["event"] for r in daves_after] == ["preview"] and "carol" not in json.dumps(daves_after)
    assert cloud.reruns() == 0


async def test_a_jwt_without_a_subject_names_nobody_and_is_refused(oauth_server: Served, cloud: Cloud) -> None:
    assert await sdk_client_is_refused(oauth_server.url, bearer(mint(oauth_server, sub=None))) == {401}
    assert cloud.received() == 0


async def test_the_static_bearer_is_its_principal_and_only_its_hash_is_recorded(
    static_server: Served,
    cloud: Cloud,
) -> None:
    with anyio.fail_after(60):
        async with sdk_client(static_server.url, bearer(TOKEN)) as client:
            token = await preview_token(client)
            result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
            mine = await recent(client)
    assert result.structured_content and result.structured_content["Status"] == "executed"
    assert cloud.reruns() == 1
    principals = {r["actor"]["principal"] for r in audit_records(static_server.audit)}
    assert len(principals) == 1 and [e["event"] for e in mine] == ["preview", "sending", "executed"]
    (principal,) = principals
    assert principal.startswith('["wedata-mcp:static-bearer","sha256:')
    log = static_server.audit.read_text() + (static_server.audit.parent / "stderr").read_text()
    assert TOKEN not in log and TOKEN not in json.dumps(result.structured_content)


async def test_without_authentication_everyone_is_the_local_user(tmp_path: Path) -> None:
    sandbox: Sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox))) as client:
        token = await preview_token(client)
        await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
        mine = await recent(client)
    assert [r["event"] for r in mine] == ["preview", "sending", "executed"]
    assert {r["actor"]["principal"] for r in mine} == {"local"}
