"""JSON schemas trimmed for an LLM's context: every conversation pays for `tools/list` in tokens."""

from __future__ import annotations

from typing import Any, cast


def lean(schema: dict[str, Any], *, drop_null: bool) -> dict[str, Any]:
    """Drop pydantic's auto titles, examples, default `additionalProperties`, the root description (the tool's
    description says it) and, for inputs (`drop_null`), the `null` branch of optional fields: an omitted field
    means "not set", so `anyOf [X, null]` with `default: null` says nothing that X doesn't."""
    out = cast(dict[str, Any], _lean(schema, drop_null, in_properties=False))
    out.pop("description", None)
    return out


def _without_description(node: Any) -> Any:
    return (
        {k: v for k, v in cast(dict[str, Any], node).items() if k != "description"} if isinstance(node, dict) else node
    )


def _lean(node: Any, drop_null: bool, *, in_properties: bool, in_definitions: bool = False) -> Any:
    if isinstance(node, list):
        return [_lean(item, drop_null, in_properties=False) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    node = cast(dict[str, Any], node)
    if in_properties:  # keys are field names, values are schemas
        return {name: _lean(value, drop_null, in_properties=False) for name, value in node.items()}
    if in_definitions:  # a nested model's docstring is for the code; its fields say what the model needs
        return {
            name: _without_description(_lean(value, drop_null, in_properties=False)) for name, value in node.items()
        }
    out: dict[str, Any] = {}
    for key, value in node.items():
        # Auto titles, examples (descriptions give the format) and `additionalProperties: true` (the default)
        # tell a model nothing it needs.
        if (key in ("title", "examples") and not isinstance(value, dict)) or (
            key == "additionalProperties" and value is True
        ):
            continue
        out[key] = _lean(value, drop_null, in_properties=key == "properties", in_definitions=key == "$defs")
    if "default" in out and out["default"] is None:
        out.pop("default")  # an input left out is "not set"; an output's default is never read
    options = out.get("anyOf")
    if isinstance(options, list) and len(cast(list[Any], options)) == 2 and {"type": "null"} in options:
        (kept,) = [o for o in cast(list[dict[str, Any]], options) if o != {"type": "null"}]
        if drop_null:
            out.pop("anyOf")
            out = {**kept, **out}
        elif set(kept) == {"type"} and isinstance(kept["type"], str):
            # An output that may be null: the same schema, said in a third of the bytes.
            out.pop("anyOf")
            out = {"type": [kept["type"], "null"], **out}
    return out
