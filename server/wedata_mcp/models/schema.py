"""JSON schemas trimmed for an LLM's context: every conversation pays for `tools/list` in tokens."""

from __future__ import annotations

from typing import Any, cast


def lean(schema: dict[str, Any], *, drop_null: bool) -> dict[str, Any]:
    """Drop pydantic's auto titles and, for inputs (`drop_null`), the `null` branch of optional fields:
    an omitted field means "not set", so `anyOf [X, null]` with `default: null` says nothing that X doesn't."""
    return cast(dict[str, Any], _lean(schema, drop_null, in_properties=False))


def _lean(node: Any, drop_null: bool, *, in_properties: bool) -> Any:
    if isinstance(node, list):
        return [_lean(item, drop_null, in_properties=False) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    node = cast(dict[str, Any], node)
    if in_properties:  # keys are field names, values are schemas
        return {name: _lean(value, drop_null, in_properties=False) for name, value in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        out[key] = _lean(value, drop_null, in_properties=key in ("properties", "$defs"))
    options = out.get("anyOf")
    if drop_null and isinstance(options, list) and len(cast(list[Any], options)) == 2 and {"type": "null"} in options:
        (kept,) = [o for o in cast(list[dict[str, Any]], options) if o != {"type": "null"}]
        out.pop("anyOf")
        if out.get("default", 0) is None:
            out.pop("default")
        out = {**kept, **out}
    return out
