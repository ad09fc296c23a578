"""The lineage tool through the MCP client: upstream and downstream of an instance, level by level, read-only,
and what it could not look up said plainly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import SECRET_ID, SECRET_KEY
from tests.inproc import Wire, make_server, no_wait, text
from tests.worlds import CHAIN_DAY, CHAIN_PROJECTS, chain_task, chain_world, small_world
from wedata_mcp.guardrail.lineage import MAX_RELATED
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.world import World

pytestmark = pytest.mark.anyio

TOOL = "get_instance_lineage"


def chain(length: int, **kwargs: Any) -> Sandbox:
    return Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=chain_world(length, **kwargs))


def table_rows(table: list[list[Any]]) -> list[dict[str, Any]]:
    """The text's table (a header row, then rows; null where a row has no value) as the rows it stands for."""
    header, *body = table
    return [{k: v for k, v in zip(header, row, strict=True) if v is not None} for row in body]


def rows(listed: list[dict[str, Any]]) -> list[tuple[int, str, str, str]]:
    return [(i["Level"], i["TaskId"], i["StateName"], i["ProjectId"]) for i in listed]


async def test_lineage_three_levels_deep_names_every_instance_with_its_state_project_and_level(tmp_path: Path) -> None:
    sandbox = chain(8, failed_at=2)
    wire = Wire(sandbox)
    async with Client(make_server(tmp_path, wire)) as client:
        result = await client.call_tool(TOOL, {"TaskId": chain_task(4), "CurRunDate": CHAIN_DAY, "Depth": 3})
    assert not result.is_error, text(result)
    found = result.structured_content
    assert found is not None
    assert found["Instance"]["TaskId"] == chain_task(4)
    assert rows(found["Upstream"]) == [
        (1, chain_task(3), "waiting_upstream", CHAIN_PROJECTS[0]),
        (2, chain_task(2), "failed", CHAIN_PROJECTS[0]),
        (3, chain_task(1), "success", CHAIN_PROJECTS[0]),
    ]
    assert rows(found["Downstream"]) == [
        (1, chain_task(5), "waiting_upstream", CHAIN_PROJECTS[1]),
        (2, chain_task(6), "waiting_upstream", CHAIN_PROJECTS[1]),
        (3, chain_task(7), "waiting_upstream", CHAIN_PROJECTS[1]),
    ]
    assert found["Downstream"][1]["Via"] == chain_task(5)  # the same data time: its TaskId says it
    shown = json.loads(text(result))
    assert found["Downstream"][0]["TaskName"] == "chain_step_5" and "Via" not in table_rows(shown["Upstream"])[0]
    assert found["Projects"] == {CHAIN_PROJECTS[0]: "chain_1", CHAIN_PROJECTS[1]: "chain_2"}
    # The text lists instances as a table, and a listed instance costs the model at most 200 bytes of it.
    assert table_rows(shown["Downstream"]) == [
        {k: v for k, v in i.items() if v is not None} for i in found["Downstream"]
    ]
    assert max(len(json.dumps(row, separators=(",", ":")).encode()) for row in shown["Downstream"][1:]) <= 200
    # Step 8 lies beyond level 3 downstream: nothing failed, but it is not here. Upstream ends at step 1, level 3.
    assert found["Unresolved"] == [] and found["Deeper"] == ["downstream"]
    assert found["Complete"] is False
    assert wire.sent == 0
    # The text is compact JSON whose only nulls are a table's empty cells: what the model reads.
    assert text(result) == json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
    assert "null" not in json.dumps({k: v for k, v in shown.items() if k not in ("Upstream", "Downstream")})


async def test_lineage_in_one_direction_stops_where_the_chain_ends(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(chain(3)))) as client:
        result = await client.call_tool(
            TOOL, {"TaskId": chain_task(1), "CurRunDate": CHAIN_DAY, "Direction": "downstream", "Depth": 5}
        )
    found = result.structured_content
    assert found is not None, text(result)
    assert "Upstream" not in json.loads(text(result)) and "UpstreamCount" not in json.loads(text(result))  # not asked
    assert json.loads(text(result))["DownstreamCount"] == 2
    assert [i["TaskId"] for i in found["Downstream"]] == [chain_task(2), chain_task(3)]
    assert found["Deeper"] == [] and found["Complete"] is True


async def test_a_chain_that_ends_exactly_at_depth_is_complete_not_deeper(tmp_path: Path) -> None:
    """Found by a helper playing the assistant: Deeper was set whenever the last level had instances."""
    async with Client(make_server(tmp_path, Wire(chain(4)))) as client:
        result = await client.call_tool(TOOL, {"TaskId": chain_task(1), "CurRunDate": CHAIN_DAY, "Depth": 3})
    found = result.structured_content
    assert found is not None, text(result)
    assert [i["Level"] for i in found["Downstream"]] == [1, 2, 3]  # steps 2-4: step 4 has no downstream
    assert [i["WorkflowName"] for i in found["Downstream"]] == ["chain_first", "chain_second", "chain_second"]
    assert found["Deeper"] == [] and found["Complete"] is True and found["Unresolved"] == []
    # Step 1 has no upstream: the text leaves the empty list out, and its count says none was found.
    assert "Upstream" not in json.loads(text(result)) and json.loads(text(result))["UpstreamCount"] == 0


async def test_whether_more_lies_beyond_depth_is_looked_up_and_unknown_when_that_fails(tmp_path: Path) -> None:
    sandbox = chain(5)
    async with Client(make_server(tmp_path, Wire(sandbox), backoff=no_wait)) as client:
        # Three levels answer (one look-up each); the look-up beyond level 3 fails.
        sandbox.faults.inject("internal_error", action="DagInstances", times=None, skip=3)
        result = await client.call_tool(
            TOOL, {"TaskId": chain_task(1), "CurRunDate": CHAIN_DAY, "Direction": "downstream", "Depth": 3}
        )
    found = result.structured_content
    assert found is not None, text(result)
    assert len(found["Downstream"]) == 3 and found["Deeper"] == [] and found["Complete"] is False
    assert any("whether downstream goes beyond level 3 is unknown" in note for note in found["Unresolved"]), found


async def test_a_failed_look_up_is_said_and_what_was_found_is_kept(tmp_path: Path) -> None:
    sandbox = chain(5)
    async with Client(make_server(tmp_path, Wire(sandbox), backoff=no_wait)) as client:
        # The origin and its first downstream level answer; every later look-up fails.
        sandbox.faults.inject("internal_error", action="DagInstances", times=None, skip=1)
        result = await client.call_tool(
            TOOL, {"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY, "Direction": "downstream", "Depth": 3}
        )
    found = result.structured_content
    assert found is not None, text(result)
    assert [i["TaskId"] for i in found["Downstream"]] == [chain_task(3)]
    assert found["Complete"] is False
    assert found["Unresolved"] and "InternalError" in found["Unresolved"][0]


async def test_lineage_of_an_unknown_instance_is_a_clear_error(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(chain(2)))) as client:
        result = await client.call_tool(TOOL, {"TaskId": "999", "CurRunDate": CHAIN_DAY})
        bad = await client.call_tool(TOOL, {"TaskId": chain_task(1), "CurRunDate": "yesterday"})
    assert result.is_error and "no instance of task 999" in text(result)
    assert "TaskId is the task's ID, not its name: find_schedule_instances with TaskName finds it" in text(result)
    assert bad.is_error and "CurRunDate" in text(bad)


async def test_a_lineage_too_wide_to_list_is_cut_short_and_says_so(tmp_path: Path) -> None:
    project, workflow = "4000000000000001", "wf-star"
    tasks: list[dict[str, Any]] = [{"task_id": "root", "task_name": "root", "workflow_id": workflow, "in_charge": "o"}]
    tasks += [
        {
            "task_id": f"leaf{n:03}",
            "task_name": f"leaf{n}",
            "workflow_id": workflow,
            "in_charge": "o",
            "upstream": ["root"],
        }
        for n in range(MAX_RELATED + 1)
    ]
    world = World.from_dict(
        {
            "now": "2026-11-25 09:00:00",
            "projects": [{"project_id": project, "project_name": "star", "project_ident": "star"}],
            "workflows": [{"workflow_id": workflow, "workflow_name": "star", "project_id": project}],
            "tasks": tasks,
            "instances": [{"task_id": t["task_id"], "cur_run_date": CHAIN_DAY, "state": "2"} for t in tasks],
        }
    )
    sandbox = Sandbox(accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)}, world=world)
    async with Client(make_server(tmp_path, Wire(sandbox), project_ids=(project,))) as client:
        result = await client.call_tool(TOOL, {"TaskId": "root", "CurRunDate": CHAIN_DAY, "Direction": "downstream"})
    found = result.structured_content
    assert found is not None, text(result)
    assert len(found["Downstream"]) == MAX_RELATED
    assert found["Complete"] is False
    assert found["Unresolved"] == [f"downstream cut short at {MAX_RELATED} instances"]


async def test_a_list_of_one_instance_reads_as_the_same_table_as_a_longer_one(tmp_path: Path) -> None:
    """Found by a helper playing the assistant: one row came as an object, two or more as a table."""
    async with Client(make_server(tmp_path, Wire(chain(3)))) as client:
        one = await client.call_tool(TOOL, {"TaskId": chain_task(2), "CurRunDate": CHAIN_DAY, "Depth": 1})
        two = await client.call_tool(TOOL, {"TaskId": chain_task(1), "CurRunDate": CHAIN_DAY, "Depth": 2})
    header = json.loads(text(one))["Downstream"][0]
    assert header[0] == "TaskId" and json.loads(text(two))["Downstream"][0][0] == "TaskId"
    assert table_rows(json.loads(text(one))["Downstream"]) == [
        {k: v for k, v in row.items() if v is not None} for row in (one.structured_content or {})["Downstream"]
    ]


async def test_looking_beyond_depth_never_starves_the_walk_of_another_direction(tmp_path: Path) -> None:
    """Found by a reviewer: the look beyond Depth upstream (one look-up per instance of its last level) spent the
    budget that the downstream walk then lacked, so downstream the previous release listed went missing."""
    day = "2026-11-24 00:00:00"
    tasks: list[dict[str, Any]] = [{"task_id": f"gp{n:02}"} for n in range(99)]
    tasks += [
        {"task_id": "parent", "upstream": [f"gp{n:02}" for n in range(99)]},
        {"task_id": "sink", "upstream": ["parent"]},
    ]
    tasks += [{"task_id": f"ch{n:02}", "upstream": ["sink"]} for n in range(99)]
    tasks += [{"task_id": "grand", "upstream": ["ch98"]}]
    instances = [{"task_id": t["task_id"], "cur_run_date": day, "state": "2"} for t in tasks]
    sandbox = Sandbox(
        accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)},
        world=small_world(tasks, instances, now="2026-11-25 09:00:00"),
        rate_limit=10**6,
    )
    async with Client(make_server(tmp_path, Wire(sandbox), rate_limit_per_second=1000)) as client:
        result = await client.call_tool(TOOL, {"TaskId": "sink", "CurRunDate": day, "Depth": 2})
    found = result.structured_content
    assert found is not None, text(result)
    assert "grand" in [i["TaskId"] for i in found["Downstream"]]  # the walks come first, whole
    assert len(found["Upstream"]) == 100 and len(found["Downstream"]) == 100
    assert found["Complete"] is False and any("is unknown" in note for note in found["Unresolved"]), found
