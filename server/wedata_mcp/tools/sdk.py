"""The one module that reaches below the `mcp` SDK's public surface, and the line it draws.

Public, importable by any module allowed to import `mcp` (tests/test_layering.py enforces the line):

* every name at the top of `mcp`, `mcp.server.mcpserver` and `mcp_types`;
* the few names the SDK documents at a deeper path and does not re-export: `ToolError`
  (`mcp.server.mcpserver.exceptions`, where the SDK tells tools to raise it from), `Tool`
  (`mcp.server.mcpserver.tools`: what `MCPServer(tools=...)` takes; public are `Tool.from_function` and the
  fields it is given), `Prompt` (`mcp.server.mcpserver.prompts`: what `MCPServer.add_prompt` takes), and the
  types of the SDK's authorization and DNS-rebinding guides: `TokenVerifier` and `AccessToken`
  (`mcp.server.auth.provider`), `AuthSettings` (`mcp.server.auth.settings`), `get_access_token`
  (`mcp.server.auth.middleware.auth_context`), `TransportSecuritySettings` (`mcp.server.transport_security`).

Everything else is internal: any other module or name (`resolve`, `utilities.func_metadata`, `tools.base`,
`prompts.base`, `lowlevel`, `shared`, the auth middleware classes...), and a `Tool`'s registration state
(`fn_metadata`, `resolved_params`, `resolver_plans`, writing `parameters`) and `__signature__` forging.

The public API builds every tool here: `Tool.from_function` checks the name, finds the `Context` parameter,
analyses the `Resolve(...)` graph (by-name plans included) and derives structured output from the return
annotation (`Annotated[CallToolResult, Model]` for a tool that builds its own result); `Resolve`, `Elicit` and
`ElicitationResult` carry the human approval; `MCPServer(tools=...)` registers. What it cannot do, and what
this module therefore relies on (each pinned by tests/test_sdk_adapter.py):

1. A model as the arguments. `from_function` synthesizes the argument model from the function's parameters on
   `ArgModelBase` (unknown fields ignored, no model validators), so the documented request model cannot
   validate a tool's arguments with its own `extra="forbid"`, "did you mean" and cross-field checks. We put
   `FuncMetadata(arg_model=<the model + ArgModelBase>)` in the tool: this relies on
   `FuncMetadata.validate_arguments` being `pre_parse_json` → `arg_model.model_validate` →
   `model_dump_one_level`, on the fields `Tool.fn_metadata` and `Tool.parameters` (the published inputSchema)
   and on `FuncMetadata.output_model`/`output_schema`/`wrap_output` (structured output).
2. Exact strings. `FuncMetadata.pre_parse_json` decodes a JSON-looking string for every field not annotated
   exactly `str` (`str | None` included), so ReDoParams "null" would become null; there is no option, so we
   override the method and keep string fields as sent (lists and objects sent as JSON text still decode).
3. Lean schemas. `tools/list` publishes `Tool.parameters` and `fn_metadata.output_schema` as built, with no hook
   to transform them, so we set both to `wedata_mcp.models.schema.lean` of what they would have been.
4. Who is asking. `get_access_token()` (public) reads a context variable that the SDK's auth middleware sets
   around the HTTP request; a tool or resource sees it only because the SDK carries each request's context
   variables into the session task that runs the handler (`mcp.shared._context_streams`). Nothing public
   says so; tests/test_http_principal.py pins it (two principals, one server, tools and resources).
5. Which sessions are open. The HTTP edge caps open sessions per principal and must learn when the SDK ends
   one (idle timeout, crash), which nothing public tells: `open_session_ids` reads the session manager's
   `_server_instances` (pinned by tests/test_sdk_adapter.py). Only a request of a handshake-era protocol (no
   `MCP-Protocol-Version` header, or one of `HANDSHAKE_PROTOCOL_VERSIONS`) without a session id can open one: the
   SDK's manager routes every other version to its sessionless path, and `may_open_session` mirrors that rule.
6. Every argument by name. The SDK passes a resolver tool arguments only as parameters of the same name, read
   with `inspect.signature` and `typing.get_type_hints`, and plans them at registration from the tool's own
   parameter names. A function taking `**arguments` therefore gets a `__signature__` (and `__annotations__`)
   that names each field of the model.
7. Errors a model can act on. `Tool.run` prefixes every `ToolError` with "Error executing tool <name>: " and
   reports argument validation as pydantic's raw text (input values, URLs); `_PlainTool.run` re-raises a
   deliberate ToolError with its own message and a ValidationError described field by field (tools/errors.py),
   keeping `__cause__`, which the SDK's call handler reads to log the rejected fields. A crash
   (`UnexpectedToolError`) is left exactly as the SDK made it.
8. Unknown arguments. The synthesized argument model ignores unknown fields (a typo'd filter would silently
   widen a search), so a function tool's argument model refuses them, naming the closest valid name.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar, cast, get_args

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import ToolAnnotations
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError, create_model, model_validator
from pydantic.fields import FieldInfo

from wedata_mcp.models.base import reject_unknown
from wedata_mcp.models.schema import lean
from wedata_mcp.tools.errors import describe_validation

F = TypeVar("F", bound=Callable[..., Any])

# Who is asking where nobody authenticates (stdio, or HTTP on loopback without a token): the local user.
LOCAL_PRINCIPAL = "local"


def open_session_ids(server: MCPServer[Any]) -> Collection[str]:
    """The ids of the Streamable HTTP sessions the SDK has open now (empty before its session manager exists)."""
    instances: object = getattr(server.session_manager, "_server_instances", None)
    if not isinstance(instances, dict):
        raise RuntimeError("the mcp SDK no longer keeps its open sessions where tools/sdk.py looks for them")
    return cast(dict[str, object], instances).keys()


def may_open_session(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the SDK's session manager would open a session for a request with these headers: it has no
    `Mcp-Session-Id`, and its protocol is handshake-era (no version header, or a handshake version). A request of
    a sessionless protocol (2026-07-28 and later) holds no session, so no session cap applies to it."""
    names = {bytes(name).lower(): bytes(value).decode("latin-1") for name, value in headers}
    if b"mcp-session-id" in names:
        return False
    version = names.get(b"mcp-protocol-version")
    return version is None or version in HANDSHAKE_PROTOCOL_VERSIONS


def request_principal() -> str:
    """The principal of the request being handled: `["<issuer>","<subject>"]` of its verified access token (for
    the static bearer, our fixed issuer and the bearer's hash), or LOCAL_PRINCIPAL when the request carries
    none. A token without an issuer or subject cannot name a person, so it is refused rather than shared."""
    token = get_access_token()
    if token is None:
        return LOCAL_PRINCIPAL
    issuer = (token.claims or {}).get("iss")
    if not issuer or not token.subject:
        raise PermissionError("the access token names no issuer and subject, so no person can be bound to it")
    return json.dumps([str(issuer), token.subject], separators=(",", ":"))


class _ExactStrings(FuncMetadata):
    """The SDK's argument handling, except that a string field keeps the string it was sent."""

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        parsed = super().pre_parse_json(data)
        fields = _fields_by_key(self.arg_model)
        return {k: v if k in fields and _accepts_str(fields[k]) else parsed[k] for k, v in data.items()}


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    fields = dict(model.model_fields)
    fields.update({f.alias: f for f in model.model_fields.values() if f.alias})
    return fields


def _accepts_str(field: FieldInfo) -> bool:
    return field.annotation is str or str in get_args(field.annotation)


def taking_arguments(fn: F, names: Iterable[str]) -> F:
    """`fn`, whose `**arguments` now read as keyword parameters `names`, so the SDK passes each by name."""
    names = list(names)
    code = getattr(fn, "__code__", None)
    if code is None or not code.co_flags & inspect.CO_VARKEYWORDS:
        raise TypeError(f"{fn!r} must take **arguments to receive {names}")
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    # Idempotent: a function named before keeps its own parameters only.
    kept = [
        p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD and p.name not in names
    ]
    parameters = [p.replace(annotation=hints.get(p.name, Any)) for p in kept]
    parameters += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Any) for n in names]
    returns = hints.get("return", inspect.Signature.empty)
    # Functions accept any attribute; inspect.signature() reads this one and get_type_hints() __annotations__.
    fn.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # pyright: ignore[reportFunctionMemberAccess]
    fn.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    return fn


class _PlainTool(Tool):
    """A Tool whose anticipated errors read as what to fix, without the framework's prefix (point 7)."""

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        try:
            return await super().run(arguments, context, convert_result)
        except ToolError as exc:
            if type(exc) is not ToolError:  # the SDK's UnexpectedToolError (a crash): left as it made it
                raise
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(describe_validation(cause)) from cause
            if isinstance(cause, ToolError):
                raise ToolError(str(cause)) from cause
            raise


def _refusing_unknown(arg_model: type[ArgModelBase]) -> type[ArgModelBase]:
    """`arg_model`, refusing an argument it does not know (point 8)."""
    known = frozenset(field.alias or key for key, field in arg_model.model_fields.items())

    class Refusing(arg_model):  # a subclass keeps the SDK's fields, config and one-level dump
        @model_validator(mode="before")
        @classmethod
        def _refuse_unknown(cls, data: Any) -> Any:
            if isinstance(data, dict):
                reject_unknown(cast(dict[Any, Any], data), known, "arguments")
            return cast(Any, data)

    Refusing.__name__ = Refusing.__qualname__ = arg_model.__name__
    return Refusing


def function_tool(
    fn: Callable[..., Any],
    *,
    title: str,
    annotations: ToolAnnotations,
    name: str | None = None,
    description: str | None = None,
) -> Tool:
    """`Tool.from_function(fn)`, published with lean schemas and string arguments kept exact."""
    # A docstring's indentation and line breaks are bytes every conversation pays for: one line of words.
    description = " ".join((description or inspect.getdoc(fn) or "").split())
    tool = Tool.from_function(fn, name=name, title=title, description=description, annotations=annotations)
    return _published(tool, _refusing_unknown(tool.fn_metadata.arg_model), tool.parameters)


def model_tool(
    fn: Callable[..., Any],
    arguments: type[BaseModel],
    *,
    name: str,
    title: str,
    description: str,
    annotations: ToolAnnotations,
) -> Tool:
    """A tool whose arguments are `arguments` itself: its schema is the published inputSchema and its validation
    the only one; `fn` receives each field by name (through `**arguments`), as do its resolvers."""
    names = [field.alias or key for key, field in arguments.model_fields.items()]
    tool = Tool.from_function(
        taking_arguments(fn, names), name=name, title=title, description=description, annotations=annotations
    )
    # The model's own name, config and validators; ArgModelBase adds only the one-level dump the SDK calls.
    # (create_model types a tuple of bases as their union; the result subclasses both.)
    arg_model = cast(
        type[ArgModelBase],
        create_model(arguments.__name__, __base__=(arguments, ArgModelBase), __module__=arguments.__module__),
    )
    return _published(tool, arg_model, arguments.model_json_schema(by_alias=True))


def _published(tool: Tool, arg_model: type[ArgModelBase], parameters: dict[str, Any]) -> Tool:
    sdk = tool.fn_metadata
    output_schema = None if sdk.output_schema is None else lean(sdk.output_schema, drop_null=False)
    metadata = _ExactStrings(
        arg_model=arg_model, output_model=sdk.output_model, output_schema=output_schema, wrap_output=sdk.wrap_output
    )
    # A new Tool rather than assignments: Tool.output_schema is a cached_property of fn_metadata's.
    fields: dict[str, Any] = {key: getattr(tool, key) for key in Tool.model_fields}
    return _PlainTool.model_validate(fields | {"parameters": lean(parameters, drop_null=True), "fn_metadata": metadata})
