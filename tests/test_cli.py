"""The command line behaves as users expect, and the package installs with its prompts."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from wedata_mcp import __version__
from wedata_mcp.cli import _parser
from wedata_mcp.cloud.errors import MissingCredentialsError
from wedata_mcp.sandbox.timeline import following
from wedata_mcp.sandbox.world import World

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wedata_mcp", *args], capture_output=True, text=True, timeout=60, check=False
    )


def serve_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`wedata-mcp serve` with exactly `env`, nothing on its stdin: for settings that must stop start-up."""
    return subprocess.run(
        [sys.executable, "-m", "wedata_mcp", "serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout and "sandbox" in result.stdout


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"wedata-mcp {__version__}"


def test_serve_help_documents_transport_and_sandbox() -> None:
    result = run("serve", "--help")
    assert "--transport" in result.stdout and "--sandbox" in result.stdout


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:  # argparse offers no public walk of its parsers
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_flag_and_command_has_help_text() -> None:
    missing = [
        f"{prog} {'/'.join(action.option_strings) or action.dest}"
        for prog, parser in _parsers(_parser())
        for action in parser._actions
        if not action.help or action.help == argparse.SUPPRESS
    ]
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing += [f"command {c.dest}" for c in commands._choices_actions if not c.help]
    assert missing == []


def test_missing_credentials_also_points_to_the_sandbox() -> None:
    message = str(MissingCredentialsError())
    assert "TENCENTCLOUD_SECRET_ID" in message and "--sandbox" in message


def test_http_on_a_taken_port_fails_clearly_without_announcing_a_url() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-m", "wedata_mcp", "serve", "--transport", "http", "--port", port]
        result = subprocess.run(
            command, capture_output=True, text=True, env={"PATH": ""}, timeout=60, check=False, stdin=subprocess.DEVNULL
        )
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "http://" not in result.stderr and "Traceback" not in result.stderr


def test_a_bad_setting_stops_start_up_naming_the_variable() -> None:
    env = {"WEDATA_MCP_APPROVAL": "always", "PATH": ""}
    result = serve_with(env)
    assert result.returncode == 2 and "WEDATA_MCP_APPROVAL" in result.stderr and result.stdout == ""


def test_http_refuses_a_public_address_without_a_token() -> None:
    public = "0.0.0.0"  # noqa: S104 - the point: a public bind without a token must be refused
    command = [sys.executable, "-m", "wedata_mcp", "serve", "--transport", "http", "--host", public]
    result = subprocess.run(command, capture_output=True, text=True, env={"PATH": ""}, timeout=60, check=False)
    assert result.returncode == 2 and "WEDATA_MCP_HTTP_TOKEN" in result.stderr


@pytest.mark.slow
def test_pip_install_into_a_fresh_virtualenv_gives_the_command_and_ships_the_prompts(tmp_path: Path) -> None:
    """The wheel, installed into a fresh virtualenv, gives the command, ships the prompts and declares what it
    needs. The dependencies come from this test environment (a path file), not from the index again: resolving
    and unpacking some 30 packages cost 15 s of CPU here and proves what `pip install -e .` already proved;
    `pip check` proves the wheel's own requirements are met by what it finds."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(wheels.glob("wedata_mcp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("wedata_mcp/prompts/")}
    assert shipped == {p.name for p in (ROOT / "prompts").glob("*.md")}

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    (Path(site) / "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python]
    subprocess.run([*pip, "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=600)
    checked = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = subprocess.run(
        [str(env_dir / "bin" / "wedata-mcp"), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and "serve" in result.stdout
    where = subprocess.run(
        [python, "-c", "import wedata_mcp; print(wedata_mcp.__file__)"], capture_output=True, text=True, timeout=60
    ).stdout
    assert where.startswith(site), where  # the installed wheel, not this checkout


def test_a_shared_token_secret_without_a_shared_store_is_refused() -> None:
    # Otherwise a used token would run again after a restart, or on another replica.
    env = {"PATH": "", "WEDATA_MCP_TOKEN_SECRET": "x" * 32}
    result = serve_with(env)
    assert result.returncode == 2 and "WEDATA_MCP_TOKEN_STORE" in result.stderr


@pytest.mark.parametrize("endpoint", [None, "https://wedata.tencentcloudapi.com", "http://10.0.0.8:9000"])
def test_a_simulators_clock_is_refused_beside_any_endpoint_but_a_local_one(endpoint: str | None) -> None:
    """A shell that ran `eval "$(wedata-mcp sandbox)"` keeps its clock line: pointed at Tencent, the server
    would date its audit and time its tokens by the story. It refuses to start instead."""
    env = {"PATH": "", "WEDATA_MCP_SANDBOX_CLOCK": "1764000000.000,1764000000.000,0.01"}
    result = serve_with(env | ({"WEDATA_ENDPOINT": endpoint} if endpoint else {}))
    assert result.returncode == 2 and "WEDATA_MCP_SANDBOX_CLOCK" in result.stderr, result.stderr
    assert "loopback WEDATA_ENDPOINT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.anyio
async def test_serve_sandbox_needs_no_account_and_keeps_its_own_audit_log(tmp_path: Path) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    production = tmp_path / "production-audit.jsonl"
    env = {"HOME": str(tmp_path), "WEDATA_MCP_AUDIT_LOG": str(production)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "wedata_mcp", "serve", "--sandbox"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.call_tool("find_schedule_instances", {"StateName": ["failed"]})
            assert result.structured_content is not None
            instances = result.structured_content["Instances"]
            selection = [{k: i[k] for k in ("ProjectId", "TaskId", "CurRunDate")} for i in instances]
            preview = await client.call_tool("rerun_schedule_instances", {"Instances": selection})
    assert {i["TaskName"] for i in instances} == {"ods_payments_sync", "dws_user_activity"}
    assert preview.structured_content is not None, preview.content
    # Simulated reruns never land in the production log the environment names.
    assert not production.exists()
    own = tmp_path / ".local" / "state" / "wedata-mcp" / "sandbox" / "audit.jsonl"
    records = [json.loads(line) for line in own.read_text(encoding="utf-8").splitlines()]
    assert [r["event"] for r in records] == ["preview"]
    assert records[0]["endpoint"].startswith("http://127.0.0.1:") and records[0]["region"] == "ap-guangzhou"


@pytest.mark.anyio
async def test_sandbox_prints_shell_lines_that_point_serve_and_tencents_sdk_at_it(tmp_path: Path) -> None:
    import shlex

    from mcp import Client
    from mcp.client.stdio import StdioServerParameters
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.wedata.v20210820 import models, wedata_client

    command = [sys.executable, "-m", "wedata_mcp", "sandbox", "--port", "0"]
    with anyio.fail_after(60):
        async with await anyio.open_process(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as sandbox:
            assert sandbox.stdout is not None
            printed = b""
            while printed.count(b"\n") < 6:  # bounded by fail_after
                printed += await sandbox.stdout.receive()
            exports: dict[str, str] = {}
            for line in printed.decode().splitlines():
                words = shlex.split(line)  # what a shell's `eval` would see
                assert words[0] == "export", line
                name, _, value = words[1].partition("=")
                exports[name] = value
            assert set(exports) == {
                "WEDATA_ENDPOINT",
                "TENCENTCLOUD_SECRET_ID",
                "TENCENTCLOUD_SECRET_KEY",
                "TENCENTCLOUD_REGION",
                "WEDATA_MCP_PROJECT_IDS",  # WeData's reads need a project: the simulator's own
                "WEDATA_MCP_SANDBOX_CLOCK",  # its story's clock: "yesterday" is the seeded world's, not the wall's
            }
            story_now = datetime.fromtimestamp(following(exports["WEDATA_MCP_SANDBOX_CLOCK"], time.time)())
            assert story_now.date() == World.seeded().now.date()
            assert exports["WEDATA_ENDPOINT"].startswith("http://127.0.0.1:")
            # The product, configured by nothing but those lines.
            env = exports | {"HOME": str(tmp_path), "WEDATA_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl")}
            params = StdioServerParameters(command=sys.executable, args=["-m", "wedata_mcp", "serve"], env=env)
            async with Client(params) as client:
                found = await client.call_tool("find_schedule_instances", {"StateName": ["failed"]})
            # And Tencent's own SDK, given the same endpoint and key.
            http = HttpProfile(endpoint=exports["WEDATA_ENDPOINT"].removeprefix("http://"), protocol="http")
            sdk = wedata_client.WedataClient(
                credential.Credential(exports["TENCENTCLOUD_SECRET_ID"], exports["TENCENTCLOUD_SECRET_KEY"]),
                exports["TENCENTCLOUD_REGION"],
                ClientProfile(httpProfile=http),
            )
            request = models.DescribeScheduleInstancesRequest()
            # The printed WEDATA_MCP_PROJECT_IDS names the projects the SDK's required ProjectIdent takes.
            project = exports["WEDATA_MCP_PROJECT_IDS"].split(",")[0]
            request.from_json_string(json.dumps({"ProjectIdent": project, "PageIndex": 1, "PageSize": 10}))
            described = await anyio.to_thread.run_sync(sdk.DescribeScheduleInstances, request)
            sandbox.terminate()
    assert found.structured_content is not None, found.content
    assert {i["TaskName"] for i in found.structured_content["Instances"]} == {"ods_payments_sync", "dws_user_activity"}
    assert described.Data.TotalCount > 0
