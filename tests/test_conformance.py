"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, server mode) against the real
`wedata-mcp serve --transport http`, backed by the loopback simulator.

`./scripts/test` installs the suite and a Node.js it can run on (>= 22) from npm into `.cache/conformance`.
Scenarios that need the suite's own fixture tools, prompts and resources are listed, with why, in
`tests/conformance/expected-failures.yml`; the suite itself fails on any other failure and on a listed one
that starts to pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest

from tests.conftest import Endpoint
from tests.spawn import http_server, server_env

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = ROOT / ".cache" / "conformance" / "node_modules"
CLI = INSTALLED / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
EXPECTED_FAILURES = Path(__file__).parent / "conformance" / "expected-failures.yml"
# The scenarios that exercise what this server offers; each must pass every check.
APPLICABLE = {
    "server-initialize",
    "ping",
    "tools-list",
    "tools-call-error",
    "server-sse-multiple-streams",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
}


def _node() -> str | None:
    """A Node.js of major version 22 or later: the one npm installed beside the suite, else the machine's."""
    for candidate in [*sorted(INSTALLED.glob("node-linux-*/bin/node")), shutil.which("node")]:
        if candidate is None:
            continue
        version = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=False).stdout
        if version.startswith("v") and int(version[1:].split(".")[0]) >= 22:
            return str(candidate)
    return None


def _results(out: Path) -> dict[str, list[dict[str, object]]]:
    """Each scenario's checks, from the suite's `server-<scenario>-<timestamp>/checks.json` files."""
    results: dict[str, list[dict[str, object]]] = {}
    for checks in out.glob("server-*/checks.json"):
        scenario = checks.parent.name.removeprefix("server-").rsplit("-", 6)[0]  # drop the ISO timestamp
        results[scenario] = json.loads(checks.read_text(encoding="utf-8"))
    return results


@pytest.mark.anyio
async def test_the_official_conformance_suite_passes_every_scenario_that_applies(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    node = _node()
    if node is None or not CLI.exists():
        pytest.skip("the MCP conformance suite is not installed (./scripts/test installs it with npm)")
    out = tmp_path / "results"
    # The suite is one unauthenticated client that opens a session per scenario (over 30) and closes none, so the
    # per-principal session cap (16 by default) is raised for it; tests/test_http_edge.py tests the cap itself.
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_HTTP_SESSIONS_PER_PRINCIPAL="100")
    with (tmp_path / "server.stderr").open("w") as errlog:
        async with http_server(env, errlog) as port:
            command = [node, str(CLI), "server", "--url", f"http://127.0.0.1:{port}/mcp"]
            command += ["--expected-failures", str(EXPECTED_FAILURES), "-o", str(out)]
            with anyio.fail_after(240):
                run = await anyio.run_process(
                    command, check=False, cwd=tmp_path, env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"}
                )
    report = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    summary = report[report.rfind("=== SUMMARY ===") :]
    assert run.returncode == 0, summary or report[-4000:]
    results = _results(out)
    for scenario in sorted(APPLICABLE):
        statuses = [check["status"] for check in results.get(scenario, [])]
        assert statuses and all(s in ("SUCCESS", "INFO") for s in statuses), (scenario, results.get(scenario))
    # Its tools/call scenarios name tools this server does not have: nothing reached WeData's mutating action.
    assert endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None) == []
