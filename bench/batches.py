"""A 5,000-instance rerun (RerunType 1, batches of 100 → 50 requests) through a real MCP stdio session, against
the simulator's enforced quota of 20 requests per second per SecretId and action, with the server's default
limiter (WEDATA_MCP_RATE_LIMIT=20): how close to the quota it runs, and whether WeData ever says no."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import simulator
from bench.common import TOOL, command, rerun_arguments, server_env

RUN = "RunRerunScheduleInstances"
DESCRIBE = "DescribeScheduleInstances"
QUOTA = 20  # requests per second, per SecretId and action (the simulator's default, WeData's documented limit)
WINDOW = 1.0  # the simulator's sliding window, seconds


@dataclass
class BatchRun:
    instances: int
    preview_s: float = 0.0
    execute_s: float = 0.0
    run_requests: int = 0
    describe_requests: int = 0
    codes: Counter[str] = field(default_factory=lambda: Counter[str]())  # error codes, every action
    span_s: float = 0.0  # first to last RunRerunScheduleInstances arrival
    min_span_s: float = 0.0  # the shortest span the quota allows for that many requests
    max_in_window: int = 0  # most RunRerunScheduleInstances arrivals in any one-second window
    quota_gaps: list[float] = field(default_factory=lambda: [])  # arrival of request k to k+QUOTA, seconds
    arrivals: list[float] = field(default_factory=lambda: [])  # RunRerun arrivals after the first, seconds
    to_first_batch_s: float = 0.0  # execute sent → first batch arrives (the stale-preview re-read, paced)
    progress: int = 0  # progress notifications received
    status: str = ""
    batches: Counter[str] = field(default_factory=lambda: Counter[str]())

    @property
    def limit_exceeded(self) -> int:
        return self.codes["RequestLimitExceeded"]

    @property
    def efficiency(self) -> float:
        """The quota's fastest span / the achieved span: 1.0 is every window filled to the quota."""
        return self.min_span_s / self.span_s if self.span_s else 0.0

    @property
    def sustained(self) -> float:
        """Requests per second while the quota binds: QUOTA requests over the median time from a request to the
        QUOTA-th after it (what a sliding window of QUOTA per second allows at best is QUOTA/s)."""
        gaps = sorted(self.quota_gaps)
        return QUOTA / gaps[len(gaps) // 2] if gaps else 0.0


def min_span(requests: int, quota: int = QUOTA, window: float = WINDOW) -> float:
    """Under a sliding window of `quota` per `window`, request k (0-based) can arrive no earlier than
    floor(k / quota) windows after the first."""
    return ((requests - 1) // quota) * window


def max_in_window(arrivals: list[float], window: float = WINDOW) -> int:
    best, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


async def rerun(workdir: Path, instances: int = 5000) -> BatchRun:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    out = BatchRun(instances)
    with simulator.running(instances, QUOTA) as sim:
        # The server's limiter at its default (20/s per action, WEDATA_MCP_RATE_LIMIT unset), batch size 100.
        env = server_env(workdir, sim.url)
        params = StdioServerParameters(command=command("wedata-mcp"), args=["serve"], env=env)
        arguments: dict[str, Any] = rerun_arguments(0, instances)
        seen: list[float] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            seen.append(done)

        with (workdir / "stderr").open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                await client.list_tools()
                start = time.monotonic()
                preview = await client.call_tool(TOOL, arguments)
                out.preview_s = time.monotonic() - start
                token = (preview.structured_content or {})["ConfirmationToken"]
                start = execute_start = time.monotonic()
                result = await client.call_tool(
                    TOOL, arguments | {"ConfirmationToken": token}, progress_callback=progress
                )
                out.execute_s = time.monotonic() - start
        done = result.structured_content or {}
        out.status = str(done.get("Status"))
        out.batches = Counter(b["Status"] for b in done.get("BatchResults") or [])
        out.progress = len(seen)
        requests = sim.requests()
    runs = sorted(r.start for r in requests if r.action == RUN)
    out.run_requests = len(runs)
    out.describe_requests = sum(r.action == DESCRIBE for r in requests)
    out.codes = Counter(r.error_code for r in requests if r.error_code)
    out.span_s = runs[-1] - runs[0] if len(runs) > 1 else 0.0
    out.min_span_s = min_span(len(runs))
    out.max_in_window = max_in_window(runs)
    out.quota_gaps = [runs[k + QUOTA] - runs[k] for k in range(len(runs) - QUOTA)]
    out.arrivals = [at - runs[0] for at in runs]
    out.to_first_batch_s = runs[0] - execute_start if runs else 0.0
    return out
