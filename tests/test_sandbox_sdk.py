"""Tencent's own Python SDK as the judge of the simulator: it signs, sends and parses exactly as against the
real endpoint (its models warn about any field they do not know, and warnings are errors here)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.wedata.v20210820 import models, wedata_client

from tests.conftest import DOC_EXAMPLE_PATH
from tests.test_sandbox_support import (
    ADS_PARTNER_EXPORT,
    DWD_ORDERS,
    ODS_PAYMENTS,
    REGION,
    RETAIL_DW,
    SECRET_ID,
    SECRET_KEY,
    YESTERDAY,
    new_sandbox,
)
from tests.worlds import PROJECT_ID, TASK_ID, backfill_world
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.server import serve_in_thread


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    # The SDK stamps its own real timestamps, so this sandbox runs on the real clock.
    sandbox = new_sandbox(time.time)
    with serve_in_thread(sandbox, host="127.0.0.1") as url:
        yield sandbox, url.removeprefix("http://")


@pytest.fixture(autouse=True)
def _quiet_sdk_logger() -> Iterator[None]:
    # The SDK logs request headers (Authorization included) at DEBUG; keep it at WARNING whatever the config.
    logger = logging.getLogger("tencentcloud_sdk_common")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def sdk_client(endpoint: str, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY) -> wedata_client.WedataClient:
    # HttpProfile takes a host[:port] endpoint and a separate protocol (scheme); it signs "host:port".
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=10))
    return wedata_client.WedataClient(credential.Credential(secret_id, secret_key), REGION, profile)


def test_sdk_reruns_the_api_references_example_request(served: tuple[Sandbox, str]) -> None:
    sandbox, endpoint = served
    request = models.RunRerunScheduleInstancesRequest()
    request.from_json_string(DOC_EXAMPLE_PATH.read_text(encoding="utf-8"))
    response = sdk_client(endpoint).RunRerunScheduleInstances(request)
    assert response.Data.Result is True and response.RequestId
    assert sandbox.requests("RunRerunScheduleInstances")[-1].request_id == response.RequestId


def test_sdk_lists_yesterdays_failed_instances(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    request = models.DescribeScheduleInstancesRequest()
    request.from_json_string(
        json.dumps(
            {
                "ProjectIdent": RETAIL_DW,
                "PageIndex": 1,
                "PageSize": 10,
                "SearchCondition": {"StateList": [4], "DateFrom": YESTERDAY, "DateTo": YESTERDAY},
            }
        )
    )
    data = sdk_client(endpoint).DescribeScheduleInstances(request).Data
    assert data.TotalCount == 2 and data.TotalPage == 1 and data.PageNumber == 1 and data.PageSize == 10
    items = {item.TaskId: item for item in data.Items}
    payments = items[ODS_PAYMENTS]
    assert payments.State == states.FAILED and payments.CurRunDate == YESTERDAY
    assert payments.TaskName == "ods_payments_sync" and payments.ProjectName == "retail_dw"
    assert "timed out" in payments.ErrorDesc and payments.TaskType.TypeId == 20


def test_sdk_reads_an_instances_last_log(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    request = models.DescribeInstanceLastLogRequest()
    request.TaskId, request.CurRunDate = ODS_PAYMENTS, YESTERDAY
    log = sdk_client(endpoint).DescribeInstanceLastLog(request).Data
    assert "ERROR Communications link failure" in log


def test_sdk_walks_a_tasks_downstream_across_projects(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    request = models.DescribeDependOpsTasksRequest()
    request.TaskId, request.Deep, request.Up = DWD_ORDERS, 4, 0
    data = sdk_client(endpoint).DescribeDependOpsTasks(request).Data
    assert ADS_PARTNER_EXPORT in {t.TaskId for t in data.TasksList}
    assert {link.LinkType for link in data.LinksList} == {"real_real", "virtual_real"}


def test_sdk_gets_signature_failure_for_a_wrong_key(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    client = sdk_client(endpoint, secret_key="not-the-key")
    with pytest.raises(TencentCloudSDKException) as caught:
        client.DescribeScheduleInstances(models.DescribeScheduleInstancesRequest())
    assert caught.value.get_code() == "AuthFailure.SignatureFailure" and caught.value.get_request_id()


def test_sdk_gets_secret_id_not_found_for_an_unknown_id(served: tuple[Sandbox, str]) -> None:
    sandbox, endpoint = served
    before = len(sandbox.world.rerun_records)
    request = models.RunRerunScheduleInstancesRequest()
    request.from_json_string(DOC_EXAMPLE_PATH.read_text(encoding="utf-8"))
    with pytest.raises(TencentCloudSDKException) as caught:
        sdk_client(endpoint, secret_id="AKIDunknown000000000000000000000000").RunRerunScheduleInstances(request)
    assert caught.value.get_code() == "AuthFailure.SecretIdNotFound"
    assert len(sandbox.world.rerun_records) == before


def test_sdk_reads_the_documented_instance_shapes(served: tuple[Sandbox, str]) -> None:
    _, endpoint = served
    request = models.DescribeScheduleInstancesRequest()
    condition = {"TaskIdList": [ODS_PAYMENTS], "DateFrom": YESTERDAY, "DateTo": YESTERDAY, "CycleList": ["D"]}
    params = {
        "ProjectId": RETAIL_DW,
        "ProjectIdent": RETAIL_DW,
        "PageIndex": 1,
        "PageSize": 10,
        "SearchCondition": condition,
    }
    request.from_json_string(json.dumps(params))
    (item,) = sdk_client(endpoint).DescribeScheduleInstances(request).Data.Items
    assert item.InstanceKey == f"{ODS_PAYMENTS}_{YESTERDAY}" and item.CycleType == "D"
    assert item.CostTime is not None and re.fullmatch(r"\d{2}:\d{2}:\d{2}\.\d{3}", item.CostTime)
    assert (item.TryLimit, item.Tries, item.RetryAttempts, item.AllowRedoType) == (3, 3, 2, "ALL")
    assert item.IgnoreEvent is False


def test_sdk_reruns_a_backfill_with_parallel_num_and_data_time_order() -> None:
    sandbox = new_sandbox(time.time, world=backfill_world(4))  # runs last 300 s: nothing moves during the test
    with serve_in_thread(sandbox, host="127.0.0.1") as url:
        client = sdk_client(url.removeprefix("http://"))
        rerun = models.RunRerunScheduleInstancesRequest()
        rerun.from_json_string(
            json.dumps(
                {
                    "Instances": [{"TaskId": TASK_ID, "CurRunDate": f"2025-01-0{d} 00:00:00"} for d in (1, 2, 3, 4)],
                    "RerunType": "1",
                    "CheckFather": True,
                    "CheckParentType": "MAKE_SCOPE",
                    "SkipEventListening": True,
                    "ParallelNum": 2,
                    "DataTimeOrder": 2,
                }
            )
        )
        assert client.RunRerunScheduleInstances(rerun).Data.Result is True
        describe = models.DescribeScheduleInstancesRequest()
        describe.from_json_string(
            json.dumps({"ProjectId": PROJECT_ID, "ProjectIdent": PROJECT_ID, "PageIndex": 1, "PageSize": 10})
        )
        items = client.DescribeScheduleInstances(describe).Data.Items
    by_day = {i.CurRunDate[:10]: i for i in items}
    assert {d for d, i in by_day.items() if i.State == states.RUNNING} == {"2025-01-04", "2025-01-03"}
    assert {d for d, i in by_day.items() if i.State == states.WAITING_RUN} == {"2025-01-02", "2025-01-01"}
    assert all(i.IgnoreEvent is True and i.RedoFlag == 1 and i.Tries in (0, 1) for i in items)
