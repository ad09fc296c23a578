"""Configuration from the environment names Tencent and the product use; credentials from env or profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.spawn import connect, server_env
from wedata_mcp.cloud.credentials import load_credentials
from wedata_mcp.settings import Settings, SettingsError

RERUN = "rerun_schedule_instances"
ON = ["1", "true", "TRUE", "True", "yes", "on", "On"]
OFF = ["0", "false", "FALSE", "no", "No", "off", "OFF", ""]  # an empty value is an unset one
# Spawned servers cost seconds each: every on spelling (the safety side), and each off word in one case or another.
SERVED_OFF = ["0", "FALSE", "no", "Off", ""]
MEANINGLESS = ["maybe", "2", "enable", "t", "y", "-1", "on off"]


def test_defaults_are_safe() -> None:
    settings = Settings.from_env({})
    assert settings.endpoint == "https://wedata.tencentcloudapi.com"
    assert settings.approval == "auto" and settings.read_only is False
    assert settings.token_ttl_seconds == 300


def test_environment_names_are_tencents_and_the_products() -> None:
    settings = Settings.from_env(
        {
            "TENCENTCLOUD_REGION": "ap-shanghai",
            "WEDATA_ENDPOINT": "http://127.0.0.1:9000/",
            "WEDATA_MCP_READ_ONLY": "1",
            "WEDATA_MCP_APPROVAL": "token",
            "WEDATA_MCP_TOKEN_TTL": "60",
        }
    )
    assert (settings.region, settings.endpoint) == ("ap-shanghai", "http://127.0.0.1:9000")
    assert settings.read_only and settings.approval == "token" and settings.token_ttl_seconds == 60


def test_flags_override_the_environment() -> None:
    assert Settings.from_env({"TENCENTCLOUD_REGION": "ap-shanghai"}, region="ap-beijing").region == "ap-beijing"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEDATA_ENDPOINT": "wedata.example"}, "WEDATA_ENDPOINT"),
        ({"WEDATA_MCP_APPROVAL": "always"}, "WEDATA_MCP_APPROVAL"),
        ({"WEDATA_MCP_TOKEN_TTL": "-5"}, "WEDATA_MCP_TOKEN_TTL"),
        ({"WEDATA_MCP_TOKEN_SECRET": "short"}, "WEDATA_MCP_TOKEN_SECRET"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


@pytest.mark.parametrize("spelling", ON)
def test_every_on_spelling_turns_a_switch_on(spelling: str) -> None:
    assert Settings.from_env({"WEDATA_MCP_READ_ONLY": spelling}).read_only is True


@pytest.mark.parametrize("spelling", OFF)
def test_every_off_spelling_leaves_a_switch_off(spelling: str) -> None:
    assert Settings.from_env({"WEDATA_MCP_READ_ONLY": spelling}).read_only is False


@pytest.mark.parametrize("spelling", MEANINGLESS)
def test_a_switch_refuses_a_value_that_means_nothing(spelling: str) -> None:
    with pytest.raises(SettingsError, match="WEDATA_MCP_READ_ONLY"):
        Settings.from_env({"WEDATA_MCP_READ_ONLY": spelling})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEDATA_MCP_APPROVAL", "Token"),  # enums are exact: a near miss is refused, not guessed
        ("WEDATA_MCP_APPROVAL", "none"),
        ("WEDATA_MCP_LANGUAGE", "fr-FR"),
        ("WEDATA_MCP_ON_BATCH_FAILURE", "ignore"),
        ("WEDATA_MCP_TOKEN_TTL", "nan"),
        ("WEDATA_MCP_BATCH_SIZE", "many"),
    ],
)
def test_an_unknown_enum_or_number_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_a_bad_flag_is_named_as_the_flag() -> None:
    with pytest.raises(SettingsError, match="--region"):
        Settings.from_env({"TENCENTCLOUD_REGION": "ap-shanghai"}, region="")


def test_a_flag_overrides_a_bad_variable_without_reading_it() -> None:
    assert Settings.from_env({"WEDATA_MCP_READ_ONLY": "maybe"}, read_only=True).read_only is True


def test_constructing_settings_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the CLI reads the environment (Settings.from_env); a Settings built in code is what it says.
    monkeypatch.setenv("WEDATA_MCP_READ_ONLY", "1")
    assert Settings().read_only is False and Settings.from_env().read_only is True


def test_project_ids_are_comma_separated_and_the_first_is_the_default() -> None:
    settings = Settings.from_env({"WEDATA_MCP_PROJECT_IDS": " 1460947878944567296, dev_proj-2 "})
    assert settings.project_ids == ("1460947878944567296", "dev_proj-2")
    assert Settings.from_env({}).project_ids == ()


@pytest.mark.parametrize("value", ["1,,2", "1,", "a b", "x" * 65, "1;2", "p/1", "1,1"])
def test_a_bad_project_list_names_its_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="WEDATA_MCP_PROJECT_IDS"):
        Settings.from_env({"WEDATA_MCP_PROJECT_IDS": value})


# Through the real `wedata-mcp serve`: what a user's client sees for each spelling of the safety switch.


async def _listed_tools(tmp_path: Path, **env: str) -> set[str]:
    spawned = server_env("http://127.0.0.1:9", tmp_path, **env)
    with anyio.fail_after(60):
        async with connect("stdio", spawned, tmp_path / "stderr.txt") as client:
            return {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.anyio
@pytest.mark.parametrize("spelling", ON)
async def test_served_read_only_on_in_any_spelling_hides_the_rerun_tool(tmp_path: Path, spelling: str) -> None:
    tools = await _listed_tools(tmp_path, WEDATA_MCP_READ_ONLY=spelling)
    assert RERUN not in tools and "find_schedule_instances" in tools


@pytest.mark.anyio
@pytest.mark.parametrize("spelling", SERVED_OFF)
async def test_served_read_only_off_in_any_spelling_lists_the_rerun_tool(tmp_path: Path, spelling: str) -> None:
    assert RERUN in await _listed_tools(tmp_path, WEDATA_MCP_READ_ONLY=spelling)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        *(("WEDATA_MCP_READ_ONLY", spelling) for spelling in ("maybe", "2", "enable")),
        ("WEDATA_MCP_APPROVAL", "TOKEN"),
        ("WEDATA_MCP_LANGUAGE", "english"),
        ("WEDATA_MCP_ON_BATCH_FAILURE", "retry"),
        ("WEDATA_MCP_PROJECT_IDS", "1,,2"),
    ],
)
def test_served_with_a_meaningless_value_stops_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    env = server_env("http://127.0.0.1:9", tmp_path, **{variable: value})
    command = [sys.executable, "-m", "wedata_mcp", "serve"]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 2 and variable in result.stderr and result.stdout == ""


def test_settings_repr_hides_tokens() -> None:
    settings = Settings.from_env({"WEDATA_MCP_HTTP_TOKEN": "bearer-canary", "WEDATA_MCP_TOKEN_SECRET": "x" * 32})
    assert "bearer-canary" not in repr(settings) and "x" * 32 not in str(settings)


def test_credentials_from_environment_with_session_token(tmp_path: Path) -> None:
    creds = load_credentials(
        {"TENCENTCLOUD_SECRET_ID": "AKIDa", "TENCENTCLOUD_SECRET_KEY": "k", "TENCENTCLOUD_SECURITY_TOKEN": "t"},
        tmp_path,
    )
    assert creds is not None and (creds.secret_id, creds.secret_key, creds.token) == ("AKIDa", "k", "t")
    assert "k" not in repr(creds).replace("source", "").replace("Credentials", "")


def test_credentials_from_the_sdk_profile_file(tmp_path: Path) -> None:
    profile = tmp_path / ".tencentcloud" / "credentials"
    profile.parent.mkdir()
    profile.write_text("[default]\nsecret_id = AKIDfile\nsecret_key = filekey\n")
    creds = load_credentials({}, tmp_path)
    assert creds is not None and creds.secret_id == "AKIDfile" and "profile file" in creds.source


def test_no_credentials_anywhere_is_none(tmp_path: Path) -> None:
    assert load_credentials({"TENCENTCLOUD_SECRET_ID": "only-half"}, tmp_path) is None
