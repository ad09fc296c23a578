"""What the MCP layer adds to one rerun: the confirmed `rerun_schedule_instances` call through a real MCP
stdio session to the benchmark simulator, against Tencent's own SDK sending the same request to the same
simulator; and how long dry-run previews of 1 to 5,000 instances take.

Rate limits are set far above what these runs reach (WEDATA_MCP_RATE_LIMIT=1000, the simulator's 1,000,000 per
second), so they measure latency, not the quota; the limiter's code still runs on every call.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import simulator
from bench.common import (
    REGION,
    REPO,
    SECRET_ID,
    SECRET_KEY,
    TOOL,
    UNLIMITED_SERVER,
    UNLIMITED_SIMULATOR,
    command,
    rerun_arguments,
    server_env,
)
from bench.stdio import StdioServer

RUN = "RunRerunScheduleInstances"
DESCRIBE = "DescribeScheduleInstances"


def sdk_client(url: str) -> Any:
    """Tencent's SDK pointed at the simulator over http, with a kept-alive connection like our pooled client."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.wedata.v20210820 import wedata_client

    # Its DEBUG logs carry the Authorization header; it stays at WARNING.
    logging.getLogger("tencentcloud_sdk_common").setLevel(logging.WARNING)
    profile = HttpProfile(endpoint=url.removeprefix("http://"), protocol="http", reqTimeout=10, keepAlive=True)
    return wedata_client.WedataClient(
        credential.Credential(SECRET_ID, SECRET_KEY), REGION, ClientProfile(httpProfile=profile)
    )


def sdk_rerun(client: Any, arguments: dict[str, Any]) -> Any:
    from tencentcloud.wedata.v20210820 import models

    request = models.RunRerunScheduleInstancesRequest()
    request.from_json_string(json.dumps(arguments))
    return client.RunRerunScheduleInstances(request)


@dataclass
class Execute:
    """Per call, in milliseconds."""

    official: list[float] = field(default_factory=lambda: [])  # execute: official MCP client, `wedata-mcp serve`
    bare: list[float] = field(default_factory=lambda: [])  # the same: bare stdio client, `python -m bench.traced`
    sdk: list[float] = field(default_factory=lambda: [])  # Tencent's SDK: RunRerunScheduleInstances
    # The bare execute, cut at the moments the traced server's HTTP requests left and their answers were read:
    before: list[float] = field(default_factory=lambda: [])  # MCP request written → the re-read leaves
    reread: list[float] = field(default_factory=lambda: [])  # the stale-preview re-read (DescribeScheduleInstances)
    between: list[float] = field(default_factory=lambda: [])  # re-read answered → the rerun leaves
    mutating: list[float] = field(default_factory=lambda: [])  # the RunRerunScheduleInstances round trip
    after: list[float] = field(default_factory=lambda: [])  # rerun answered → the MCP result is read
    # The simulator's own handling time of each request (inside the simulator process).
    reread_sim: list[float] = field(default_factory=lambda: [])
    run_sim: list[float] = field(default_factory=lambda: [])
    sdk_run_sim: list[float] = field(default_factory=lambda: [])
    audit_events: int = 0  # fsynced audit records per execute


def _ms(seconds: float) -> float:
    return seconds * 1000


async def execute(workdir: Path, calls: int, warmup: int = 20) -> Execute:
    """`calls` confirmed reruns of one instance each, by the official client, a bare client and the SDK,
    interleaved (their order rotating), each on instances of its own."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    total = calls + warmup
    out = Execute()
    windows: list[tuple[str, float, float]] = []  # (who, start, end) on the monotonic clock
    official_dir, bare_dir = workdir / "official", workdir / "bare"
    with simulator.running(3 * total + 10, UNLIMITED_SIMULATOR) as sim:
        env = server_env(official_dir, sim.url, WEDATA_MCP_RATE_LIMIT=UNLIMITED_SERVER)
        trace = bare_dir / "trace.jsonl"
        bare_env = server_env(
            bare_dir, sim.url, WEDATA_MCP_RATE_LIMIT=UNLIMITED_SERVER, BENCH_TRACE=str(trace), PYTHONPATH=str(REPO)
        )
        params = StdioServerParameters(command=command("wedata-mcp"), args=["serve"], env=env)
        sdk = sdk_client(sim.url)
        with (
            (official_dir / "stderr").open("w") as errlog,
            StdioServer([sys.executable, "-m", "bench.traced"], bare_env, bare_dir / "stderr") as bare,
        ):
            bare.initialize()
            bare.request("tools/list")
            async with Client(stdio_client(params, errlog=errlog)) as client:
                await client.list_tools()
                for i in range(total):
                    order = ["official", "bare", "sdk"]
                    order = order[i % 3 :] + order[: i % 3]
                    for who in order:
                        arguments = rerun_arguments(3 * i + order.index(who), 1)
                        if who == "official":
                            preview = await client.call_tool(TOOL, arguments)
                            token = (preview.structured_content or {})["ConfirmationToken"]
                            start = time.monotonic()
                            result = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})
                            end = time.monotonic()
                            status = (result.structured_content or {}).get("Status")
                        elif who == "bare":
                            call = {"name": TOOL, "arguments": arguments}
                            token = bare.request("tools/call", call)["structuredContent"]["ConfirmationToken"]
                            call["arguments"] = arguments | {"ConfirmationToken": token}
                            start = time.monotonic()
                            line, _ = bare.request_raw("tools/call", call)
                            end = time.monotonic()
                            status = json.loads(line)["result"]["structuredContent"]["Status"]
                        else:
                            start = time.monotonic()
                            answer = sdk_rerun(sdk, arguments)
                            end = time.monotonic()
                            status = "executed" if answer.Data.Result else "failed"
                        if status != "executed":
                            raise RuntimeError(f"{who}: the rerun was not executed ({status})")
                        if i >= warmup:
                            windows.append((who, start, end))
                            getattr(out, who).append(_ms(end - start))
        requests = sim.requests()
    out.audit_events = _audit_events_per_execute(bare_dir / "audit.jsonl")
    spans = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    _breakdown(out, windows, requests, spans)
    return out


def _audit_events_per_execute(path: Path) -> int:
    events = [json.loads(line)["event"] for line in path.read_text(encoding="utf-8").splitlines()]
    return (len(events) - events.count("preview")) // max(1, events.count("executed"))


def _breakdown(
    out: Execute,
    windows: list[tuple[str, float, float]],
    requests: list[simulator.Request],
    spans: list[list[Any]],
) -> None:
    for who, start, end in windows:
        handled = [r for r in requests if start <= r.start <= end]
        runs = [r for r in handled if r.action == RUN]
        if who == "sdk" and len(runs) == 1:
            out.sdk_run_sim.append(_ms(runs[0].end - runs[0].start))
        if who != "bare":
            continue
        rereads = [r for r in handled if r.action == DESCRIBE]
        sent = [s for s in spans if start <= s[1] <= end]
        if len(runs) != 1 or len(rereads) != 1 or [s[0] for s in sent] != [DESCRIBE, RUN]:
            raise RuntimeError(f"expected a re-read then a rerun inside an execute, saw {[s[0] for s in sent]}")
        out.reread_sim.append(_ms(rereads[0].end - rereads[0].start))
        out.run_sim.append(_ms(runs[0].end - runs[0].start))
        (_, reread_start, reread_end), (_, run_start, run_end) = sent
        out.before.append(_ms(reread_start - start))
        out.reread.append(_ms(reread_end - reread_start))
        out.between.append(_ms(run_start - reread_end))
        out.mutating.append(_ms(run_end - run_start))
        out.after.append(_ms(end - run_end))


@dataclass
class Preview:
    size: int
    e2e_ms: list[float] = field(default_factory=lambda: [])  # request written → answer line read
    sim_ms: list[float] = field(default_factory=lambda: [])  # the simulator answering the look-ups
    server_ms: list[float] = field(default_factory=lambda: [])  # e2e minus the simulator's time
    # From the traced server's request spans:
    before_ms: list[float] = field(default_factory=lambda: [])  # request written → first look-up leaves
    lookups_ms: list[float] = field(default_factory=lambda: [])  # look-up round trips (server side), summed
    between_ms: list[float] = field(default_factory=lambda: [])  # between look-ups (parsing pages), summed
    after_ms: list[float] = field(default_factory=lambda: [])  # last look-up answered → answer read
    lookups: int = 0
    answer_bytes: int = 0


def previews(workdir: Path, sizes: dict[int, int]) -> list[Preview]:
    """Dry runs of RerunType 1 over `size` instances, `sizes[size]` times each, sizes interleaved; timed with a
    bare stdio client (no client library) against the traced server, the simulator's share measured inside
    the simulator."""
    results = {size: Preview(size) for size in sizes}
    trace = workdir / "trace.jsonl"
    with simulator.running(max(sizes), UNLIMITED_SIMULATOR) as sim:
        env = server_env(
            workdir, sim.url, WEDATA_MCP_RATE_LIMIT=UNLIMITED_SERVER, BENCH_TRACE=str(trace), PYTHONPATH=str(REPO)
        )
        with StdioServer([sys.executable, "-m", "bench.traced"], env, workdir / "stderr") as server:
            server.initialize()
            server.request("tools/list")
            for size in sizes:  # warm-up
                server.request("tools/call", {"name": TOOL, "arguments": rerun_arguments(0, size)})
            for i in range(max(sizes.values())):
                for size in sizes if i % 2 == 0 else reversed(sizes):
                    if i < sizes[size]:
                        _preview(server, sim, trace, results[size])
    return list(results.values())


def _preview(server: StdioServer, sim: simulator.Simulator, trace: Path, result: Preview) -> None:
    call = {"name": TOOL, "arguments": rerun_arguments(0, result.size)}
    sim.clear()
    seen = len(trace.read_text(encoding="utf-8").splitlines())
    start = time.monotonic()
    line, _ = server.request_raw("tools/call", call)
    end = time.monotonic()
    answer = json.loads(line)["result"]
    if answer.get("isError") or not answer["structuredContent"].get("ConfirmationToken"):
        raise RuntimeError(f"preview of {result.size} failed: {answer['content']}")
    looked = sim.requests()  # every look-up of this preview (DescribeScheduleInstances, DagInstances)
    spans = [json.loads(s) for s in trace.read_text(encoding="utf-8").splitlines()[seen:]]
    if len(spans) != len(looked) or not spans:
        raise RuntimeError("the server's and the simulator's look-ups disagree")
    sim_time = sum(r.end - r.start for r in looked)
    result.e2e_ms.append(_ms(end - start))
    result.sim_ms.append(_ms(sim_time))
    result.server_ms.append(_ms(end - start - sim_time))
    result.before_ms.append(_ms(spans[0][1] - start))
    result.lookups_ms.append(_ms(sum(e - s for _, s, e in spans)))
    result.between_ms.append(_ms(sum(spans[k + 1][1] - spans[k][2] for k in range(len(spans) - 1))))
    result.after_ms.append(_ms(end - spans[-1][2]))
    result.lookups = len(looked)
    result.answer_bytes = len(line)
