"""Large reruns: planned as numbered batches at preview, sent within the rate limit with progress, each batch
audited, every instance rerun exactly once — and an unknown batch never sent again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY, audit_records
from tests.inproc import SECRET, TOOL, HeldRerun, Wire, make_server, text
from tests.worlds import all_instances, backfill_world
from wedata_mcp.app import build_server
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.guardrail.policy import Policy
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.settings import Settings

pytestmark = pytest.mark.anyio
DAYS = 250  # three batches of 100, 100, 50


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=backfill_world(DAYS))
    with serve_in_thread(sandbox) as url:
        yield sandbox, url


def server(url: str, tmp_path: Path, **settings: Any) -> MCPServer[Any]:
    options: dict[str, Any] = {
        "endpoint": url,
        "region": REGION,
        "audit_log": tmp_path / "audit.jsonl",
        "token_secret": SECRET,
        "batch_size": 100,
        "project_ids": PROJECT_IDS,
    } | settings
    return build_server(
        Settings(**options),
        Credentials(SECRET_ID, SECRET_KEY),
        audit=JsonLinesAudit(tmp_path / "audit.jsonl"),
        policy=Policy(max_instances=10_000),
    )


class Progress:
    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))


async def run(client: Client, arguments: dict[str, Any], progress: Progress | None = None) -> tuple[Any, Any]:
    preview = await client.call_tool(TOOL, arguments)
    assert preview.structured_content is not None, text(preview)
    token = preview.structured_content["ConfirmationToken"]
    with anyio.fail_after(60):
        result = await client.call_tool(TOOL, arguments | {"ConfirmationToken": token}, progress_callback=progress)
    return preview.structured_content, result


def reran(sandbox: Sandbox) -> Counter[tuple[str, str]]:
    return Counter((k.task_id, k.cur_run_date) for record in sandbox.world.rerun_records for k in record.rerun)


async def test_a_large_rerun_is_planned_in_batches_and_every_instance_reruns_exactly_once(
    live: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sandbox, url = live
    arguments = {"Instances": all_instances(sandbox.world), "RerunType": "1"}
    progress = Progress()
    async with Client(server(url, tmp_path)) as client:
        preview, result = await run(client, arguments, progress)
    assert [b["Count"] for b in preview["Batches"]] == [100, 100, 50]
    done = result.structured_content
    assert done is not None and done["Status"] == "executed", text(result)
    assert [b["Status"] for b in done["BatchResults"]] == ["succeeded"] * 3
    counts = reran(sandbox)
    assert len(counts) == DAYS and set(counts.values()) == {1}
    assert len(sandbox.requests("RunRerunScheduleInstances")) == 3
    assert [p[:2] for p in progress.seen] == [(1, 3), (2, 3), (3, 3)]
    records = audit_records(tmp_path / "audit.jsonl")
    assert sorted(r["batch"] for r in records if r["event"] == "sending") == [1, 2, 3]
    assert sorted(r["batch"] for r in records if r["event"] == "executed") == [1, 2, 3]
    assert records[-1]["event"] == "batches_done" and records[-1]["succeeded"] == 3


@pytest.mark.parametrize(("policy", "later"), [("stop", "not_sent"), ("continue", "succeeded")])
async def test_an_unknown_middle_batch_is_never_resent_and_later_batches_follow_the_setting(
    live: tuple[Sandbox, str], tmp_path: Path, policy: str, later: str
) -> None:
    sandbox, url = live
    # The second batch reaches WeData and runs, but the connection drops before the answer.
    sandbox.faults.inject("drop", action="RunRerunScheduleInstances", skip=1, times=1)
    arguments = {"Instances": all_instances(sandbox.world), "RerunType": "1"}
    async with Client(server(url, tmp_path, on_batch_failure=policy, batch_concurrency=1)) as client:
        preview, result = await run(client, arguments)
        replay = await client.call_tool(TOOL, arguments | {"ConfirmationToken": preview["ConfirmationToken"]})
    done = result.structured_content
    assert done is not None and done["Status"] == "partial"
    assert [b["Status"] for b in done["BatchResults"]] == ["succeeded", "unknown", later]
    unknown = done["BatchResults"][1]
    assert len(unknown["Instances"]) == 100 and "Outcome unknown" in unknown["Error"]
    assert len(sandbox.requests("RunRerunScheduleInstances")) == (3 if later == "succeeded" else 2)
    assert set(reran(sandbox).values()) == {1}  # the dropped batch ran once and was not sent again
    assert replay.structured_content and replay.structured_content["BatchResults"] == done["BatchResults"]
    assert len(sandbox.requests("RunRerunScheduleInstances")) == (3 if later == "succeeded" else 2)


async def test_a_rate_limited_batch_is_retried_and_reruns_exactly_once(
    live: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sandbox, url = live
    sandbox.faults.inject("rate_limit", action="RunRerunScheduleInstances", skip=1, times=1)
    async with Client(server(url, tmp_path)) as client:
        _, result = await run(client, {"Instances": all_instances(sandbox.world), "RerunType": "1"})
    done = result.structured_content
    assert done is not None and done["Status"] == "executed", text(result)
    assert len(sandbox.requests("RunRerunScheduleInstances")) == 4  # one refused, then retried
    counts = reran(sandbox)
    assert len(counts) == DAYS and set(counts.values()) == {1}


async def test_with_several_batches_in_flight_nothing_is_sent_twice(live: tuple[Sandbox, str], tmp_path: Path) -> None:
    sandbox, url = live
    sandbox.faults.inject("internal_error", action="RunRerunScheduleInstances", skip=1, times=1)
    async with Client(server(url, tmp_path, on_batch_failure="continue", batch_concurrency=4)) as client:
        _, result = await run(client, {"Instances": all_instances(sandbox.world), "RerunType": "1"})
    done = result.structured_content
    assert done is not None
    statuses = Counter(b["Status"] for b in done["BatchResults"])
    assert statuses == {"succeeded": 2, "unknown": 1}  # InternalError after sending: it may have run
    assert len(reran(sandbox)) == 150 and set(reran(sandbox).values()) == {1}


async def test_downstream_reruns_are_not_split_across_batches(live: tuple[Sandbox, str], tmp_path: Path) -> None:
    sandbox, url = live
    async with Client(server(url, tmp_path)) as client:
        result = await client.call_tool(TOOL, {"Instances": all_instances(sandbox.world), "RerunType": "2"})
    assert result.is_error and "RerunType 1" in text(result)
    assert sandbox.requests("RunRerunScheduleInstances") == []


async def test_a_large_preview_spares_the_context(live: tuple[Sandbox, str], tmp_path: Path) -> None:
    sandbox, url = live
    async with Client(server(url, tmp_path)) as client:
        result = await client.call_tool(TOOL, {"Instances": all_instances(sandbox.world), "RerunType": "1"})
    preview = result.structured_content
    assert preview is not None and "RequestBody" not in preview  # it would only repeat json.dumps(Request)
    assert len(preview["Request"]["Instances"]) == DAYS
    assert "\n" not in text(result)  # compact JSON, not indented


async def test_cancelling_a_batched_rerun_starts_no_new_batch_and_keeps_what_was_sent(tmp_path: Path) -> None:
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=backfill_world(DAYS))
    wire = HeldRerun(sandbox, nth=2)
    app = make_server(
        tmp_path,
        wire,
        policy=Policy(max_instances=10_000),
        batch_size=100,
        batch_concurrency=1,
        rate_limit_per_second=1000,
    )
    arguments = {"Instances": all_instances(sandbox.world), "RerunType": "1"}
    async with Client(app) as client:
        preview = await client.call_tool(TOOL, arguments)
        assert preview.structured_content is not None, text(preview)
        confirmed = arguments | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
        call = anyio.CancelScope()

        async def execute() -> None:
            with call:
                await client.call_tool(TOOL, confirmed)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(execute)
                await wire.received.wait()
                # The person gives up while batch 2 of 3 is on the wire. The in-memory client runs the server's
                # handler in the calling task, so this cancels it at once, before batch 2 answers.
                call.cancel()
                wire.release.set()
            replay = await client.call_tool(TOOL, confirmed)
    # Batch 2 was already sent: it finished and was recorded. Batch 3 was never started.
    done = replay.structured_content
    assert done is not None and done["Status"] == "partial", text(replay)  # as recorded, not "already_executed"
    assert [b["Status"] for b in done["BatchResults"]] == ["succeeded", "succeeded", "not_sent"]
    assert wire.sent == 2
    assert sum(reran(sandbox).values()) == 200 and set(reran(sandbox).values()) == {1}
    events = [r["event"] for r in audit_records(tmp_path / "audit.jsonl")]
    assert events.count("sending") == 2 and events.count("executed") == 2 and "batches_done" in events


class HeldTogether(Wire):
    """The in-process simulator, holding the first `count` RunRerunScheduleInstances until all have arrived, then
    answering them at once (so the batches in flight finish together)."""

    def __init__(self, sandbox: Sandbox, count: int) -> None:
        super().__init__(sandbox)
        self._count = count
        self._arrived = 0
        self._together = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-TC-Action") == "RunRerunScheduleInstances" and self._arrived < self._count:
            self._arrived += 1
            if self._arrived == self._count:
                self._together.set()
            await self._together.wait()
        return await super().handle_async_request(request)


async def test_batches_in_flight_that_finish_together_leave_the_last_one_to_a_single_worker(tmp_path: Path) -> None:
    # Two workers finish together with one batch left: exactly one of them sends it, and the rerun is told as run.
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=backfill_world(DAYS))
    wire = HeldTogether(sandbox, count=2)
    app = make_server(
        tmp_path,
        wire,
        policy=Policy(max_instances=10_000),
        batch_size=100,
        batch_concurrency=2,
        rate_limit_per_second=1000,
    )
    with anyio.fail_after(30):
        async with Client(app) as client:
            _, result = await run(client, {"Instances": all_instances(sandbox.world), "RerunType": "1"})
    done = result.structured_content
    assert done is not None and done["Status"] == "executed", text(result)
    assert wire.sent == 3 and set(reran(sandbox).values()) == {1}
