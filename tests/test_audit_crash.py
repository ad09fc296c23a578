"""Crash safety of the audit log: the real server process is killed with SIGKILL at seeded-random points of a stream
of confirmed executions, then restarted on the same audit file, several times. Afterwards every line parses (a
torn last line would be the only acceptable damage) and every RunRerunScheduleInstances the simulator received
has a "sending" record with its request hash - written, and fsynced, before the request left."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import Process
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY
from tests.spawn import free_port, until_listening
from tests.worlds import TASK_ID, backfill_world
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.models import ACTION
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread

pytestmark = pytest.mark.anyio

ROUNDS = 10
WORKERS = 4  # confirmed executions in flight at once, each on its own instance
DAYS = 600
TOOL = "rerun_schedule_instances"
FIRST_DAY = datetime(2025, 1, 1)  # backfill_world's first day


@pytest.fixture
def cloud() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(
        accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=backfill_world(DAYS), rate_limit=10**6, speed=1e-9
    )
    with serve_in_thread(sandbox) as url:
        yield sandbox, url


def environment(url: str, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir(exist_ok=True)
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy]\nmax_executions_per_minute = 100000\n", encoding="utf-8")
    return {
        "HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
        "WEDATA_ENDPOINT": url,
        "TENCENTCLOUD_REGION": REGION,
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "WEDATA_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),  # the same file for every process
        "WEDATA_MCP_POLICY_FILE": str(policy),
        "WEDATA_MCP_RATE_LIMIT": "1000",
        "WEDATA_MCP_APPROVAL": "token",
        "WEDATA_MCP_PROJECT_IDS": ",".join(PROJECT_IDS),
    }


async def listening(port: int, process: Process) -> None:
    await until_listening(port, lambda: process.returncode is not None)


def audit_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


class Days:
    """Hands out each day's instance once, across workers and processes."""

    def __init__(self) -> None:
        self.next = 0

    def take(self) -> dict[str, Any]:
        day = self.next
        self.next += 1
        assert day < DAYS, "the world ran out of failed instances"
        when = (FIRST_DAY + timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S")
        return {"Instances": [{"TaskId": TASK_ID, "CurRunDate": when}], "RerunType": "1"}


async def stream_of_executions(url: str, days: Days) -> None:
    """WORKERS sessions-worth of preview → confirm loops until the process dies (then every call fails)."""

    async def worker(client: Client) -> None:
        while True:
            arguments = days.take()
            preview = await client.call_tool(TOOL, arguments)
            assert preview.structured_content is not None
            token = preview.structured_content["ConfirmationToken"]
            await client.call_tool(TOOL, arguments | {"ConfirmationToken": token})

    try:
        async with (
            httpx2.AsyncClient(timeout=httpx2.Timeout(10)) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
            anyio.create_task_group() as group,
        ):
            for _ in range(WORKERS):
                group.start_soon(worker, client)
    except Exception:  # noqa: S110 - the server was killed under the calls: every way they fail is expected
        pass


@pytest.mark.long
async def test_sigkill_during_confirmed_executions_leaves_a_parseable_audit_with_every_send_recorded_first(
    tmp_path: Path, cloud: tuple[Sandbox, str]
) -> None:
    sandbox, url = cloud
    audit = tmp_path / "audit.jsonl"
    rng = random.Random(7)  # seeded: the same kill points every run
    days = Days()
    for round_number in range(ROUNDS):
        port = free_port()
        command = [sys.executable, "-m", "wedata_mcp", "serve", "--transport", "http", "--port", str(port)]
        with (tmp_path / f"stderr-{round_number}.log").open("w") as errlog:
            process = await anyio.open_process(
                command,
                env=environment(url, tmp_path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errlog,
            )
            try:
                await listening(port, process)
                # Kill once the stream has reached a random point: a number of sends seen by WeData, or of audit
                # records written, so that the kill lands anywhere between a "sending" record, its request and
                # its outcome.
                sends_target = len(sandbox.requests(ACTION, verified=None)) + rng.randint(1, 8)
                lines_target = audit_lines(audit) + rng.randint(1, 30)
                by_sends = round_number % 2 == 0
                async with anyio.create_task_group() as group:
                    group.start_soon(stream_of_executions, f"http://127.0.0.1:{port}/mcp", days)
                    with anyio.fail_after(30):
                        while True:  # bounded polling under fail_after
                            if by_sends and len(sandbox.requests(ACTION, verified=None)) >= sends_target:
                                break
                            if not by_sends and audit_lines(audit) >= lines_target:
                                break
                            await anyio.sleep(0.002)
                    process.kill()  # SIGKILL: no handler, no flush, no goodbye
                    with anyio.fail_after(10):
                        await process.wait()
                    group.cancel_scope.cancel()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        assert process.returncode == -9
    # Every line parses; only the very last may be torn (the process died mid-write).
    raw = audit.read_bytes()
    lines = raw.split(b"\n")
    torn = lines.pop()  # after the final newline: empty, unless the last write was torn
    records = [json.loads(line) for line in lines]
    assert torn == b"" or not raw.endswith(b"\n")
    # Every request WeData received was recorded as "sending", with its hash, before it left.
    received = Counter(hashlib.sha256(r.body).hexdigest() for r in sandbox.requests(ACTION, verified=None))
    sending = Counter(r["request_hash"] for r in records if r["event"] == "sending")
    missing = {h: n for h, n in received.items() if sending[h] < n}
    assert not missing, f"{len(missing)} RunRerunScheduleInstances without a prior 'sending' record"
    assert received and max(received.values()) == 1  # and no instance was ever rerun twice
    assert sum(received.values()) >= ROUNDS
    # What a person reads back through the audit resource: the tail parses too.
    assert JsonLinesAudit(audit).recent(10)
    events = Counter(r["event"] for r in records)
    print(f"\n{ROUNDS} SIGKILLs; {sum(received.values())} reruns received; audit records: {dict(events)}")


def test_a_line_torn_by_an_earlier_crash_does_not_swallow_the_next_record(tmp_path: Path) -> None:
    """A power loss can leave half a line; the next process's first record used to be glued onto it (and so lost
    to every reader, the "sending" record of a rerun included)."""
    audit = tmp_path / "audit.jsonl"
    audit.write_bytes(b'{"ts":1,"event":"preview"}\n{"ts":2,"event":"sen')
    JsonLinesAudit(audit, clock=lambda: 3.0).write("sending", request_hash="ab")
    JsonLinesAudit(audit, clock=lambda: 4.0).write("executed", request_hash="ab")
    lines = audit.read_bytes().split(b"\n")
    assert lines[1] == b'{"ts":2,"event":"sen' and lines[-1] == b""
    assert [json.loads(line)["event"] for line in lines[2:-1]] == ["sending", "executed"]
    assert [r["event"] for r in JsonLinesAudit(audit).recent(5)] == ["preview", "sending", "executed"]


def test_every_record_is_one_write_of_a_whole_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large records too, and any text: SIGKILL cannot land inside a write() system call."""
    audit = tmp_path / "audit.jsonl"
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        if Path(os.readlink(f"/proc/self/fd/{fd}")) == audit:  # only the audit file's writes
            writes.append(bytes(data))
        return real_write(fd, data)

    sink = JsonLinesAudit(audit)
    monkeypatch.setattr(os, "write", spy)
    sink.write("sending", reason="x" * 100_000, name="\ud800 lone surrogate")
    monkeypatch.undo()
    assert len(writes) == 1 and writes[0].endswith(b"\n") and writes[0].count(b"\n") == 1
    assert json.loads(audit.read_text(encoding="utf-8"))["name"] == "\ud800 lone surrogate"
