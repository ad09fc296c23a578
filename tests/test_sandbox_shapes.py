"""The shapes WeData's documentation gives an instance, read back over loopback HTTP: the state-code table,
InstanceKey, CycleType and CostTime (docs/simulator.md cites each source)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_sandbox_support import (
    DWD_USERS,
    ODS_PAYMENTS,
    RETAIL_DW,
    YESTERDAY,
    Live,
    instance,
    live_sandbox,
)
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.views import cost_time

DESCRIBE = "DescribeScheduleInstances"
# InstanceVO.InstanceState, verbatim in its grouping: "[0] 等待事件 - [12] 等待上游 - [6, 7, 9, 10, 18] 等待运行 -
# [1, 19, 22] 运行中 - [21] 跳过运行 - [3] 失败重试 - [8, 4, 5, 13] 失败 - [2] 成功".
SDK_STATE_GROUPS = {
    "等待事件": {"0"},
    "等待上游": {"12"},
    "等待运行": {"6", "7", "9", "10", "18"},
    "运行中": {"1", "19", "22"},
    "跳过运行": {"21"},
    "失败重试": {"3"},
    "失败": {"8", "4", "5", "13"},
    "成功": {"2"},
}


@pytest.fixture
def live() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


def item(live: Live, task_id: str) -> dict[str, Any]:
    condition = {"TaskIdList": [task_id], "DateFrom": YESTERDAY, "DateTo": YESTERDAY}
    params = {
        "SearchCondition": condition,
        "ProjectId": RETAIL_DW,
        "ProjectIdent": RETAIL_DW,
        "PageIndex": 1,
        "PageSize": 10,
    }
    return live.call(DESCRIBE, params)["Data"]["Items"][0]


def test_the_state_table_is_the_sdks_grouping_of_codes() -> None:
    assert {g.sdk_words: set(g.codes) for g in states.GROUPS} == SDK_STATE_GROUPS
    assert frozenset().union(*SDK_STATE_GROUPS.values()) == states.DOCUMENTED
    # The simulator writes one code of each group, and only documented ones.
    assert {states.name(c) for c in states.WRITTEN} == {g.name for g in states.GROUPS}
    assert states.name("19") == "running" and states.name("13") == "failed" and states.name("99") == "state 99"


def test_instance_key_is_task_id_and_data_time(live: Live) -> None:
    # GetTaskInstance's documented example value: "20240627201611119_2025-03-20 00:00:00".
    key = item(live, ODS_PAYMENTS)["InstanceKey"]
    assert key == f"{ODS_PAYMENTS}_{YESTERDAY}"
    assert re.fullmatch(r"\d+_\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", key)


def test_cycle_type_is_the_sdks_cycle_unit_letter(live: Live) -> None:
    # DescribeBatchOperateTaskDTO.CycleUnit: "D天周期 H小时 C crontab类型 I分钟 O一次性 Y年 R用户驱动 W周 M月".
    assert item(live, ODS_PAYMENTS)["CycleType"] == "D"
    condition = {"CycleList": ["D"], "TaskIdList": [ODS_PAYMENTS], "DateFrom": YESTERDAY, "DateTo": YESTERDAY}
    params = {
        "SearchCondition": condition,
        "ProjectId": RETAIL_DW,
        "ProjectIdent": RETAIL_DW,
        "PageIndex": 1,
        "PageSize": 10,
    }
    assert live.call(DESCRIBE, params)["Data"]["TotalCount"] == 1


def test_cost_time_is_hours_minutes_seconds_and_milliseconds(live: Live) -> None:
    # GetTaskInstance's output example: "CostTime": "00:00:12.000".
    assert cost_time(12_000) == "00:00:12.000"
    assert cost_time(3_723_045) == "01:02:03.045"
    live.call("RunRerunScheduleInstances", {"Instances": [instance(DWD_USERS)], "RerunType": "1"})
    live.clock.advance(90)
    running = item(live, DWD_USERS)
    assert running["CostTime"] == "00:01:30.000" and running["CostMillisecond"] == 90_000
    live.clock.advance(90)  # dwd_users_clean runs 180 simulated seconds
    assert item(live, DWD_USERS)["CostTime"] == "00:03:00.000"


def test_an_instance_reports_its_redo_rule_and_retries(live: Live) -> None:
    found = item(live, ODS_PAYMENTS)  # seeded failed on its third and last run
    assert found["AllowRedoType"] == "ALL" and (found["TryLimit"], found["Tries"], found["RetryAttempts"]) == (3, 3, 2)
    assert found["IgnoreEvent"] is False
