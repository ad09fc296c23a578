"""The request model is the tool's input: documented names, documented codes, clear errors."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.conftest import doc_example
from wedata_mcp.models import RunRerunScheduleInstancesRequest as Request


def errors_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as raised:
        Request.model_validate(data)
    return str(raised.value)


def one(**extra: Any) -> dict[str, Any]:
    return {"Instances": [{"TaskId": "20240307215220701", "CurRunDate": "2024-04-10 00:00:00"}], **extra}


def test_doc_example_body_is_accepted_verbatim_and_sent_unchanged() -> None:
    request = Request.model_validate(doc_example())
    assert request.wire_params() == doc_example()


@pytest.mark.parametrize("given", ["2024-04-0900:00:00", "2024-04-09 00:00:00", "2024-04-09T00:00:00"])
def test_cur_run_date_accepts_both_documented_forms_and_sends_the_spaced_one(given: str) -> None:
    data = {"Instances": [{"TaskId": "1", "CurRunDate": given}]}
    assert Request.model_validate(data).wire_params()["Instances"][0]["CurRunDate"] == "2024-04-09 00:00:00"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({**doc_example(), "Instance": []}, "unknown field 'Instance'"),
        ({**doc_example(), "rerunType": "1"}, "did you mean 'RerunType'"),
        ({"Instances": [{"TaskID": "1", "CurRunDate": "2024-04-10 00:00:00"}]}, "did you mean 'TaskId'"),
        (one(SearchCondition={"TaskIdLst": ["1"]}), "did you mean 'TaskIdList'"),
        (one(RerunType="9"), "RerunType"),
        (one(RerunType=2), "RerunType"),
        (one(SonInstanceType="4"), "SonInstanceType"),
        (one(CheckFather="yes"), "CheckFather"),
        (one(CheckParentType="SOME"), "CheckParentType"),
        ({"SearchCondition": {"StateList": [99]}}, "SearchCondition.StateList.0"),  # not a documented state
        ({"SearchCondition": {"StateList": [True]}}, "SearchCondition.StateList.0"),
        (one(DataTimeOrder=3), "DataTimeOrder"),
        ({"Instances": [{"TaskId": "1", "CurRunDate": "yesterday"}]}, "CurRunDate"),
        ({"Instances": [{"TaskId": "1", "CurRunDate": "2024-02-30 00:00:00"}]}, "CurRunDate"),
        ({"Instances": [{"TaskId": "", "CurRunDate": "2024-04-10 00:00:00"}]}, "TaskId"),
        ({"Instances": [{"CurRunDate": "2024-04-10 00:00:00"}]}, "TaskId"),
        ({"Instances": []}, "Instances"),
        ({}, "Instances"),
    ],
)
def test_bad_input_is_rejected_with_the_field_named(data: dict[str, Any], expected: str) -> None:
    assert expected in errors_of(data)


def test_errors_do_not_echo_the_callers_values() -> None:
    assert "s3cr3t-looking-value" not in errors_of(one(RerunType="s3cr3t-looking-value"))


def test_documented_instance_fields_outside_the_schema_are_passed_through() -> None:
    data = {"Instances": [{"TaskId": "1", "CurRunDate": "2024-04-10 00:00:00", "YarnQueue": "root.etl"}]}
    assert Request.model_validate(data).wire_params()["Instances"][0]["YarnQueue"] == "root.etl"


def test_search_condition_alone_is_a_selection() -> None:
    request = Request.model_validate({"SearchCondition": {"WorkflowIdList": ["wf1"], "StateList": [4]}})
    assert request.wire_params() == {"SearchCondition": {"WorkflowIdList": ["wf1"], "StateList": [4]}}


def test_schema_lists_documented_codes_as_enums() -> None:
    properties = Request.model_json_schema()["properties"]

    def enum_of(name: str) -> list[Any]:
        return next(option["enum"] for option in properties[name]["anyOf"] if "enum" in option)

    assert enum_of("RerunType") == ["1", "2", "3"]
    assert enum_of("SonInstanceType") == ["1", "2", "3"]
    assert enum_of("DependentWay") == ["1", "2", "3"]
    assert enum_of("CheckParentType") == ["ALL", "MAKE_SCOPE", "NONE"]
    assert "downstream" in properties["RerunType"]["description"]


@pytest.mark.anyio
async def test_string_parameters_that_look_like_json_stay_strings(tmp_path: Path) -> None:
    from mcp import Client

    from tests.inproc import TOOL, Wire, make_server, new_sandbox

    arguments = doc_example() | {"ReDoParams": "null", "AppParam": '{"spark.executor.memory": "8g"}'}
    async with Client(make_server(tmp_path, Wire(new_sandbox()))) as client:
        result = await client.call_tool(TOOL, arguments | {"Instances": json.dumps(doc_example()["Instances"])})
    assert result.structured_content is not None, result.content
    request = result.structured_content["Request"]
    assert request["ReDoParams"] == "null" and request["AppParam"] == '{"spark.executor.memory": "8g"}'
    assert request["Instances"][0]["TaskId"] == "20240307215220701"  # a list sent as JSON text still works


def _by_strptime(text: str) -> datetime | None:
    """The parser data times had before: the same shape check, then strptime (slow, but the reference)."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T]?(\d{2}:\d{2}:\d{2})", text.strip(), re.ASCII)
    if match is None:
        return None
    try:
        return datetime.strptime(f"{match[1]} {match[2]}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


@settings(derandomize=True, database=None, max_examples=1000)
@given(
    st.one_of(
        st.from_regex(r"\A ?[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]?[0-9]{2}:[0-9]{2}:[0-9]{2} ?\Z"),
        st.text(alphabet="0123456789-: T", max_size=22),
    )
)
def test_data_times_are_read_exactly_as_strptime_read_them(text: str) -> None:
    expected = _by_strptime(text)
    try:
        got = Request.model_validate({"Instances": [{"TaskId": "1", "CurRunDate": text}]}).Instances
    except ValidationError as exc:
        assert expected is None, (text, exc)
        return
    assert got is not None and got[0].CurRunDate == expected, text
    e = expected
    sent = Request.model_validate({"Instances": [{"TaskId": "1", "CurRunDate": text}]}).wire_params()
    assert sent["Instances"][0]["CurRunDate"] == (
        f"{e.year:04d}-{e.month:02d}-{e.day:02d} {e.hour:02d}:{e.minute:02d}:{e.second:02d}"
    )
