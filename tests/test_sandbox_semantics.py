"""RunRerunScheduleInstances on the seeded DAG, over loopback HTTP: what each RerunType x SonInstanceType
reruns, what CheckFather refuses, how instances are selected, and which inputs are refused.

Expected sets are written out from seed.json by hand (see the DAG in test_sandbox_support), not computed
by the simulator's own expansion: ods -> dwd -> dws live in project retail_dw (workflows ods_ingest,
dwd_build, dws_aggregate), ads in project growth_bi.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import doc_example
from tests.test_sandbox_support import (
    ADS_PARTNER_EXPORT,
    ADS_SALES_DASHBOARD,
    ADS_USER_RETENTION,
    DWD_ORDER_FACTS,
    DWD_ORDERS,
    DWD_PAYMENTS,
    DWD_USERS,
    DWS_DAILY_SALES,
    DWS_USER_ACTIVITY,
    GROWTH_BI,
    ODS_ORDERS,
    ODS_PAYMENTS,
    YESTERDAY,
    Live,
    error_code,
    instance,
    live_sandbox,
)
from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.expansion import expand_rerun
from wedata_mcp.sandbox.world import World

ACTION = "RunRerunScheduleInstances"


@pytest.fixture(scope="module")
def _server() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


@pytest.fixture
def live(_server: Live) -> Live:
    return _server.fresh()


def rerun(live: Live, **params: Any) -> dict[str, Any]:
    return live.call(ACTION, params)


def rerun_set(live: Live) -> set[str]:
    """Task IDs of the last accepted rerun (all yesterday's instances in these tests)."""
    record = live.sandbox.world.rerun_records[-1]
    assert {k.cur_run_date for k in record.rerun} == {YESTERDAY}
    return {k.task_id for k in record.rerun}


DOWNSTREAM_CASES = [
    # dwd_orders_clean (workflow dwd_build, project retail_dw) -> dwd_order_facts (same workflow)
    # -> dws_daily_sales (dws_aggregate, same project) -> ads_sales_dashboard (growth_bi) -> ads_partner_export
    (DWD_ORDERS, "1", "1", {DWD_ORDERS}),
    (DWD_ORDERS, "1", "2", {DWD_ORDERS}),
    (DWD_ORDERS, "1", "3", {DWD_ORDERS}),
    (DWD_ORDERS, "2", "1", {DWD_ORDERS, DWD_ORDER_FACTS}),
    (DWD_ORDERS, "2", "2", {DWD_ORDERS, DWD_ORDER_FACTS, DWS_DAILY_SALES}),
    (DWD_ORDERS, "2", "3", {DWD_ORDERS, DWD_ORDER_FACTS, DWS_DAILY_SALES, ADS_SALES_DASHBOARD, ADS_PARTNER_EXPORT}),
    (DWD_ORDERS, "3", "1", {DWD_ORDER_FACTS}),
    (DWD_ORDERS, "3", "2", {DWD_ORDER_FACTS, DWS_DAILY_SALES}),
    (DWD_ORDERS, "3", "3", {DWD_ORDER_FACTS, DWS_DAILY_SALES, ADS_SALES_DASHBOARD, ADS_PARTNER_EXPORT}),
    # dwd_users_clean has no child in its own workflow; two in dws_aggregate, three more in growth_bi.
    (DWD_USERS, "2", "1", {DWD_USERS}),
    (DWD_USERS, "2", "2", {DWD_USERS, DWS_USER_ACTIVITY, DWS_DAILY_SALES}),
    (
        DWD_USERS,
        "2",
        "3",
        {DWD_USERS, DWS_USER_ACTIVITY, DWS_DAILY_SALES, ADS_USER_RETENTION, ADS_SALES_DASHBOARD, ADS_PARTNER_EXPORT},
    ),
    (DWD_USERS, "3", "2", {DWS_USER_ACTIVITY, DWS_DAILY_SALES}),
    # ods_orders_sync's only child is in another workflow: scope "1" stops at once, "2" follows it.
    (ODS_ORDERS, "2", "1", {ODS_ORDERS}),
    (ODS_ORDERS, "2", "2", {ODS_ORDERS, DWD_ORDERS, DWD_ORDER_FACTS, DWS_DAILY_SALES}),
]


@pytest.mark.parametrize(("task_id", "rerun_type", "son_instance_type", "expected"), DOWNSTREAM_CASES)
def test_rerun_type_and_downstream_scope_select_exactly_the_documented_instances(
    live: Live, task_id: str, rerun_type: str, son_instance_type: str, expected: set[str]
) -> None:
    response = rerun(
        live, Instances=[instance(task_id)], RerunType=rerun_type, SonInstanceType=son_instance_type, CheckFather=False
    )
    assert response["Data"] == {"Result": True, "ErrorId": None, "ErrorDesc": None}
    assert rerun_set(live) == expected
    # The pure expansion other code previews with agrees with what the endpoint did.
    request = {"Instances": [instance(task_id)], "RerunType": rerun_type, "SonInstanceType": son_instance_type}
    assert {k.task_id for k in expand_rerun(World.seeded(), request).rerun} == expected


def test_only_children_with_no_child_in_scope_is_refused_and_changes_nothing(live: Live) -> None:
    response = rerun(live, Instances=[instance(DWD_USERS)], RerunType="3", SonInstanceType="1")
    assert error_code(response) == "FailedOperation"
    assert "nothing to rerun" in response["Error"]["Message"]
    assert live.sandbox.world.rerun_records == []


def test_rerun_type_and_scope_default_to_the_narrowest(live: Live) -> None:
    rerun(live, Instances=[instance(DWD_ORDERS)])
    assert rerun_set(live) == {DWD_ORDERS}
    rerun(live, Instances=[instance(DWD_ORDERS)], RerunType="2")
    assert rerun_set(live) == {DWD_ORDERS, DWD_ORDER_FACTS}


def test_check_father_refuses_when_an_upstream_instance_has_not_succeeded(live: Live) -> None:
    response = rerun(live, Instances=[instance(DWD_PAYMENTS)], RerunType="1", CheckFather=True)
    assert error_code(response) == "FailedOperation"
    message = response["Error"]["Message"]
    assert ODS_PAYMENTS in message and "failed" in message and "CheckFather" in message
    assert live.sandbox.world.rerun_records == []
    assert live.sandbox.world.instance(DWD_PAYMENTS, YESTERDAY).state == states.WAITING_UPSTREAM


def test_without_check_father_the_same_rerun_is_accepted_and_starts_at_once(live: Live) -> None:
    response = rerun(live, Instances=[instance(DWD_PAYMENTS)], RerunType="1", CheckFather=False)
    assert response["Data"]["Result"] is True
    assert rerun_set(live) == {DWD_PAYMENTS}
    assert live.sandbox.world.instance(DWD_PAYMENTS, YESTERDAY).state == states.RUNNING


def test_check_father_passes_when_the_failed_upstream_reruns_in_the_same_request(live: Live) -> None:
    response = rerun(live, Instances=[instance(ODS_PAYMENTS)], RerunType="2", SonInstanceType="3", CheckFather=True)
    assert response["Data"]["Result"] is True
    assert rerun_set(live) == {
        ODS_PAYMENTS,
        DWD_PAYMENTS,
        DWD_ORDER_FACTS,
        DWS_DAILY_SALES,
        ADS_SALES_DASHBOARD,
        ADS_PARTNER_EXPORT,
    }


@pytest.mark.parametrize(
    ("check_parent_type", "accepted"), [(None, False), ("ALL", False), ("MAKE_SCOPE", True), ("NONE", True)]
)
def test_check_parent_type_decides_whose_upstream_check_father_checks(
    live: Live, check_parent_type: str | None, accepted: bool
) -> None:
    # dwd_orders_clean's own upstream succeeded, but its child dwd_order_facts also waits on dwd_payments_clean.
    params: dict[str, Any] = {
        "Instances": [instance(DWD_ORDERS)],
        "RerunType": "2",
        "SonInstanceType": "1",
        "CheckFather": True,
    }
    if check_parent_type:
        params["CheckParentType"] = check_parent_type
    response = rerun(live, **params)
    assert (error_code(response) is None) == accepted
    if not accepted:
        assert DWD_PAYMENTS in response["Error"]["Message"]


def test_search_condition_selects_yesterdays_failed_instances(live: Live) -> None:
    condition = {"StateList": [4], "DateFrom": YESTERDAY, "DateTo": YESTERDAY}
    response = rerun(live, SearchCondition=condition, RerunType="1")
    assert response["Data"]["Result"] is True
    assert rerun_set(live) == {ODS_PAYMENTS, DWS_USER_ACTIVITY}


def test_search_condition_matching_nothing_is_resource_not_found(live: Live) -> None:
    response = rerun(live, SearchCondition={"TaskIdList": ["no-such-task"]}, RerunType="1")
    assert error_code(response) == "ResourceNotFound"


def test_unknown_instance_is_resource_not_found_and_nothing_reruns(live: Live) -> None:
    response = rerun(live, Instances=[instance(DWD_ORDERS), instance("20990101000000000")], RerunType="1")
    assert error_code(response) == "ResourceNotFound"
    assert "20990101000000000" in response["Error"]["Message"]
    assert live.sandbox.world.rerun_records == []


def test_instance_outside_the_given_project_is_resource_not_found(live: Live) -> None:
    response = rerun(live, Instances=[instance(DWD_ORDERS)], RerunType="1", ProjectId=GROWTH_BI)
    assert error_code(response) == "ResourceNotFound"


def test_a_data_time_with_no_instance_is_resource_not_found(live: Live) -> None:
    response = rerun(live, Instances=[instance(DWD_ORDERS, "2026-11-25 00:00:00")], RerunType="1")
    assert error_code(response) == "ResourceNotFound"


def test_async_mode_returns_an_async_action_id_that_is_recorded(live: Live) -> None:
    response = rerun(live, Instances=[instance(ODS_PAYMENTS)], RerunType="1", AsyncMode=True)
    action_id = response["Data"]["AsyncActionId"]
    assert action_id and live.sandbox.world.rerun_records[-1].async_action_id == action_id


def test_every_accepted_rerun_is_recorded_with_its_parameters(live: Live) -> None:
    rerun(
        live, Instances=[instance(ODS_PAYMENTS)], RerunType="2", SonInstanceType="2", DependentWay="1", CheckFather=True
    )
    record = live.sandbox.world.rerun_records[-1]
    assert (record.rerun_type, record.son_instance_type, record.check_father) == ("2", "2", True)
    assert [k.task_id for k in record.selected] == [ODS_PAYMENTS]
    assert record.params["DependentWay"] == "1"
    assert live.sandbox.world.reruns[-1] == record.params
    # Upstream before downstream, so a reader sees the order WeData runs them in.
    assert [k.task_id for k in record.rerun] == [ODS_PAYMENTS, DWD_PAYMENTS, DWD_ORDER_FACTS, DWS_DAILY_SALES]


def test_the_api_references_example_body_is_accepted_verbatim(live: Live) -> None:
    response = rerun(live, **doc_example())
    assert response["Data"] == {"Result": True, "ErrorId": None, "ErrorDesc": None}
    record = live.sandbox.world.rerun_records[-1]
    assert [tuple(k) for k in record.rerun] == [(DWD_ORDERS, "2024-04-10 00:00:00")]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"RerunType": "1"}, "MissingParameter"),
        ({"Instances": [{"TaskId": DWD_ORDERS}], "RerunType": "1"}, "MissingParameter"),
        ({"Instances": [instance(DWD_ORDERS)], "RerunTyp": "1"}, "UnknownParameter"),
        ({"Instances": [instance(DWD_ORDERS)], "RerunType": "4"}, "InvalidParameterValue"),
        ({"Instances": [instance(DWD_ORDERS)], "RerunType": 1}, "InvalidParameterValue"),
        ({"Instances": [instance(DWD_ORDERS, "yesterday")], "RerunType": "1"}, "InvalidParameterValue"),
    ],
)
def test_bad_parameters_get_tencents_codes_and_rerun_nothing(live: Live, params: dict[str, Any], code: str) -> None:
    response = rerun(live, **params)
    assert error_code(response) == code
    assert live.sandbox.world.rerun_records == []
