"""Injected faults and the 20-per-second limit, as a client sees them on the wire, and whether the rerun ran."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest

from tests.test_sandbox_support import (
    ODS_PAYMENTS,
    OTHER_ID,
    OTHER_KEY,
    REGION,
    RETAIL_DW,
    SECRET_ID,
    SECRET_KEY,
    FakeClock,
    Live,
    error_code,
    in_project,
    instance,
    live_sandbox,
    new_sandbox,
)
from wedata_mcp.cloud.client import Target, WeDataClient
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.errors import OutcomeUnknownError
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.faults import FaultKind

RERUN = "RunRerunScheduleInstances"
DESCRIBE = "DescribeScheduleInstances"
LOOKUP = in_project(RETAIL_DW)  # a valid one-project look-up
PARAMS = {"Instances": [instance(ODS_PAYMENTS)], "RerunType": "1"}


@pytest.fixture(scope="module")
def _server() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


@pytest.fixture
def live(_server: Live) -> Live:
    return _server.fresh()


def reruns(live: Live) -> int:
    return len(live.sandbox.world.rerun_records)


def last_received(live: Live) -> tuple[str | None, bool, bool]:
    received = live.sandbox.received[-1]
    return received.fault, received.verified, received.executed


@pytest.mark.parametrize(
    ("kind", "code"), [("rate_limit", "RequestLimitExceeded"), ("internal_error", "InternalError")]
)
def test_envelope_faults_answer_200_with_the_error_and_do_not_execute(live: Live, kind: str, code: str) -> None:
    live.sandbox.faults.inject(kind, action=RERUN)
    response = live.post(RERUN, PARAMS)
    assert response.status_code == 200
    body = response.json()["Response"]
    assert error_code(body) == code and body["RequestId"]
    assert reruns(live) == 0 and last_received(live) == (kind, True, False)


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_502", 502), ("http_503", 503)])
def test_http_status_faults_answer_without_an_envelope_and_do_not_execute(live: Live, kind: str, status: int) -> None:
    live.sandbox.faults.inject(kind, action=RERUN)
    response = live.post(RERUN, PARAMS)
    assert response.status_code == status and "Response" not in response.text
    assert reruns(live) == 0 and last_received(live) == (kind, True, False)


def test_a_dropped_connection_leaves_the_client_without_an_answer_but_the_rerun_ran(live: Live) -> None:
    live.sandbox.faults.inject(FaultKind.DROP, action=RERUN)
    with pytest.raises(httpx.RemoteProtocolError):
        live.post(RERUN, PARAMS)
    assert reruns(live) == 1 and last_received(live) == ("drop", True, True)
    assert live.sandbox.world.instance(ODS_PAYMENTS, "2026-11-24 00:00:00").state == states.RUNNING


def test_a_slow_answer_times_the_client_out_after_the_rerun_ran(live: Live) -> None:
    live.sandbox.faults.inject(FaultKind.SLOW, action=RERUN, delay=3.0)
    with pytest.raises(httpx.ReadTimeout):
        live.post(RERUN, PARAMS, timeout=0.3)
    assert reruns(live) == 1 and last_received(live) == ("slow", True, True)


def test_a_slightly_slow_answer_still_arrives(live: Live) -> None:
    live.sandbox.faults.inject(FaultKind.SLOW, action=DESCRIBE, delay=0.05)
    body = live.call(DESCRIBE, LOOKUP)
    assert body["Data"]["TotalCount"] > 0


def test_a_non_json_answer_comes_after_the_rerun_ran(live: Live) -> None:
    live.sandbox.faults.inject(FaultKind.NON_JSON, action=RERUN)
    response = live.post(RERUN, PARAMS)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()
    assert reruns(live) == 1 and last_received(live) == ("non_json", True, True)


def test_execute_overrides_whether_a_faulted_request_runs(live: Live) -> None:
    live.sandbox.faults.inject(FaultKind.HTTP_502, action=RERUN, execute=True)
    live.sandbox.faults.inject(FaultKind.DROP, action=DESCRIBE, execute=False)
    assert live.post(RERUN, PARAMS).status_code == 502
    assert reruns(live) == 1 and last_received(live) == ("http_502", True, True)
    with pytest.raises(httpx.RemoteProtocolError):
        live.post(DESCRIBE, LOOKUP)
    assert last_received(live) == ("drop", True, False)


def test_faults_hit_only_their_action_for_their_count_after_skipping(live: Live) -> None:
    live.sandbox.faults.inject("internal_error", action=RERUN, times=2, skip=1)
    assert error_code(live.call(DESCRIBE, LOOKUP)) is None  # another action: untouched
    assert error_code(live.call(RERUN, PARAMS)) is None  # skipped
    assert error_code(live.call(RERUN, PARAMS)) == "InternalError"
    assert error_code(live.call(RERUN, PARAMS)) == "InternalError"
    assert error_code(live.call(RERUN, PARAMS)) is None  # exhausted
    assert live.sandbox.faults.pending == []


def test_faults_apply_only_after_the_signature_is_verified(live: Live) -> None:
    live.sandbox.faults.inject("drop")
    body = live.call(RERUN, PARAMS, secret_key="wrong-key")
    assert error_code(body) == "AuthFailure.SignatureFailure"
    assert last_received(live) == (None, False, False)
    assert len(live.sandbox.faults.pending) == 1


def test_a_drop_in_process_raises_connection_reset() -> None:
    sandbox = new_sandbox(FakeClock())
    sandbox.faults.inject("drop")
    clock = sandbox.clock
    client = WeDataClient(
        Target("http://wedata.sandbox", REGION),
        Credentials(SECRET_ID, SECRET_KEY),
        transport=httpx.ASGITransport(app=sandbox.app()),
        clock=clock,
    )

    async def call() -> None:
        try:
            await client.call(DESCRIBE, b"{}", mutating=False)
        finally:
            await client.aclose()

    with pytest.raises(ConnectionResetError):
        anyio.run(call)


@pytest.mark.anyio
async def test_the_product_client_reports_a_dropped_rerun_as_outcome_unknown_and_sends_it_once(live: Live) -> None:
    live.sandbox.faults.inject(FaultKind.DROP, action=RERUN)
    client = WeDataClient(Target(live.url, REGION), Credentials(SECRET_ID, SECRET_KEY), clock=live.clock)
    try:
        with anyio.fail_after(10), pytest.raises(OutcomeUnknownError):
            await client.call(
                RERUN,
                b'{"Instances": [{"TaskId": "%s", "CurRunDate": "2026-11-24 00:00:00"}]}' % ODS_PAYMENTS.encode(),
                mutating=True,
            )
    finally:
        await client.aclose()
    assert len(live.sandbox.requests(RERUN)) == 1 and reruns(live) == 1


def test_the_21st_request_in_one_second_is_rate_limited(live: Live) -> None:
    for _ in range(20):
        assert error_code(live.call(DESCRIBE, LOOKUP)) is None
    limited = live.call(DESCRIBE, LOOKUP)
    assert error_code(limited) == "RequestLimitExceeded"
    # The limit is per action and per SecretId ...
    assert error_code(live.call(RERUN, PARAMS)) is None
    assert error_code(live.call(DESCRIBE, LOOKUP, secret_id=OTHER_ID, secret_key=OTHER_KEY)) is None
    # ... and the window slides with the clock.
    live.clock.advance(0.5)
    assert error_code(live.call(DESCRIBE, LOOKUP)) == "RequestLimitExceeded"
    live.clock.advance(0.6)
    assert error_code(live.call(DESCRIBE, LOOKUP)) is None


def test_a_rate_limited_rerun_does_not_execute(live: Live) -> None:
    for _ in range(20):
        live.call(RERUN, PARAMS)
    assert error_code(live.call(RERUN, PARAMS)) == "RequestLimitExceeded"
    assert reruns(live) == 20
