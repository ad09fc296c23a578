"""Server-side policy: each rule refuses with its name and sends nothing, whatever the client does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import audit_records, doc_example
from tests.inproc import TOOL, Wire, make_server, new_sandbox, preview_token, text
from wedata_mcp.guardrail.policy import Policy, PolicyFileError

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("rules", "arguments", "rule"),
    [
        ({"allowed_regions": ["ap-shanghai"]}, doc_example(), "allowed_regions"),
        ({"allowed_projects": ["111"]}, doc_example(), "allowed_projects"),
        ({"allow_skip_event_listening": False}, doc_example(), "allow_skip_event_listening"),
        ({"allow_unchecked_upstream": False}, doc_example() | {"CheckFather": False}, "allow_unchecked_upstream"),
        ({"allow_unchecked_upstream": False}, doc_example() | {"CheckParentType": "NONE"}, "allow_unchecked_upstream"),
        (
            {"allow_cross_project_downstream": False},
            doc_example() | {"SonInstanceType": "3"},
            "allow_cross_project_downstream",
        ),
        ({"max_instances": 1}, doc_example() | {"Instances": doc_example()["Instances"] * 2}, "max_instances"),
    ],
    ids=["region", "project", "skip-events", "check-father", "check-parent-none", "cross-project", "max-instances"],
)
async def test_each_rule_refuses_the_dry_run_naming_the_rule(
    tmp_path: Path, rules: dict[str, Any], arguments: dict[str, Any], rule: str
) -> None:
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire, policy=Policy(**rules))) as client:
        result = await client.call_tool(TOOL, arguments)
    assert result.is_error and f"policy rule '{rule}'" in text(result)
    assert wire.sent == 0
    assert audit_records(tmp_path / "audit.jsonl")[-1]["rule"] == rule


async def test_a_policy_tightened_after_the_dry_run_still_refuses_the_execution(tmp_path: Path) -> None:
    sandbox = new_sandbox()
    async with Client(make_server(tmp_path, Wire(sandbox))) as permissive:
        token = await preview_token(permissive)
    wire = Wire(sandbox)
    strict = make_server(tmp_path, wire, policy=Policy(allow_skip_event_listening=False))
    async with Client(strict) as client:
        result = await client.call_tool(TOOL, doc_example() | {"ConfirmationToken": token})
    assert result.is_error and "allow_skip_event_listening" in text(result)
    assert wire.sent == 0


async def test_executions_per_minute_are_capped(tmp_path: Path) -> None:
    wire = Wire(new_sandbox())
    async with Client(make_server(tmp_path, wire, policy=Policy(max_executions_per_minute=2))) as client:
        outcomes = []
        for rerun_type in ("1", "2", "1"):  # (RerunType 3 of the doc's instance would rerun nothing: no token)
            arguments = doc_example() | {"RerunType": rerun_type}
            token = await preview_token(client, arguments)
            outcomes.append(await client.call_tool(TOOL, arguments | {"ConfirmationToken": token}))
    assert [o.is_error for o in outcomes] == [False, False, True]
    assert "max_executions_per_minute" in text(outcomes[2])
    assert wire.sent == 2


async def test_read_only_policy_hides_the_tool(tmp_path: Path) -> None:
    async with Client(make_server(tmp_path, Wire(new_sandbox()), policy=Policy(read_only=True))) as client:
        assert TOOL not in [t.name for t in (await client.list_tools()).tools]


def test_policy_file_is_toml_with_a_policy_table(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[policy]\nallowed_regions = ["ap-guangzhou"]\nmax_instances = 50\n')
    policy = Policy.from_file(path)
    assert policy.allowed_regions == ["ap-guangzhou"] and policy.max_instances == 50


@pytest.mark.parametrize(
    "content", ["[policy]\nmax_instance = 5\n", "not toml at all [", "[policy]\nmax_instances = 0\n"]
)
def test_a_bad_policy_file_fails_closed(tmp_path: Path, content: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(content)
    with pytest.raises(PolicyFileError, match=r"policy\.toml"):
        Policy.from_file(path)


def test_a_bad_policy_file_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[policy]\nallow_everything = true\n")
    result = subprocess.run(
        [sys.executable, "-m", "wedata_mcp", "serve"],
        env={"PATH": "", "WEDATA_MCP_POLICY_FILE": str(path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "allow_everything" in result.stderr


# The seeded night: ods_payments_sync (retail_dw) failed; its downstream reaches growth_bi across workflows.
ODS_PAYMENTS = {"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}
RETAIL_DW = "127890865433555"


@pytest.mark.parametrize(
    ("rules", "rerun", "rule"),
    [
        ({"max_instances": 3}, {"RerunType": "2", "SonInstanceType": "2"}, "max_instances"),  # 1 listed, 4 touched
        ({"allowed_projects": [RETAIL_DW]}, {"RerunType": "2", "SonInstanceType": "3"}, "allowed_projects"),
    ],
    ids=["max-instances-after-downstream", "project-reached-only-downstream"],
)
async def test_rules_on_the_blast_radius_count_the_downstream(
    tmp_path: Path, rules: dict[str, Any], rerun: dict[str, str], rule: str
) -> None:
    wire = Wire(new_sandbox())
    arguments = {"Instances": [ODS_PAYMENTS], "CheckFather": False} | rerun
    async with Client(make_server(tmp_path, wire, policy=Policy(**rules))) as client:
        allowed = await client.call_tool(TOOL, arguments | {"RerunType": "1"})  # the instance alone is fine
        refused = await client.call_tool(TOOL, arguments)
    assert not allowed.is_error, text(allowed)
    assert refused.is_error and f"policy rule '{rule}'" in text(refused), text(refused)
    assert wire.sent == 0


@pytest.mark.parametrize("resolve", [True, False])
async def test_a_search_condition_is_resolved_unless_policy_passes_it_through(tmp_path: Path, resolve: bool) -> None:
    sandbox = new_sandbox()
    wire = Wire(sandbox)
    search = {"SearchCondition": {"StateList": [4], "DateFrom": "2026-11-24 00:00:00"}, "RerunType": "1"}
    async with Client(make_server(tmp_path, wire, policy=Policy(resolve_search_condition=resolve))) as client:
        preview = await client.call_tool(TOOL, search)
        assert preview.structured_content, text(preview)
        confirmed = search | {"ConfirmationToken": preview.structured_content["ConfirmationToken"]}
        result = await client.call_tool(TOOL, confirmed)
    assert not result.is_error, text(result)
    (sent,) = sandbox.requests("RunRerunScheduleInstances")
    body = sent.json()
    assert body == preview.structured_content["Request"]
    if resolve:  # what was confirmed is the two failed instances it selected at the preview
        assert "SearchCondition" not in body and len(body["Instances"]) == 2
    else:  # WeData evaluates the condition itself when it runs
        assert "Instances" not in body and body["SearchCondition"]["StateList"] == [4]
