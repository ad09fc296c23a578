"""Test helper: hypothesis strategies for `rerun_schedule_instances` arguments, derived from the published
`inputSchema` (hypothesis-jsonschema), plus one-defect mutations that must be refused naming the field."""

from __future__ import annotations

import copy
import json
import string
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, ValidationError

from wedata_mcp.models import InstanceApiOpsRequest, InstanceOpsDto, ProjectBaseInfoOpsRequest
from wedata_mcp.models import RunRerunScheduleInstancesRequest as Request
from wedata_mcp.models.base import IDENTIFIER_PATTERN
from wedata_mcp.models.schema import lean
from wedata_mcp.sandbox.world import World
from wedata_mcp.tools.approval import GUARDRAIL_ARGUMENTS
from wedata_mcp.tools.rerun import RerunArguments

DATE_FORMAT = "wedata-datetime"  # a custom JSON-schema format: the date-times the model accepts
TEXT_FORMAT = "wedata-visible-text"  # another: free text with nothing invisible, as names must be
# Identifiers by their alphabet, not by hypothesis's regex engine (the same strings, some ten times faster to draw).
ID_FORMAT, OPTIONAL_ID_FORMAT, SHORT_ID_FORMAT = "wedata-id", "wedata-optional-id", "wedata-short-id"
_ID_CHARS = string.ascii_letters + string.digits + "_-"
_ID_SHAPES = {
    IDENTIFIER_PATTERN: ID_FORMAT,
    f"^({IDENTIFIER_PATTERN[1:-1]})?$": OPTIONAL_ID_FORMAT,
    "^[A-Za-z0-9_-]{0,20}$": SHORT_ID_FORMAT,
}
DATE_FIELDS = {"CurRunDate", "DateFrom", "DateTo"}
TOP_FIELDS = tuple(Request.model_fields)
KNOWN_TOP = frozenset(RerunArguments.model_fields)
INSTANCE_KNOWN = frozenset(InstanceOpsDto.model_fields) | InstanceOpsDto.DOCUMENTED_EXTRA
SEARCH_KNOWN = frozenset(InstanceApiOpsRequest.model_fields) | InstanceApiOpsRequest.DOCUMENTED_EXTRA
# A few of InstanceOpsDto's documented extra fields: accepted verbatim, as any JSON value.
INSTANCE_EXTRAS = ("State", "InCharge", "CycleType", "TryLimit", "Ext", "SonList")

# Any JSON value, kept small (documented extras are passed through verbatim, whatever their shape).
ANY_JSON: dict[str, Any] = {
    "anyOf": [
        {"type": ["null", "boolean", "integer", "number", "string"]},
        {"type": "array", "maxItems": 3, "items": {"type": ["integer", "string", "array"], "maxItems": 2}},
        {"type": "object", "maxProperties": 3, "additionalProperties": {"type": ["string", "number", "object"]}},
    ]
}

# Every request field a token is bound to, as a path: "Field", "Instances.*.Field" (the first instance),
# "SearchCondition.Field", "RequestBaseInfo.Field".
FIELD_PATHS: tuple[str, ...] = (
    *TOP_FIELDS,
    *(f"Instances.*.{name}" for name in [*InstanceOpsDto.model_fields, "State"]),
    *(f"SearchCondition.{name}" for name in InstanceApiOpsRequest.model_fields),
    *(f"RequestBaseInfo.{name}" for name in ProjectBaseInfoOpsRequest.model_fields),
)


def _dates() -> st.SearchStrategy[str]:
    """Real calendar date-times in each spelling the model accepts (the doc's table omits the separator)."""
    shapes = st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d%H:%M:%S", " %Y-%m-%d %H:%M:%S "])
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))
    return st.builds(lambda moment, shape: moment.strftime(shape), moments, shapes)


def _walk(node: Any) -> Any:
    """Every date-time field gets the custom format (the published schema says only `string`), and every
    identifier's pattern the format that draws exactly its strings."""
    if isinstance(node, dict):
        out = {k: _walk(v) for k, v in node.items()}  # pyright: ignore[reportUnknownVariableType]
        if out.get("type") == "string" and out.get("pattern") in _ID_SHAPES:
            out["format"] = _ID_SHAPES[out.pop("pattern")]
        for name, prop in (out.get("properties") or {}).items():
            if name in DATE_FIELDS:
                out["properties"][name] = prop | {"format": DATE_FORMAT}
        return out
    if isinstance(node, list):
        return [_walk(v) for v in node]  # pyright: ignore[reportUnknownVariableType]
    return node


def refine(published: dict[str, Any]) -> dict[str, Any]:
    """The published schema, narrowed to what the model accepts: real date-times, and nested objects with
    their described fields only (plus some documented extras as any JSON), as the schema cannot say that the
    undescribed documented names are the only extras allowed."""
    schema = _walk(copy.deepcopy(published))
    for guardrail_argument in GUARDRAIL_ARGUMENTS:  # ours, not the request's: each has its own tests
        schema["properties"].pop(guardrail_argument, None)
    schema["additionalProperties"] = False
    defs = schema["$defs"]
    for definition in defs.values():
        definition["additionalProperties"] = False
    defs["InstanceOpsDto"]["properties"] |= {name: ANY_JSON for name in INSTANCE_EXTRAS}
    # Validated and bound, but not spelled out to the model (SkipJsonSchema, a bare object): what it accepts.
    defs["InstanceOpsDto"]["properties"] |= {
        name: {"type": "string", "format": SHORT_ID_FORMAT}
        for name in ("TaskName", "WorkflowId", "WorkflowName", "ProjectId", "InstanceKey")
    }
    defs["ProjectBaseInfoOpsRequest"] = lean(ProjectBaseInfoOpsRequest.model_json_schema(), drop_null=True) | {
        "additionalProperties": False
    }
    schema["properties"]["RequestBaseInfo"] = {"$ref": "#/$defs/ProjectBaseInfoOpsRequest"}
    schema["properties"]["Instances"] |= {"minItems": 1, "maxItems": 4}
    # Small enough to read in a failure report: the size of a value is not what these tests are about.
    schema["properties"]["MapParamList"] |= {"maxItems": 3}
    schema["properties"]["MapParamList"]["items"] |= {"maxProperties": 3}
    # Names refuse invisible characters, which a JSON schema does not say: without this, most drawn arguments
    # would be refused for a zero-width character somewhere and the properties would mostly test that refusal.
    for model, node in [
        (RerunArguments, schema),
        (InstanceOpsDto, defs["InstanceOpsDto"]),
        (InstanceApiOpsRequest, defs["InstanceApiOpsRequest"]),
        (ProjectBaseInfoOpsRequest, defs["ProjectBaseInfoOpsRequest"]),
    ]:
        for name, prop in node["properties"].items():
            if _refuses(model, name, "x\u200b", "invisible_character"):
                _mark_text(prop)
            if _refuses(model, name, "a b", "identifier"):
                _mark_identifier(prop)
    return schema


def _refuses(model: type[BaseModel], name: str, text: str, error: str) -> bool:
    """Whether the model refuses `text` in field `name` (as text, or as an item of a list) with `error`."""
    for value in (text, [text]):
        try:
            model.model_validate({name: value})
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            if any(e["type"] == error and e["loc"][:1] == (name,) for e in errors):
                return True
    return False


def _mark_identifier(node: Any) -> None:
    """Give every plain string in `node` an identifier's shape, or empty (what optional IDs accept)."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "format"} & set(node):  # pyright: ignore[reportUnknownArgumentType]
        node["format"] = OPTIONAL_ID_FORMAT
    for branch in node.get("anyOf", []):  # pyright: ignore[reportUnknownVariableType]
        _mark_identifier(branch)
    _mark_identifier(node.get("items"))  # pyright: ignore[reportUnknownArgumentType]


def _mark_text(node: Any) -> None:
    """Give every plain string in `node` (directly, in a list, or in an anyOf branch) the visible-text format."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):  # pyright: ignore[reportUnknownArgumentType]
        node["format"] = TEXT_FORMAT
    for branch in node.get("anyOf", []):  # pyright: ignore[reportUnknownVariableType]
        _mark_text(branch)
    _mark_text(node.get("items"))  # pyright: ignore[reportUnknownArgumentType]


def _visible_text() -> st.SearchStrategy[str]:
    # Control, format (zero-width, bidi) and line/paragraph separators are what names refuse.
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")))


_FORMATS: dict[str, st.SearchStrategy[str]] = {
    DATE_FORMAT: _dates(),
    TEXT_FORMAT: _visible_text(),
    ID_FORMAT: st.text(_ID_CHARS, min_size=1, max_size=64),
    OPTIONAL_ID_FORMAT: st.text(_ID_CHARS, max_size=64),
    SHORT_ID_FORMAT: st.text(_ID_CHARS, max_size=20),
}


def locally_valid(arguments: dict[str, Any]) -> bool:
    try:
        RerunArguments.model_validate(arguments)
    except ValidationError:
        return False
    return True


def normalized(arguments: dict[str, Any]) -> bytes:
    """The exact body these (valid) arguments would send."""
    return Request.model_validate({k: v for k, v in arguments.items() if k not in GUARDRAIL_ARGUMENTS}).wire_body()


def error_names(arguments: dict[str, Any]) -> list[str]:
    """The field each validation error is about, as a person would look for it in the message."""
    try:
        RerunArguments.model_validate(arguments)
    except ValidationError as exc:
        names: list[str] = []
        for error in exc.errors(include_url=False, include_input=False):
            context = error.get("ctx") or {}
            if "field" in context:
                names.append(str(context["field"]))
            elif error["type"] == "empty_selection":
                names.append("Instances")
            else:
                names.append(str([p for p in error["loc"] if isinstance(p, str)][-1]))
        return names
    return []


def seeded_instances() -> list[dict[str, str]]:
    return [{"TaskId": k.task_id, "CurRunDate": k.cur_run_date} for k in sorted(World.seeded().instances)]


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
_KIND = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict", type(None): "null"}
# The JSON kinds each top-level field accepts (None always: it means "not set"); strings for the rest.
_BOOLEANS = (
    "CheckFather",
    "SkipEventListening",
    "IsCount",
    "AsyncMode",
    "SameSelfDependType",
    "SameSelfWorkflowDependType",
)
_INTEGERS = ("PageIndex", "PageSize", "Count", "ParallelNum", "DataTimeOrder")
_ACCEPTS: dict[str, frozenset[str]] = {
    "Instances": frozenset({"list", "null"}),
    "MapParamList": frozenset({"list", "null"}),
    "SearchCondition": frozenset({"dict", "null"}),
    "RequestBaseInfo": frozenset({"dict", "null"}),
    **{name: frozenset({"bool", "null"}) for name in _BOOLEANS},
    **{name: frozenset({"int", "null"}) for name in _INTEGERS},
}
CODES = {
    "RerunType": ["1", "2", "3"],
    "DependentWay": ["1", "2", "3"],
    "SonInstanceType": ["1", "2", "3"],
    "CheckParentType": ["ALL", "MAKE_SCOPE", "NONE"],
    "SelfWorkflowDependency": ["yes", "no"],
    "DataTimeOrder": [0, 1, 2],
}
MINIMUM = {"PageIndex": 1, "PageSize": 1, "Count": 0, "ParallelNum": 1}
BAD_DATES = st.one_of(
    st.sampled_from(
        [
            "",
            "2024-02-30 00:00:00",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-04-10 24:00:00",
            "2024-04-10 23:60:00",
            "2024-04-10",
            "2024/04/10 00:00:00",
            "2024-04-10 00:00:00Z",
            "2024-04-10 00:00:00+08:00",
            "2024-04-10 00:00:00.000",
            "10-04-2024 00:00:00",
            "2024-04-10  00:00:00",
            "0000-01-01 00:00:00",
            "２０２４-04-10 00:00:00",
            "yesterday",
        ]
    ),
    st.text(max_size=30).filter(lambda s: not s.strip()[:4].isdigit()),
    st.integers(),
    st.none().map(lambda _: 1712707200.0),
)


def _kind(value: Any) -> str:
    return _KIND[type(value)]


@dataclass
class Strategies:
    """Strategies over one published schema (hypothesis-jsonschema builds are slow: build each once)."""

    published: dict[str, Any]
    _values: dict[str, st.SearchStrategy[Any]] = field(default_factory=lambda: {})

    @cached_property
    def refined(self) -> dict[str, Any]:
        return refine(self.published)

    def _from(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        """hypothesis-jsonschema for the leaves; objects with listed properties assembled here, from per-property
        strategies built once (hypothesis-jsonschema re-derives an object's sub-strategies on every draw)."""
        defs = schema.get("$defs", {})
        node = schema
        while "$ref" in node:
            node = {k: v for k, v in node.items() if k != "$ref"} | defs[node["$ref"].rsplit("/", 1)[-1]]
        if node.get("type") == "object" and node.get("properties") and node.get("additionalProperties") is False:
            required = set(node.get("required", []))
            props = {name: self._from({"$defs": defs, **prop}) for name, prop in node["properties"].items()}
            return st.fixed_dictionaries(
                {k: v for k, v in props.items() if k in required},
                optional={k: v for k, v in props.items() if k not in required},
            )
        items = node.get("items")
        if node.get("type") == "array" and isinstance(items, dict):
            elements = self._from({"$defs": defs, **items})
            return st.lists(elements, min_size=node.get("minItems", 0), max_size=node.get("maxItems", 5))
        if "anyOf" in node and set(node) <= {"anyOf", *_ANNOTATIONS}:
            return st.one_of(*(self._from({"$defs": defs, **branch}) for branch in node["anyOf"]))
        extra = node.get("additionalProperties")
        if node.get("type") == "object" and not node.get("properties") and isinstance(extra, dict):
            values = self._from({"$defs": defs, **extra})  # pyright: ignore[reportUnknownArgumentType]
            return st.dictionaries(st.text(max_size=8), values, max_size=node.get("maxProperties", 3))
        return from_schema(schema, custom_formats=_FORMATS)

    @cached_property
    def anything_published(self) -> st.SearchStrategy[dict[str, Any]]:
        """Whatever the published schema allows (most of it invalid: no selection, unknown nested names...)."""
        return from_schema(self.published)

    @cached_property
    def by_instances(self) -> st.SearchStrategy[dict[str, Any]]:
        schema = copy.deepcopy(self.refined)
        schema["required"] = ["Instances"]
        schema["properties"].pop("SearchCondition")  # never both: the model refuses it (its own property below)
        return self._with_real_instances(self._from(schema))

    @cached_property
    def by_search(self) -> st.SearchStrategy[dict[str, Any]]:
        schema = copy.deepcopy(self.refined)
        schema["properties"].pop("Instances")
        schema["required"] = ["SearchCondition"]
        return self._from(schema)

    @cached_property
    def valid(self) -> st.SearchStrategy[dict[str, Any]]:
        """Schema-valid arguments the model accepts (filtered: a random ParallelNum etc. may still pass)."""
        return st.one_of(self.by_instances, self.by_instances, self.by_search).filter(locally_valid)

    @staticmethod
    def _with_real_instances(base: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        """Instances the seeded world has, so previews resolve real blast radii: a preview issues a token only for
        instances WeData knows (unknown is not allowed), so the request-level ProjectId, which would scope the
        look-up elsewhere, is left out here (the binding tests still vary it), and an instance's own ProjectId,
        which scopes its look-up too, names the project it is in whenever one is drawn."""
        real = seeded_instances()
        world = World.seeded()

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            arguments = draw(base)
            arguments.pop("ProjectId", None)
            for instance in arguments.get("Instances") or []:
                instance.update(draw(st.sampled_from(real)))
                if instance.get("ProjectId"):
                    instance["ProjectId"] = world.project_of(instance["TaskId"]).project_id
            return arguments

        return build()

    def value_for(self, path: str) -> st.SearchStrategy[Any]:
        """A valid value for the field at `path` (or its removal, as `REMOVE`)."""
        if path not in self._values:
            self._values[path] = self._value_for(path)
        return self._values[path]

    def _value_for(self, path: str) -> st.SearchStrategy[Any]:
        parts = path.split(".")
        refined = copy.deepcopy(self.refined)  # hypothesis-jsonschema may rewrite what it is given
        props = refined["properties"]
        defs = refined["$defs"]
        if parts[0] == "Instances" and len(parts) == 3:
            node = defs["InstanceOpsDto"]["properties"][parts[2]]
        elif len(parts) == 2:
            node = defs[_DEF_OF[parts[0]]]["properties"][parts[1]]
        else:
            node = props[parts[0]]
        schema = {"$defs": defs, **node}
        return st.one_of(st.just(REMOVE), self._from(schema))

    @cached_property
    def invalid(self) -> st.SearchStrategy[tuple[dict[str, Any], list[str]]]:
        """Valid arguments with exactly one defect, and the field names the error must mention."""
        valid = self.by_instances.filter(locally_valid)

        @st.composite
        def build(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
            arguments = draw(valid)
            kind = draw(st.sampled_from(sorted(_MUTATIONS)))
            names = _MUTATIONS[kind](draw, arguments)
            return arguments, names

        return build()


REMOVE = object()
# Keys that describe a schema without narrowing what it allows.
_ANNOTATIONS = frozenset({"$defs", "title", "description", "default", "examples"})
_DEF_OF = {"SearchCondition": "InstanceApiOpsRequest", "RequestBaseInfo": "ProjectBaseInfoOpsRequest"}
_NAME_CHARS = string.ascii_letters + string.digits + "_"


def with_value(arguments: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `arguments` with the field at `path` set to `value` (or removed, for REMOVE)."""
    out = copy.deepcopy(arguments)
    parts = path.split(".")
    if parts[0] == "Instances" and len(parts) == 3:
        target = out["Instances"][0]
    elif len(parts) == 2:
        target = out.setdefault(parts[0], {})
    else:
        target = out
    key = parts[-1]
    if value is REMOVE:
        target.pop(key, None)
    else:
        target[key] = copy.deepcopy(value)
    return out


# --- one-defect mutations: each changes `arguments` in place and returns the names the error must carry ---------


def _unknown_name(draw: st.DrawFn, known: frozenset[str]) -> str:
    return draw(st.text(_NAME_CHARS, min_size=1, max_size=20).filter(lambda k: k not in known))


def _unknown_top(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    key = _unknown_name(draw, KNOWN_TOP)
    arguments[key] = draw(JSON_VALUES)
    return [key]


def _near_miss(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    """A real field name mistyped: lower case, upper case, a letter dropped or doubled, `ID` for `Id`."""
    field = draw(st.sampled_from(TOP_FIELDS))
    variants = [field.lower(), field.upper(), field[:-1], field + field[-1], field.replace("Id", "ID"), field + "s"]
    key = draw(st.sampled_from([v for v in variants if v not in KNOWN_TOP]))
    arguments[key] = arguments.pop(field, "1")
    return [key]


def _unknown_nested(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    where = draw(st.sampled_from(["Instances", "SearchCondition"]))
    if where == "Instances":
        key = _unknown_name(draw, INSTANCE_KNOWN)
        arguments["Instances"][0][key] = draw(JSON_VALUES)
    else:
        key = _unknown_name(draw, SEARCH_KNOWN)
        arguments.setdefault("SearchCondition", {})[key] = draw(JSON_VALUES)
    return [key]


def _wrong_type(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    field = draw(st.sampled_from(TOP_FIELDS))
    accepts = _ACCEPTS.get(field, frozenset({"str", "null"}))
    arguments[field] = draw(JSON_VALUES.filter(lambda v: _kind(v) not in accepts))
    return [field]


def _bad_code(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    field = draw(st.sampled_from(sorted(CODES)))
    allowed = CODES[field]
    candidates = st.one_of(
        st.sampled_from(["0", "4", "", " 1", "1 ", "01", "all", "Yes", "MAKE-SCOPE", 1, 2, 3, 4, -1, "2"]),
        JSON_SCALARS,
    )
    # Strict types: "1" is not DataTimeOrder 1, 1 is not RerunType "1", True is neither.
    arguments[field] = draw(candidates.filter(lambda v: v is not None and (v not in allowed or type(v) is bool)))
    return [field]


def _bad_date(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    where = draw(st.sampled_from(["CurRunDate", "DateFrom", "DateTo"]))
    if where == "CurRunDate":
        index = draw(st.integers(0, len(arguments["Instances"]) - 1))
        arguments["Instances"][index]["CurRunDate"] = draw(BAD_DATES)
    else:
        arguments.setdefault("SearchCondition", {})[where] = draw(BAD_DATES.filter(lambda v: v is not None))
    return [where]


def _empty_selection(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    arguments["Instances"] = draw(st.sampled_from([[], None]))
    arguments.pop("SearchCondition", None)
    return ["Instances"]


def _missing_key(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    key = draw(st.sampled_from(["TaskId", "CurRunDate"]))
    arguments["Instances"][-1].pop(key)
    return [key]


def _bad_task_id(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    arguments["Instances"][0]["TaskId"] = draw(st.one_of(st.just(""), st.text(_NAME_CHARS, min_size=65, max_size=90)))
    return ["TaskId"]


def _below_minimum(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    field = draw(st.sampled_from(sorted(MINIMUM)))
    arguments[field] = draw(st.integers(max_value=MINIMUM[field] - 1))
    return [field]


def _bad_token_type(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    arguments["ConfirmationToken"] = draw(JSON_VALUES.filter(lambda v: not isinstance(v, str) and v is not None))
    return ["ConfirmationToken"]


def _bad_map_params(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    bad = draw(JSON_VALUES.filter(lambda v: not isinstance(v, str)))
    arguments["MapParamList"] = [{"Key": "k", "Value": bad}]
    return ["MapParamList"]


def _not_an_object(draw: st.DrawFn, arguments: dict[str, Any]) -> list[str]:
    where = draw(st.sampled_from(["Instances.0", "SearchCondition", "RequestBaseInfo"]))
    value = draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict) and v is not None))
    if where == "Instances.0":
        arguments["Instances"][0] = value
        return ["Instances"]
    arguments[where] = value
    return [where]


_MUTATIONS = {
    "unknown_top": _unknown_top,
    "near_miss": _near_miss,
    "unknown_nested": _unknown_nested,
    "wrong_type": _wrong_type,
    "bad_code": _bad_code,
    "bad_date": _bad_date,
    "empty_selection": _empty_selection,
    "missing_key": _missing_key,
    "bad_task_id": _bad_task_id,
    "below_minimum": _below_minimum,
    "bad_token_type": _bad_token_type,
    "bad_map_params": _bad_map_params,
    "not_an_object": _not_an_object,
}
MUTATION_KINDS = tuple(sorted(_MUTATIONS))


def dumps(arguments: Any) -> str:
    return json.dumps(arguments, ensure_ascii=False, default=str)[:400]
