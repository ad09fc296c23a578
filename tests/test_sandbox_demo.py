"""`wedata-mcp demo` as a user runs it: a subprocess that must finish quickly, exit 0, and tell the story."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import anyio
import pytest

from tests.test_sandbox_support import ODS_PAYMENTS
from wedata_mcp import demo
from wedata_mcp.demo import DemoError


def test_demo_shows_preview_confirmation_execution_and_changed_states() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wedata_mcp", "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    steps = [
        "== 1. Find yesterday's failed instances",
        "== 2. Dry run",
        "Status: dry_run",
        "ConfirmationToken:",
        "== 3. Confirmation",
        "on the user's behalf",
        "== 4. Execute",
        "Status: executed",
        "requests received: 1",
        "== 5. The instances' new states",
        "failed -> success",
        "Audit log",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions), "the transcript's steps are out of order"
    assert f"{ODS_PAYMENTS}  2026-11-24 00:00:00  failed -> success" in out
    assert "waiting_upstream -> success" in out  # states as find_schedule_instances names them (StateName)
    # One clock: the token expires on the simulator's calendar (2026-11-2x), not the wall clock's.
    assert "(expires 2026-11-2" in out, out[out.find("ConfirmationToken:") :][:200]
    # The simulator's local key is printed nowhere (the SecretId is fine to show; the key never).
    assert "sandbox-secret-key" not in out + done.stderr


def test_a_demo_failure_inside_the_clients_task_group_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SDK's client runs its session in a task group, which wraps what the demo raises in an ExceptionGroup:
    that printed a traceback instead of "demo failed: ..." (found by a user whose port was taken)."""

    async def failing_flow(*_: Any) -> int:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.sleep, 10)
            raise DemoError("the dry run was not a dry run")

    monkeypatch.setattr(demo, "_flow", failing_flow)
    assert demo.run_demo(io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.startswith("demo failed: the dry run was not a dry run") and "Traceback" not in err
