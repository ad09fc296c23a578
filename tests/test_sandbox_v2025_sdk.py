"""Tencent's SDK (`v20250806`) as the judge of the simulator's API 2025-08-06: it signs, sends and parses as against
the real endpoint, and its models warn about any field they do not know (warnings are errors here)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import TypeVar

import pytest
from tencentcloud.common import credential
from tencentcloud.common.abstract_model import AbstractModel
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.wedata.v20250806 import models, wedata_client

from tests.test_sandbox_support import (
    DWD_PAYMENTS,
    DWS_USER_ACTIVITY,
    ODS_PAYMENTS,
    REGION,
    RETAIL_DW,
    SECRET_ID,
    SECRET_KEY,
    YESTERDAY,
    new_sandbox,
)
from tests.worlds import PROJECT_ID, TASK_ID, small_world
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.server import serve_in_thread

M = TypeVar("M", bound=AbstractModel)


def key(task_id: str) -> str:
    return f"{task_id}_{YESTERDAY}"


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    # Real clock (the SDK stamps real timestamps); simulated time runs fast so that a rerun ends within the test.
    sandbox = new_sandbox(time.time, speed=100_000.0)
    with serve_in_thread(sandbox, host="127.0.0.1") as url:
        yield sandbox, url.removeprefix("http://")


@pytest.fixture(autouse=True)
def _quiet_sdk_logger() -> Iterator[None]:
    logger = logging.getLogger("tencentcloud_sdk_common")  # it logs Authorization at DEBUG
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def client(endpoint: str, secret_key: str = SECRET_KEY) -> wedata_client.WedataClient:
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=10))
    return wedata_client.WedataClient(credential.Credential(SECRET_ID, secret_key), REGION, profile)


def request(model: type[M], params: dict[str, object]) -> M:
    made = model()
    made.from_json_string(json.dumps(params))
    return made


def poll_to_end(sdk: wedata_client.WedataClient, async_id: str) -> models.OpsAsyncJobDetail:
    # Bounded polls, no sleeping: each answer reads the world as far as simulated time has moved meanwhile.
    for _ in range(5_000):
        job = sdk.GetOpsAsyncJob(request(models.GetOpsAsyncJobRequest, {"ProjectId": RETAIL_DW, "AsyncId": async_id}))
        assert job.Data.Status in ("INIT", "RUNNING", "SUCCESS", "FAIL", "PART_SUCCESS")
        if job.Data.Status in ("SUCCESS", "FAIL", "PART_SUCCESS"):
            return job.Data
    raise AssertionError("the job did not end")


def rerun_to_end(sdk: wedata_client.WedataClient, params: dict[str, object]) -> models.OpsAsyncJobDetail:
    rerun = sdk.RerunTaskInstancesAsync(request(models.RerunTaskInstancesAsyncRequest, params))
    return poll_to_end(sdk, rerun.Data.AsyncId)


def test_sdk_lists_yesterdays_failed_instances_page_by_page(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    sdk = client(endpoint)
    params = {"ProjectId": RETAIL_DW, "InstanceState": "EXPIRED", "PageNumber": 1, "PageSize": 1}
    first = sdk.ListTaskInstances(request(models.ListTaskInstancesRequest, params)).Data
    second = sdk.ListTaskInstances(request(models.ListTaskInstancesRequest, params | {"PageNumber": 2})).Data
    assert (first.TotalCount, first.TotalPageNumber, first.PageSize) == (2, 2, 1)
    assert {first.Items[0].TaskId, second.Items[0].TaskId} == {ODS_PAYMENTS, DWS_USER_ACTIVITY}
    item = first.Items[0]
    assert item.InstanceKey == key(item.TaskId) and item.CurRunDate == YESTERDAY and item.CycleType == "D"


def test_sdk_reads_an_instance_its_lineage_and_its_log_by_cursor(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    sdk = client(endpoint)
    detail = sdk.GetTaskInstance(
        request(models.GetTaskInstanceRequest, {"ProjectId": RETAIL_DW, "InstanceKey": key(ODS_PAYMENTS)})
    )
    assert detail.Data.InstanceState == "EXPIRED" and detail.Data.CycleType == "DAY_CYCLE" and detail.Data.JobErrorMsg
    down = sdk.ListDownstreamTaskInstances(
        request(models.ListDownstreamTaskInstancesRequest, {"ProjectId": RETAIL_DW, "InstanceKey": key(ODS_PAYMENTS)})
    )
    assert [i.TaskId for i in down.Data.Items] == [DWD_PAYMENTS]
    up = sdk.ListUpstreamTaskInstances(
        request(models.ListUpstreamTaskInstancesRequest, {"ProjectId": RETAIL_DW, "InstanceKey": key(DWD_PAYMENTS)})
    )
    assert [i.TaskId for i in up.Data.Items] == [ODS_PAYMENTS]
    log = sdk.GetTaskInstanceLog(
        request(models.GetTaskInstanceLogRequest, {"ProjectId": RETAIL_DW, "InstanceKey": key(ODS_PAYMENTS)})
    )
    assert log.Data.LogInfo and log.Data.NextCursor is None  # the seeded log fits one page


def test_sdk_reruns_and_polls_the_job_to_its_end(served: tuple[Sandbox, str]) -> None:
    sandbox, endpoint = served
    sdk = client(endpoint)
    params = {
        "ProjectId": RETAIL_DW,
        "InstanceKeyList": [key(ODS_PAYMENTS)],
        "RerunType": "2",
        "SonRangeType": "WORKFLOW",
    }
    rerun = sdk.RerunTaskInstancesAsync(request(models.RerunTaskInstancesAsyncRequest, params))
    assert rerun.Data.AsyncId and rerun.RequestId
    job = poll_to_end(sdk, rerun.Data.AsyncId)
    # ods_payments_sync and, in its workflow, nothing else: both its own run and its job succeed.
    assert (job.Status, job.TotalSubProcessCount, job.FinishedSubProcessCount, job.SuccessSubProcessCount) == (
        "SUCCESS",
        1,
        1,
        1,
    )
    assert sandbox.world.instance(ODS_PAYMENTS, YESTERDAY).state == "2"


def test_sdk_sees_a_rerun_that_keeps_failing_end_in_fail(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    sdk = client(endpoint)
    params = {"ProjectId": RETAIL_DW, "InstanceKeyList": [key(DWS_USER_ACTIVITY)], "RerunType": "1"}
    rerun = sdk.RerunTaskInstancesAsync(request(models.RerunTaskInstancesAsyncRequest, params))
    job = poll_to_end(sdk, rerun.Data.AsyncId)
    assert (job.Status, job.FinishedSubProcessCount, job.SuccessSubProcessCount) == ("FAIL", 1, 0)


def test_sdk_gets_an_unknown_instance_refused_with_its_code(served: tuple[Sandbox, str]) -> None:
    sandbox, endpoint = served
    params = {"ProjectId": RETAIL_DW, "InstanceKeyList": ["19990101000000000_2026-11-24 00:00:00"]}
    with pytest.raises(TencentCloudSDKException) as caught:
        client(endpoint).RerunTaskInstancesAsync(request(models.RerunTaskInstancesAsyncRequest, params))
    assert caught.value.get_code() == "ResourceNotFound" and caught.value.get_request_id()
    assert sandbox.world.async_jobs == {}


def test_sdk_with_a_wrong_key_gets_its_signature_refused_and_nothing_runs(served: tuple[Sandbox, str]) -> None:
    sandbox, endpoint = served
    params = {"ProjectId": RETAIL_DW, "InstanceKeyList": [key(ODS_PAYMENTS)]}
    with pytest.raises(TencentCloudSDKException) as caught:
        client(endpoint, secret_key="not-the-key").RerunTaskInstancesAsync(
            request(models.RerunTaskInstancesAsyncRequest, params)
        )
    assert caught.value.get_code() == "AuthFailure.SignatureFailure"
    assert sandbox.world.async_jobs == {} and sandbox.requests("RerunTaskInstancesAsync") == []


def test_sdk_polls_a_rerun_where_one_instance_keeps_failing_to_part_success(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    sdk = client(endpoint)
    keys = [key(ODS_PAYMENTS), key(DWS_USER_ACTIVITY)]
    params = {"ProjectId": RETAIL_DW, "InstanceKeyList": keys, "RerunType": "1"}
    job = poll_to_end(
        sdk, sdk.RerunTaskInstancesAsync(request(models.RerunTaskInstancesAsyncRequest, params)).Data.AsyncId
    )
    assert (job.Status, job.TotalSubProcessCount, job.SuccessSubProcessCount) == ("PART_SUCCESS", 2, 1)


def test_sdk_sees_a_rerun_refused_by_its_upstream_check_as_a_failed_job(served: tuple[Sandbox, str]) -> None:
    sandbox, endpoint = served
    sdk = client(endpoint)
    params = {
        "ProjectId": RETAIL_DW,
        "InstanceKeyList": [key(DWD_PAYMENTS)],
        "RerunType": "1",
        "CheckParentType": "ALL",
    }
    job = poll_to_end(
        sdk, sdk.RerunTaskInstancesAsync(request(models.RerunTaskInstancesAsyncRequest, params)).Data.AsyncId
    )
    assert job.Status == "FAIL" and job.ErrorDesc and key(ODS_PAYMENTS) in job.ErrorDesc
    assert sandbox.world.instance(DWD_PAYMENTS, YESTERDAY).state == "12"  # nothing reran


def test_sdk_pages_a_long_log_with_its_cursor() -> None:
    day = "2025-01-01 00:00:00"
    log = [f"2025-01-02 00:00:{n:02d} INFO line {n}" for n in range(45)] + ["2025-01-02 00:01:00 ERROR boom"]
    world = small_world(
        [{"task_id": TASK_ID}],
        [{"task_id": TASK_ID, "cur_run_date": day, "state": "4", "log": log}],
        now="2025-01-03 00:00:00",
    )
    with serve_in_thread(new_sandbox(time.time, world=world), host="127.0.0.1") as url:
        sdk = client(url.removeprefix("http://"))
        pages: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            params: dict[str, object] = {"ProjectId": PROJECT_ID, "InstanceKey": f"{TASK_ID}_{day}"}
            data = sdk.GetTaskInstanceLog(
                request(models.GetTaskInstanceLogRequest, params | ({"NextCursor": cursor} if cursor else {}))
            ).Data
            pages.append(data.LogInfo)
            cursor = data.NextCursor
            if cursor is None:
                break
        errors = sdk.GetTaskInstanceLog(request(models.GetTaskInstanceLogRequest, params | {"LogLevel": "Error"})).Data
    assert len(pages) == 3 and "\n".join(pages).splitlines() == log
    assert errors.LogInfo == "2025-01-02 00:01:00 ERROR boom" and errors.NextCursor is None
