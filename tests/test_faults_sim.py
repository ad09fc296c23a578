"""Every fault the simulator can inject, on real loopback sockets, on each path a call takes: the read-only
look-ups of a preview, the one RunRerunScheduleInstances of an execution, and the read-only tools.

For each: what the person reads, what the audit log says, how many RunRerunScheduleInstances the simulator saw
and executed (never two for one confirmation), and that the same server process still serves afterwards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY, audit_records
from tests.inproc import TOOL, no_wait, text
from tests.sessions import is_crash
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.models import ACTION
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.faults import FaultKind
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.sandbox.world import World
from wedata_mcp.settings import Settings

pytestmark = pytest.mark.anyio

TIMEOUT = 0.5  # the server's HTTP timeout; a `slow` fault answers SLOW seconds late, or never if it hangs up first
SLOW = 3.0
DESCRIBE = "DescribeScheduleInstances"
LAST_LOG = "DescribeInstanceLastLog"
ODS_PAYMENTS = {"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}  # failed yesterday
DWS_ACTIVITY = {"TaskId": "20240318094455702", "CurRunDate": "2026-11-24 00:00:00"}  # failed yesterday
RERUN = {"Instances": [ODS_PAYMENTS], "RerunType": "1"}
OTHER_RERUN = {"Instances": [DWS_ACTIVITY], "RerunType": "1"}
FIND = {"StateName": ["failed"], "DateFrom": "2026-11-24", "DateTo": "2026-11-24"}
GET = {"TaskId": ODS_PAYMENTS["TaskId"], "CurRunDate": ODS_PAYMENTS["CurRunDate"]}
KINDS = [kind.value for kind in FaultKind]
# A lasting fault costs three attempts per look-up (a slow one, three timeouts): every kind where the answer differs
# by kind (the read-only tools), a code, a status and a timeout where it does not (the preview's notes).
SOME_KINDS = ["rate_limit", "http_502", "slow"]
# What a confirmed rerun's user sees when RunRerunScheduleInstances meets the fault, and whether WeData ran it.
UNKNOWN = "Outcome unknown for RunRerunScheduleInstances"
EXECUTION: dict[str, tuple[str, str, bool]] = {
    #              answer contains           audit event        the simulator executed it
    "rate_limit": ("executed", "executed", True),  # retried: RequestLimitExceeded proves nothing ran
    # InternalError after the request left does not prove that nothing ran: outcome unknown, Tencent's code kept.
    "internal_error": ("InternalError", "outcome_unknown", False),
    "http_500": (UNKNOWN, "outcome_unknown", False),
    "http_502": (UNKNOWN, "outcome_unknown", False),
    "http_503": (UNKNOWN, "outcome_unknown", False),
    "slow": (UNKNOWN, "outcome_unknown", True),  # it ran; the answer came after the timeout
    "drop": (UNKNOWN, "outcome_unknown", True),  # it ran; the connection closed with no answer
    "non_json": (UNKNOWN, "outcome_unknown", True),  # it ran; the answer was an HTML page
}


@dataclass
class Cloud:
    sandbox: Sandbox
    url: str

    def reruns(self) -> list[Any]:
        return self.sandbox.requests(ACTION, verified=None)

    def executed(self) -> int:
        return sum(1 for r in self.reruns() if r.executed)

    def reads(self, action: str = DESCRIBE) -> int:
        return len(self.sandbox.requests(action, verified=None))


@pytest.fixture(scope="module")
def _loopback() -> Iterator[Cloud]:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, rate_limit=10**6, speed=1e-9)
    with serve_in_thread(sandbox) as url:
        yield Cloud(sandbox, url)


@pytest.fixture
def cloud(_loopback: Cloud) -> Iterator[Cloud]:
    _loopback.sandbox.load(World.seeded())
    _loopback.sandbox.clear_received()
    _loopback.sandbox.faults.clear()
    yield _loopback
    _loopback.sandbox.faults.clear()


@asynccontextmanager
async def connected(cloud: Cloud, tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(
        endpoint=cloud.url,
        region=REGION,
        audit_log=tmp_path / "audit.jsonl",
        timeout_seconds=TIMEOUT,
        rate_limit_per_second=1000,
        project_ids=PROJECT_IDS,
    )
    audit = JsonLinesAudit(tmp_path / "audit.jsonl")
    # Retries without their waits: these tests count attempts and outcomes (the back-off's pace has its own test).
    server = build_server(settings, Credentials(SECRET_ID, SECRET_KEY), audit=audit, backoff=no_wait)
    async with Client(server) as client:
        yield client


def inject(cloud: Cloud, kind: str, action: str, times: int | None = 1) -> None:
    cloud.sandbox.faults.inject(kind, action=action, times=times, delay=SLOW)


def events(tmp_path: Path) -> list[str]:
    return [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


async def still_serves(client: Client, cloud: Cloud) -> None:
    """The same process previews and executes another rerun, exactly once."""
    cloud.sandbox.faults.clear()
    before, executed = len(cloud.reruns()), cloud.executed()
    preview = structured(await client.call_tool(TOOL, OTHER_RERUN))
    result = structured(await client.call_tool(TOOL, OTHER_RERUN | {"ConfirmationToken": preview["ConfirmationToken"]}))
    assert result["Status"] == "executed" and result["RequestId"]
    assert (len(cloud.reruns()), cloud.executed()) == (before + 1, executed + 1)
    found = structured(await client.call_tool("find_schedule_instances", FIND))
    assert found["TotalCount"] >= 0


# --- the execution path: the one RunRerunScheduleInstances ----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_on_the_rerun_itself_is_reported_audited_and_never_sent_twice(
    kind: str, cloud: Cloud, tmp_path: Path
) -> None:
    answer, event, ran = EXECUTION[kind]
    async with connected(cloud, tmp_path) as client:
        preview = structured(await client.call_tool(TOOL, RERUN))
        inject(cloud, kind, ACTION)
        confirmed = RERUN | {"ConfirmationToken": preview["ConfirmationToken"]}
        result = await client.call_tool(TOOL, confirmed)
        message = text(result)
        assert not is_crash(result) and answer in message, message
        if kind == "rate_limit":
            assert structured(result)["Status"] == "executed"
        else:
            assert result.is_error
        if event == "outcome_unknown":
            assert "NOT retried" in message and "X-TC-TraceId" in message
        if kind == "internal_error":
            assert "RequestId" in message and cloud.reruns()[-1].request_id in message
        # Seen once (twice for rate_limit: the retry is allowed because the first proves nothing ran); run once at most.
        assert len(cloud.reruns()) == (2 if kind == "rate_limit" else 1)
        assert cloud.executed() == (1 if ran else 0)
        trail = events(tmp_path)
        assert trail == ["preview", "sending", event], trail
        record = audit_records(tmp_path / "audit.jsonl")[-1]
        assert record["request_hash"] == preview["RequestHash"]
        if kind == "internal_error":
            assert record["code"] == "InternalError" and record["request_id"] == cloud.reruns()[-1].request_id
        if event == "outcome_unknown":
            assert record["trace_id"] and record["trace_id"] in message
        # Presented again, the token returns the first outcome and sends nothing.
        again = await client.call_tool(TOOL, confirmed)
        if kind == "rate_limit":
            assert structured(again)["Status"] == "already_executed"
        else:
            assert again.is_error and "already used" in text(again) and answer in text(again)
        assert len(cloud.reruns()) == (2 if kind == "rate_limit" else 1)
        assert events(tmp_path)[-1] == "replayed"
        await still_serves(client, cloud)


async def test_a_slow_answer_within_the_timeout_is_a_normal_execution(cloud: Cloud, tmp_path: Path) -> None:
    async with connected(cloud, tmp_path) as client:
        preview = structured(await client.call_tool(TOOL, RERUN))
        cloud.sandbox.faults.inject("slow", action=ACTION, delay=TIMEOUT / 5)
        result = await client.call_tool(TOOL, RERUN | {"ConfirmationToken": preview["ConfirmationToken"]})
        assert structured(result)["Status"] == "executed"
        assert (len(cloud.reruns()), cloud.executed()) == (1, 1)
        assert events(tmp_path) == ["preview", "sending", "executed"]


# --- the preview path: read-only look-ups ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_passing_fault_on_a_preview_look_up_is_retried_and_the_preview_is_whole(
    kind: str, cloud: Cloud, tmp_path: Path
) -> None:
    async with connected(cloud, tmp_path) as client:
        clean = structured(await client.call_tool(TOOL, RERUN))
        reads = cloud.reads()
        inject(cloud, kind, DESCRIBE)
        preview = structured(await client.call_tool(TOOL, RERUN))
        assert preview["BlastRadius"] == clean["BlastRadius"] and json.dumps(preview["Request"]) == json.dumps(
            clean["Request"]
        )
        assert cloud.reads() - reads == reads + 1  # the same look-ups again, one of them tried twice
        assert cloud.reruns() == [] and events(tmp_path) == ["preview", "preview"]
        await still_serves(client, cloud)


@pytest.mark.parametrize("kind", SOME_KINDS)
async def test_a_lasting_fault_on_preview_look_ups_previews_the_exact_request_without_a_token(
    kind: str, cloud: Cloud, tmp_path: Path
) -> None:
    # Unknown is not allowed (DESIGN.md, invariant 5): what the rerun touches could not be established.
    async with connected(cloud, tmp_path) as client:
        inject(cloud, kind, DESCRIBE, times=None)
        result = await client.call_tool(TOOL, RERUN)
        preview = structured(result)
        assert preview["Status"] == "dry_run" and preview["ConfirmationToken"] is None
        notes = " ".join(preview["BlastRadius"]["Unresolved"])
        assert "could not look up the selected instances" in notes, preview["BlastRadius"]
        assert preview["BlastRadius"]["TotalCount"] is None
        assert any("no ConfirmationToken was issued" in w for w in preview["Warnings"]), preview["Warnings"]
        assert cloud.reads() == 3 and cloud.reruns() == []  # one look-up, tried three times; nothing else
        assert events(tmp_path) == ["preview"]
        # Once the look-ups work again, the same request previews with a token and executes once.
        cloud.sandbox.faults.clear()
        again = structured(await client.call_tool(TOOL, RERUN))
        assert json.dumps(again["Request"]) == json.dumps(preview["Request"]) and again["ConfirmationToken"]
        done = structured(await client.call_tool(TOOL, RERUN | {"ConfirmationToken": again["ConfirmationToken"]}))
        assert done["Status"] == "executed" and json.dumps(done["Request"]) == json.dumps(preview["Request"])
        assert cloud.executed() == 1
        await still_serves(client, cloud)


@pytest.mark.parametrize("kind", SOME_KINDS)
async def test_a_fault_on_the_stale_check_before_sending_sends_nothing(kind: str, cloud: Cloud, tmp_path: Path) -> None:
    """The last look-up before the send: if it fails for good, nothing is sent and a retry is possible."""
    async with connected(cloud, tmp_path) as client:
        preview = structured(await client.call_tool(TOOL, RERUN))
        inject(cloud, kind, DESCRIBE, times=None)
        confirmed = RERUN | {"ConfirmationToken": preview["ConfirmationToken"]}
        refused = await client.call_tool(TOOL, confirmed)
        assert refused.is_error and not is_crash(refused) and "nothing was sent" in text(refused), text(refused)
        assert cloud.reruns() == [] and events(tmp_path) == ["preview", "rejected"]
        cloud.sandbox.faults.clear()
        # The token was not used up: once WeData answers again, the same confirmation executes, once.
        done = structured(await client.call_tool(TOOL, confirmed))
        assert done["Status"] == "executed" and cloud.executed() == 1
        await still_serves(client, cloud)


# --- the read-only tools --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_passing_fault_under_a_read_only_tool_is_retried_and_invisible(
    kind: str, cloud: Cloud, tmp_path: Path
) -> None:
    async with connected(cloud, tmp_path) as client:
        clean_find = structured(await client.call_tool("find_schedule_instances", FIND))
        clean_get = structured(await client.call_tool("get_schedule_instance", GET))
        inject(cloud, kind, DESCRIBE)
        inject(cloud, kind, LAST_LOG)
        found: dict[str, Any] = {}

        async def call(tool: str, arguments: dict[str, Any]) -> None:
            found[tool] = structured(await client.call_tool(tool, arguments))

        async with anyio.create_task_group() as group:  # both retries' backoffs at once
            group.start_soon(call, "find_schedule_instances", FIND)
            group.start_soon(call, "get_schedule_instance", GET)
        assert found == {"find_schedule_instances": clean_find, "get_schedule_instance": clean_get}
        assert cloud.sandbox.faults.pending == []  # both faults hit
        assert cloud.reruns() == [] and events(tmp_path) == []  # reads are not audited; nothing mutating


# What a person reads when a read-only look-up keeps failing.
READ_FAILURE: dict[str, str] = {
    "rate_limit": "RequestLimitExceeded",
    "internal_error": "InternalError",
    "http_500": "HTTP 500",
    "http_502": "HTTP 502",
    "http_503": "HTTP 503",
    "slow": "ReadTimeout",
    "drop": "RemoteProtocolError",
    "non_json": "not Tencent's JSON envelope",
}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_lasting_fault_under_a_read_only_tool_is_a_clear_error_and_the_server_recovers(
    kind: str, cloud: Cloud, tmp_path: Path
) -> None:
    async with connected(cloud, tmp_path) as client:
        inject(cloud, kind, DESCRIBE, times=None)
        result = await client.call_tool("find_schedule_instances", FIND)
        message = text(result)
        assert result.is_error and not is_crash(result) and READ_FAILURE[kind] in message, message
        assert DESCRIBE in message or READ_FAILURE[kind] in ("RequestLimitExceeded", "InternalError")
        # A read that failed is not a rerun whose outcome is unknown: nothing could have changed.
        assert "may already have run" not in message and "rerun" not in message.lower(), message
        assert cloud.reads() == 3 and cloud.reruns() == [] and events(tmp_path) == []
        await still_serves(client, cloud)
