"""The package's layers depend one way (DESIGN.md), the simulator stands apart, and only tools/sdk.py reaches
below the `mcp` SDK's public surface.

Every import counts: at module level, inside functions, and under `TYPE_CHECKING`. A type-only import is still a
dependency: pyright checks it, it breaks when the imported layer changes, and with `from __future__ import
annotations` it is the only way one module names another's types, so exempting it would let any layer lean on
the one above it. (Today the only `TYPE_CHECKING` imports, in cli.py and http/app.py, point down anyway.)
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import wedata_mcp

PACKAGE = Path(wedata_mcp.__file__).parent
ROOT = "wedata_mcp"  # __init__.py: the version, importable by every module; it imports nothing of ours

# Each layer may import itself and the layers before it, never one after it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("models", ("wedata_mcp.models",)),
    ("cloud", ("wedata_mcp.cloud",)),
    ("guardrail", ("wedata_mcp.guardrail",)),
    ("tools", ("wedata_mcp.tools",)),
    # Building the MCP server. Settings sit here: read once at the edge into one object whose values the app
    # hands down (an approval mode, a transport, a policy), so nothing below the app ever sees them.
    ("app", ("wedata_mcp.app", "wedata_mcp.prompts", "wedata_mcp.resources", "wedata_mcp.settings")),
    # The HTTP edge: wraps an already built server for `serve --transport http`; only the CLI uses it.
    ("http", ("wedata_mcp.http",)),
    ("cli", ("wedata_mcp.cli", "wedata_mcp.__main__", "wedata_mcp.demo", "wedata_mcp.doctor")),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}
# The MCP stack (and the web stack it brings) starts at `tools`: the layers below are testable without it.
MCP_STACK = frozenset({"mcp", "mcp_types", "starlette", "uvicorn", "httpx2", "sse_starlette"})

# The simulator depends on `models` and signature verification only, and only the edge imports it.
SANDBOX = "wedata_mcp.sandbox"
SANDBOX_MAY_IMPORT = ("wedata_mcp.models", "wedata_mcp.cloud.signing", SANDBOX)
SANDBOX_THIRD_PARTY = frozenset({"starlette", "uvicorn", "pydantic", "pydantic_core"})
SANDBOX_IMPORTERS = frozenset({"wedata_mcp.cli", "wedata_mcp.__main__", "wedata_mcp.demo", "wedata_mcp.app"})

# The SDK's public surface, as tools/sdk.py's docstring draws it: any name at the top of these modules...
SDK_TOP = frozenset({"mcp", "mcp.server.mcpserver", "mcp_types"})
# ...and these names, which the SDK documents at a deeper path without re-exporting them.
SDK_DOCUMENTED_DEEP: dict[str, frozenset[str]] = {
    "mcp.server.mcpserver.exceptions": frozenset({"ToolError"}),
    "mcp.server.mcpserver.tools": frozenset({"Tool"}),
    "mcp.server.mcpserver.prompts": frozenset({"Prompt"}),
    "mcp.server.auth.provider": frozenset({"AccessToken", "TokenVerifier"}),
    "mcp.server.auth.settings": frozenset({"AuthSettings"}),
    "mcp.server.auth.middleware.auth_context": frozenset({"get_access_token"}),
    "mcp.server.transport_security": frozenset({"TransportSecuritySettings"}),
}
SDK_ADAPTER = "wedata_mcp.tools.sdk"
# A Tool's registration state and signature forging: the adapter's business (its points 1, 3 and 4).
SDK_INTERNAL_ATTRIBUTES = frozenset(
    {"fn_metadata", "resolved_params", "resolver_plans", "arg_model", "pre_parse_json", "__signature__"}
)
# Reported, outside the files this branch may change; each has a public spelling. Listed exactly: a new one
# fails, and so does a fixed one still listed (delete its line).
KNOWN_SDK_INTERNALS = frozenset(
    {
        # Prompt from mcp.server.mcpserver.prompts, UserMessage from mcp.server.mcpserver, PromptArgument from
        # mcp_types.
        ("wedata_mcp.prompts", "mcp.server.mcpserver.prompts.base", "Prompt"),
        ("wedata_mcp.prompts", "mcp.server.mcpserver.prompts.base", "PromptArgument"),
        ("wedata_mcp.prompts", "mcp.server.mcpserver.prompts.base", "UserMessage"),
        # Both are exported at the top of `mcp` (the SDK's transport guide imports them from there).
        ("wedata_mcp.demo", "mcp.client.stdio", "StdioServerParameters"),
        ("wedata_mcp.demo", "mcp.client.stdio", "stdio_client"),
        # The building blocks of the SDK's own authenticated app; the documented route is
        # MCPServer(token_verifier=..., auth=AuthSettings(...)), or our own Starlette middleware.
        ("wedata_mcp.http.app", "mcp.server.auth.middleware.auth_context", "AuthContextMiddleware"),
        ("wedata_mcp.http.app", "mcp.server.auth.middleware.bearer_auth", "BearerAuthBackend"),
        ("wedata_mcp.http.app", "mcp.server.auth.middleware.bearer_auth", "RequireAuthMiddleware"),
        ("wedata_mcp.http.app", "mcp.server.auth.routes", "build_resource_metadata_url"),
        ("wedata_mcp.http.app", "mcp.server.auth.routes", "create_protected_resource_routes"),
        # The SDK's Host/Origin checker; only its settings are documented.
        ("wedata_mcp.http.guard", "mcp.server.transport_security", "TransportSecurityMiddleware"),
    }
)


@dataclass(frozen=True)
class Imported:
    """One imported module (and the name taken from it, for `from module import name`), where it is imported."""

    importer: str
    where: str
    module: str
    name: str | None


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    if dotted == ROOT or dotted.startswith(ROOT + "."):
        path = PACKAGE.parent.joinpath(*dotted.split("."))
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False


def imports_of(source: str, importer: str, filename: str, *, is_package: bool = False) -> list[Imported]:
    """Every import in `source`, wherever it stands (function bodies and `if TYPE_CHECKING:` included)."""
    found: list[Imported] = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [Imported(importer, where, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importer's package, up one level per extra dot
                package = importer.split(".") if is_package else importer.split(".")[:-1]
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "__future__":
                continue
            for alias in node.names:
                # `from wedata_mcp.guardrail import preview` imports the module wedata_mcp.guardrail.preview.
                submodule = f"{module}.{alias.name}"
                if is_module(submodule):
                    found.append(Imported(importer, where, submodule, None))
                else:
                    found.append(Imported(importer, where, module, alias.name))
    return found


def package_imports() -> list[Imported]:
    found: list[Imported] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        filename = str(path.relative_to(PACKAGE.parent))
        found += imports_of(source, module_name(path), filename, is_package=path.name == "__init__.py")
    return found


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> str | None:
    return next((name for name, prefixes in LAYERS if any(within(module, p) for p in prefixes)), None)


def report(violations: list[str]) -> str:
    return "\n".join(["", *sorted(violations)])


def test_the_walker_sees_imports_in_functions_under_type_checking_and_relative_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from wedata_mcp.app import Runtime\n"
        "def f():\n"
        "    import mcp.server.lowlevel\n"
        "    from . import preview\n"
        "    from ..models import RunRerunScheduleInstancesRequest\n"
    )
    found = {(i.module, i.name) for i in imports_of(source, "wedata_mcp.guardrail.gate", "gate.py")}
    assert found == {
        ("typing", "TYPE_CHECKING"),
        ("wedata_mcp.app", "Runtime"),
        ("mcp.server.lowlevel", None),
        ("wedata_mcp.guardrail.preview", None),
        ("wedata_mcp.models", "RunRerunScheduleInstancesRequest"),
    }


def test_every_module_has_a_place() -> None:
    homeless = [
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if module_name(path) != ROOT and not within(module_name(path), SANDBOX) and layer_of(module_name(path)) is None
    ]
    assert homeless == [], f"place these in LAYERS: {homeless}"


def test_no_import_runs_up_a_layer() -> None:
    violations: list[str] = []
    for imp in package_imports():
        if not within(imp.module, ROOT) or imp.module == ROOT:
            continue
        if imp.importer == ROOT:
            violations.append(f"{imp.where}: the package root imports {imp.module}")
            continue
        own, target = layer_of(imp.importer), layer_of(imp.module)
        if own is None or target is None:
            continue  # the sandbox: its own tests below
        if RANK[target] > RANK[own]:
            violations.append(f"{imp.where}: {own} imports {imp.module} ({target})")
    assert violations == [], report(violations)


def test_settings_import_nothing_of_the_package() -> None:
    ours = [i for i in package_imports() if i.importer == "wedata_mcp.settings" and within(i.module, ROOT)]
    assert [i for i in ours if i.module != ROOT] == []


def test_nothing_below_tools_imports_the_mcp_stack() -> None:
    violations = [
        f"{imp.where}: {layer_of(imp.importer)} imports {imp.module}"
        for imp in package_imports()
        if (layer := layer_of(imp.importer)) is not None
        and RANK[layer] < RANK["tools"]
        and imp.module.split(".")[0] in MCP_STACK
    ]
    assert violations == [], report(violations)


def test_the_sandbox_imports_only_models_signing_and_its_web_stack() -> None:
    violations: list[str] = []
    for imp in package_imports():
        if not within(imp.importer, SANDBOX):
            continue
        top = imp.module.split(".")[0]
        if top == ROOT:
            if not any(within(imp.module, allowed) for allowed in SANDBOX_MAY_IMPORT):
                violations.append(f"{imp.where}: the sandbox imports {imp.module}")
        elif top not in SANDBOX_THIRD_PARTY and top not in sys.stdlib_module_names:
            violations.append(f"{imp.where}: the sandbox imports {imp.module}")
    assert violations == [], report(violations)


def test_only_the_cli_app_wiring_and_the_demo_import_the_sandbox() -> None:
    violations = [
        f"{imp.where}: {imp.importer} imports {imp.module}"
        for imp in package_imports()
        if within(imp.module, SANDBOX) and not within(imp.importer, SANDBOX) and imp.importer not in SANDBOX_IMPORTERS
    ]
    assert violations == [], report(violations)


def sdk_internal(imp: Imported) -> bool:
    if imp.module.split(".")[0] not in {"mcp", "mcp_types"}:
        return False
    if imp.module in SDK_TOP:
        return False
    return imp.name is None or imp.name not in SDK_DOCUMENTED_DEEP.get(imp.module, frozenset())


def key(imp: Imported) -> tuple[str, str, str | None]:
    return (imp.importer, imp.module, imp.name)


def test_only_the_adapter_imports_mcp_internals() -> None:
    found = [i for i in package_imports() if i.importer != SDK_ADAPTER and sdk_internal(i)]
    unknown = [
        f"{i.where}: {i.module}{'.' + i.name if i.name else ''}" for i in found if key(i) not in KNOWN_SDK_INTERNALS
    ]
    assert unknown == [], "import these from the SDK's public surface, or through tools/sdk.py:" + report(unknown)
    fixed = KNOWN_SDK_INTERNALS - {key(i) for i in found}
    assert fixed == set(), f"no longer imported; take these out of KNOWN_SDK_INTERNALS: {sorted(fixed)}"


def test_the_adapter_still_needs_the_internals_it_says_it_does() -> None:
    used = {(i.module, i.name) for i in package_imports() if i.importer == SDK_ADAPTER and sdk_internal(i)}
    assert used == {
        ("mcp.server.mcpserver.utilities.func_metadata", "ArgModelBase"),
        ("mcp.server.mcpserver.utilities.func_metadata", "FuncMetadata"),
        ("mcp_types.version", "HANDSHAKE_PROTOCOL_VERSIONS"),
    }


def test_only_the_adapter_touches_a_tools_registration_state() -> None:
    violations: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if module_name(path) == SDK_ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr in SDK_INTERNAL_ATTRIBUTES:
                violations.append(f"{where}: .{node.attr}")
            elif node.attr == "parameters" and isinstance(node.ctx, ast.Store):
                violations.append(f"{where}: assigns .parameters")
    assert violations == [], report(violations)
