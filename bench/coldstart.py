"""Cold start and memory, against the official reference server `mcp-server-time` in the same run: spawn →
`initialize` + `tools/list` answered, over stdio, the two servers interleaved; peak and idle RSS; and the
`tools/list` payload (what every conversation pays in context)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import command, server_env
from bench.stdio import StdioServer

IDLE_SETTLE_SECONDS = 0.5  # after tools/list, before reading the idle RSS


@dataclass
class Samples:
    start_ms: list[float] = field(default_factory=lambda: [])
    peak_kib: list[int] = field(default_factory=lambda: [])
    idle_kib: list[int] = field(default_factory=lambda: [])
    tools: list[dict[str, Any]] = field(default_factory=lambda: [])
    tools_list_bytes: int = 0


@dataclass
class ColdStart:
    wedata: Samples
    baseline: Samples
    ratios: list[float]  # per interleaved pair: wedata / baseline start time


def _servers(workdir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    # Nothing is called during a cold start; the endpoint only has to be a valid URL.
    env = server_env(workdir, "http://127.0.0.1:9")
    baseline_env = {"HOME": env["HOME"], "PATH": env["PATH"]}
    return {
        "wedata": ([command("wedata-mcp"), "serve"], env),
        "baseline": ([command("mcp-server-time"), "--local-timezone", "UTC"], baseline_env),
    }


def _one(argv: list[str], env: dict[str, str], samples: Samples | None, stderr: Path) -> float:
    started = time.perf_counter()
    with StdioServer(argv, env, stderr) as server:
        server.initialize()
        line, answered = server.request_raw("tools/list")
        elapsed = answered - started
        if samples is not None:
            peak = server.status()["VmHWM"]
            time.sleep(IDLE_SETTLE_SECONDS)
            samples.start_ms.append(elapsed * 1000)
            samples.peak_kib.append(max(peak, server.status()["VmHWM"]))
            samples.idle_kib.append(server.status()["VmRSS"])
            samples.tools = json.loads(line)["result"]["tools"]
            samples.tools_list_bytes = len(line)
    return elapsed


def run(workdir: Path, rounds: int, warmup: int = 2) -> ColdStart:
    servers = _servers(workdir)
    result = ColdStart(Samples(), Samples(), [])
    for _ in range(warmup):  # the page cache, .pyc files
        for name, (argv, env) in servers.items():
            _one(argv, env, None, workdir / f"{name}.stderr")
    for i in range(rounds):
        # Alternate which goes first, so a drift in the machine's load hits both alike.
        order = ["wedata", "baseline"] if i % 2 == 0 else ["baseline", "wedata"]
        times: dict[str, float] = {}
        for name in order:
            argv, env = servers[name]
            samples = result.wedata if name == "wedata" else result.baseline
            times[name] = _one(argv, env, samples, workdir / f"{name}.stderr")
        result.ratios.append(times["wedata"] / times["baseline"])
    return result


def tool_sizes(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bytes per tool (compact JSON, UTF-8), whole and by part: what a client may put in the model's context."""

    def size(value: Any) -> int:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())

    rows: list[dict[str, Any]] = []
    for tool in tools:
        rows.append(
            {
                "name": tool["name"],
                "total": size(tool),
                "description": size(tool.get("description", "")),
                "inputSchema": size(tool.get("inputSchema", {})),
                "outputSchema": size(tool.get("outputSchema", {})) if "outputSchema" in tool else 0,
                # name + description + inputSchema: what most clients hand to the model.
                "model_facing": size({k: tool[k] for k in ("name", "description", "inputSchema") if k in tool}),
            }
        )
    return rows


# Start-up phases of `wedata-mcp serve`, timed inside a fresh interpreter in the order `serve` meets them.
_PHASES = """
import json, os, time
from pathlib import Path
t = [time.perf_counter()]
import mcp.server.mcpserver  # what mcp-server-time loads too
t.append(time.perf_counter())
import httpx  # our API client's stack (mcp carries httpx2)
t.append(time.perf_counter())
import wedata_mcp.cli, wedata_mcp.app  # our modules: models, guardrail, tools, settings
t.append(time.perf_counter())
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import load_credentials
from wedata_mcp.settings import Settings
settings = Settings.from_env(os.environ)
server = build_server(settings, load_credentials(dict(os.environ), Path.home()))
t.append(time.perf_counter())
from wedata_mcp.cloud.client import Target, WeDataClient
WeDataClient(Target(settings.endpoint, settings.region), None)  # what the session's lifespan makes first
t.append(time.perf_counter())
import sys
eager = sorted({m.split(".")[0] if m.startswith("tencentcloud") else m for m in sys.modules if m.startswith(
    ("tencentcloud", "wedata_mcp.sandbox", "wedata_mcp.http.app", "wedata_mcp.guardrail.redis_store", "redis")
)})
print(json.dumps({"ms": [(b - a) * 1000 for a, b in zip(t, t[1:])], "eager": eager}))
"""
PHASES = (
    "import mcp.server.mcpserver (shared with mcp-server-time)",
    "import httpx (a second HTTP stack beside mcp's httpx2)",
    "import wedata_mcp (pydantic models, guardrail, tools)",
    "build_server (tool schemas, prompts, resources)",
    "session lifespan: the pooled httpx.AsyncClient (TLS context, CA bundle)",
)


@dataclass
class Phases:
    ms: list[list[float]]  # per phase, its durations over the runs
    eager: list[str]  # modules `serve` need not load that were loaded (Tencent's SDK, the sandbox, ...)


def phases(workdir: Path, runs: int) -> Phases:
    """The start-up phases' durations over `runs` fresh interpreters."""
    env = server_env(workdir, "http://127.0.0.1:9")
    result = Phases([[] for _ in PHASES], [])
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _PHASES], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        sample = json.loads(done.stdout.strip().splitlines()[-1])
        for i, value in enumerate(sample["ms"]):
            result.ms[i].append(value)
        result.eager = sample["eager"]
    return result
