"""Prompts are files: `prompts/list` matches the folder, each renders, and a malformed file fails loudly."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage

from wedata_mcp.prompts import PromptFileError, default_prompts_dir, load_prompts, parse_prompt

pytestmark = pytest.mark.anyio
PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


def test_the_server_reads_the_repository_prompts_folder() -> None:
    assert default_prompts_dir().resolve() == PROMPTS.resolve()


async def test_prompts_list_matches_the_folder(server) -> None:
    expected = {parse_prompt(path).name for path in PROMPTS.glob("*.md")}
    async with Client(server) as client:
        listed = {prompt.name for prompt in (await client.list_prompts()).prompts}
    assert listed == expected and len(expected) >= 2


async def test_every_prompt_renders_with_its_arguments(server) -> None:
    async with Client(server) as client:
        for prompt in (await client.list_prompts()).prompts:
            arguments = {a.name: f"<{a.name}-value>" for a in prompt.arguments or []}
            rendered = await client.get_prompt(prompt.name, arguments)
            body = " ".join(getattr(m.content, "text", "") for m in rendered.messages)
            for value in arguments.values():
                assert value in body
            # find → preview → show the person → confirm, with the tools named.
            assert "find_schedule_instances" in body or "get_schedule_instance" in body, prompt.name
            assert "rerun_schedule_instances" in body and "ConfirmationToken" in body, prompt.name
            if prompt.name.endswith("-zh"):  # written in Chinese, not only named so
                assert sum("\u4e00" <= ch <= "\u9fff" for ch in body) > 50, prompt.name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "front matter"),
        ("---\nname: x\ntitle: t\n---\nbody", "description"),
        ("---\nname: x\ntitle: t\ndescription: d\ncolour: red\n---\nbody", "expected one of"),
        ("---\nname: x\ntitle: t\ndescription: d\n---\nuses $undeclared", "undeclared"),
        ("---\nname: x\ntitle: t\ndescription: d\nargument: a | b\n---\n$a", "argument is"),
    ],
)
def test_a_malformed_prompt_file_fails_loudly_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "broken.md").write_text(text, encoding="utf-8")
    with pytest.raises(PromptFileError, match=problem) as raised:
        load_prompts(tmp_path)
    assert "broken.md" in str(raised.value)


def test_json_braces_in_a_body_survive(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text('---\nname: p\ntitle: t\ndescription: d\n---\n{"RerunType": "1"} $$5\n')
    spec = parse_prompt(tmp_path / "p.md")
    assert spec.template.substitute({}) == '{"RerunType": "1"} $5\n'


async def test_every_prompt_comes_in_english_and_chinese(server: MCPServer[Any]) -> None:
    async with Client(server) as client:
        names = {prompt.name for prompt in (await client.list_prompts()).prompts}
    english = {name for name in names if not name.endswith("-zh")}
    assert len(english) >= 3
    assert {f"{name}-zh" for name in english} == names - english


async def test_every_prompt_names_only_tools_the_server_lists_and_follows_its_rerun_through(
    server: MCPServer[Any],
) -> None:
    async with Client(server) as client:
        listed = (await client.list_tools()).tools
        tools = {tool.name for tool in listed}
        parameters = {name for tool in listed for name in tool.input_schema.get("properties", {})}
        for prompt in (await client.list_prompts()).prompts:
            arguments = {a.name: "x" for a in prompt.arguments or []}
            rendered = await client.get_prompt(prompt.name, arguments)
            body = " ".join(getattr(m.content, "text", "") for m in rendered.messages)
            named = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", body)) - parameters
            assert named <= tools, (prompt.name, named - tools)
            # Explore with lineage, never a dry run; after the rerun, one call tells how it went.
            assert {"get_instance_lineage", "follow_rerun"} <= named, prompt.name
        # The server's instructions say the same, naming only listed tools.
        told = set(re.findall(r"\b([a-z]+(?:_[a-z]+)+)\b", client.instructions or ""))
        assert {"rerun_schedule_instances", "get_instance_lineage", "follow_rerun"} <= told <= tools


def test_today_and_yesterday_are_the_servers_dates_not_arguments(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("---\nname: p\ntitle: t\ndescription: d\n---\n$yesterday..$today\n")
    (prompt,) = load_prompts(tmp_path, today=lambda: date(2026, 11, 25))
    assert prompt.fn() == [UserMessage("2026-11-24..2026-11-25\n")]
    (tmp_path / "p.md").write_text("---\nname: p\ntitle: t\ndescription: d\nargument: today | d | optional\n---\n")
    with pytest.raises(PromptFileError, match="filled by the server"):
        load_prompts(tmp_path)
