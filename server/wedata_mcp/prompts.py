"""MCP prompts kept as files: a small front matter and a `string.Template` body (JSON braces survive).

File format (`prompts/<name>.md`):

    ---
    name: rerun-failed-instances
    title: Rerun failed instances
    description: One line for the prompt picker.
    argument: workflow | Workflow name or ID | required
    argument: date | Data date, YYYY-MM-DD | optional
    ---
    Body text with $workflow and ${date}.

Besides its declared arguments a body may use `$today` and `$yesterday`: dates ('YYYY-MM-DD') on the server's
clock when the prompt is rendered (with --sandbox, the simulator's), so "yesterday" is a date the assistant
passes on rather than one it guesses from its own clock.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument, UserMessage

_KEYS = {"name", "title", "description", "argument"}
BUILT_IN = ("today", "yesterday")  # placeholders the server fills from its clock


class PromptFileError(ValueError):
    """A prompt file is malformed; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class PromptFile:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArgument, ...]
    template: string.Template


def default_prompts_dir() -> Path:
    """The prompts shipped in the wheel, or the repository's `prompts/` folder in a source checkout."""
    packaged = Path(__file__).parent / "prompts"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "prompts"


def parse_prompt(path: Path) -> PromptFile:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise PromptFileError(f"{path.name}: must start with a '---' front matter block")
    end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    meta: dict[str, str] = {}
    arguments: list[PromptArgument] = []
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in _KEYS:
            raise PromptFileError(f"{path.name}:{number}: expected one of {sorted(_KEYS)} as 'key: value'")
        if key == "argument":
            parts = [p.strip() for p in value.split("|")]
            if len(parts) != 3 or parts[2] not in ("required", "optional") or not parts[0].isidentifier():
                raise PromptFileError(f"{path.name}:{number}: argument is 'name | description | required|optional'")
            arguments.append(PromptArgument(name=parts[0], description=parts[1], required=parts[2] == "required"))
        else:
            meta[key] = value
    if set(BUILT_IN) & {a.name for a in arguments}:
        raise PromptFileError(f"{path.name}: {' and '.join(BUILT_IN)} are filled by the server, not arguments")
    for required in ("name", "title", "description"):
        if not meta.get(required):
            raise PromptFileError(f"{path.name}: front matter needs '{required}'")
    template = string.Template("\n".join(lines[end + 1 :]).strip() + "\n")
    if not template.is_valid():
        raise PromptFileError(f"{path.name}: the body has an invalid $placeholder (write $$ for a dollar sign)")
    unknown = set(template.get_identifiers()) - {a.name for a in arguments} - set(BUILT_IN)
    if unknown:
        raise PromptFileError(f"{path.name}: the body uses undeclared arguments {sorted(unknown)}")
    return PromptFile(meta["name"], meta["title"], meta["description"], tuple(arguments), template)


def load_prompts(directory: Path, today: Callable[[], date] = date.today) -> list[Prompt]:
    """Every `*.md` in `directory` as an MCP prompt; a malformed file stops start-up with its name. `today` is
    the server's date, read at each rendering."""
    prompts: list[Prompt] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.md")):
        spec = parse_prompt(path)
        if spec.name in seen:
            raise PromptFileError(f"{path.name}: duplicate prompt name '{spec.name}'")
        seen.add(spec.name)
        prompts.append(_as_prompt(spec, today))
    return prompts


def _as_prompt(spec: PromptFile, today: Callable[[], date]) -> Prompt:
    declared = {a.name for a in spec.arguments}

    def render(**arguments: Any) -> list[UserMessage]:
        now = today()
        values = {"today": now.isoformat(), "yesterday": (now - timedelta(days=1)).isoformat()}
        values |= {name: "" for name in declared} | {k: str(v) for k, v in arguments.items() if k in declared}
        return [UserMessage(spec.template.substitute(values))]

    return Prompt(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        arguments=list(spec.arguments),
        fn=render,
        context_kwarg=None,
    )
