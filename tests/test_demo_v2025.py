"""`wedata-mcp demo --api-version 2025-08-06` as a user runs it: it finishes, exits 0 and tells the 2025-08-06 story."""

from __future__ import annotations

import subprocess
import sys


def test_demo_on_2025_shows_the_dry_run_one_send_and_the_job() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wedata_mcp", "demo", "--api-version", "2025-08-06"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "rerun_task_instances_async without ConfirmationToken (nothing is sent)" in out
    assert "RerunTaskInstancesAsync requests received: 1" in out
    assert "follow_rerun: GetOpsAsyncJob" in out and "sub-operations:" in out
    assert "Audit log (3 records, written before each answer): preview, sending, executed" in out
