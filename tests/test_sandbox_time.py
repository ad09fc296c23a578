"""Instances move over simulated time: a rerun starts them, each run lasts its task's run_seconds, the
scheduler starts waiting instances when their upstream succeeds. Time moves only with the fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.test_sandbox_support import (
    ADS_PARTNER_EXPORT,
    ADS_SALES_DASHBOARD,
    ADS_USER_RETENTION,
    DWD_ORDER_FACTS,
    DWD_PAYMENTS,
    DWD_USERS,
    DWS_DAILY_SALES,
    DWS_USER_ACTIVITY,
    ODS_PAYMENTS,
    PROJECTS,
    YESTERDAY,
    FakeClock,
    Live,
    in_project,
    instance,
    live_sandbox,
    new_sandbox,
)
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.simulation import advance
from wedata_mcp.sandbox.world import World

CHAIN = [ODS_PAYMENTS, DWD_PAYMENTS, DWD_ORDER_FACTS, DWS_DAILY_SALES, ADS_SALES_DASHBOARD, ADS_PARTNER_EXPORT]


@pytest.fixture
def live() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


def describe(live: Live, *task_ids: str) -> dict[str, dict[str, Any]]:
    condition = {"TaskIdList": list(task_ids), "DateFrom": YESTERDAY, "DateTo": YESTERDAY}
    items: list[dict[str, Any]] = []
    for project in PROJECTS:  # ProjectIdent is required: one look-up per project of the seed
        items += live.call("DescribeScheduleInstances", in_project(project, SearchCondition=condition))["Data"]["Items"]
    return {item["TaskId"]: item for item in items}


def state_of(live: Live, *task_ids: str) -> list[str]:
    found = describe(live, *task_ids)
    return [found[t]["State"] for t in task_ids]


def test_a_rerun_with_children_runs_down_the_chain_to_success(live: Live) -> None:
    live.call(
        "RunRerunScheduleInstances",
        {"Instances": [instance(ODS_PAYMENTS)], "RerunType": "2", "SonInstanceType": "3", "CheckFather": True},
    )
    assert state_of(live, *CHAIN) == ["1", "12", "12", "12", "12", "12"]
    live.clock.advance(239)  # ods_payments_sync runs 240 simulated seconds
    assert state_of(live, *CHAIN)[:2] == ["1", "12"]
    live.clock.advance(1)
    assert state_of(live, *CHAIN)[:2] == ["2", "1"]
    live.clock.advance(300 + 420 + 600 + 180 + 120)  # the rest of the chain, back to back
    assert state_of(live, *CHAIN) == ["2"] * 6
    payments = describe(live, ODS_PAYMENTS)[ODS_PAYMENTS]
    assert (payments["StartTime"], payments["EndTime"]) == ("2026-11-25 09:00:00", "2026-11-25 09:04:00")
    assert payments["ErrorDesc"] is None and payments["RedoFlag"] == 1 and payments["TotalRunNum"] == 1
    assert payments["Tries"] == 1 and "finished successfully" in payments["LastLog"]
    last = describe(live, ADS_PARTNER_EXPORT)[ADS_PARTNER_EXPORT]
    assert last["EndTime"] == "2026-11-25 09:31:00"


def test_a_task_seeded_to_keep_failing_fails_again_and_its_downstream_keeps_waiting(live: Live) -> None:
    live.call(
        "RunRerunScheduleInstances",
        {"Instances": [instance(DWS_USER_ACTIVITY)], "RerunType": "2", "SonInstanceType": "3"},
    )
    assert state_of(live, DWS_USER_ACTIVITY, ADS_USER_RETENTION) == ["1", "12"]
    live.clock.advance(3600)
    activity = describe(live, DWS_USER_ACTIVITY)[DWS_USER_ACTIVITY]
    assert activity["State"] == states.FAILED and "memory" in activity["ErrorDesc"]
    assert state_of(live, ADS_USER_RETENTION) == ["12"]
    log = live.call("DescribeInstanceLastLog", instance(DWS_USER_ACTIVITY))["Data"]
    assert "rerun requested" in log and "ERROR Container killed" in log


def test_waiting_downstream_starts_by_itself_once_its_failed_upstream_is_rerun_alone(live: Live) -> None:
    live.call("RunRerunScheduleInstances", {"Instances": [instance(ODS_PAYMENTS)], "RerunType": "1"})
    live.clock.advance(240)
    assert state_of(live, ODS_PAYMENTS, DWD_PAYMENTS, DWD_ORDER_FACTS) == ["2", "1", "12"]
    # Only the rerun instance counts as rerun; its downstream just ran as scheduled.
    assert describe(live, DWD_PAYMENTS)[DWD_PAYMENTS]["RedoFlag"] == 0


def test_a_running_instance_is_listed_as_running_until_its_time_is_up(live: Live) -> None:
    live.call("RunRerunScheduleInstances", {"Instances": [instance(DWD_USERS)], "RerunType": "1"})
    live.clock.advance(90)
    item = describe(live, DWD_USERS)[DWD_USERS]
    assert item["State"] == states.RUNNING and item["EndTime"] is None and item["CostMillisecond"] == 90_000


def test_a_faster_story_clock_compresses_runs() -> None:
    clock = FakeClock()
    sandbox = new_sandbox(clock, speed=60.0)
    start = sandbox.now()
    clock.advance(5)
    assert (sandbox.now() - start).total_seconds() == 300


def test_advance_is_deterministic_and_never_goes_back() -> None:
    world = World.seeded()
    later = datetime(2026, 11, 25, 12, 0, 0)
    advance(world, later)
    advance(world, datetime(2026, 11, 25, 10, 0, 0))
    assert world.now == later
    # Nothing was rerun, so yesterday's story is unchanged: the failed stay failed, the waiting wait.
    assert world.instance(ODS_PAYMENTS, YESTERDAY).state == states.FAILED
    assert world.instance(DWD_PAYMENTS, YESTERDAY).state == states.WAITING_UPSTREAM
