"""The documented instance life cycle over loopback HTTP: automatic retries up to TryLimit, instances waiting
for an event and SkipEventListening, CheckParentType MAKE_SCOPE at run time, AllowRedoType, and the order
and concurrency DataTimeOrder and ParallelNum give a rerun. Each test names the rule's source; the table of
rules is docs/simulator.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_sandbox_support import (
    DWD_ORDER_FACTS,
    DWD_ORDERS,
    DWD_PAYMENTS,
    DWS_USER_ACTIVITY,
    YESTERDAY,
    Live,
    error_code,
    instance,
    live_sandbox,
)
from tests.worlds import TASK_ID, backfill_world, small_world
from wedata_mcp.sandbox import states

RERUN = "RunRerunScheduleInstances"
DAY = "2030-01-01 00:00:00"
NOW = "2030-01-02 08:00:00"


@pytest.fixture(scope="module")
def _server() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


@pytest.fixture
def live(_server: Live) -> Live:
    return _server.fresh()


def items(live: Live, **condition: Any) -> list[dict[str, Any]]:
    # The parameters the SDK marks 【必要参数】 (ProjectIdent, PageIndex, PageSize), in the task's project.
    project = live.sandbox.world.project_of(condition["TaskIdList"][0]).project_id
    params = {
        "SearchCondition": condition,
        "ProjectId": project,
        "ProjectIdent": project,
        "PageIndex": 1,
        "PageSize": 100,
    }
    return live.call("DescribeScheduleInstances", params)["Data"]["Items"]


def one(live: Live, task_id: str, day: str = DAY) -> dict[str, Any]:
    return items(live, TaskIdList=[task_id], DateFrom=day, DateTo=day)[0]


def by_day(live: Live) -> dict[str, str]:
    return {i["CurRunDate"][:10]: i["State"] for i in items(live, TaskIdList=[TASK_ID])}


# -- automatic retries: InstanceOpsDto.TryLimit "尝试运行次数", TaskOpsDto.RetryWait "重试等待时间, unit=分钟" -----


def test_a_failing_run_is_retried_until_try_limit_then_fails(live: Live) -> None:
    task = {"task_id": "flaky", "run_seconds": 60, "try_limit": 3, "retry_wait_minutes": 5, "keeps_failing": True}
    live.load(small_world([task], [{"task_id": "flaky", "cur_run_date": DAY, "state": "4"}], now=NOW))
    live.call(RERUN, {"Instances": [instance("flaky", DAY)], "RerunType": "1"})
    seen = [(one(live, "flaky")["State"], one(live, "flaky")["Tries"])]
    for step in (60, 300, 60, 300, 60):
        live.clock.advance(step)
        found = one(live, "flaky")
        seen.append((found["State"], found["Tries"]))
    # running, failed-retrying (3), running again ... the TryLimit-th failure is final (4).
    assert seen == [("1", 1), ("3", 1), ("1", 2), ("3", 2), ("1", 3), ("4", 3)]
    final = one(live, "flaky")
    assert final["RetryAttempts"] == 2 and final["TryLimit"] == 3
    assert (final["FirstStartTime"], final["StartTime"]) == ("2030-01-02 08:00:00", "2030-01-02 08:12:00")
    live.clock.advance(3600)
    assert one(live, "flaky")["State"] == "4"  # nothing moves a final failure


def test_a_rerun_restarts_the_try_count_from_zero(live: Live) -> None:
    # InstanceVO.Tries: "再次使用 手动重跑 ... 触发运行时，会被重置为 0 后重新计数".
    live.call(RERUN, {"Instances": [instance(DWS_USER_ACTIVITY)], "RerunType": "1"})
    found = one(live, DWS_USER_ACTIVITY, YESTERDAY)
    assert (found["State"], found["Tries"], found["TotalRunNum"]) == ("1", 1, 1)
    live.clock.advance(540)  # dws_user_activity runs 540 simulated seconds and keeps failing
    assert one(live, DWS_USER_ACTIVITY, YESTERDAY)["State"] == states.FAILED_RETRYING


# -- events: state 0 等待事件; SkipEventListening "重跑忽略事件监听与否" -------------------------------------------


def _event_world() -> list[dict[str, Any]]:
    return [{"task_id": "on_event", "event": "upstream_file_landed", "run_seconds": 60}]


def test_a_rerun_of_an_event_task_waits_for_the_event(live: Live) -> None:
    live.load(small_world(_event_world(), [{"task_id": "on_event", "cur_run_date": DAY, "state": "2"}], now=NOW))
    live.call(RERUN, {"Instances": [instance("on_event", DAY)], "RerunType": "1", "SkipEventListening": False})
    live.clock.advance(3600)
    found = one(live, "on_event")
    assert found["State"] == states.WAITING_EVENT and found["IgnoreEvent"] is False


def test_skip_event_listening_releases_an_instance_waiting_for_its_event(live: Live) -> None:
    seeded = [{"task_id": "on_event", "cur_run_date": DAY, "state": "0", "tries": 0}]
    live.load(small_world(_event_world(), seeded, now=NOW))
    live.clock.advance(3600)
    assert one(live, "on_event")["State"] == states.WAITING_EVENT  # the simulator never fires the event
    live.call(RERUN, {"Instances": [instance("on_event", DAY)], "RerunType": "1", "SkipEventListening": True})
    found = one(live, "on_event")
    assert found["State"] == states.RUNNING and found["IgnoreEvent"] is True
    live.clock.advance(60)
    assert one(live, "on_event")["State"] == states.SUCCESS


# -- CheckParentType MAKE_SCOPE: "只在（当前补录计划）选中任务中检查" ---------------------------------------------


def test_make_scope_waits_only_for_upstream_inside_the_rerun(live: Live) -> None:
    # dwd_order_facts waits on dwd_orders_clean (in the rerun) and dwd_payments_clean (outside, not succeeded).
    params = {
        "Instances": [instance(DWD_ORDERS)],
        "RerunType": "2",
        "SonInstanceType": "1",
        "CheckFather": True,
        "CheckParentType": "MAKE_SCOPE",
    }
    assert live.call(RERUN, params)["Data"]["Result"] is True
    assert one(live, DWD_ORDER_FACTS, YESTERDAY)["State"] == states.WAITING_UPSTREAM
    live.clock.advance(300)  # dwd_orders_clean runs 300 simulated seconds
    assert one(live, DWD_ORDER_FACTS, YESTERDAY)["State"] == states.RUNNING
    # The instance outside the rerun is untouched and still waits for its own upstream.
    assert one(live, DWD_PAYMENTS, YESTERDAY)["State"] == states.WAITING_UPSTREAM


def test_check_parent_type_all_refuses_the_same_rerun(live: Live) -> None:
    params = {"Instances": [instance(DWD_ORDERS)], "RerunType": "2", "CheckFather": True, "CheckParentType": "ALL"}
    response = live.call(RERUN, params)
    assert error_code(response) == "FailedOperation" and DWD_PAYMENTS in response["Error"]["Message"]


# -- AllowRedoType: "ALL ... NONE ... FAILURE 表示只有运行失败才能重跑" ------------------------------------------


@pytest.mark.parametrize(
    ("allow", "state", "accepted"),
    [
        ("ALL", "2", True),
        ("ALL", "4", True),
        ("FAILURE", "4", True),
        ("FAILURE", "2", False),
        ("NONE", "4", False),
        ("NONE", "2", False),
    ],
)
def test_allow_redo_type_decides_which_instances_may_rerun(live: Live, allow: str, state: str, accepted: bool) -> None:
    task = {"task_id": "guarded", "allow_redo_type": allow}
    live.load(small_world([task], [{"task_id": "guarded", "cur_run_date": DAY, "state": state}], now=NOW))
    response = live.call(RERUN, {"Instances": [instance("guarded", DAY)], "RerunType": "1"})
    assert (error_code(response) is None) == accepted
    if accepted:
        assert one(live, "guarded")["AllowRedoType"] == allow and one(live, "guarded")["RedoFlag"] == 1
    else:
        assert error_code(response) == "FailedOperation" and "AllowRedoType" in response["Error"]["Message"]
        assert live.sandbox.world.rerun_records == [] and one(live, "guarded")["State"] == state


# -- ParallelNum "实例运行并发度", DataTimeOrder "运行实例数据时间排序 0---正常 1--正序 2 – 逆序" ------------------


def _backfill(live: Live, order: list[int], **params: Any) -> None:
    live.load(backfill_world(4))  # one task, 2025-01-01 .. 2025-01-04, all failed; runs last 300 s
    chosen = [instance(TASK_ID, f"2025-01-0{d} 00:00:00") for d in order]
    assert live.call(RERUN, {"Instances": chosen, "RerunType": "1", **params})["Data"]["Result"] is True


@pytest.mark.parametrize(
    ("data_time_order", "first", "then"),
    [
        (1, {"2025-01-01", "2025-01-02"}, {"2025-01-03", "2025-01-04"}),  # 正序: oldest data time first
        (2, {"2025-01-04", "2025-01-03"}, {"2025-01-02", "2025-01-01"}),  # 逆序: newest first
        (0, {"2025-01-03", "2025-01-01"}, {"2025-01-04", "2025-01-02"}),  # 正常: as selected (3, 1, 4, 2)
    ],
)
def test_parallel_num_and_data_time_order_decide_who_runs_first(
    live: Live, data_time_order: int, first: set[str], then: set[str]
) -> None:
    _backfill(live, [3, 1, 4, 2], ParallelNum=2, DataTimeOrder=data_time_order)
    running = {day for day, state in by_day(live).items() if state == states.RUNNING}
    assert running == first
    assert {day for day, state in by_day(live).items() if state == states.WAITING_RUN} == then
    live.clock.advance(300)
    assert {day for day, state in by_day(live).items() if state == states.RUNNING} == then
    live.clock.advance(300)
    assert set(by_day(live).values()) == {states.SUCCESS}


def test_without_parallel_num_every_instance_runs_at_once(live: Live) -> None:
    _backfill(live, [1, 2, 3, 4], DataTimeOrder=1)
    assert set(by_day(live).values()) == {states.RUNNING}


def test_parallel_num_one_runs_a_backfill_one_data_time_after_another(live: Live) -> None:
    _backfill(live, [1, 2, 3, 4], ParallelNum=1, DataTimeOrder=1)
    ends: list[str] = []
    for _ in range(4):
        live.clock.advance(300)
        ends.append(max((i["EndTime"] or "", i["CurRunDate"]) for i in items(live, TaskIdList=[TASK_ID]))[1][:10])
    assert ends == ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04"]


def test_parallel_num_counts_only_the_instances_still_in_its_rerun(live: Live) -> None:
    _backfill(live, [1, 2, 3], ParallelNum=1, DataTimeOrder=1)
    assert by_day(live) == {"2025-01-01": "1", "2025-01-02": "6", "2025-01-03": "6", "2025-01-04": "4"}
    # A second rerun takes the running instance over: the first rerun's slot frees for its next member, now.
    live.clock.advance(100)
    live.call(RERUN, {"Instances": [instance(TASK_ID, "2025-01-01 00:00:00")], "RerunType": "1"})
    assert by_day(live) == {"2025-01-01": "1", "2025-01-02": "1", "2025-01-03": "6", "2025-01-04": "4"}
    second = one(live, TASK_ID, "2025-01-02 00:00:00")
    assert second["StartTime"] == one(live, TASK_ID, "2025-01-01 00:00:00")["StartTime"] == "2025-01-06 00:01:40"


# -- skipped: state 21 跳过运行, InstanceLifeDetailDto.DetailState "SKIP_RUNNING 表示 终态-被上游分支节点跳过的分支" ---


def test_a_branch_not_taken_ends_skipped_and_its_downstream_goes_on(live: Live) -> None:
    tasks = [
        {"task_id": "branch", "skipped_branch": True},
        {"task_id": "after", "upstream": ["branch"], "run_seconds": 60},
    ]
    seeded = [
        {"task_id": "branch", "cur_run_date": DAY, "state": "4"},
        {"task_id": "after", "cur_run_date": DAY, "state": "12", "tries": 0},
    ]
    live.load(small_world(tasks, seeded, now=NOW))
    live.call(RERUN, {"Instances": [instance("branch", DAY)], "RerunType": "1"})
    skipped = one(live, "branch")
    assert skipped["State"] == states.SKIPPED and skipped["Tries"] == 0 and skipped["StartTime"] is None
    assert one(live, "after")["State"] == states.RUNNING
    live.clock.advance(60)
    assert one(live, "after")["State"] == states.SUCCESS
    # A skipped upstream also passes CheckFather.
    response = live.call(RERUN, {"Instances": [instance("after", DAY)], "RerunType": "1", "CheckFather": True})
    assert error_code(response) is None


def test_seeded_codes_of_every_in_progress_group_move_on_by_themselves(live: Live) -> None:
    tasks = [
        {"task_id": "retrying", "run_seconds": 60, "retry_wait_minutes": 5},
        {"task_id": "running19", "run_seconds": 60},
        {"task_id": "queued7", "run_seconds": 60},
    ]
    seeded = [
        # failed at 07:58, retried five minutes later (TaskOpsDto.RetryWait, minutes)
        {"task_id": "retrying", "cur_run_date": DAY, "state": "3", "end_time": "2030-01-02 07:58:00"},
        {"task_id": "running19", "cur_run_date": DAY, "state": "19", "start_time": "2030-01-02 07:59:30"},
        {"task_id": "queued7", "cur_run_date": DAY, "state": "7", "tries": 0},
    ]
    live.load(small_world(tasks, seeded, now=NOW))
    assert [one(live, t)["State"] for t in ("retrying", "running19", "queued7")] == ["3", "19", "1"]
    live.clock.advance(30)
    assert [one(live, t)["State"] for t in ("retrying", "running19")] == ["3", "2"]
    live.clock.advance(150)  # 08:03: the retry starts as attempt 2
    retried = one(live, "retrying")
    assert (retried["State"], retried["Tries"], retried["StartTime"]) == ("1", 2, "2030-01-02 08:03:00")
