"""Context cost: what a model reads of `tools/list` (name, title, description, inputSchema of every tool) and of
a listed instance in `find_schedule_instances`, plus a preview's text, on the seeded world through `mcp.Client`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from tests.inproc import Wire, make_server, new_sandbox

from wedata_mcp.sandbox.world import World

MODEL_FACING = ("name", "title", "description", "inputSchema")
TOOLS_LIST_TARGET = 6000
LISTED_INSTANCE_TARGET = 200
DAY = "2026-11-24"
# The seeded world's failed ods_payments_sync, previewed with every code left out (the widest case).
PREVIEW = {"Instances": [{"TaskId": "20240226155530703", "CurRunDate": f"{DAY} 00:00:00"}]}


def size(value: Any) -> int:
    """Bytes of compact UTF-8 JSON."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


@dataclass
class Context:
    tools: dict[str, int] = field(default_factory=lambda: {})  # model-facing bytes per tool
    rows: list[int] = field(default_factory=lambda: [])  # bytes of each listed instance (its table row)
    page_bytes: int = 0  # the whole text of that page
    listed: int = 0
    preview_bytes: int = 0

    @property
    def tools_list(self) -> int:
        """All tools as one compact JSON list: what a client hands to the model."""
        return sum(self.tools.values()) + len(self.tools) + 1  # brackets and commas

    @property
    def row_max(self) -> int:
        return max(self.rows)

    @property
    def row_mean(self) -> float:
        return sum(self.rows) / len(self.rows)

    @property
    def row_median(self) -> int:
        return sorted(self.rows)[len(self.rows) // 2]


async def measure() -> Context:
    sandbox = new_sandbox()
    sandbox.load(World.seeded())
    out = Context()
    with tempfile.TemporaryDirectory(prefix="wedata-bench-context-") as work:
        async with Client(make_server(Path(work), Wire(sandbox))) as client:
            for tool in (await client.list_tools()).tools:
                listed = tool.model_dump(by_alias=True, exclude_none=True)
                out.tools[tool.name] = size({k: listed[k] for k in MODEL_FACING if k in listed})
            page = await client.call_tool("find_schedule_instances", {"DateFrom": DAY, "DateTo": DAY, "PageSize": 100})
            text = "".join(getattr(block, "text", "") for block in page.content)
            out.page_bytes = len(text.encode())
            table: list[list[Any]] = json.loads(text)["Instances"]
            # Each row of the table, plus the comma that separates it: the cost of one more listed instance.
            out.rows = [size(row) + 1 for row in table[1:]]
            out.listed = len(out.rows)
            preview = await client.call_tool("rerun_schedule_instances", PREVIEW)
            out.preview_bytes = sum(len(getattr(block, "text", "").encode()) for block in preview.content)
    return out


def run() -> Context:
    return anyio.run(measure)
