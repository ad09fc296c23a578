"""The read-only actions: DescribeScheduleInstances (paging, filters, DAG look-ups), DescribeInstanceLastLog,
DescribeDependOpsTasks — and the seed's story as they tell it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_sandbox_support import (
    ADS_PARTNER_EXPORT,
    ADS_SALES_DASHBOARD,
    ADS_USER_RETENTION,
    DAY_BEFORE,
    DWD_ORDER_FACTS,
    DWD_ORDERS,
    DWD_PAYMENTS,
    DWS_DAILY_SALES,
    DWS_USER_ACTIVITY,
    GROWTH_BI,
    ODS_ORDERS,
    ODS_PAYMENTS,
    PROJECTS,
    RETAIL_DW,
    YESTERDAY,
    Live,
    error_code,
    in_project,
    instance,
    live_sandbox,
)
from wedata_mcp.sandbox.world import World

DESCRIBE = "DescribeScheduleInstances"


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


@pytest.fixture(autouse=True)
def _fresh_window(live: Live) -> None:
    live.clock.advance(1.0)


def search(live: Live, **condition: Any) -> list[tuple[str, str]]:
    """What `condition` matches in each of the seed's projects (ProjectIdent is required: one call per project)."""
    found: list[tuple[str, str]] = []
    for project in PROJECTS:
        data = live.call(DESCRIBE, in_project(project, SearchCondition=condition))["Data"]
        found += [(item["TaskId"], item["CurRunDate"]) for item in data["Items"]]
    return found


def task_ids(live: Live, **condition: Any) -> set[str]:
    return {task_id for task_id, _ in search(live, DateFrom=YESTERDAY, DateTo=YESTERDAY, **condition)}


def test_yesterday_two_instances_failed_and_six_wait_for_upstream(live: Live) -> None:
    assert task_ids(live, StateList=[4]) == {ODS_PAYMENTS, DWS_USER_ACTIVITY}
    assert task_ids(live, StateList=[12]) == {
        DWD_PAYMENTS,
        DWD_ORDER_FACTS,
        DWS_DAILY_SALES,
        ADS_SALES_DASHBOARD,
        ADS_USER_RETENTION,
        ADS_PARTNER_EXPORT,
    }
    assert len(search(live, DateFrom=DAY_BEFORE, DateTo=DAY_BEFORE, StateList=[2])) == 12


def test_pages_are_one_based_and_cover_every_instance_once(live: Live) -> None:
    def retail(page: int) -> dict[str, Any]:
        return live.call(DESCRIBE, in_project(RETAIL_DW, PageIndex=page, PageSize=5))["Data"]

    first = retail(1)
    assert (first["TotalCount"], first["TotalPage"], first["PageNumber"], first["PageSize"]) == (22, 5, 1, 5)
    seen: list[tuple[str, str]] = []
    for page in range(1, 6):
        data = retail(page)
        assert data["PageCount"] == len(data["Items"]) == (5 if page < 5 else 2)
        seen += [(i["TaskId"], i["CurRunDate"]) for i in data["Items"]]
    assert len(set(seen)) == 22
    # Newest data time first, upstream before downstream within a day.
    assert seen[0] == (ODS_ORDERS, YESTERDAY) and seen[-1][1] == "2024-04-09 00:00:00"
    assert retail(6)["Items"] == []
    # The other project holds the rest of the seed's 28 instances.
    assert live.call(DESCRIBE, in_project(PROJECTS[1]))["Data"]["TotalCount"] == 28 - 22


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"ProjectId": GROWTH_BI}, {ADS_SALES_DASHBOARD, ADS_USER_RETENTION, ADS_PARTNER_EXPORT}),
        ({"WorkflowIdList": ["2b3f7a10-51c5-4c8e-9a1e-0d6f1c2a7b01"]}, {ODS_ORDERS, ODS_PAYMENTS, "20240226155012702"}),
        ({"TaskNameList": ["PAYMENTS"]}, {ODS_PAYMENTS, DWD_PAYMENTS}),
        ({"WorkflowNameList": ["dws_"]}, {DWS_DAILY_SALES, DWS_USER_ACTIVITY}),
        ({"OwnerList": ["bob"]}, {ODS_PAYMENTS, DWD_PAYMENTS}),
        ({"Keyword": "order_facts"}, {DWD_ORDER_FACTS}),
        ({"Keyword": DWD_ORDERS}, {DWD_ORDERS}),
        ({"TaskIdList": [DWD_ORDERS, ODS_ORDERS], "StateList": [2]}, {DWD_ORDERS, ODS_ORDERS}),
        ({"InstanceType": "0"}, set()),
    ],
)
def test_search_condition_filters(live: Live, condition: dict[str, Any], expected: set[str]) -> None:
    assert task_ids(live, **condition) == expected


def test_the_top_level_project_id_narrows_too(live: Live) -> None:
    data = live.call(DESCRIBE, in_project(GROWTH_BI, ProjectId=GROWTH_BI))["Data"]
    assert {item["ProjectName"] for item in data["Items"]} == {"growth_bi"}
    assert live.call(DESCRIBE, in_project(RETAIL_DW, ProjectId=GROWTH_BI))["Data"]["TotalCount"] == 0


def test_dag_lookup_lists_an_instances_children_across_projects(live: Live) -> None:
    anchor = instance(DWD_ORDER_FACTS)
    assert {t for t, _ in search(live, Instance=anchor, DagDeal=True)} == {DWS_DAILY_SALES}
    assert {t for t, _ in search(live, Instance=anchor, DagDeal=True, DagDepth=3)} == {
        DWS_DAILY_SALES,
        ADS_SALES_DASHBOARD,
        ADS_PARTNER_EXPORT,
    }
    assert {t for t, _ in search(live, Instance=anchor, DagDeal=True, DagType="1")} == {DWD_ORDERS, DWD_PAYMENTS}


def test_bad_describe_parameters_get_tencents_codes(live: Live) -> None:
    def ask(**params: Any) -> str | None:
        return error_code(live.call(DESCRIBE, in_project(RETAIL_DW, **params)))

    assert ask(PageIndex=0) == "InvalidParameterValue"
    assert ask(PageSize="10") == "InvalidParameterValue"
    assert ask(SearchCondition={"StateList": ["4"]}) == "InvalidParameterValue"
    assert ask(SearchCondition={"DagDeal": True}) == "MissingParameter"
    assert ask(SearchCondition={"DagDeal": True, "Instance": instance("nope")}) == "ResourceNotFound"
    assert ask(ProjectIdent="404404") == "UnauthorizedOperation"


def test_an_instances_fields_follow_the_sdks_instance_ops_dto(live: Live) -> None:
    condition = {"TaskIdList": [ADS_PARTNER_EXPORT], "DateFrom": YESTERDAY}
    data = live.call(DESCRIBE, in_project(GROWTH_BI, SearchCondition=condition))
    item = data["Data"]["Items"][0]
    assert item["State"] == "12" and item["ProjectId"] == GROWTH_BI and item["WorkflowName"] == "ads_reports_nightly"
    # The seed's prompt-injection text arrives as plain data in TaskName, nothing more.
    assert "ignore previous instructions" in item["TaskName"]
    assert item["CurRunDate"] == YESTERDAY and item["NextCurDate"] == "2026-11-25 00:00:00"


def test_last_log_of_an_instance_and_of_a_missing_one(live: Live) -> None:
    assert "ERROR Container killed by YARN" in live.call("DescribeInstanceLastLog", instance(DWS_USER_ACTIVITY))["Data"]
    assert error_code(live.call("DescribeInstanceLastLog", instance(DWS_USER_ACTIVITY, DAY_BEFORE + "x"))) == (
        "InvalidParameterValue"
    )
    assert error_code(live.call("DescribeInstanceLastLog", {"TaskId": ODS_PAYMENTS})) == "MissingParameter"
    assert error_code(live.call("DescribeInstanceLastLog", instance("nope"))) == "ResourceNotFound"


def test_depend_ops_tasks_walks_up_and_down(live: Live) -> None:
    up = live.call("DescribeDependOpsTasks", {"TaskId": DWS_DAILY_SALES, "Deep": 6, "Up": 1})["Data"]
    assert {t["TaskId"] for t in up["TasksList"]} == {
        DWS_DAILY_SALES,
        DWD_ORDER_FACTS,
        DWD_ORDERS,
        DWD_PAYMENTS,
        ODS_ORDERS,
        ODS_PAYMENTS,
        "20240307220104702",
        "20240226155012702",
    }
    down = live.call("DescribeDependOpsTasks", {"TaskId": DWS_DAILY_SALES, "Deep": 1, "Up": 0})["Data"]
    assert [(link["TaskFrom"], link["TaskTo"], link["LinkType"]) for link in down["LinksList"]] == [
        (DWS_DAILY_SALES, ADS_SALES_DASHBOARD, "virtual_real")
    ]
    assert error_code(live.call("DescribeDependOpsTasks", {"TaskId": "nope"})) == "ResourceNotFound"


def test_a_world_loads_from_a_users_own_file(tmp_path: Path) -> None:
    seed = {
        "now": "2030-01-02 08:00:00",
        "projects": [{"project_id": "p1", "project_name": "mini", "project_ident": "mini"}],
        "workflows": [{"workflow_id": "w1", "workflow_name": "wf", "project_id": "p1"}],
        "tasks": [
            {"task_id": "a", "task_name": "a", "workflow_id": "w1", "in_charge": "me"},
            {"task_id": "b", "task_name": "b", "workflow_id": "w1", "in_charge": "me", "upstream": ["a"]},
        ],
        "instances": [
            {"task_id": "a", "cur_run_date": "2030-01-01 00:00:00", "state": "4"},
            {"task_id": "b", "cur_run_date": "2030-01-01 00:00:00", "state": "12"},
        ],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    world = World.from_file(path)
    assert [k.task_id for k in world.downstream_instances(world.instance("a", "2030-01-01 00:00:00").key)] == ["b"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tasks": [{"task_id": "a", "task_name": "a", "workflow_id": "w9", "in_charge": "me"}]}, "unknown workflow"),
        ({"instances": [{"task_id": "a", "cur_run_date": "2030-01-01", "state": "2"}]}, "cur_run_date"),
        ({"instances": [{"task_id": "a", "cur_run_date": "2030-01-01 00:00:00", "state": "99"}]}, "state code"),
        (
            {"tasks": [{"task_id": "a", "task_name": "a", "workflow_id": "w1", "in_charge": "me", "upstream": ["a"]}]},
            "cycle",
        ),
    ],
)
def test_a_broken_seed_is_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    seed: dict[str, Any] = {
        "now": "2030-01-02 08:00:00",
        "projects": [{"project_id": "p1", "project_name": "mini", "project_ident": "mini"}],
        "workflows": [{"workflow_id": "w1", "workflow_name": "wf", "project_id": "p1"}],
        "tasks": [{"task_id": "a", "task_name": "a", "workflow_id": "w1", "in_charge": "me"}],
        "instances": [],
    } | change
    with pytest.raises(ValueError, match=message):
        World.from_dict(seed)
