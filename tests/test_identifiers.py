"""Identifiers are what they look like (issue 11.2): a TaskId, WorkflowId or ProjectId that selects what runs
takes only its documented shape, and names take no invisible characters. Refused before any look-up, through a
real `wedata-mcp serve` process, with an error that names the field and what is wrong, echoing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoint
from tests.inproc import TOOL, text
from tests.spawn import connect, server_env

pytestmark = pytest.mark.anyio

WHEN = "2026-11-24 00:00:00"
REAL = "20240226155530703"  # a seeded task


def _one(**instance: Any) -> dict[str, Any]:
    return {"Instances": [{"TaskId": REAL, "CurRunDate": WHEN} | instance]}


# (arguments, the field path the error must name, words the error must hold)
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (_one(TaskId=REAL + " "), "Instances.0.TaskId", "whitespace (U+0020)"),
    (_one(TaskId=REAL + "\n"), "Instances.0.TaskId", "whitespace (U+000A)"),
    (_one(TaskId="\u200b" + REAL), "Instances.0.TaskId", "invisible format character"),
    (_one(TaskId=REAL + "\u202e"), "Instances.0.TaskId", "U+202E"),
    (_one(TaskId=REAL[:-1] + "\uff13"), "Instances.0.TaskId", "non-ASCII character (U+FF13)"),
    (_one(TaskId=REAL + "\x07"), "Instances.0.TaskId", "control character (U+0007)"),
    (_one(TaskId=""), "Instances.0.TaskId", "empty"),
    (_one(WorkflowId="wf\u00a01"), "Instances.0.WorkflowId", "whitespace (U+00A0)"),
    (_one(ProjectId="1460947878944567296\u2060"), "Instances.0.ProjectId", "U+2060"),
    (_one(TaskName="daily\u2028report"), "Instances.0.TaskName", "U+2028"),
    ({"SearchCondition": {"TaskIdList": [REAL, "a b"]}}, "SearchCondition.TaskIdList.1", "whitespace"),
    ({"SearchCondition": {"ProjectId": "p\t1"}}, "SearchCondition.ProjectId", "whitespace (U+0009)"),
    ({"SearchCondition": {"TaskNameList": ["日报\u200d"]}}, "SearchCondition.TaskNameList.0", "U+200D"),
]


async def test_identifiers_of_any_other_shape_are_refused_before_any_look_up(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    async with connect("stdio", server_env(endpoint.url, tmp_path), tmp_path / "stderr") as client:
        for arguments, field, words in REFUSED:
            result = await client.call_tool(TOOL, arguments)
            message = text(result)
            assert result.is_error, arguments
            assert field in message and words in message, (field, message)
            # Nothing of the value is echoed: only where it is and what is wrong.
            assert "\u200b" not in message and "\u202e" not in message and "a b" not in message
        # Refused from the arguments alone: not one request (not even a look-up) reached WeData.
        assert endpoint.sandbox.requests(verified=None) == []
        # The seed's own example shape (empty optional IDs, a name in any script) still passes validation.
        fine = _one(WorkflowId="", ProjectId="", TaskName="日报 daily", InstanceKey="")
        preview = await client.call_tool(TOOL, fine)
        assert not preview.is_error, text(preview)
    # The valid dry run looked up; nothing reran.
    assert endpoint.sandbox.requests("RunRerunScheduleInstances", verified=None) == []
