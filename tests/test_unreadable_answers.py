"""An answer that cannot be read whole is a failed read, told as one (never as the caller's invalid arguments, and
never as "no instances"): the RequestId kept, and no ConfirmationToken for a rerun it was needed for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.inproc import TOOL, Rewrite, Rewritten, make_server, text
from tests.test_blast_dag import DAY, ROOT, WIDE, star
from tests.worlds import PROJECT_ID

pytestmark = pytest.mark.anyio
V2025 = {"api_version": "2025-08-06"}
ROOT_KEY = f"root_{DAY}"


def data_without(*fields: str) -> Rewrite:
    def rewrite(_: dict[str, Any], response: dict[str, Any]) -> None:
        for field in fields:
            response["Data"].pop(field, None)

    return rewrite


def data_with(field: str, value: Any) -> Rewrite:
    def rewrite(_: dict[str, Any], response: dict[str, Any]) -> None:
        response["Data"][field] = value

    return rewrite


UNCOUNTED = "whether the listing is whole is unknown"
UNREADABLE = "its Data could not be read"
CASES = [
    # action, rewrite, tool, arguments, settings, what the error says
    (
        "DescribeScheduleInstances",
        data_without("TotalCount"),
        "find_schedule_instances",
        {"DateFrom": DAY[:10]},
        {},
        UNCOUNTED,
    ),
    (
        "DescribeScheduleInstances",
        data_with("TotalCount", "many"),
        "find_schedule_instances",
        {"DateFrom": DAY[:10]},
        {},
        UNREADABLE,
    ),
    (
        "DescribeScheduleInstances",
        data_with("Items", [{"TaskId": 7}]),
        "find_schedule_instances",
        {"DateFrom": DAY[:10]},
        {},
        UNREADABLE,
    ),
    ("DescribeScheduleInstances", data_without("TotalCount"), "get_schedule_instance", ROOT, {}, UNCOUNTED),
    (
        "ListTaskInstances",
        data_without("TotalCount", "TotalPageNumber"),
        "list_task_instances",
        {"ProjectId": PROJECT_ID},
        V2025,
        UNCOUNTED,
    ),
    (
        "GetTaskInstance",
        data_with("InstanceKey", 7),
        "get_task_instance",
        {"ProjectId": PROJECT_ID, "InstanceKey": ROOT_KEY},
        V2025,
        UNREADABLE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]}-{n}" for n, c in enumerate(CASES)])
async def test_a_read_only_tool_tells_an_unreadable_answer_as_a_failed_read(case: Any, tmp_path: Path) -> None:
    action, rewrite, tool, arguments, settings, said = case
    sandbox = star(3)
    async with Client(make_server(tmp_path, Rewritten(sandbox, action, rewrite), policy=WIDE, **settings)) as client:
        result = await client.call_tool(tool, arguments)
    message = text(result)
    assert result.is_error and f"{action} (read-only) got no usable answer" in message and said in message, message
    assert "invalid arguments" not in message
    request_id = sandbox.requests(action, verified=None)[-1].request_id
    assert f"RequestId {request_id}" in message, message


async def test_a_last_log_that_is_not_text_is_left_out_not_shown_as_empty(tmp_path: Path) -> None:
    sandbox = star(1)
    wire = Rewritten(sandbox, "DescribeInstanceLastLog", lambda _, response: response.update(Data={"Log": 1}))
    async with Client(make_server(tmp_path, wire)) as client:
        result = await client.call_tool("get_schedule_instance", ROOT)
    found = result.structured_content
    assert found is not None and not result.is_error, text(result)
    assert found["Instance"]["StateName"] == "failed" and found.get("LastLogLines") is None, found


@pytest.mark.parametrize(
    ("action", "arguments", "settings"),
    [
        ("DescribeScheduleInstances", {"Instances": [ROOT], "RerunType": "1"}, {}),
        ("DagInstances", {"Instances": [ROOT], "RerunType": "2", "SonInstanceType": "1"}, {}),
        (
            "ListDownstreamTaskInstances",
            {"ProjectId": PROJECT_ID, "InstanceKeyList": [ROOT_KEY], "RerunType": "2", "SonRangeType": "ALL"},
            V2025,
        ),
    ],
)
async def test_a_rerun_whose_look_up_answered_without_a_count_gets_no_token(
    action: str, arguments: dict[str, Any], settings: dict[str, Any], tmp_path: Path
) -> None:
    sandbox = star(3)
    wire = Rewritten(sandbox, action, data_without("TotalCount", "TotalPageNumber"))
    tool = "rerun_task_instances_async" if settings else TOOL
    async with Client(make_server(tmp_path, wire, policy=WIDE, **settings)) as client:
        result = await client.call_tool(tool, arguments)
    found = result.structured_content
    assert found is not None, text(result)
    assert found.get("ConfirmationToken") is None and found["BlastRadius"]["Resolved"] is False, found
    assert UNCOUNTED in " ".join(found["Warnings"]), found["Warnings"]
    request_id = sandbox.requests(action, verified=None)[-1].request_id
    assert f"RequestId {request_id}" in " ".join(found["BlastRadius"]["Unresolved"]), found["BlastRadius"]
    assert wire.sent == 0
