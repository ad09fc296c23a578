"""The simulator's layering rule (DESIGN.md): it depends on `models` and signature verification only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import wedata_mcp.sandbox

ALLOWED = ("wedata_mcp.models", "wedata_mcp.cloud.signing", "wedata_mcp.sandbox")
THIRD_PARTY = {"starlette", "uvicorn", "pydantic", "pydantic_core"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from wedata_mcp.cloud import signing` imports wedata_mcp.cloud.signing
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_sandbox_imports_only_models_signing_and_its_web_stack() -> None:
    package = Path(wedata_mcp.sandbox.__file__).parent
    for path in sorted(package.glob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "wedata_mcp":
                assert module.startswith(ALLOWED), f"{path.name} imports {module}"
            elif top != "__future__":
                assert top in THIRD_PARTY or top in sys.stdlib_module_names, f"{path.name} imports {module}"
