"""Canary credentials never leak: a SecretId, SecretKey and session token, and the MCP bearer token of the HTTP
transport, are absent from every log line (every logger at DEBUG, the spawned server's stderr included), tool
result, error, progress message, log notification, resource and audit record, on success and on every kind of
failure - including an API error whose message echoes them back."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, LoggingMessageNotificationParams

from tests.conftest import PROJECT_IDS, REGION, audit_records
from tests.inproc import TOOL, Wire, text
from tests.spawn import http_server
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.guardrail.policy import Policy
from wedata_mcp.models import ACTION
from wedata_mcp.resources import AUDIT_URI
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.settings import Settings

pytestmark = pytest.mark.anyio

SECRET_ID = "AKIDleakCanaryId0d9c8b7a6f5e4d3c2b1a"
SECRET_KEY = "leakCanaryKey-3f2e1d0c9b8a7f6e5d4c"
SESSION_TOKEN = "leakCanarySessionToken-8a7b6c5d4e3f2a1b0c9d"
HTTP_TOKEN = "leakCanaryBearer-1c2d3e4f5a6b7c8d9e0f"
CANARIES = (SECRET_ID, SECRET_KEY, SESSION_TOKEN, HTTP_TOKEN)
LOGGERS = ("", "httpx", "httpcore", "mcp", "uvicorn", "uvicorn.error", "uvicorn.access", "wedata_mcp")
LOGGERS += ("tencentcloud_sdk_common",)

ODS_PAYMENTS = {"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}  # failed yesterday
DWS_ACTIVITY = {"TaskId": "20240318094455702", "CurRunDate": "2026-11-24 00:00:00"}  # failed yesterday
FIND = {"StateName": ["failed"], "DateFrom": "2026-11-24", "DateTo": "2026-11-24"}
GET = {"TaskId": ODS_PAYMENTS["TaskId"], "CurRunDate": ODS_PAYMENTS["CurRunDate"]}


def assert_no_canary(where: str, blob: str) -> None:
    for canary in CANARIES:
        assert canary not in blob, f"{canary[:12]}... leaked into {where}"


class Everything(logging.Handler):
    """Every record at every level, formatted as a log file would have it (tracebacks and stacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(pathname)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.args) + repr(record.__dict__))


@pytest.fixture
def every_logger_at_debug() -> Iterator[Everything]:
    handler = Everything()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def echoing_error(request: httpx.Request) -> httpx.Response:
    """An API error whose message repeats the credentials and every header it was sent (a hostile endpoint)."""
    headers = "; ".join(f"{k}={v}" for k, v in request.headers.items())
    message = f"denied for {SECRET_ID} / {SECRET_KEY} / {SESSION_TOKEN}; you sent {headers}"
    envelope = {"Response": {"Error": {"Code": "AuthFailure.Echo", "Message": message}, "RequestId": "echo-1"}}
    return httpx.Response(200, json=envelope)


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"no answer for {request.headers.get('Authorization')}", request=request)


def rate_limited(request: httpx.Request) -> httpx.Response:
    envelope = {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": f"slow down {SECRET_ID}"}}}
    return httpx.Response(200, json=envelope)


def bad_gateway(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text=f"<html>{request.headers.get('Authorization')} {SESSION_TOKEN}</html>")


class Recorder:
    """Everything a client saw: results, errors, progress messages and log notifications."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def result(self, result: CallToolResult) -> CallToolResult:
        self.seen.append(text(result) + json.dumps(result.structured_content))
        return result

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append(f"progress {progress}/{total}: {message}")

    async def log(self, params: LoggingMessageNotificationParams) -> None:
        self.seen.append(f"log {params.level} {params.logger}: {json.dumps(params.data, default=str)}")


async def test_in_process_success_and_every_failure_leak_nothing(
    tmp_path: Path, every_logger_at_debug: Everything
) -> None:
    account = Account(SECRET_ID, SECRET_KEY, SESSION_TOKEN)
    sandbox = Sandbox(accounts={SECRET_ID: account}, rate_limit=10**6, speed=1e-9)
    # RunRerunScheduleInstances sends 3, 4, 5 and 7 meet an echoing error, a timeout, a rate limit (6 is its retry)
    # and a 502.
    wire = Wire(sandbox, faults={3: echoing_error, 4: timed_out, 5: rate_limited, 7: bad_gateway})
    audit = tmp_path / "audit.jsonl"
    settings = Settings(
        endpoint="http://wedata.sandbox", region=REGION, audit_log=audit, batch_size=1, project_ids=PROJECT_IDS
    )
    credentials = Credentials(SECRET_ID, SECRET_KEY, token=SESSION_TOKEN)
    policy = Policy(allow_skip_event_listening=False)
    server = build_server(settings, credentials, transport=wire, audit=JsonLinesAudit(audit), policy=policy)
    seen = Recorder()
    async with Client(server, logging_callback=seen.log) as client:

        async def call(arguments: dict[str, Any], tool: str = TOOL) -> CallToolResult:
            return seen.result(await client.call_tool(tool, arguments, progress_callback=seen.progress))

        async def preview(arguments: dict[str, Any]) -> str:
            result = await call(arguments)
            assert result.structured_content is not None, text(result)
            return str(result.structured_content["ConfirmationToken"])

        # SkipEventListening=false said explicitly: the policy refuses it true or unset (its widest effect).
        one = {"Instances": [ODS_PAYMENTS], "RerunType": "1", "SkipEventListening": False}
        other = {"Instances": [DWS_ACTIVITY], "RerunType": "1", "SkipEventListening": False}
        both = {"Instances": [ODS_PAYMENTS, DWS_ACTIVITY], "RerunType": "1", "SkipEventListening": False}
        with anyio.fail_after(30):
            # Success in two batches (send 1 and 2), with progress notifications; then its replay.
            token = await preview(both)
            assert not (await call(both | {"ConfirmationToken": token})).is_error
            await call(both | {"ConfirmationToken": token})
            # Send 3: an API error that echoes the credentials and headers. Send 4: a timeout (outcome unknown).
            for arguments in ({**one, "CheckFather": False}, {**other, "CheckFather": False}):
                token = await preview(arguments)
                assert (await call(arguments | {"ConfirmationToken": token})).is_error
            # Send 5 rate limited, retried as send 6; send 7: a 502.
            for arguments in ({**one, "AsyncMode": True}, {**other, "AsyncMode": True}):
                token = await preview(arguments)
                await call(arguments | {"ConfirmationToken": token})
            # Refusals: changed request, forged, empty, policy, invalid input, a token for credentials in a field.
            token = await preview({**one, "DependentWay": "1"})
            await call({**one, "DependentWay": "2", "ConfirmationToken": token})
            await call(one | {"ConfirmationToken": "wdc1.forged.token"})
            await call(one | {"ConfirmationToken": ""})
            await call(one | {"SkipEventListening": True})
            await call({"Instances": [{"TaskId": "1", "CurRunDate": "yesterday"}], "Bogus": 1})
            # Read-only tools, then a lasting failure of their look-ups.
            await call(FIND, "find_schedule_instances")
            await call(GET, "get_schedule_instance")
            sandbox.faults.inject("http_503", action="DescribeScheduleInstances", times=None)
            assert (await call(FIND, "find_schedule_instances")).is_error
            await call({**one, "ParallelNum": 2})  # a preview whose look-ups fail
            sandbox.faults.clear()
            resources = await client.read_resource(AUDIT_URI)
    assert wire.sent == 7
    echoed = [s for s in seen.seen if "AuthFailure.Echo" in s]
    assert echoed and "***" in echoed[0]  # the echo came back, redacted
    assert any(s.startswith("progress") for s in seen.seen)
    events = {r["event"] for r in audit_records(audit)}
    assert {"preview", "sending", "executed", "failed", "outcome_unknown", "replayed", "rejected", "refused"} <= events
    assert_no_canary("a tool result, error, progress message or log notification", "\n".join(seen.seen))
    assert_no_canary("the audit log", audit.read_text(encoding="utf-8"))
    assert_no_canary("the audit resource", resources.model_dump_json())
    assert_no_canary("a log record", "\n".join(every_logger_at_debug.lines))
    assert len(every_logger_at_debug.lines) > 50  # DEBUG really was on (httpcore alone logs every request)


# --- the real server process, over stdio and over Streamable HTTP with a bearer token ----------------------------

# Runs `wedata-mcp` with every logger forced to DEBUG, whatever the CLI configures (it quiets httpx, httpcore and
# Tencent's SDK logger, and uvicorn sets its own levels).
FORCED_DEBUG = f"""
import logging, sys
for name in {LOGGERS!r}:
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    logger.setLevel = lambda level: None
from wedata_mcp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def spawned_env(url: str, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "WEDATA_ENDPOINT": url,
        "TENCENTCLOUD_REGION": REGION,
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "TENCENTCLOUD_SECURITY_TOKEN": SESSION_TOKEN,
        "WEDATA_MCP_HTTP_TOKEN": HTTP_TOKEN,
        "WEDATA_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "WEDATA_MCP_PROJECT_IDS": ",".join(PROJECT_IDS),
        "WEDATA_MCP_TIMEOUT": "0.5",
        "PYTHONUNBUFFERED": "1",
    }


async def exercise(client: Client, sandbox: Sandbox, seen: Recorder) -> None:
    """Success, its replay, outcome unknown, an API error, refusals, reads and a lasting read failure."""

    async def call(arguments: dict[str, Any], tool: str = TOOL) -> CallToolResult:
        return seen.result(await client.call_tool(tool, arguments))

    async def run(arguments: dict[str, Any]) -> CallToolResult:
        preview = await call(arguments)
        assert preview.structured_content is not None, text(preview)
        return await call(arguments | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]})

    one = {"Instances": [ODS_PAYMENTS], "RerunType": "1"}
    other = {"Instances": [DWS_ACTIVITY], "RerunType": "1"}
    assert not (await run(one)).is_error
    sandbox.faults.inject("drop", action=ACTION)
    assert (await run({**other, "AsyncMode": True})).is_error
    sandbox.faults.inject("internal_error", action=ACTION)
    assert (await run({**other, "CheckFather": False})).is_error
    sandbox.faults.inject("rate_limit", action=ACTION)
    await run({**other, "ParallelNum": 3})
    await call(one | {"ConfirmationToken": "wdc1.forged.token"})
    await call({"Instances": [{"TaskId": "", "CurRunDate": "2026-02-30 00:00:00"}]})
    await call(FIND, "find_schedule_instances")
    sandbox.faults.inject("http_502", action="DescribeScheduleInstances", times=None)
    assert (await call(GET, "get_schedule_instance")).is_error
    sandbox.faults.clear()


@pytest.fixture
def cloud() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY, SESSION_TOKEN)}, rate_limit=10**6)
    with serve_in_thread(sandbox) as url:
        yield sandbox, url


def check_process_outputs(tmp_path: Path, stderr: Path, seen: Recorder, sandbox: Sandbox) -> None:
    log = stderr.read_text(encoding="utf-8", errors="replace")
    assert "DEBUG" in log and "httpcore" in log, log[-2000:]  # the forced DEBUG really reached the process
    assert_no_canary("the server's stderr", log)
    assert_no_canary("a tool result or error", "\n".join(seen.seen))
    assert_no_canary("the audit log", (tmp_path / "audit.jsonl").read_text(encoding="utf-8"))
    assert any(r.executed for r in sandbox.requests(ACTION)) and all(r.verified for r in sandbox.requests())


async def test_stdio_server_process_leaks_nothing_at_debug(tmp_path: Path, cloud: tuple[Sandbox, str]) -> None:
    sandbox, url = cloud
    stderr, seen = tmp_path / "stderr.log", Recorder()
    params = StdioServerParameters(
        command=sys.executable, args=["-c", FORCED_DEBUG, "serve"], env=spawned_env(url, tmp_path)
    )
    with stderr.open("w") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(params, errlog=errlog), logging_callback=seen.log) as client:
            await exercise(client, sandbox, seen)
    check_process_outputs(tmp_path, stderr, seen, sandbox)


async def test_http_server_process_leaks_nothing_at_debug_not_even_the_bearer_token(
    tmp_path: Path, cloud: tuple[Sandbox, str]
) -> None:
    sandbox, url = cloud
    stderr, seen = tmp_path / "stderr.log", Recorder()
    with stderr.open("w") as errlog, anyio.fail_after(60):
        async with http_server(spawned_env(url, tmp_path), errlog, entry=("-c", FORCED_DEBUG)) as port:
            endpoint = f"http://127.0.0.1:{port}/mcp"
            # Wrong bearer tokens first (one that starts with the real one): refused, and never logged either.
            async with httpx2.AsyncClient() as raw:
                for wrong in (HTTP_TOKEN + "-x", HTTP_TOKEN[:-1], "Bearer"):
                    response = await raw.post(endpoint, headers={"Authorization": f"Bearer {wrong}"}, json={})
                    assert response.status_code == 401
                    seen.seen.append(response.text + json.dumps(dict(response.headers)))
            headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30)) as http,
                Client(streamable_http_client(endpoint, http_client=http), logging_callback=seen.log) as client,
            ):
                await exercise(client, sandbox, seen)
    check_process_outputs(tmp_path, stderr, seen, sandbox)
    assert all(HTTP_TOKEN not in repr(r.body) for r in sandbox.requests(verified=None))
