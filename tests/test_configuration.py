"""Configuration from the environment names Tencent and the product use; credentials from env or profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from wedata_mcp.cloud.credentials import load_credentials
from wedata_mcp.settings import Settings, SettingsError


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
