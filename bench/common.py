"""What every benchmark shares: the local credentials, the commands, the server's environment, the policy."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

# Local-only credentials the benchmark's simulator accepts; they open nothing but a process on 127.0.0.1.
SECRET_ID = "AKIDbench00000000000000000000000000"  # noqa: S105 - a local-only simulator account
SECRET_KEY = "bench-secret-key-0000000000000000"  # noqa: S105 - a local-only simulator key
REGION = "ap-guangzhou"
TOOL = "rerun_schedule_instances"
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
# Rate limits far above anything the latency runs reach: they measure latency, not the quota.
UNLIMITED_SERVER = "1000"  # WEDATA_MCP_RATE_LIMIT's maximum, per action
UNLIMITED_SIMULATOR = 1_000_000


def command(name: str) -> str:
    """A console script of this environment (the venv's bin), refusing to run without it."""
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        raise SystemExit(f"bench: `{name}` is not installed; run `pip install -e '.[bench]'` (or ./scripts/bench)")
    return on_path


def server_env(workdir: Path, endpoint: str, **extra: str) -> dict[str, str]:
    """The environment of a spawned `wedata-mcp serve`: the simulator, an audit log and a policy in `workdir`."""
    from tests.worlds import PROJECT_ID

    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    policy = workdir / "policy.toml"
    # The defaults (1,000 instances, 30 executions a minute) would refuse the 5,000-instance rerun and pace the
    # latency runs; everything else stays at its default.
    policy.write_text("max_instances = 10000\nmax_executions_per_minute = 100000\n", encoding="utf-8")
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "WEDATA_ENDPOINT": endpoint,
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "TENCENTCLOUD_REGION": REGION,
        # On the same disk as the default (~/.local/state): every audit record is fsynced, which is part of the cost.
        "WEDATA_MCP_AUDIT_LOG": str(workdir / "audit.jsonl"),
        "WEDATA_MCP_POLICY_FILE": str(policy),
        "WEDATA_MCP_APPROVAL": "token",
        # The generated world's project (tests/worlds.py): WeData's reads need one.
        "WEDATA_MCP_PROJECT_IDS": PROJECT_ID,
    } | extra


def instances(first: int, count: int) -> list[dict[str, str]]:
    """`count` instances of the generated world's one task, from day `first` (see bench/simulator.py)."""
    from tests.worlds import TASK_ID

    from bench.simulator import day

    return [{"TaskId": TASK_ID, "CurRunDate": day(first + i)} for i in range(count)]


def rerun_arguments(first: int, count: int, **extra: Any) -> dict[str, Any]:
    return {"Instances": instances(first, count), "RerunType": "1"} | extra
