"""Shared fixtures: a loopback WeData simulator with canary credentials, and servers built against it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.cli import sandbox_project_ids
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.sandbox.world import World
from wedata_mcp.settings import Settings

# Canaries: if any of these shows up in output, logs or audit records, a test fails.
SECRET_ID = "AKIDcanaryID7d1f0c2e9b4a4e6f8a1b"
SECRET_KEY = "canaryKEY-5b9e2a7c4d1f4e8a9c3b6d0e"
REGION = "ap-guangzhou"

# The projects of every test world (tests/worlds.py): what WEDATA_MCP_PROJECT_IDS names for test servers.
PROJECT_IDS = sandbox_project_ids()
DOC_EXAMPLE_PATH = Path(__file__).parent / "data" / "doc_example_request.json"


def doc_example() -> dict[str, Any]:
    """The reference's example request body, verbatim."""
    return json.loads(DOC_EXAMPLE_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Endpoint:
    sandbox: Sandbox
    url: str


@pytest.fixture(scope="session")
def _shared_endpoint() -> Iterator[Endpoint]:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)})
    with serve_in_thread(sandbox) as url:
        yield Endpoint(sandbox, url)


@pytest.fixture
def endpoint(_shared_endpoint: Endpoint) -> Endpoint:
    """The loopback simulator with a freshly seeded world and an empty request log for this test."""
    _shared_endpoint.sandbox.load(World.seeded())
    _shared_endpoint.sandbox.clear_received()
    return _shared_endpoint


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(SECRET_ID, SECRET_KEY)


def make_settings(endpoint_url: str, audit_path: Path, **extra: Any) -> Settings:
    """Settings for a server on the simulator, working in the test worlds' projects unless told otherwise."""
    defaults: dict[str, Any] = {"endpoint": endpoint_url, "region": REGION, "audit_log": audit_path}
    return Settings(**(defaults | {"project_ids": PROJECT_IDS} | extra))


@pytest.fixture
def server(endpoint: Endpoint, audit_path: Path, credentials: Credentials):
    return build_server(make_settings(endpoint.url, audit_path), credentials, audit=JsonLinesAudit(audit_path))


def audit_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many examples each fuzz property ran (docs/reliability.md quotes them), whenever the fuzz tests ran."""
    fuzz = sys.modules.get("tests.test_fuzz_arguments")
    tried = getattr(fuzz, "TRIED", None)
    if tried:
        terminalreporter.write_line(
            f"rerun_schedule_instances fuzz examples run, by property: {dict(sorted(tried.items()))}"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` first (stable otherwise): the workers take them before the many short ones, so that
    no worker starts a half-minute fuzz run while the others have nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
