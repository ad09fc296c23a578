"""Every field the product's models name, as Tencent's SDK has it (issue 13.2): each action the product calls,
request and response, nested types included. A field the SDK's model lacks (invented, or named differently,
e.g. `Key` for `StrToStrMap.K`) or types differently fails.

The SDK's types come from its model classes: their attributes (one `_Name` per field) and the `:type Name:`
lines of their docstrings ("str", "int", "bool", "float", "list of X", ":class:`...models.X`"). The product's
come from pydantic's JSON schema of each model, which is what is sent and read on the wire (a `WireDateTime` is a
string there, a `Literal["1", "2"]` a string, `Literal[0, 1, 2]` an integer).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from tencentcloud.wedata.v20210820 import models as sdk

from wedata_mcp.cloud.reader import WeDataReader
from wedata_mcp.models import ACTION, RunRerunScheduleInstancesRequest, RunRerunScheduleInstancesResponse
from wedata_mcp.models.base import DocumentedModel
from wedata_mcp.models.describe import (
    CollectionInstanceOpsDto,
    DagInstancesQuery,
    DescribeInstanceLastLogQuery,
    DescribeScheduleInstancesQuery,
)

# What the product sends and reads for each action it calls: (SDK class, product model) at the top of each shape.
SHAPES: dict[str, list[tuple[str, type[BaseModel]]]] = {
    ACTION: [
        ("RunRerunScheduleInstancesRequest", RunRerunScheduleInstancesRequest),
        ("RunRerunScheduleInstancesResponse", RunRerunScheduleInstancesResponse),
    ],
    "DescribeScheduleInstances": [
        ("DescribeScheduleInstancesRequest", DescribeScheduleInstancesQuery),
        ("CollectionInstanceOpsDto", CollectionInstanceOpsDto),  # DescribeScheduleInstancesResponse.Data
    ],
    "DagInstances": [
        ("DagInstancesRequest", DagInstancesQuery),
        ("CollectionInstanceOpsDto", CollectionInstanceOpsDto),  # DagInstancesResponse.Data
    ],
    # DescribeInstanceLastLogResponse.Data is a plain string ("日志"): the reader reads it as one.
    "DescribeInstanceLastLog": [("DescribeInstanceLastLogRequest", DescribeInstanceLastLogQuery)],
}
# The response envelopes' `Data` the product reads, as the SDK types them.
DATA_TYPES = {
    "DescribeScheduleInstancesResponse": "CollectionInstanceOpsDto",
    "DagInstancesResponse": "CollectionInstanceOpsDto",
    "DescribeInstanceLastLogResponse": "str",
}
_CLASS = re.compile(r":class:`tencentcloud\.wedata\.v20210820\.models\.(\w+)`")
_SCALARS = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}


def sdk_fields(name: str) -> dict[str, str]:
    """{field: SDK type} of the SDK model `name`, from its attributes, typed by its docstring."""
    cls = getattr(sdk, name)
    declared = {attr[1:] for attr in vars(cls()) if attr.startswith("_")}
    typed = dict(re.findall(r":type (\w+): (.+)", cls.__init__.__doc__ or ""))
    assert declared == set(typed), f"{name}: attributes and docstring disagree"
    return {field: typed[field].strip() for field in declared}


def sdk_kind(sdk_type: str) -> tuple[str, str | None]:
    """('string' | 'integer' | 'boolean' | 'number' | 'object' | 'array', nested SDK class or item type)."""
    if sdk_type.startswith("list of "):
        return "array", sdk_type.removeprefix("list of ")
    found = _CLASS.fullmatch(sdk_type)
    if found:
        return "object", found.group(1)
    return _SCALARS[sdk_type], None


def product_kind(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The wire kind of a property's JSON schema, null branch dropped: (kind, the item or nested model schema)."""
    options = [o for o in schema.get("anyOf", [schema]) if o != {"type": "null"}]
    assert len(options) == 1, f"a union other than X | None: {schema}"
    node = options[0]
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    if node.get("type") == "array":
        return "array", node.get("items", {})
    if "properties" in node or node.get("type") == "object":
        return "object", node
    if "type" in node:
        return node["type"], None
    values = node.get("enum") or [node.get("const")]
    return ("string" if all(isinstance(v, str) for v in values) else "integer"), None


class Walk:
    def __init__(self) -> None:
        self.checked = 0
        self.named_only = 0  # documented extras, passed through verbatim: their names are checked
        self.problems: list[str] = []

    def model(self, sdk_name: str, schema: dict[str, Any], defs: dict[str, Any], extra: frozenset[str], at: str):
        fields = sdk_fields(sdk_name)
        for name, prop in schema.get("properties", {}).items():
            where = f"{at}.{name}"
            if name not in fields:
                close = [f for f in fields if f.lower() == name.lower() or f[0] == name[0]]
                self.problems.append(f"{where}: the SDK's {sdk_name} has no such field (it has e.g. {close[:3]})")
                continue
            self.checked += 1
            self.field(fields[name], prop, defs, where)
        for name in sorted(extra):
            self.named_only += 1
            if name not in fields:
                self.problems.append(f"{at}.{name}: a documented extra the SDK's {sdk_name} lacks")

    def field(self, sdk_type: str, prop: dict[str, Any], defs: dict[str, Any], where: str) -> None:
        want, nested = sdk_kind(sdk_type)
        have, inner = product_kind(prop, defs)
        if want != have:
            self.problems.append(f"{where}: the SDK types it {sdk_type!r}, the product {have}")
            return
        if want == "array" and nested is not None and inner is not None:
            if nested in _SCALARS:
                item, _ = product_kind(inner, defs)
                if item != _SCALARS[nested]:
                    self.problems.append(f"{where}: items are {nested!r} in the SDK, {item} in the product")
            else:
                _, node = product_kind(inner, defs)
                self.nested(nested, node or {}, defs, f"{where}[]")
        elif want == "object" and nested is not None:
            self.nested(nested, inner or {}, defs, where)

    def nested(self, sdk_name: str, node: dict[str, Any], defs: dict[str, Any], where: str) -> None:
        if "properties" not in node and sdk_name in _MODELS:
            # Published as a bare object (its fields kept out of tools/list to spare context) but validated by
            # the product's model of the SDK's type: that model is what must match.
            model = _MODELS[sdk_name]
            schema = model.model_json_schema(mode="validation")
            extra = model.DOCUMENTED_EXTRA if issubclass(model, DocumentedModel) else frozenset()
            self.model(sdk_name, schema, schema.get("$defs", {}), extra, where)
            return
        if "properties" not in node:
            self.problems.append(f"{where}: the SDK has the type {sdk_name}, the product a free-form object")
            return
        self.model(sdk_name, node, defs, _extras_of(node), where)


_MODELS: dict[str, type[BaseModel]] = {}


def _extras_of(node: dict[str, Any]) -> frozenset[str]:
    model = _MODELS.get(node.get("title", ""))
    return model.DOCUMENTED_EXTRA if model is not None and issubclass(model, DocumentedModel) else frozenset()


def _register(model: type[BaseModel]) -> None:
    _MODELS[model.__name__] = model
    for field in model.model_fields.values():
        for arg in _types_in(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg.__name__ not in _MODELS:
                _register(arg)


def _types_in(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", ())
    return [annotation, *[t for a in args for t in _types_in(a)]]


def test_every_field_the_product_names_is_the_sdks_under_its_name_and_type() -> None:
    walk = Walk()
    for action, shapes in SHAPES.items():
        for sdk_name, model in shapes:
            _register(model)
            schema = model.model_json_schema(mode="validation")
            extra = model.DOCUMENTED_EXTRA if issubclass(model, DocumentedModel) else frozenset()
            walk.model(sdk_name, schema, schema.get("$defs", {}), extra, f"{action}:{model.__name__}")
    for envelope, data_type in DATA_TYPES.items():
        assert sdk_fields(envelope)["Data"] in (data_type, f":class:`tencentcloud.wedata.v20210820.models.{data_type}`")
    print(f"SDK comparison: {walk.checked} typed fields and {walk.named_only} documented extras checked")
    assert walk.problems == []
    assert walk.checked >= 100 and walk.named_only >= 100


def test_the_comparison_covers_every_action_the_product_calls() -> None:
    assert set(SHAPES) == WeDataReader.READ_ACTIONS | {ACTION}


def test_a_field_named_or_typed_unlike_the_sdk_is_caught() -> None:
    class Invented(BaseModel):
        Key: str | None = None  # StrToStrMap has K
        V: int | None = None  # a string in the SDK

    walk = Walk()
    walk.model("StrToStrMap", Invented.model_json_schema(), {}, frozenset(), "probe")
    assert len(walk.problems) == 2 and walk.checked == 1
    assert "no such field" in walk.problems[0] and "'str'" in walk.problems[1]


def test_map_param_list_items_are_str_to_str_maps_with_k_and_v() -> None:
    request = RunRerunScheduleInstancesRequest.model_validate(
        {"Instances": [{"TaskId": "1", "CurRunDate": "2024-04-10 00:00:00"}], "MapParamList": [{"K": "a", "V": "b"}]}
    )
    assert request.wire_params()["MapParamList"] == [{"K": "a", "V": "b"}]
