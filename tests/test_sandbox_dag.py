"""The simulator's DagInstances and its refusals of look-ups that lack a parameter the SDK marks required."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_sandbox_support import (
    ADS_PARTNER_EXPORT,
    ADS_SALES_DASHBOARD,
    DWD_ORDER_FACTS,
    DWD_ORDERS,
    DWD_PAYMENTS,
    DWS_DAILY_SALES,
    GROWTH_BI,
    RETAIL_DW,
    Live,
    error_code,
    in_project,
    instance,
    live_sandbox,
)

DAG = "DagInstances"
DESCRIBE = "DescribeScheduleInstances"


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


@pytest.fixture(autouse=True)
def _fresh_window(live: Live) -> None:
    live.clock.advance(1.0)


def dag(live: Live, **condition: Any) -> dict[str, Any]:
    """DagInstances as its API page's example asks: the instance and the DAG options in SearchCondition."""
    return live.call(DAG, {"SearchCondition": condition, "ProjectId": RETAIL_DW, "PageIndex": 1, "PageSize": 100})


def tasks(answer: dict[str, Any]) -> set[str]:
    return {item["TaskId"] for item in answer["Data"]["Items"]}


def test_dag_instances_lists_children_or_parents_level_by_level_across_projects(live: Live) -> None:
    anchor = instance(DWD_ORDER_FACTS)
    assert tasks(dag(live, Instance=anchor, DagType="2", DagDepth=1)) == {DWS_DAILY_SALES}
    # Three levels down reach the growth_bi project: the DAG is not cut at the request's ProjectId.
    deep = dag(live, Instance=anchor, DagType="2", DagDependent="3", DagDepth=3)
    assert tasks(deep) == {DWS_DAILY_SALES, ADS_SALES_DASHBOARD, ADS_PARTNER_EXPORT}
    assert {item["ProjectId"] for item in deep["Data"]["Items"]} == {RETAIL_DW, GROWTH_BI}
    assert tasks(dag(live, Instance=anchor, DagType="1")) == {DWD_ORDERS, DWD_PAYMENTS}
    # "1 自依赖" alone: the simulated world has no self-dependencies.
    assert tasks(dag(live, Instance=anchor, DagType="1", DagDependent="1")) == set()


def test_dag_instances_pages_its_answer_as_a_collection(live: Live) -> None:
    condition = {"Instance": instance(DWD_ORDER_FACTS), "DagType": "2", "DagDepth": 3}
    seen: list[str] = []
    for page in (1, 2):
        params = {"SearchCondition": condition, "ProjectId": RETAIL_DW, "PageIndex": page, "PageSize": 2}
        data = live.call(DAG, params)["Data"]
        assert (data["TotalCount"], data["TotalPage"], data["PageNumber"]) == (3, 2, page)
        seen += [item["TaskId"] for item in data["Items"]]
    assert sorted(seen) == sorted({DWS_DAILY_SALES, ADS_SALES_DASHBOARD, ADS_PARTNER_EXPORT})
    # The documented example's page size (10000) is the largest one.
    assert error_code(live.call(DAG, {"SearchCondition": condition, "PageSize": 10_000})) is None
    assert error_code(live.call(DAG, {"SearchCondition": condition, "PageSize": 10_001})) == "InvalidParameterValue"


def test_dag_instances_refuses_what_its_reference_does_not_allow(live: Live) -> None:
    anchor = instance(DWD_ORDER_FACTS)
    assert error_code(live.call(DAG, {"ProjectId": RETAIL_DW})) == "MissingParameter"
    assert error_code(live.call(DAG, {"SearchCondition": {"DagType": "2"}})) == "MissingParameter"
    assert error_code(dag(live, Instance=instance("nope"))) == "ResourceNotFound"
    assert error_code(dag(live, Instance=anchor, DagDepth=7)) == "InvalidParameterValue"  # 取值 1-6
    assert error_code(live.call(DAG, {"SearchCondition": {"Instance": anchor}, "ProjectId": "404"})) == (
        "UnauthorizedOperation"
    )


@pytest.mark.parametrize("left_out", ["ProjectIdent", "PageIndex", "PageSize"])
def test_describe_without_a_required_parameter_is_missing_parameter(live: Live, left_out: str) -> None:
    params = in_project(RETAIL_DW)
    del params[left_out]
    answer = live.call(DESCRIBE, params)
    assert error_code(answer) == "MissingParameter"
    assert left_out in answer["Error"]["Message"]


def test_describe_with_project_ids_needs_project_id(live: Live) -> None:
    # DescribeScheduleInstancesRequest.ProjectIds: "该字段传入时 ProjectId 字段也必须传".
    assert error_code(live.call(DESCRIBE, in_project(RETAIL_DW, ProjectIds=[RETAIL_DW]))) == "MissingParameter"
    with_id = in_project(RETAIL_DW, ProjectIds=[RETAIL_DW], ProjectId=RETAIL_DW)
    assert error_code(live.call(DESCRIBE, with_id)) is None
