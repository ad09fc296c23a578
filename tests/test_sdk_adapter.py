"""What wedata_mcp.tools.sdk relies on in the `mcp` SDK, one behaviour per test: an SDK upgrade that changes any
of them fails here, by name, before it shows up as a guardrail or fuzz failure elsewhere."""

# No `from __future__ import annotations`: the SDK reads the `Resolve(...)` annotations below at run time.
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import httpx
import pytest
from mcp import Client
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, MCPServer, Resolve
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tests.conftest import doc_example
from tests.inproc import TOOL, Wire, make_server, new_sandbox, text
from wedata_mcp.guardrail.gate import RerunResult
from wedata_mcp.models.schema import lean
from wedata_mcp.tools.rerun import RerunArguments
from wedata_mcp.tools.sdk import function_tool, may_open_session, model_tool, open_session_ids, taking_arguments

pytestmark = pytest.mark.anyio
PROTOCOLS = ["legacy", "2026-07-28"]
PROBE_ANNOTATIONS = ToolAnnotations(
    title="Probe", read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)


class Probe(BaseModel):
    """A stand-in for a documented request: PascalCase names, its own refusals."""

    model_config = ConfigDict(extra="forbid", strict=True)

    Items: list[int] = Field(description="Sent as a list, or as its JSON text.")
    Note: str | None = Field(None, description="Free text: kept exactly as sent.")
    Mode: Literal["1", "2"] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "Probe":
        if not self.Items:
            raise ValueError("Items: select at least one (the model's own rule)")
        return self


class Seen(BaseModel):
    """What a resolver and the body received."""

    resolver: dict[str, Any]
    body: dict[str, Any]
    confirmed: bool | None = None


class Confirm(BaseModel):
    confirm: bool


async def seen_by_resolver(ctx: Context[Any, Any], **arguments: Any) -> dict[str, Any]:
    return arguments


async def ask_about_the_note(ctx: Context[Any, Any], **arguments: Any) -> Elicit[Confirm] | str:
    if arguments["Mode"] != "2":
        return "nothing to ask"
    return Elicit(f"Run with note {arguments['Note']!r} on {arguments['Items']}?", Confirm)


NAMES = list(Probe.model_fields)
taking_arguments(seen_by_resolver, NAMES)
taking_arguments(ask_about_the_note, NAMES)


async def probe(
    ctx: Context[Any, Any],
    resolver: Annotated[dict[str, Any], Resolve(seen_by_resolver)],
    human: Annotated[ElicitationResult[Confirm], Resolve(ask_about_the_note)],
    **arguments: Any,
) -> Annotated[CallToolResult, Seen]:
    confirmed = (
        human.data.confirm if isinstance(human, AcceptedElicitation) and isinstance(human.data, Confirm) else None
    )
    result = Seen(resolver=resolver, body=arguments, confirmed=confirmed)
    return CallToolResult(content=[TextContent(type="text", text="ok")], structured_content=result.model_dump())


def probe_server() -> MCPServer[Any]:
    tool = model_tool(
        probe, Probe, name="probe", title="Probe tool", description="Probes.", annotations=PROBE_ANNOTATIONS
    )
    return MCPServer("probe", tools=[tool])


async def call(arguments: dict[str, Any], protocol: str = "legacy", **client: Any) -> CallToolResult:
    async with Client(probe_server(), mode=protocol, **client) as session:  # type: ignore[arg-type]
        with anyio.fail_after(10):
            return await session.call_tool("probe", arguments)


def seen(result: CallToolResult) -> Seen:
    assert not result.is_error and result.structured_content is not None, text(result)
    return Seen.model_validate(result.structured_content)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_resolver_receives_every_argument_by_name_as_the_body_does(protocol: str) -> None:
    got = seen(await call({"Items": [1, 2], "Mode": "1"}, protocol))
    assert got.resolver == got.body == {"Items": [1, 2], "Note": None, "Mode": "1"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_eliciting_resolver_asks_from_the_arguments_and_the_body_gets_the_answer(protocol: str) -> None:
    asked: list[str] = []

    async def person(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    got = seen(await call({"Items": [7], "Note": "nightly", "Mode": "2"}, protocol, elicitation_callback=person))
    assert asked == ["Run with note 'nightly' on [7]?"]
    assert got.confirmed is True


@pytest.mark.parametrize("note", ["null", '{"a": 1}', "[1, 2]", '"quoted"', "12"])
async def test_a_string_that_looks_like_json_stays_a_string_for_resolver_and_body(note: str) -> None:
    got = seen(await call({"Items": [1], "Note": note}))
    assert got.body["Note"] == got.resolver["Note"] == note


async def test_a_list_sent_as_json_text_is_still_decoded() -> None:
    assert seen(await call({"Items": json.dumps([1, 2])})).body["Items"] == [1, 2]


async def test_the_models_own_validation_refuses_unknown_fields_and_broken_rules() -> None:
    unknown = await call({"Items": [1], "Nope": 1})
    assert unknown.is_error and "Nope" in text(unknown) and "Extra inputs are not permitted" in text(unknown)
    broken = await call({"Items": []})
    assert broken.is_error and "the model's own rule" in text(broken)
    strict = await call({"Items": [1], "Mode": 1})
    assert strict.is_error and "Mode" in text(strict)


async def test_a_model_tool_publishes_the_lean_model_schemas_and_what_it_was_given() -> None:
    async with Client(probe_server()) as session:
        (tool,) = (await session.list_tools()).tools
    assert tool.input_schema == lean(Probe.model_json_schema(by_alias=True), drop_null=True)
    assert tool.output_schema == lean(Seen.model_json_schema(mode="serialization"), drop_null=False)
    assert (tool.name, tool.title, tool.description, tool.annotations) == (
        "probe",
        "Probe tool",
        "Probes.",
        PROBE_ANNOTATIONS,
    )


async def test_a_function_tool_keeps_strings_exact_and_publishes_lean_schemas() -> None:
    async def echo(note: str | None = None, items: list[int] | None = None) -> Seen:
        """Echo."""
        return Seen(resolver={}, body={"note": note, "items": items})

    tool = function_tool(echo, title="Echo", annotations=PROBE_ANNOTATIONS)
    async with Client(MCPServer("echo", tools=[tool])) as session:
        (listed,) = (await session.list_tools()).tools
        result = await session.call_tool("echo", {"note": "null", "items": "[3]"})
    assert listed.input_schema == {
        "type": "object",
        "properties": {"note": {"type": "string"}, "items": {"type": "array", "items": {"type": "integer"}}},
    }
    assert listed.output_schema is not None and "title" not in json.dumps(listed.output_schema)
    assert listed.annotations == PROBE_ANNOTATIONS and listed.title == "Echo"
    assert seen(result).body == {"note": "null", "items": [3]}


async def test_the_rerun_tool_publishes_the_lean_schemas_of_its_request_and_result(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()))) as session:
        tool = next(t for t in (await session.list_tools()).tools if t.name == TOOL)
    assert tool.input_schema == lean(RerunArguments.model_json_schema(by_alias=True), drop_null=True)
    assert tool.output_schema == lean(RerunResult.model_json_schema(mode="serialization"), drop_null=False)
    assert tool.annotations == ToolAnnotations(
        title="Rerun WeData schedule instances",
        read_only_hint=False,
        destructive_hint=True,
        idempotent_hint=False,
        open_world_hint=True,
    )


async def test_the_rerun_tool_accepts_the_doc_example_and_refuses_a_misspelt_field(tmp_path: Path) -> None:
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire)) as session:
        ok = await session.call_tool(TOOL, doc_example())
        typo = await session.call_tool(TOOL, doc_example() | {"rerunType": "1"})
    assert not ok.is_error, text(ok)
    assert typo.is_error and "did you mean 'RerunType'" in text(typo)
    assert wire.sent == 0


async def test_open_session_ids_are_the_sessions_the_sdk_has_open(tmp_path: Path) -> None:
    server = make_server(tmp_path, Wire(new_sandbox()))
    app = server.streamable_http_app(host="127.0.0.1")
    assert list(open_session_ids(server)) == []
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "pin", "version": "1"}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with anyio.fail_after(30):
        async with (
            server.session_manager.run(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000") as http,
        ):
            message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}
            opened = await http.post("/mcp", headers=headers, json=message)
            session = opened.headers["mcp-session-id"]
            assert list(open_session_ids(server)) == [session]
            session_headers = {"Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-06-18"}
            await http.delete("/mcp", headers=headers | session_headers)
            assert list(open_session_ids(server)) == []


async def test_may_open_session_agrees_with_the_sdk_on_which_requests_open_a_session(tmp_path: Path) -> None:
    server = make_server(tmp_path, Wire(new_sandbox()))
    app = server.streamable_http_app(host="127.0.0.1")
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "pin", "version": "1"}}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with anyio.fail_after(30):
        async with (
            server.session_manager.run(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000") as http,
        ):
            # A handshake-era opening request: the SDK opens a session, and may_open_session said it would.
            assert may_open_session([(b"accept", b"*/*")])
            message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}
            opened = await http.post("/mcp", headers=accept, json=message)
            session = opened.headers["mcp-session-id"]
            assert list(open_session_ids(server)) == [session]
            assert not may_open_session([(b"Mcp-Session-Id", session.encode())])
            # A sessionless-era request (what the SDK's own client sends today): no session, as may_open_session says.
            modern = [(b"mcp-protocol-version", b"2026-07-28")]
            assert not may_open_session(modern)
            envelope = {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            }
            modern_headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}
            listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": envelope}}
            answered = await http.post("/mcp", headers=accept | modern_headers, json=listing)
            assert answered.status_code == 200 and "mcp-session-id" not in answered.headers, answered.text
            assert list(open_session_ids(server)) == [session]
