"""The one place that turns a tool's result into what the model reads: compact JSON, nothing empty, lists of
instances as tables; the full structured content beside it (context is a budget: every byte here is paid for)."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

# Characters a person cannot see (controls, bidi and zero-width marks) stay escaped in the text even though the
# rest is written as UTF-8: cloud text must never reorder or hide what is around it.
_UNSEEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# A list of these rows becomes a table: a header row of column names, then one row of values per item (one row
# too, so that a list reads the same whatever its length).
_ROW_KEY = "TaskId"
# Shown exactly as it is signed and sent, empty strings included (the reference's own example sends dozens).
_VERBATIM = frozenset({"Request"})


def answer(result: BaseModel) -> CallToolResult:
    """The structured content (as the output schema says) and its lean text (what most clients show the model)."""
    data = result.model_dump(mode="json")
    return CallToolResult(content=[TextContent(type="text", text=text_of(data))], structured_content=data)


def text_of(data: Any) -> str:
    """Compact JSON of `data` without null or empty fields, lists of instances as tables."""
    text = json.dumps(visible(data), separators=(",", ":"), ensure_ascii=False)
    return _UNSEEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def visible(node: Any, *, verbatim: bool = False) -> Any:
    """`node` without None, "", [] and {} (False and 0 are facts and stay), lists of instance rows as tables.
    Under a `_VERBATIM` key nothing is dropped, and only rows with the same fields become a table (lossless)."""
    if isinstance(node, dict):
        kept = {k: visible(v, verbatim=verbatim or k in _VERBATIM) for k, v in cast(dict[str, Any], node).items()}
        return kept if verbatim else {k: v for k, v in kept.items() if not _empty(v)}
    if isinstance(node, list):
        items = [visible(v, verbatim=verbatim) for v in cast(list[Any], node)]
        if not verbatim:
            items = [v for v in items if not _empty(v)]
        return table(items) if _rows(items, uniform=verbatim) else items
    return node


def table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Header row (every column any row has, in first-seen order) then the rows; a missing value is null."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return [columns, *[[row.get(c) for c in columns] for row in rows]]


def _rows(items: list[Any], *, uniform: bool) -> bool:
    # Verbatim (the request as sent), one instance stays the object it is; a table only saves bytes from two.
    if len(items) < (2 if uniform else 1) or not all(isinstance(i, dict) and _ROW_KEY in i for i in items):
        return False
    return not uniform or len({tuple(cast(dict[str, Any], i)) for i in items}) == 1


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)
