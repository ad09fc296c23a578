"""Property-based fuzzing of `rerun_task_instances_async` (API 2025-08-06) through an in-memory MCP session:
arguments drawn from its published inputSchema (hypothesis-jsonschema), and arbitrary JSON objects.

Whatever they are, the answer is a preview or a tool error that names a field, never the SDK's bare crash, and
nothing mutating is ever sent without a token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.inproc import text
from tests.sessions import Session, is_crash, session

TOOL = "rerun_task_instances_async"
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
FIELDS = (
    "ProjectId",
    "InstanceKeyList",
    "RerunType",
    "CheckParentType",
    "SonRangeType",
    "SkipEventListening",
    "RedefineParallelNum",
    "RedefineSelfWorkflowDependency",
    "RedefineParamList",
    "ConfirmationToken",
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with session(tmp_path_factory.mktemp("fuzz-v2025"), api_version="2025-08-06") as found:
        yield found
        assert not found.crashes.records, [r.getMessage() for r in found.crashes.records]


def schema_arguments(live: Session) -> st.SearchStrategy[dict[str, Any]]:
    schema = dict(live.schemas[TOOL])
    schema.pop("properties", None)
    properties = {k: v for k, v in live.schemas[TOOL]["properties"].items() if k != "ConfirmationToken"}
    return from_schema(schema | {"properties": properties, "additionalProperties": False})


def check(live: Session, arguments: dict[str, Any]) -> None:
    before = len(live.sandbox.requests("RerunTaskInstancesAsync", verified=None))
    result = live.call(arguments, TOOL)
    assert not is_crash(result), (arguments, text(result))
    if result.is_error:
        assert any(name in text(result) for name in (*FIELDS, *arguments)), (arguments, text(result))
    else:
        assert result.structured_content is not None and result.structured_content["Status"] == "dry_run"
    assert len(live.sandbox.requests("RerunTaskInstancesAsync", verified=None)) == before == 0


def test_schema_valid_arguments_preview_or_are_refused_by_name(live: Session) -> None:
    @FUZZ
    @given(schema_arguments(live))
    def run(arguments: dict[str, Any]) -> None:
        check(live, arguments)

    run()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def test_arbitrary_objects_never_crash_and_send_nothing(live: Session) -> None:
    keys = st.sampled_from([*FIELDS[:-1], "InstanceKeys", "TaskId", "CurRunDate"]) | st.text(max_size=10)

    @FUZZ
    @given(st.dictionaries(keys, JSON, max_size=5))
    def run(arguments: dict[str, Any]) -> None:
        check(live, arguments)

    run()
