"""`python -m bench`: cold start and memory against mcp-server-time, the tools/list payload, the execute
call against Tencent's SDK, dry-run previews, a 5,000-instance rerun under the quota, and three replicas sharing
one quota; prints the tables."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio

from bench import batches, coldstart, context, latency, replicas
from bench.stats import median, mib, ms, percentile, table, verdict

SECTIONS = ("coldstart", "latency", "previews", "batches", "replicas", "context")
# Targets of issue 6 (for the benchmark, not timed tests).
COLD_START_RATIO = 1.10
IDLE_MEMORY_RATIO = 1.15
ADDED_P50_MS = 1.5
PREVIEW_1000_SERVER_MS = 50.0
QUOTA_SHARE = 0.95


def _proc_field(path: str, name: str) -> str:
    """The first `name: value` line's value in a /proc file (Linux)."""
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return "?"


def machine() -> dict[str, str]:
    cpu = _proc_field("/proc/cpuinfo", "model name")
    memory = _proc_field("/proc/meminfo", "MemTotal")
    versions: dict[str, str] = {}
    for package in ("wedata-mcp", "mcp", "mcp-server-time", "tencentcloud-sdk-python-wedata"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def _cold(result: coldstart.ColdStart, startup: coldstart.Phases, out: list[str], summary: list[list[str]]) -> None:
    phases = startup.ms
    w, b = result.wedata, result.baseline
    paired = median(result.ratios)
    idle = median(w.idle_kib) / median(b.idle_kib)
    peak = median(w.peak_kib) / median(b.peak_kib)
    n = len(w.start_ms)
    summary.append(
        [
            f"cold start: spawn → initialize + tools/list (median, n={n} each, interleaved)",
            ms(median(w.start_ms)),
            f"mcp-server-time {ms(median(b.start_ms))}",
            f"{paired:.3f}x (paired; of medians {median(w.start_ms) / median(b.start_ms):.3f}x)",
            f"≤ {COLD_START_RATIO:.2f}x",
            verdict(paired <= COLD_START_RATIO),
        ]
    )
    summary.append(
        [
            "idle RSS after tools/list (+0.5 s)",
            mib(median(w.idle_kib)),
            mib(median(b.idle_kib)),
            f"{idle:.3f}x",
            f"≤ {IDLE_MEMORY_RATIO:.2f}x",
            verdict(idle <= IDLE_MEMORY_RATIO),
        ]
    )
    summary.append(["peak RSS (VmHWM)", mib(median(w.peak_kib)), mib(median(b.peak_kib)), f"{peak:.3f}x", "", ""])
    rows = [
        [
            r["name"],
            f"{r['total']:,}",
            f"{r['description']:,}",
            f"{r['inputSchema']:,}",
            f"{r['outputSchema']:,}",
            f"{r['model_facing']:,}",
        ]
        for r in coldstart.tool_sizes(w.tools) + coldstart.tool_sizes(b.tools)
    ]
    total = coldstart.tool_sizes(w.tools)
    summary.append(
        [
            "tools/list answer (bytes on the wire)",
            f"{w.tools_list_bytes:,} B ({len(w.tools)} tools; name+description+inputSchema "
            f"{sum(r['model_facing'] for r in total):,} B)",
            f"{b.tools_list_bytes:,} B ({len(b.tools)} tools)",
            f"{w.tools_list_bytes / b.tools_list_bytes:.1f}x",
            "",
            "",
        ]
    )
    extra = sum(median(p) for p in phases[1:])
    out.append(f"### Where `wedata-mcp serve` starts up (median of {len(phases[0])} fresh interpreters)\n")
    out.append(
        table(
            ["phase", "median"],
            [[name, ms(median(p))] for name, p in zip(coldstart.PHASES, phases, strict=True)]
            + [["all but the first: wedata-mcp's own", ms(extra)]],
        )
    )
    eager = ", ".join(startup.eager) or "none"
    out.append(
        f"\nMeasured gap to mcp-server-time: {ms(median(w.start_ms) - median(b.start_ms))} (medians of the cold "
        f"starts above). Loaded but not needed by `serve` (Tencent's SDK, the sandbox, the HTTP app, Redis): {eager}. "
        "uvicorn and starlette are loaded by `mcp` itself, in both servers.\n"
    )
    out.append("### tools/list payload per tool (bytes of compact UTF-8 JSON)\n")
    out.append(table(["tool", "total", "description", "inputSchema", "outputSchema", "name+descr.+input"], rows))
    out.append(
        f"\nwedata-mcp's answer: {w.tools_list_bytes:,} B; mcp-server-time's: {b.tools_list_bytes:,} B. "
        "Most clients give the model name, description and inputSchema; the outputSchema is for the client.\n"
    )


def _latency(result: latency.Execute, out: list[str], summary: list[list[str]]) -> None:
    added = median(result.official) - median(result.sdk)
    # Calls were interleaved: the median of each round's difference is the steadier figure on a shared machine.
    paired = median([o - s for o, s in zip(result.official, result.sdk, strict=True)])
    bare = median(result.bare) - median(result.sdk)
    summary.append(
        [
            f"execute (confirmed rerun, 1 instance) p50 / p99, n={len(result.official)}",
            f"{ms(median(result.official))} / {ms(percentile(result.official, 99))}",
            f"SDK {ms(median(result.sdk))} / {ms(percentile(result.sdk, 99))}",
            f"+{ms(added)} p50 (paired +{ms(paired)}; bare client +{ms(bare)})",
            f"< +{ADDED_P50_MS} ms",
            verdict(added < ADDED_P50_MS),
        ]
    )
    summary.append(
        [
            "— of which the RunRerunScheduleInstances round trip p50 / p99",
            f"{ms(median(result.mutating))} / {ms(percentile(result.mutating, 99))}",
            "(the SDK's whole call above)",
            f"{median(result.mutating) / median(result.sdk):.2f}x",
            "",
            "",
        ]
    )

    def row(name: str, values: list[float], what: str) -> list[str]:
        return [name, ms(median(values)), ms(percentile(values, 99)), what]

    out.append("### The execute call, cut where the server's API requests leave and return\n")
    out.append(
        table(
            ["part", "p50", "p99", "what it is"],
            [
                row("execute, official MCP client", result.official, "`wedata-mcp serve`, mcp.Client over stdio"),
                row("execute, bare stdio client", result.bare, "`python -m bench.traced`, the breakdown below"),
                row("  before the re-read", result.before, "JSON-RPC in, argument validation, token check, policy"),
                row("  stale-preview re-read", result.reread, "DescribeScheduleInstances round trip (server side)"),
                row("  between", result.between, "state digest, token claim, budget, audit `sending` (fsync), sign"),
                row("  the mutating call", result.mutating, "RunRerunScheduleInstances round trip (server side)"),
                row("  after", result.after, "parse, result, token record, audit `executed` (fsync), JSON-RPC out"),
                row("SDK RunRerunScheduleInstances", result.sdk, "tencentcloud-sdk-python-wedata, same simulator"),
                row("simulator: re-read handling", result.reread_sim, "inside the simulator process"),
                row("simulator: our rerun handling", result.run_sim, "inside the simulator process"),
                row("simulator: SDK rerun handling", result.sdk_run_sim, "inside the simulator process"),
            ],
        )
    )
    out.append(f"\nAudit records fsynced per execute: {result.audit_events}.\n")


def _previews(results: list[latency.Preview], out: list[str], summary: list[list[str]]) -> None:
    rows: list[list[str]] = []
    for p in results:
        rows.append(
            [
                f"{p.size:,}",
                str(len(p.e2e_ms)),
                ms(median(p.e2e_ms)),
                ms(median(p.sim_ms)),
                ms(median(p.server_ms)),
                ms(median(p.before_ms)),
                ms(median(p.lookups_ms)),
                ms(median(p.between_ms)),
                ms(median(p.after_ms)),
                str(p.lookups),
                f"{p.answer_bytes:,}",
            ]
        )
        if p.size == 1000:
            server = median(p.server_ms)
            summary.append(
                [
                    "dry-run preview of 1,000 instances: server time (e2e − simulator), median",
                    ms(server),
                    f"e2e {ms(median(p.e2e_ms))}, {p.lookups} look-ups",
                    "",
                    f"< {PREVIEW_1000_SERVER_MS:.0f} ms",
                    verdict(server < PREVIEW_1000_SERVER_MS),
                ]
            )
    out.append("### Dry-run previews (RerunType 1, bare stdio client, rate limits lifted)\n")
    header = ["instances", "n", "e2e", "simulator", "server (e2e − sim.)", "before", "look-ups (trips)", "between"]
    out.append(table([*header, "after", "look-ups", "answer B"], rows))
    out.append(
        "\nbefore: request in → first look-up leaves (argument validation); look-ups: their round trips seen from "
        "the server; between: page parsing; after: last answer → preview read (radius, result, JSON-RPC out).\n"
    )


def _batches(runs: list[batches.BatchRun], out: list[str], summary: list[list[str]]) -> None:
    sustained = median([r.sustained for r in runs])
    exceeded = sum(r.limit_exceeded for r in runs)
    summary.append(
        [
            f"5,000-instance rerun, 50 batches: sustained RunRerun rate (median of {len(runs)})",
            f"{sustained:.2f}/s",
            f"quota {batches.QUOTA}/s",
            f"{sustained / batches.QUOTA:.1%}",
            f"≥ {QUOTA_SHARE:.0%}",
            verdict(sustained >= QUOTA_SHARE * batches.QUOTA),
        ]
    )
    summary.append(
        ["— RequestLimitExceeded (all runs, all actions)", str(exceeded), "", "", "0", verdict(exceeded == 0)]
    )
    rows = [
        [
            str(i + 1),
            r.status,
            f"{r.run_requests}",
            f"{r.sustained:.2f}/s ({r.sustained / batches.QUOTA:.1%})",
            f"{r.span_s:.3f} s / {r.min_span_s:.3f} s ({r.efficiency:.1%})",
            str(r.max_in_window),
            str(r.limit_exceeded),
            str(r.progress),
            f"{r.preview_s:.2f} s",
            f"{r.to_first_batch_s:.2f} s",
            f"{r.execute_s:.2f} s",
        ]
        for i, r in enumerate(runs)
    ]
    out.append("### 5,000-instance rerun (batch size 100, quota 20/s enforced, server limiter at its default)\n")
    out.append(
        table(
            [
                "run",
                "status",
                "RunRerun requests",
                "sustained",
                "span / quota's fastest",
                "max in 1 s",
                "LimitExceeded",
                "progress",
                "preview",
                "to 1st batch",
                "execute",
            ],
            rows,
        )
    )
    out.append("")


def _context(found: context.Context, out: list[str], summary: list[list[str]]) -> None:
    summary.append(
        [
            "model-visible tools/list (name, title, description, inputSchema; compact JSON)",
            f"{found.tools_list:,} B",
            f"{len(found.tools)} tools",
            "",
            f"≤ {context.TOOLS_LIST_TARGET:,} B",
            verdict(found.tools_list <= context.TOOLS_LIST_TARGET),
        ]
    )
    summary.append(
        [
            f"a listed instance in find_schedule_instances (text; median of {found.listed})",
            f"{found.row_median} B",
            f"max {found.row_max} B",
            "",
            f"≤ {context.LISTED_INSTANCE_TARGET} B",
            verdict(found.row_median <= context.LISTED_INSTANCE_TARGET),
        ]
    )
    out.append("### What the model reads (seeded world, `mcp.Client` in memory)\n")
    rows = [[name, f"{n:,}"] for name, n in found.tools.items()]
    rows.append(["all tools, as one list", f"{found.tools_list:,}"])
    out.append(table(["tool", "name+title+description+inputSchema (B)"], rows))
    out.append(
        f"\nfind_schedule_instances of {context.DAY} ({found.listed} instances, PageSize 100): {found.page_bytes:,} B "
        f"of text; a row (one listed instance) {min(found.rows)}–{found.row_max} B, mean {found.row_mean:.0f} B. "
        f"Dry-run preview of one failed instance with every code omitted: {found.preview_bytes:,} B of text.\n"
    )


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke run, not figures to quote")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (audit logs, stderr)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if unknown := only - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    rounds, calls, warmup, batch_runs = (3, 30, 5, 1) if args.quick else (15, 300, 30, 3)
    sizes = {1: 3, 100: 3, 1000: 2, 5000: 1} if args.quick else {1: 15, 100: 15, 1000: 9, 5000: 5}

    workdir = Path(tempfile.mkdtemp(prefix="wedata-bench-"))
    info = machine()
    out: list[str] = [f"# wedata-mcp benchmark, {info['date']}\n"]
    out.append(table(["machine", ""], [[k, v] for k, v in info.items()]) + "\n")
    summary: list[list[str]] = []
    raw: dict[str, Any] = {"machine": info}
    try:
        if "coldstart" in only:
            print("== cold start and memory (interleaved with mcp-server-time)", file=sys.stderr)
            raw["coldstart"] = cold = coldstart.run(workdir / "coldstart", rounds)
            raw["startup_phases"] = phases = coldstart.phases(workdir / "phases", 3 if args.quick else 9)
            _cold(cold, phases, out, summary)
        if "latency" in only:
            print("== execute latency against the SDK", file=sys.stderr)
            raw["latency"] = execute = anyio.run(latency.execute, workdir / "latency", calls, warmup)
            _latency(execute, out, summary)
        if "previews" in only:
            print("== dry-run previews", file=sys.stderr)
            raw["previews"] = previews = latency.previews(workdir / "previews", sizes)
            _previews(previews, out, summary)
        if "batches" in only:
            print("== 5,000-instance rerun under the quota", file=sys.stderr)
            runs = [anyio.run(batches.rerun, workdir / f"batches-{i}") for i in range(batch_runs)]
            raw["batches"] = runs
            _batches(runs, out, summary)
        if "replicas" in only:
            print("== three replicas on one quota, sharing one Redis", file=sys.stderr)
            shared = [anyio.run(replicas.rerun, workdir / f"replicas-{i}") for i in range(batch_runs)]
            raw["replicas"] = shared
            replicas.render(shared, out, summary)
        if "context" in only:
            print("== context cost (tools/list, a listed instance, a preview)", file=sys.stderr)
            raw["context"] = found = context.run()
            _context(found, out, summary)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    header = ["measure", "wedata-mcp", "reference", "ratio / difference", "target", ""]
    print(out[0])
    print(out[1])
    print("## Summary\n")
    print(table(header, summary))
    print()
    print("\n".join(out[2:]))
    if args.json:
        args.json.write_text(json.dumps(_plain(raw), indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
