"""`wedata-mcp doctor`: a read-only check of the setup, each problem named, the exit status non-zero on one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.conftest import REGION, SECRET_ID, SECRET_KEY, Endpoint
from tests.spawn import server_env
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.doctor import diagnose, failed
from wedata_mcp.sandbox.cli import SANDBOX_SECRET_KEY, sandbox_project_ids
from wedata_mcp.settings import Settings

PROJECT = sandbox_project_ids()[0]


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "wedata_mcp", "doctor", *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL
    )


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """{check: (status, detail)} from the printed table."""
    table: dict[str, tuple[str, str]] = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        table[cells[0]] = (cells[1], "  ".join(cells[2:]))
    return table


def test_doctor_on_the_sandbox_is_all_green(tmp_path: Path) -> None:
    result = doctor({"HOME": str(tmp_path), "PATH": ""}, "--sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert {status for status, _ in table.values()} == {"ok"}, result.stdout
    assert {"credentials", "endpoint", "clock", "region", "policy", "approval"} <= set(table)
    assert {f"project {p}" for p in sandbox_project_ids()} <= set(table)
    assert "environment" in table["credentials"][1] and SANDBOX_SECRET_KEY not in result.stdout + result.stderr


def test_doctor_with_a_wrong_key_names_the_credentials_and_shows_no_secret(tmp_path: Path, endpoint: Endpoint) -> None:
    wrong = "wrongKEY-0000000000000000000000000"
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_PROJECT_IDS=PROJECT) | {"TENCENTCLOUD_SECRET_KEY": wrong}
    result = doctor(env)
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table["credentials"][0] == "FAIL" and table[f"project {PROJECT}"][0] == "FAIL"
    assert "AuthFailure.SignatureFailure" in table[f"project {PROJECT}"][1]
    output = result.stdout + result.stderr
    assert wrong not in output and SECRET_ID not in output and SECRET_KEY not in output
    assert {r.action for r in endpoint.sandbox.requests(verified=None)} == {"", "DescribeScheduleInstances"}


def test_doctor_names_an_unknown_project_and_passes_the_known_one(tmp_path: Path, endpoint: Endpoint) -> None:
    env = server_env(endpoint.url, tmp_path, WEDATA_MCP_PROJECT_IDS=f"{PROJECT},404404")
    result = doctor(env)
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table[f"project {PROJECT}"][0] == "ok" and table["credentials"][0] == "ok"
    assert table["project 404404"][0] == "FAIL" and "UnauthorizedOperation" in table["project 404404"][1]
    # Read-only: one look-up per project, with the documented required parameters, and nothing else.
    looked_up = [r.json() for r in endpoint.sandbox.requests("DescribeScheduleInstances")]
    assert [b["ProjectId"] for b in looked_up] == [PROJECT, "404404"]
    assert all({"ProjectIdent", "PageIndex", "PageSize"} <= set(b) and b["PageSize"] == 1 for b in looked_up)
    assert endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None) == []


def test_doctor_without_projects_names_the_variable(tmp_path: Path, endpoint: Endpoint) -> None:
    settings = Settings(endpoint=endpoint.url, region=REGION)
    checks = anyio.run(diagnose, settings, Credentials(SECRET_ID, SECRET_KEY))
    named = {c.name: c for c in checks}
    assert failed(checks) and named["projects"].status == "fail"
    assert "WEDATA_MCP_PROJECT_IDS" in named["projects"].detail


@pytest.mark.parametrize("offset", [+600.0, -600.0])
def test_doctor_with_a_skewed_clock_names_the_clock(endpoint: Endpoint, offset: float) -> None:
    # The clock is injected: the doctor signs with it and compares it with the simulator's Date header.
    settings = Settings(endpoint=endpoint.url, region=REGION, project_ids=(PROJECT,))
    credentials = Credentials(SECRET_ID, SECRET_KEY)
    assert not failed(anyio.run(diagnose, settings, credentials))
    skewed = anyio.run(lambda: diagnose(settings, credentials, clock=lambda: time.time() + offset))
    named = {c.name: c for c in skewed}
    assert failed(skewed) and named["clock"].status == "fail", skewed
    detail = named["clock"].detail
    assert "SignatureExpire" in detail
    # Measured against the Date header (one-second resolution): our clock is `offset` ahead, so theirs is behind.
    assert abs(float(detail.split(" s ")[0]) + offset) <= 2, detail
    assert named[f"project {PROJECT}"].status == "fail"


def test_doctor_without_credentials_says_so_and_points_to_the_sandbox(endpoint: Endpoint) -> None:
    settings = Settings(endpoint=endpoint.url, region=REGION, project_ids=(PROJECT,))
    named = {c.name: c for c in anyio.run(diagnose, settings, None)}
    assert named["credentials"].status == "fail" and "--sandbox" in named["credentials"].detail
    assert named[f"project {PROJECT}"].status == "fail" and "not checked" in named[f"project {PROJECT}"].detail
    assert endpoint.sandbox.requests("DescribeScheduleInstances", verified=None) == []


def test_doctor_on_2025_08_06_checks_each_project_with_that_versions_look_up(tmp_path: Path) -> None:
    result = doctor({"HOME": str(tmp_path), "PATH": "", "WEDATA_MCP_API_VERSION": "2025-08-06"}, "--sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert {status for status, _ in table.values()} == {"ok"}, result.stdout
    assert all(table[f"project {p}"][1].startswith("ListTaskInstances answered") for p in sandbox_project_ids())
