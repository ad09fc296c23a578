"""`python -m bench.load`: many concurrent MCP client sessions against one `wedata-mcp serve --transport http`
process on loopback, each making a mix of dry-run previews, read-only queries and confirmed executions.

It checks what load must not break - no protocol error, no lost and no duplicated execution (every confirmed
success is exactly one RunRerunScheduleInstances that ran, every request WeData received was audited as
"sending" first, no body twice) - and reports latency percentiles per kind of call. Exit status 1 if a check
fails. Not part of the test suite: it takes a minute or two.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench import simulator
from bench.common import TOOL, server_env
from bench.stats import ms, percentile, table

KINDS = ("preview", "execute", "find", "get")


@dataclass
class Plan:
    sessions: int = 50
    calls: int = 100  # per session; a confirmed execution is two calls (its preview, then the execute)
    executions: int = 10  # per session
    previews: int = 40  # per session; the rest are read-only queries
    server_rate: str = "1000"  # WEDATA_MCP_RATE_LIMIT, per action (the setting's maximum)
    simulator_rate: int = 1_000_000  # per SecretId and action
    seed: int = 20261125
    timeout: float = 600.0

    @property
    def days(self) -> int:
        # Executions take distinct instances; previews and queries pick among the others.
        return self.sessions * self.executions + 1000


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    session_start: list[float] = field(default_factory=lambda: [])
    protocol_errors: list[str] = field(default_factory=lambda: [])
    tool_errors: Counter[str] = field(default_factory=lambda: Counter())
    executed: list[str] = field(default_factory=lambda: [])  # RequestHash of each confirmed success
    confirmed: list[str] = field(default_factory=lambda: [])  # RequestHash of each execute call made
    other_statuses: Counter[str] = field(default_factory=lambda: Counter())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _script(plan: Plan, session: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """One session's calls, shuffled: ("execute", args) stands for a preview followed by its execute."""
    first = session * plan.executions
    steps: list[tuple[str, dict[str, Any]]] = [
        ("execute", {"Instances": [{"TaskId": _task(), "CurRunDate": simulator.day(first + i)}], "RerunType": "1"})
        for i in range(plan.executions)
    ]
    spare = range(plan.sessions * plan.executions, plan.days)
    for _ in range(plan.previews):
        days = rng.sample(spare, rng.choice([1, 1, 1, 3, 10]))
        instances = [{"TaskId": _task(), "CurRunDate": simulator.day(d)} for d in sorted(days)]
        steps.append(("preview", {"Instances": instances, "RerunType": rng.choice(["1", "1", "2"])}))
    queries = plan.calls - 2 * plan.executions - plan.previews
    for n in range(queries):
        if n % 2:
            steps.append(("get", {"TaskId": _task(), "CurRunDate": simulator.day(rng.choice(spare))}))
        else:
            pick = {"StateName": ["failed"], "Page": rng.randint(1, 5), "PageSize": rng.choice([10, 20, 50])}
            steps.append(("find", pick | ({"DateFrom": "2025-06-01"} if rng.random() < 0.5 else {})))
    rng.shuffle(steps)
    return steps


def _task() -> str:
    from tests.worlds import TASK_ID

    return TASK_ID


async def _session(url: str, plan: Plan, number: int, outcome: Outcome) -> None:
    rng = random.Random(plan.seed + number)  # noqa: S311 - a seeded, reproducible mix of calls, not a secret
    steps = _script(plan, number, rng)

    async def timed(kind: str, tool: str, arguments: dict[str, Any]) -> Any:
        start = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        outcome.latencies[kind].append(time.perf_counter() - start)
        if result.is_error:
            outcome.tool_errors[f"{kind}: {_first_words(result)}"] += 1
        return result

    try:
        start = time.perf_counter()
        async with (
            httpx2.AsyncClient(timeout=httpx2.Timeout(120)) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            outcome.session_start.append(time.perf_counter() - start)
            for kind, arguments in steps:
                if kind in ("preview", "execute"):
                    preview = await timed("preview", TOOL, arguments)
                    if kind == "execute" and preview.structured_content:
                        content = preview.structured_content
                        outcome.confirmed.append(content["RequestHash"])
                        confirmed = arguments | {"ConfirmationToken": content["ConfirmationToken"]}
                        result = await timed("execute", TOOL, confirmed)
                        status = (result.structured_content or {}).get("Status")
                        if status == "executed":
                            outcome.executed.append(content["RequestHash"])
                        else:
                            outcome.other_statuses[str(status)] += 1
                elif kind == "find":
                    await timed("find", "find_schedule_instances", arguments)
                else:
                    await timed("get", "get_schedule_instance", arguments)
    except Exception as exc:  # a protocol or transport failure: what this benchmark must never see
        outcome.protocol_errors.append(f"session {number}: {type(exc).__name__}: {exc}"[:300])


def _first_words(result: Any) -> str:
    """The kind of a tool error, for counting: its first clause (e.g. 'not executed', 'RequestLimitExceeded')."""
    text = " ".join(getattr(block, "text", "") for block in result.content)
    text = text.removeprefix("Error executing tool ").partition(": ")[2] or text  # the SDK's prefix
    return re.split(r"[:(;]", text, maxsplit=1)[0].strip()[:60]


async def _drive(url: str, plan: Plan, outcome: Outcome) -> float:
    start = time.perf_counter()
    with anyio.fail_after(plan.timeout):
        async with anyio.create_task_group() as group:
            for number in range(plan.sessions):
                group.start_soon(_session, url, plan, number, outcome)
    return time.perf_counter() - start


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:  # bounded: until the port accepts connections, or 30 s
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start; see its stderr") from None
            time.sleep(0.05)


def run(plan: Plan, workdir: Path) -> dict[str, Any]:
    with simulator.running(plan.days, plan.simulator_rate) as sim:
        port = _free_port()
        env = server_env(workdir, sim.url, WEDATA_MCP_RATE_LIMIT=plan.server_rate)
        command = [sys.executable, "-m", "wedata_mcp", "serve", "--transport", "http", "--port", str(port)]
        with (workdir / "server.stderr").open("w") as errlog:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errlog)
            try:
                _wait_listening(port, process)
                outcome = Outcome()
                wall = anyio.run(_drive, f"http://127.0.0.1:{port}/mcp", plan, outcome)
                alive = process.poll() is None
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        reruns = sim.reruns()
    return _report(plan, outcome, wall, alive, reruns, workdir / "audit.jsonl")


def _report(
    plan: Plan,
    outcome: Outcome,
    wall: float,
    alive: bool,
    reruns: list[tuple[str, str | None, bool]],
    audit: Path,
) -> dict[str, Any]:
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    sending = Counter(r["request_hash"] for r in records if r["event"] == "sending")
    received = Counter(h for h, _, _ in reruns)
    ran = [h for h, code, executed in reruns if executed and code is None]
    calls = sum(len(v) for v in outcome.latencies.values())
    checks = {
        "every session ran all its calls": calls == plan.sessions * plan.calls,
        "no protocol error": not outcome.protocol_errors,
        "no tool error": not outcome.tool_errors,
        "every execute call sent exactly one request": sorted(received.elements()) == sorted(outcome.confirmed),
        "confirmed successes == reruns WeData ran": sorted(ran) == sorted(outcome.executed),
        "no request body twice": not received or max(received.values()) == 1,
        "every request audited as sending first": all(sending[h] >= n for h, n in received.items()),
        "the server process still up at the end": alive,
    }
    every = [x for v in outcome.latencies.values() for x in v]
    rows = [
        [kind, str(len(v)), *(ms(percentile(v, p) * 1000) for p in (50, 90, 99)), ms(max(v) * 1000) if v else "-"]
        for kind, v in [*outcome.latencies.items(), ("all calls", every)]
    ]
    summary = {
        "plan": asdict(plan),
        "wall_seconds": round(wall, 2),
        "calls": calls,
        "calls_per_second": round(calls / wall, 1),
        "executions_confirmed": len(outcome.executed),
        "reruns_received": sum(received.values()),
        "protocol_errors": outcome.protocol_errors,
        "tool_errors": dict(outcome.tool_errors),
        "other_statuses": dict(outcome.other_statuses),
        "session_start_p50_ms": round(percentile(outcome.session_start, 50) * 1000, 1),
        "latency_ms": {
            kind: {p: round(percentile(v, p) * 1000, 2) for p in (50, 90, 99)}
            for kind, v in [*outcome.latencies.items(), ("all", every)]
        },
        "checks": checks,
        "table": table(["call", "n", "p50", "p90", "p99", "max"], rows),
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=Plan.sessions)
    parser.add_argument("--calls", type=int, default=Plan.calls, help="calls per session")
    parser.add_argument("--executions", type=int, default=Plan.executions, help="confirmed executions per session")
    parser.add_argument("--previews", type=int, default=Plan.previews, help="standalone previews per session")
    parser.add_argument(
        "--quota",
        action="store_true",
        help="keep WeData's documented 20/s per action on both sides (server limiter and simulator)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (audit log, server stderr)")
    args = parser.parse_args(argv)
    plan = Plan(sessions=args.sessions, calls=args.calls, executions=args.executions, previews=args.previews)
    if plan.calls < 2 * plan.executions + plan.previews:
        parser.error("--calls must cover 2 per execution plus the previews")
    if args.quota:
        plan.server_rate, plan.simulator_rate = "20", 20
    workdir = Path(tempfile.mkdtemp(prefix="wedata-load-"))
    summary = run(plan, workdir)
    print(
        f"{plan.sessions} sessions x {plan.calls} calls ({plan.executions} confirmed executions and {plan.previews}"
        f" previews each) against one server process; rate limits: server {plan.server_rate}/s, simulator "
        f"{plan.simulator_rate}/s per action"
    )
    print(
        f"{summary['calls']} calls in {summary['wall_seconds']} s ({summary['calls_per_second']} calls/s); "
        f"{summary['executions_confirmed']} executions confirmed, {summary['reruns_received']} reruns received"
    )
    print(summary["table"])
    for name, ok in summary["checks"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    for problem in summary["protocol_errors"][:10]:
        print(f"     {problem}")
    for problem, count in list(summary["tool_errors"].items())[:10]:
        print(f"     {count} x {problem}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if args.keep:
        print(f"work directory: {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(summary["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
